"""Every state change of the domain, each writing its audit event.

Views, admin actions, API views and tasks call these; nothing else writes these models.
Claims use conditional updates so that a task delivered twice does the work once.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from reports.contact import Contact, contact_open, contact_seal
from reports.models import (
    SETTLED_MEDIA,
    AuditEvent,
    MediaItem,
    MediaStatus,
    MessageSender,
    Moderation,
    Report,
    ReportMessage,
)
from reports.roles import MODERATOR

logger = logging.getLogger(__name__)


def audit_record(
    *,
    action: str,
    actor: User | None = None,
    actor_label: str = "",
    report_id: Any = None,
    media_item_id: Any = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        actor_label=actor_label,
        report_id=report_id,
        media_item_id=media_item_id,
        data=data or {},
    )


def report_create(
    *,
    receipt_hash: str,
    description: str,
    occurred_text: str = "",
    location_text: str = "",
    language: str = "en",
    facts: dict[str, Any] | None = None,
    contact: Contact | None = None,
) -> Report:
    """Store a witness's report. ``facts`` are further Report fields (town, warrant,
    consent flags, ...); ``contact`` is sealed before it is saved."""
    report = Report(
        receipt_hash=receipt_hash,
        description=description,
        occurred_text=occurred_text,
        location_text=location_text,
        language=language,
        **(facts or {}),
    )
    if contact is not None and contact.value:
        report.contact_sealed = contact_seal(report_id=report.id, contact=contact)
    report.save(force_insert=True)
    audit_record(action="report.received", actor_label="witness", report_id=report.id)
    return report


class ContactNotAvailable(Exception):
    """No contact details, or the witness did not consent to being contacted."""


def report_contact_reveal(*, report: Report, by: User) -> Contact:
    """Open the witness's contact details for a legal-aid user; every reveal is audited."""
    if not by.has_perm("reports.reveal_contact"):
        raise PermissionDenied
    if not report.consent_contact or not report.contact_sealed:
        raise ContactNotAvailable
    contact = contact_open(report_id=report.id, sealed=report.contact_sealed)
    audit_record(action="contact.revealed", actor=by, report_id=report.id)
    return contact


def report_message_ask(*, report: Report, by: User, body: str) -> ReportMessage:
    """A staff member asks the witness a question, shown on the follow-up page."""
    message = ReportMessage.objects.create(
        report=report, sender=MessageSender.STAFF, author=by, body=body
    )
    audit_record(action="message.asked", actor=by, report_id=report.id)
    return message


def report_message_reply(*, report: Report, body: str) -> ReportMessage:
    """The witness writes on the follow-up page (no account: the receipt code is the key)."""
    message = ReportMessage.objects.create(report=report, sender=MessageSender.WITNESS, body=body)
    audit_record(action="message.replied", actor_label="witness", report_id=report.id)
    return message


def media_item_quarantine(
    *, report: Report, position: int, quarantine_name: str, size: int, sha256: str
) -> MediaItem:
    item = MediaItem.objects.create(
        report=report,
        position=position,
        status=MediaStatus.QUARANTINED,
        quarantine_name=quarantine_name,
        size_received=size,
        sha256_received=sha256,
    )
    audit_record(
        action="media.quarantined",
        actor_label="witness",
        report_id=report.id,
        media_item_id=item.id,
        data={"size": size, "sha256": sha256},
    )
    return item


def media_item_reject_on_receipt(
    *, report: Report, position: int, size: int, sha256: str, reason: str
) -> MediaItem:
    """An upload refused before it was stored (e.g. not a supported type): only its hash
    and the reason are kept."""
    item = MediaItem.objects.create(
        report=report,
        position=position,
        status=MediaStatus.REJECTED,
        size_received=size,
        sha256_received=sha256,
        reject_reason=reason,
    )
    audit_record(
        action="media.rejected",
        actor_label="witness",
        report_id=report.id,
        media_item_id=item.id,
        data={"reason": reason, "at": "receipt"},
    )
    return item


def media_item_claim(
    *, media_item_id: Any, stale_before: datetime, claimant: str, take_over_from: str = ""
) -> MediaItem | None:
    """Take an item for processing, counting the attempt. Returns None when it is not
    claimable: already settled, or held by a claim that is fresh and not ``take_over_from``
    (a claimant the caller has proven dead)."""
    now = timezone.now()
    claimable = Q(status=MediaStatus.QUARANTINED) | Q(
        status=MediaStatus.PROCESSING, claimed_at__lt=stale_before
    )
    if take_over_from:
        claimable |= Q(status=MediaStatus.PROCESSING, claimed_by=take_over_from)
    updated = MediaItem.objects.filter(claimable, id=media_item_id).update(
        status=MediaStatus.PROCESSING,
        claimed_at=now,
        claimed_by=claimant,
        attempts=F("attempts") + 1,
    )
    if updated != 1:
        return None
    item = MediaItem.objects.select_related("report").get(id=media_item_id)
    audit_record(
        action="media.processing",
        actor_label="worker",
        report_id=item.report_id,
        media_item_id=item.id,
        data={"attempt": item.attempts, "taken_over": bool(take_over_from)},
    )
    return item


def media_item_mark_clean(
    *,
    item: MediaItem,
    media_name: str,
    manifest: dict[str, Any],
    preview_name: str = "",
    sealed_original_name: str = "",
) -> MediaItem:
    with transaction.atomic():
        Report.objects.select_for_update().get(id=item.report_id)
        updated = MediaItem.objects.filter(id=item.id, status=MediaStatus.PROCESSING).update(
            status=MediaStatus.CLEAN,
            media_name=media_name,
            preview_name=preview_name,
            sealed_original_name=sealed_original_name,
            sha256_sanitized=manifest.get("sha256_out", ""),
            detected_format=manifest.get("format", ""),
            media_kind=manifest.get("media_kind") or "",
            manifest=manifest,
            claimed_at=None,
            claimed_by="",
        )
        if updated == 1:
            audit_record(
                action="media.clean",
                actor_label="worker",
                report_id=item.report_id,
                media_item_id=item.id,
                data={"format": manifest.get("format"), "removed": len(manifest["removed"])},
            )
            _report_settle(report_id=item.report_id)
    item.refresh_from_db()
    return item


def media_item_reject(
    *,
    item: MediaItem,
    reason: str,
    manifest: dict[str, Any] | None = None,
    sealed_original_name: str = "",
) -> MediaItem:
    with transaction.atomic():
        Report.objects.select_for_update().get(id=item.report_id)
        updated = MediaItem.objects.filter(id=item.id, status=MediaStatus.PROCESSING).update(
            status=MediaStatus.REJECTED,
            reject_reason=reason,
            sealed_original_name=sealed_original_name,
            detected_format=(manifest or {}).get("format", ""),
            manifest=manifest or {},
            claimed_at=None,
            claimed_by="",
        )
        if updated == 1:
            audit_record(
                action="media.rejected",
                actor_label="worker",
                report_id=item.report_id,
                media_item_id=item.id,
                data={"reason": reason},
            )
            _report_settle(report_id=item.report_id)
    item.refresh_from_db()
    return item


def media_item_release(
    *, item: MediaItem, error: str, max_attempts: int, claimed_by: str | None = None
) -> MediaItem:
    """A processing attempt crashed, or its worker died: back to quarantine for a retry,
    or failed for good once ``max_attempts`` is used up (moderators are alerted). A failed
    item stays in quarantine, never viewable. With ``claimed_by``, only that claim is
    released, so two tasks finding the same dead claim count it once."""
    with transaction.atomic():
        Report.objects.select_for_update().get(id=item.report_id)
        current = MediaItem.objects.get(id=item.id)
        if current.status != MediaStatus.PROCESSING:
            return current
        if claimed_by is not None and current.claimed_by != claimed_by:
            return current
        if current.attempts >= max_attempts:
            current.status = MediaStatus.FAILED
            current.reject_reason = "processing_failed"
            action = "media.failed"
        else:
            current.status = MediaStatus.QUARANTINED
            action = "media.retry"
        current.claimed_at = None
        current.claimed_by = ""
        current.save(
            update_fields=["status", "reject_reason", "claimed_at", "claimed_by", "updated_at"]
        )
        audit_record(
            action=action,
            actor_label="worker",
            report_id=current.report_id,
            media_item_id=current.id,
            data={"attempts": current.attempts, "error": error[:200]},
        )
        if current.status == MediaStatus.FAILED:
            _report_settle(report_id=current.report_id)
            failed = current
            transaction.on_commit(lambda: moderators_alert_failed_media(item=failed))
    return current


def moderators_alert_failed_media(*, item: MediaItem) -> int:
    """Mail the moderators that a media item failed for good; returns how many were mailed.
    Says nothing about the witness or the content: ids only. A mail failure is logged, never
    raised: the audit event already records the failure."""
    recipients = list(
        User.objects.filter(groups__name=MODERATOR, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if not recipients:
        return 0
    subject = f"Testigo: media item {item.id} failed processing"
    body = (
        f"Media item {item.id} of report {item.report_id} could not be processed after "
        f"{item.attempts} attempts. It is kept in quarantine and is not viewable; "
        "review the report in the moderation queue."
    )
    try:
        send_mail(subject, body, None, recipients)
    except Exception:
        logger.exception("alerting moderators about media item %s failed", item.id)
        return 0
    audit_record(
        action="alert.media_failed",
        actor_label="system",
        report_id=item.report_id,
        media_item_id=item.id,
        data={"recipients": len(recipients)},
    )
    return len(recipients)


def media_item_forget_quarantine(*, item: MediaItem) -> None:
    """Record that the quarantine copy is gone (the caller deleted the file)."""
    MediaItem.objects.filter(id=item.id).update(quarantine_name="", claimed_by="")
    audit_record(
        action="media.quarantine_destroyed",
        actor_label="worker",
        report_id=item.report_id,
        media_item_id=item.id,
    )


def report_settle_if_ready(*, report: Report) -> None:
    with transaction.atomic():
        Report.objects.select_for_update().get(id=report.id)
        _report_settle(report_id=report.id)


def _report_settle(*, report_id: Any) -> None:
    """Move a received report into the moderation queue once no media is in flight.
    Callers hold the report's row lock, so two items settling at once cannot both miss."""
    in_flight = (
        MediaItem.objects.filter(report_id=report_id).exclude(status__in=SETTLED_MEDIA).exists()
    )
    if in_flight:
        return
    if Report.objects.filter(id=report_id, moderation=Moderation.RECEIVED).update(
        moderation=Moderation.PENDING
    ):
        audit_record(action="report.queued", actor_label="system", report_id=report_id)
