"""Every state change of the domain, each writing its audit event.

Views, admin actions, API views and tasks call these; nothing else writes these models.
Claims use conditional updates so that a task delivered twice does the work once.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.core.files.storage import storages
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from reports.contact import Contact, contact_open, contact_seal
from reports.dhash import dhash
from reports.models import (
    SETTLED_MEDIA,
    Answer,
    AuditEvent,
    CaseStatus,
    DeliveryStatus,
    IdempotencyRecord,
    Incident,
    Label,
    MediaItem,
    MediaStatus,
    MessageSender,
    Moderation,
    PartnerAPIKey,
    PartnerCase,
    PartnerOrganisation,
    Priority,
    RejectReason,
    Report,
    ReportMessage,
    ReportNote,
    ReportShare,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from reports.roles import MODERATOR, ROLES
from reports.webhooks import TargetRefused, post, resolve_target

logger = logging.getLogger(__name__)


class ServiceError(Exception):
    """A refused state change; the message is shown to staff as it is."""


class ReportLocked(ServiceError):
    pass


class InvalidTransition(ServiceError):
    pass


class ShareNotAllowed(ServiceError):
    pass


def _require(user: User, permission: str) -> None:
    if not user.is_active or not user.has_perm(permission):
        raise PermissionDenied


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
    if report_is_urgent(report):
        # At once, not after the media is sanitized: someone may be detained right now.
        transaction.on_commit(partial(report_alert_enqueue, report_id=report.id))
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
    _require(by, "reports.ask_witness")
    if not body.strip():
        raise ServiceError("A question cannot be empty.")
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


def media_item_upload_start(
    *, report: Report, position: int, key_hash: str, length: int, expires_at: datetime
) -> MediaItem:
    """A resumable upload begins: the item exists, its bytes are still to come."""
    item = MediaItem(
        report=report,
        position=position,
        status=MediaStatus.UPLOADING,
        upload_key_hash=key_hash,
        upload_length=length,
        upload_expires_at=expires_at,
    )
    # Parts are stored under this prefix; a non-empty name also lets the sweeper find
    # leftovers of an upload that was abandoned mid-way.
    item.quarantine_name = f"tus/{item.id}/"
    item.save(force_insert=True)
    audit_record(
        action="media.upload_started",
        actor_label="witness",
        report_id=report.id,
        media_item_id=item.id,
        data={"length": length},
    )
    return item


class UploadConflict(Exception):
    """The upload moved on (or ended) since the caller looked at it."""


def media_item_upload_append(*, item_id: Any, offset: int, part_name: str, size: int) -> MediaItem:
    """Record one stored part of a resumable upload at ``offset``. When the upload is
    complete the item enters quarantine. Raises UploadConflict when another request got
    there first; the caller then deletes its part."""
    with transaction.atomic():
        item = MediaItem.objects.select_for_update().get(id=item_id)
        if item.status != MediaStatus.UPLOADING or item.upload_offset != offset:
            raise UploadConflict
        item.quarantine_parts = [*item.quarantine_parts, part_name]
        item.upload_offset = offset + size
        fields = ["quarantine_parts", "upload_offset", "updated_at"]
        if item.upload_offset == item.upload_length:
            item.status = MediaStatus.QUARANTINED
            fields.append("status")
            audit_record(
                action="media.quarantined",
                actor_label="witness",
                report_id=item.report_id,
                media_item_id=item.id,
                data={"size": item.upload_offset, "parts": len(item.quarantine_parts)},
            )
        item.save(update_fields=fields)
    return item


def media_item_upload_abandon(*, item_id: Any, reason: str, actor_label: str) -> MediaItem | None:
    """End a resumable upload that will not complete (cancelled by the witness, refused,
    expired). Returns the item when it was still uploading; its parts are the caller's to
    delete (media_item_forget_quarantine records that)."""
    report_id = MediaItem.objects.filter(id=item_id).values_list("report_id", flat=True).first()
    if report_id is None:
        return None
    with transaction.atomic():
        # Report first, then item: the same lock order as the worker's settle.
        Report.objects.select_for_update().get(id=report_id)
        item = MediaItem.objects.select_for_update().get(id=item_id)
        if item.status != MediaStatus.UPLOADING:
            return None
        item.status = MediaStatus.REJECTED
        item.reject_reason = reason
        item.save(update_fields=["status", "reject_reason", "updated_at"])
        audit_record(
            action="media.rejected",
            actor_label=actor_label,
            report_id=item.report_id,
            media_item_id=item.id,
            data={"reason": reason, "at": "upload"},
        )
        _report_settle(report_id=item.report_id)
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
    image_hash = _media_dhash(media_name) if manifest.get("media_kind") == "image" else ""
    with transaction.atomic():
        Report.objects.select_for_update().get(id=item.report_id)
        updated = MediaItem.objects.filter(id=item.id, status=MediaStatus.PROCESSING).update(
            status=MediaStatus.CLEAN,
            dhash=image_hash,
            # Resumable uploads arrive over several requests: their hash is the worker's.
            sha256_received=item.sha256_received or manifest.get("sha256_in", ""),
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
            _webhook_emit_to_sharing_partners(
                event=WebhookEvent.MEDIA_ADDED, report_id=item.report_id, media_item_id=item.id
            )
            _report_settle(report_id=item.report_id)
    item.refresh_from_db()
    return item


def _media_dhash(media_name: str) -> str:
    """Perceptual hash of a sanitized image; only a suggestion aid, so never fatal."""
    try:
        with storages["media"].open(media_name, "rb") as stream:
            return dhash(stream)
    except Exception:
        logger.warning("no perceptual hash for %s", media_name, exc_info=True)
        return ""


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
    MediaItem.objects.filter(id=item.id).update(
        quarantine_name="", quarantine_parts=[], claimed_by=""
    )
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
        report = Report.objects.get(id=report_id)
        if report_is_urgent(report):
            # A second chance for an alert whose publish at submit was lost; the task
            # sends at most once per report.
            transaction.on_commit(partial(report_alert_enqueue, report_id=report_id))


# --- Moderation ---------------------------------------------------------------------------


def _lock_free_for(by: User, now: datetime) -> Q:
    return Q(locked_by__isnull=True) | Q(locked_until__lt=now) | Q(locked_by=by)


def report_lock_acquire(*, report: Report, by: User) -> bool:
    """Take (or extend) the edit lock of a report. False when another moderator holds a
    lock that has not expired; the report then shows as taken."""
    _require(by, "reports.moderate_report")
    now = timezone.now()
    until = now + timedelta(minutes=settings.TESTIGO_EDIT_LOCK_MINUTES)
    held = Report.objects.filter(id=report.id, locked_by=by, locked_until__gte=now)
    if held.update(locked_until=until):
        report.locked_until = until
        return True
    taken = Report.objects.filter(_lock_free_for(by, now), id=report.id).update(
        locked_by=by, locked_until=until
    )
    if not taken:
        report.refresh_from_db(fields=["locked_by", "locked_until"])
        return False
    report.locked_by, report.locked_until = by, until
    audit_record(action="report.locked", actor=by, report_id=report.id)
    return True


def report_lock_release(*, report: Report, by: User) -> None:
    if Report.objects.filter(id=report.id, locked_by=by).update(locked_by=None, locked_until=None):
        audit_record(action="report.unlocked", actor=by, report_id=report.id)


def _moderation_update(*, report: Report, by: User, **changes: Any) -> None:
    """Apply a moderation change to a pending report not locked by someone else."""
    now = timezone.now()
    updated = Report.objects.filter(
        _lock_free_for(by, now), id=report.id, moderation=Moderation.PENDING
    ).update(**changes)
    if updated == 1:
        return
    current = Report.objects.select_related("locked_by").get(id=report.id)
    if current.moderation != Moderation.PENDING:
        raise InvalidTransition(f"This report is already {current.get_moderation_display()}.")
    raise ReportLocked(f"This report is being handled by {current.locked_by}.")


def report_redact(*, report: Report, by: User, text: str) -> Report:
    """Set the redacted text everyone downstream sees; the original is kept."""
    _require(by, "reports.moderate_report")
    now = timezone.now()
    _moderation_update(
        report=report, by=by, description_redacted=text, redacted_at=now, redacted_by=by
    )
    # Lengths only: the audit trail never holds the witness's words.
    audit_record(
        action="report.redacted",
        actor=by,
        report_id=report.id,
        data={"original_length": len(report.description), "redacted_length": len(text)},
    )
    report.refresh_from_db()
    return report


def report_approve(*, report: Report, by: User) -> Report:
    _require(by, "reports.moderate_report")
    now = timezone.now()
    _moderation_update(
        report=report,
        by=by,
        moderation=Moderation.APPROVED,
        case_status=CaseStatus.NEW,
        reviewed_at=now,
        reviewed_by=by,
        locked_by=None,
        locked_until=None,
    )
    audit_record(action="report.approved", actor=by, report_id=report.id)
    report.refresh_from_db()
    return report


def report_reject(
    *, report: Report, by: User, reason: str, duplicate_of: Report | None = None
) -> Report:
    _require(by, "reports.moderate_report")
    if reason not in RejectReason.values:
        raise ServiceError(f"Unknown reason {reason!r}.")
    if reason == RejectReason.DUPLICATE:
        if duplicate_of is None or duplicate_of.id == report.id:
            raise ServiceError("A duplicate needs the report it duplicates.")
    else:
        duplicate_of = None
    now = timezone.now()
    _moderation_update(
        report=report,
        by=by,
        moderation=Moderation.REJECTED,
        reject_reason=reason,
        duplicate_of=duplicate_of,
        reviewed_at=now,
        reviewed_by=by,
        locked_by=None,
        locked_until=None,
    )
    audit_record(
        action="report.rejected",
        actor=by,
        report_id=report.id,
        data={
            "reason": reason,
            "duplicate_of": str(duplicate_of.id) if duplicate_of is not None else None,
        },
    )
    report.refresh_from_db()
    return report


def incident_group(
    *, reports: Sequence[Report], by: User, incident: Incident | None = None, title: str = ""
) -> Incident:
    """Group reports a moderator has confirmed describe one event. Joins the incident one
    of them is already in, or starts a new one."""
    _require(by, "reports.moderate_report")
    if len(reports) < 2 and incident is None:
        raise ServiceError("Grouping needs at least two reports.")
    with transaction.atomic():
        if incident is None:
            existing = [r.incident_id for r in reports if r.incident_id is not None]
            if existing:
                incident = Incident.objects.get(id=existing[0])
            else:
                first = min(reports, key=lambda r: r.received_at)
                incident = Incident.objects.create(
                    title=title or f"Incident of {first.received_at:%Y-%m-%d} {first.town}".strip(),
                    created_by=by,
                )
                audit_record(action="incident.created", actor=by, data={"incident_id": incident.id})
        for report in reports:
            if report.incident_id == incident.id:
                continue
            Report.objects.filter(id=report.id).update(incident=incident)
            report.incident = incident
            audit_record(
                action="incident.grouped",
                actor=by,
                report_id=report.id,
                data={"incident_id": incident.id},
            )
            _webhook_emit_to_sharing_partners(
                event=WebhookEvent.REPORT_UPDATED, report_id=report.id
            )
    return incident


def incident_ungroup(*, report: Report, by: User) -> None:
    _require(by, "reports.moderate_report")
    incident_id = report.incident_id
    if incident_id is None:
        return
    Report.objects.filter(id=report.id).update(incident=None)
    report.incident = None
    audit_record(
        action="incident.ungrouped",
        actor=by,
        report_id=report.id,
        data={"incident_id": incident_id},
    )
    _webhook_emit_to_sharing_partners(event=WebhookEvent.REPORT_UPDATED, report_id=report.id)


# --- Triage ----------------------------------------------------------------------------------

CASE_TRANSITIONS: dict[str, set[str]] = {
    CaseStatus.NEW: {
        CaseStatus.IN_PROGRESS,
        CaseStatus.WAITING_ON_WITNESS,
        CaseStatus.REFERRED,
        CaseStatus.CLOSED,
    },
    CaseStatus.IN_PROGRESS: {CaseStatus.WAITING_ON_WITNESS, CaseStatus.REFERRED, CaseStatus.CLOSED},
    CaseStatus.WAITING_ON_WITNESS: {CaseStatus.IN_PROGRESS, CaseStatus.REFERRED, CaseStatus.CLOSED},
    CaseStatus.REFERRED: {CaseStatus.IN_PROGRESS, CaseStatus.CLOSED},
    CaseStatus.CLOSED: {CaseStatus.IN_PROGRESS},  # reopen
}


def report_case_status_set(*, report: Report, by: User, status: str) -> Report:
    _require(by, "reports.triage_report")
    with transaction.atomic():
        current = Report.objects.select_for_update().get(id=report.id)
        if current.moderation != Moderation.APPROVED:
            raise InvalidTransition("Only approved reports have a case status.")
        if status not in CASE_TRANSITIONS.get(current.case_status, set()):
            raise InvalidTransition(
                f"A case cannot go from {current.get_case_status_display()} to {status}."
            )
        previous = current.case_status
        current.case_status = status
        current.closed_at = timezone.now() if status == CaseStatus.CLOSED else None
        current.save(update_fields=["case_status", "closed_at", "updated_at"])
        audit_record(
            action="case.status_changed",
            actor=by,
            report_id=report.id,
            data={"from": previous, "to": status},
        )
        _webhook_emit_to_sharing_partners(event=WebhookEvent.REPORT_UPDATED, report_id=report.id)
    report.refresh_from_db()
    return report


# Marks a keyword argument the caller did not pass (None is a real value here).
_UNCHANGED: Any = object()


def report_triage_update(
    *,
    report: Report,
    by: User,
    priority: str = _UNCHANGED,
    assignee: User | None = _UNCHANGED,
    follow_up_on: date | None = _UNCHANGED,
    labels: Iterable[Label] = _UNCHANGED,
) -> Report:
    """Change triage fields; the audit event names what changed."""
    _require(by, "reports.triage_report")
    changed: dict[str, Any] = {}
    with transaction.atomic():
        current = Report.objects.select_for_update().get(id=report.id)
        if current.moderation != Moderation.APPROVED:
            raise InvalidTransition("Only approved reports are triaged.")
        if priority is not _UNCHANGED and priority != current.priority:
            if priority not in Priority.values:
                raise ServiceError(f"Unknown priority {priority!r}.")
            current.priority = priority
            changed["priority"] = priority
        if (
            assignee is not _UNCHANGED
            and (assignee.pk if assignee else None) != current.assignee_id
        ):
            current.assignee = assignee
            changed["assignee"] = assignee.pk if assignee else None
        if follow_up_on is not _UNCHANGED and follow_up_on != current.follow_up_on:
            current.follow_up_on = follow_up_on
            changed["follow_up_on"] = follow_up_on.isoformat() if follow_up_on else None
        current.save(update_fields=["priority", "assignee", "follow_up_on", "updated_at"])
        if labels is not _UNCHANGED:
            wanted = {label.pk for label in labels}
            if wanted != set(current.labels.values_list("pk", flat=True)):
                current.labels.set(wanted)
                changed["labels"] = sorted(wanted)
        if changed:
            audit_record(action="case.updated", actor=by, report_id=report.id, data=changed)
    report.refresh_from_db()
    return report


def report_note_add(*, report: Report, by: User, body: str) -> ReportNote:
    _require(by, "reports.triage_report")
    if not body.strip():
        raise ServiceError("A note cannot be empty.")
    note = ReportNote.objects.create(report=report, author=by, body=body)
    audit_record(action="case.note_added", actor=by, report_id=report.id)
    return note


# --- Sharing with partner organisations --------------------------------------------------


def report_share(*, report: Report, organisation: PartnerOrganisation, by: User) -> ReportShare:
    """Share an approved report with one partner organisation, if the witness consented."""
    _require(by, "reports.share_report")
    current = Report.objects.get(id=report.id)
    if current.moderation != Moderation.APPROVED:
        raise ShareNotAllowed("Only approved reports can be shared.")
    if not current.consent_share_partners:
        raise ShareNotAllowed("The witness did not consent to sharing with partners.")
    if not organisation.active:
        raise ShareNotAllowed(f"{organisation} is not active.")
    try:
        with transaction.atomic():
            share = ReportShare.objects.create(
                report=report, organisation=organisation, shared_by=by
            )
    except IntegrityError:
        # Already shared and not revoked: sharing again changes nothing.
        return ReportShare.objects.get(
            report=report, organisation=organisation, revoked_at__isnull=True
        )
    audit_record(
        action="report.shared",
        actor=by,
        report_id=report.id,
        data={"organisation_id": organisation.id},
    )
    webhook_event_emit(
        event=WebhookEvent.REPORT_SHARED, report_id=report.id, organisation_ids=[organisation.id]
    )
    return share


def report_share_revoke(*, share: ReportShare, by: User) -> ReportShare:
    _require(by, "reports.share_report")
    now = timezone.now()
    if ReportShare.objects.filter(id=share.id, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=by
    ):
        audit_record(
            action="report.share_revoked",
            actor=by,
            report_id=share.report_id,
            data={"organisation_id": share.organisation_id},
        )
        webhook_event_emit(
            event=WebhookEvent.SHARE_REVOKED,
            report_id=share.report_id,
            organisation_ids=[share.organisation_id],
        )
    share.refresh_from_db()
    return share


def reports_export_record(*, by: User, count: int, query: str) -> None:
    """Audit a CSV export: who, how many rows, with which filters."""
    _require(by, "reports.export_reports")
    audit_record(action="reports.exported", actor=by, data={"rows": count, "query": query[:500]})


# --- Alerts ----------------------------------------------------------------------------------


def report_is_urgent(report: Report) -> bool:
    return (
        report.happening_now
        or report.children_present == Answer.YES
        or report.injuries == Answer.YES
    )


def report_alert_enqueue(*, report_id: Any) -> None:
    """Queue the alert; a broker outage is logged, and the queue step retries it."""
    from reports.tasks import alert_urgent_report

    try:
        alert_urgent_report.apply_async(kwargs={"report_id": str(report_id)})
    except Exception:
        logger.warning("could not queue the alert for report %s", report_id)


def report_alert_send(*, report_id: Any) -> bool:
    """Tell the on-call group that an urgent report came in. The message carries only a
    link into the admin, never a witness's words or details. Sent once per report."""
    report = Report.objects.filter(id=report_id).first()
    if report is None or not report_is_urgent(report):
        return False
    if AuditEvent.objects.filter(action="alert.sent", report_id=report.id).exists():
        return False
    hour_ago = timezone.now() - timedelta(hours=1)
    if (
        AuditEvent.objects.filter(action="alert.sent", at__gte=hour_ago).count()
        >= settings.TESTIGO_ALERTS_PER_HOUR
    ):
        audit_record(action="alert.suppressed", actor_label="system", report_id=report.id)
        return False
    link = settings.TESTIGO_ADMIN_BASE_URL.rstrip("/") + reverse(
        "admin:reports_report_change", args=[report.id]
    )
    recipients = list(
        User.objects.filter(groups__name=settings.TESTIGO_ON_CALL_GROUP, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    channels = []
    if recipients:
        send_mail(
            subject="[Testigo] Urgent report waiting",
            message=f"An urgent report has come in. Open it in the admin:\n\n{link}\n",
            from_email=None,
            recipient_list=recipients,
        )
        channels.append("email")
    if settings.TESTIGO_ALERT_WEBHOOK_URL:
        # The same signed, SSRF-checked delivery the partner webhooks use.
        outcome = post(
            url=settings.TESTIGO_ALERT_WEBHOOK_URL,
            secret=settings.TESTIGO_ALERT_WEBHOOK_SECRET,
            body=json.dumps({"event": "report.urgent", "url": link}).encode(),
            event="report.urgent",
            delivery_id=str(report.id),
            timeout=10,
        )
        if outcome.ok:
            channels.append("webhook")
        else:
            logger.warning("alert webhook for report %s failed: %s", report.id, outcome.error)
    audit_record(
        action="alert.sent",
        actor_label="system",
        report_id=report.id,
        data={"channels": channels, "recipients": len(recipients)},
    )
    return True


# --- Retention -------------------------------------------------------------------------------


def report_legal_hold_set(*, report: Report, by: User, hold: bool) -> Report:
    _require(by, "reports.triage_report")
    if Report.objects.filter(id=report.id).exclude(legal_hold=hold).update(legal_hold=hold):
        audit_record(
            action="report.legal_hold_set" if hold else "report.legal_hold_lifted",
            actor=by,
            report_id=report.id,
        )
    report.refresh_from_db()
    return report


def report_purge(*, report: Report, reason: str, by: User | None = None) -> bool:
    """Delete a report, its rows and every file it left (sanitized media, previews,
    sealed originals and any quarantine leftovers), unless it is under legal hold. Files
    go first: if the row delete then fails, the next run finishes, and nothing is kept."""
    current = Report.objects.filter(id=report.id, legal_hold=False).first()
    if current is None:
        return False
    items = list(MediaItem.objects.filter(report=current))
    files = 0
    for item in items:
        for storage, name in (
            ("media", item.media_name),
            ("media", item.preview_name),
            ("quarantine", item.quarantine_name),
            # Sealed originals are kept for legal hold; past retention, they go too.
            ("legal_hold", item.sealed_original_name),
        ):
            if name:
                storages[storage].delete(name)
                files += 1
    with transaction.atomic():
        deleted = Report.objects.filter(id=current.id, legal_hold=False).delete()[0]
        if not deleted:
            return False
        audit_record(
            action="report.purged",
            actor=by,
            actor_label="" if by else "system",
            report_id=current.id,
            data={"reason": reason, "media_items": len(items), "files": files},
        )
    return True


# --- Staff accounts --------------------------------------------------------------------------


def staff_totp_enrol(*, user: User, name: str = "authenticator") -> TOTPDevice:
    """Give a staff user a TOTP device; its otpauth:// URL is shown once by the caller."""
    device = TOTPDevice.objects.create(user=user, name=name, confirmed=True)
    audit_record(action="staff.otp_enrolled", actor_label="system", data={"user_id": user.pk})
    return device


def staff_create(*, username: str, role: str, email: str = "") -> tuple[User, str, TOTPDevice]:
    """Create a staff user in one role, with a random password and a TOTP device.
    Returns the password in clear for the one time it is shown."""
    if role not in ROLES:
        raise ServiceError(f"Unknown role {role!r}; one of {', '.join(ROLES)}.")
    password = secrets.token_urlsafe(15)
    with transaction.atomic():
        user = User.objects.create_user(
            username=username, email=email, password=password, is_staff=True
        )
        user.groups.add(Group.objects.get(name=role))
        device = staff_totp_enrol(user=user)
        audit_record(
            action="staff.created", actor_label="system", data={"user_id": user.pk, "role": role}
        )
    return user, password, device


def incident_rename(*, incident: Incident, by: User, title: str) -> Incident:
    _require(by, "reports.change_incident")
    Incident.objects.filter(id=incident.id).update(title=title)
    audit_record(action="incident.renamed", actor=by, data={"incident_id": incident.id})
    incident.refresh_from_db()
    return incident


def partner_organisation_save(
    *, organisation: PartnerOrganisation, by: User
) -> PartnerOrganisation:
    """Create or change a partner organisation and its sharing profile."""
    _require(
        by,
        "reports.change_partnerorganisation"
        if organisation.pk
        else "reports.add_partnerorganisation",
    )
    created = organisation.pk is None
    organisation.save()
    audit_record(
        action="partner.created" if created else "partner.changed",
        actor=by,
        data={
            "organisation_id": organisation.id,
            "fields": list(organisation.shared_fields),
            "include_contact": organisation.include_contact,
            "active": organisation.active,
        },
    )
    return organisation


# --- Partner API --------------------------------------------------------------------------------


def _partner_label(organisation_id: int) -> str:
    # The audit trail's actor for what a partner does through the API.
    return f"partner:{organisation_id}"


def partner_api_key_create(
    *,
    organisation: PartnerOrganisation,
    name: str,
    expiry_date: datetime | None = None,
    by: User | None = None,
) -> tuple[PartnerAPIKey, str]:
    """A new API key; the key in clear is returned for the one time it is shown."""
    api_key, key = PartnerAPIKey.objects.create_key(
        organisation=organisation, name=name[:50], expiry_date=expiry_date
    )
    audit_record(
        action="partner.key_created",
        actor=by,
        actor_label="" if by else "system",
        data={"organisation_id": organisation.id, "prefix": api_key.prefix},
    )
    return api_key, key  # type: ignore[return-value]


def partner_api_key_revoke(*, api_key: PartnerAPIKey, by: User | None = None) -> None:
    if PartnerAPIKey.objects.filter(pk=api_key.pk, revoked=False).update(revoked=True):
        audit_record(
            action="partner.key_revoked",
            actor=by,
            actor_label="" if by else "system",
            data={"organisation_id": api_key.organisation_id, "prefix": api_key.prefix},
        )
    api_key.refresh_from_db()


def partner_api_key_touch(*, api_key: PartnerAPIKey) -> None:
    """Record when a key was last used; at most one write a minute per key."""
    now = timezone.now()
    if api_key.last_used_at is None or api_key.last_used_at < now - timedelta(minutes=1):
        PartnerAPIKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now


def partner_create(
    *, name: str, shared_fields: Sequence[str] | None = None
) -> tuple[PartnerOrganisation, str]:
    """A partner organisation (from the command line) and its first API key, in clear."""
    with transaction.atomic():
        organisation = PartnerOrganisation.objects.create(
            name=name, shared_fields=list(shared_fields or [])
        )
        audit_record(
            action="partner.created",
            actor_label="system",
            data={"organisation_id": organisation.id, "fields": organisation.shared_fields},
        )
        _api_key, key = partner_api_key_create(organisation=organisation, name="first key")
    return organisation, key


def partner_contacts_read(
    *, reports: Sequence[Report], organisation: PartnerOrganisation
) -> dict[Any, Contact]:
    """Contact details for the reports whose witness agreed to be contacted, when the
    organisation's profile includes them; every read is audited, in one insert."""
    if not organisation.include_contact:
        return {}
    contacts = {
        report.id: contact_open(report_id=report.id, sealed=report.contact_sealed)
        for report in reports
        if report.consent_contact and report.contact_sealed
    }
    AuditEvent.objects.bulk_create(
        AuditEvent(
            action="contact.read_by_partner",
            actor_label=_partner_label(organisation.id),
            report_id=report_id,
            data={"organisation_id": organisation.id},
        )
        for report_id in contacts
    )
    return contacts


def partner_case_update(
    *,
    report: Report,
    organisation: PartnerOrganisation,
    status: str = _UNCHANGED,
    reference: str = _UNCHANGED,
    notes: str = _UNCHANGED,
) -> PartnerCase:
    """Set the partner's own status, reference or notes on a report shared with it.
    The caller has checked the share (selectors.partner_report)."""
    with transaction.atomic():
        case, _created = PartnerCase.objects.select_for_update().get_or_create(
            report=report, organisation=organisation
        )
        changed = []
        for name, value in (("status", status), ("reference", reference), ("notes", notes)):
            if value is not _UNCHANGED and getattr(case, name) != value:
                setattr(case, name, value)
                changed.append(name)
        if changed or _created:
            case.save()
            audit_record(
                action="partner.case_updated",
                actor_label=_partner_label(organisation.id),
                report_id=report.id,
                # Names of what changed and the status; never the partner's free text.
                data={
                    "organisation_id": organisation.id,
                    "changed": changed,
                    "status": case.status,
                },
            )
    return case


class IdempotencyKeyReused(ServiceError):
    """The Idempotency-Key was first used with a different request."""


class IdempotencyKeyInFlight(ServiceError):
    """The first request with this Idempotency-Key has not finished."""


def idempotent_response(
    *,
    organisation: PartnerOrganisation,
    key: str,
    request_hash: str,
    run: Any,
) -> tuple[int, Any, bool]:
    """Run ``run()`` -> (status, body) once per (organisation, key): a repeat with the same
    request gets the first response back (replayed True), a different request with the
    key is refused.
    The record is made first, so a concurrent repeat waits on its row and then replays."""
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                organisation=organisation, key=key, request_hash=request_hash
            )
            status, body = run()
            record.response_status, record.response_body = status, body
            record.save(update_fields=["response_status", "response_body"])
            return status, body, False
    except IntegrityError:
        pass
    first = IdempotencyRecord.objects.get(organisation=organisation, key=key)
    if first.request_hash != request_hash:
        raise IdempotencyKeyReused("This Idempotency-Key was used with a different request.")
    if first.response_status is None:
        raise IdempotencyKeyInFlight("The first request with this key is still running.")
    return first.response_status, first.response_body, True


def idempotency_records_purge(*, older_than: datetime) -> int:
    return IdempotencyRecord.objects.filter(created_at__lt=older_than).delete()[0]


def media_download_record(*, item: MediaItem, organisation: PartnerOrganisation) -> None:
    audit_record(
        action="media.downloaded_by_partner",
        actor_label=_partner_label(organisation.id),
        report_id=item.report_id,
        media_item_id=item.id,
        data={"organisation_id": organisation.id},
    )


# --- Webhooks -----------------------------------------------------------------------------------


def webhook_endpoint_save(*, endpoint: WebhookEndpoint, by: User) -> WebhookEndpoint:
    """Create or change an endpoint. The URL must pass the SSRF check now (and again at
    every delivery); a new endpoint gets a random signing secret."""
    _require(
        by,
        "reports.change_webhookendpoint" if endpoint.pk else "reports.add_webhookendpoint",
    )
    try:
        resolve_target(endpoint.url)
    except TargetRefused as error:
        raise ServiceError(str(error)) from error
    unknown = set(endpoint.events) - set(WebhookEvent.values)
    if unknown:
        raise ServiceError(f"Unknown events: {sorted(unknown)}")
    created = endpoint.pk is None
    if created:
        endpoint.secret = secrets.token_hex(32)
    endpoint.save()
    audit_record(
        action="webhook.endpoint_created" if created else "webhook.endpoint_changed",
        actor=by,
        data={"organisation_id": endpoint.organisation_id, "endpoint_id": endpoint.id},
    )
    return endpoint


def webhook_event_emit(
    *, event: str, report_id: Any, organisation_ids: Iterable[int], media_item_id: Any = None
) -> list[WebhookDelivery]:
    """One delivery per subscribed endpoint of each organisation, queued after commit.
    The payload names the event and ids only: the partner fetches the report with its
    key, so a misdirected webhook carries nothing about a witness."""
    now = timezone.now()
    data: dict[str, Any] = {"report_id": str(report_id)}
    if media_item_id is not None:
        data["media_item_id"] = str(media_item_id)
    deliveries = []
    for endpoint in WebhookEndpoint.objects.filter(
        organisation_id__in=list(organisation_ids), organisation__active=True, active=True
    ):
        if endpoint.events and event not in endpoint.events:
            continue
        delivery = WebhookDelivery(endpoint=endpoint, event=event, created_at=now)
        delivery.payload = {
            "id": str(delivery.id),
            "event": event,
            "created_at": now.isoformat(),
            "data": data,
        }
        deliveries.append(delivery)
    WebhookDelivery.objects.bulk_create(deliveries)
    for delivery in deliveries:
        transaction.on_commit(partial(webhook_delivery_enqueue, delivery_id=delivery.id))
    return deliveries


def _webhook_emit_to_sharing_partners(
    *, event: str, report_id: Any, media_item_id: Any = None
) -> None:
    organisation_ids = ReportShare.objects.filter(
        report_id=report_id, revoked_at__isnull=True
    ).values_list("organisation_id", flat=True)
    webhook_event_emit(
        event=event,
        report_id=report_id,
        organisation_ids=list(organisation_ids),
        media_item_id=media_item_id,
    )


def webhook_delivery_enqueue(*, delivery_id: Any, countdown: float = 0) -> None:
    """Queue a delivery; a broker outage is logged and the sweeper queues it later."""
    from reports.tasks import deliver_webhook

    try:
        deliver_webhook.apply_async(kwargs={"delivery_id": str(delivery_id)}, countdown=countdown)
    except Exception:
        logger.warning("could not queue webhook delivery %s", delivery_id)


def _webhook_backoff_s(attempts: int) -> int:
    return int(min(settings.TESTIGO_WEBHOOK_BACKOFF_S * 2 ** max(attempts - 1, 0), 3600))


def webhook_deliver(*, delivery_id: Any) -> int | None:
    """Attempt one delivery. Returns the seconds until the next attempt when it should be
    retried, else None (delivered, failed for good, or not due / claimed elsewhere)."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.TESTIGO_WEBHOOK_TIMEOUT_S + 30)
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    # Claim with a lease, so a duplicate task does not post twice at the same time.
    claimed = WebhookDelivery.objects.filter(
        due,
        id=delivery_id,
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING],
    ).update(next_attempt_at=lease)
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(id=delivery_id)
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    outcome = post(
        url=delivery.endpoint.url,
        secret=delivery.endpoint.secret,
        body=body,
        event=delivery.event,
        delivery_id=str(delivery.id),
        timeout=settings.TESTIGO_WEBHOOK_TIMEOUT_S,
    )
    attempts = delivery.attempts + 1
    finished = timezone.now()
    retry_in: int | None = None
    if outcome.ok:
        status = DeliveryStatus.DELIVERED
    elif attempts >= settings.TESTIGO_WEBHOOK_MAX_ATTEMPTS or not delivery.endpoint.active:
        status = DeliveryStatus.FAILED
    else:
        status, retry_in = DeliveryStatus.RETRYING, _webhook_backoff_s(attempts)
    entry = {
        "at": finished.isoformat(),
        "status_code": outcome.status_code,
        "error": outcome.error,
        "ms": outcome.ms,
    }
    WebhookDelivery.objects.filter(id=delivery.id).update(
        status=status,
        attempts=attempts,
        last_status_code=outcome.status_code,
        last_error=outcome.error,
        log=[*delivery.log, entry],
        next_attempt_at=finished + timedelta(seconds=retry_in) if retry_in is not None else None,
        delivered_at=finished if outcome.ok else None,
    )
    return retry_in


def webhook_delivery_retry(*, delivery: WebhookDelivery, by: User) -> None:
    """Manual retry from the admin: the delivery is due now, with a fresh attempt budget."""
    _require(by, "reports.change_webhookdelivery")
    WebhookDelivery.objects.filter(id=delivery.id).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=None
    )
    audit_record(
        action="webhook.retried",
        actor=by,
        data={"delivery_id": str(delivery.id), "endpoint_id": delivery.endpoint_id},
    )
    transaction.on_commit(partial(webhook_delivery_enqueue, delivery_id=delivery.id))


def webhooks_sweep(*, now: datetime | None = None) -> int:
    """Queue deliveries whose task was lost (a broker outage, a killed worker)."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=60)
    ids = list(
        WebhookDelivery.objects.filter(
            Q(next_attempt_at__lte=stale) | Q(next_attempt_at__isnull=True, created_at__lte=stale),
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING],
        ).values_list("id", flat=True)[:1000]
    )
    for delivery_id in ids:
        webhook_delivery_enqueue(delivery_id=delivery_id)
    return len(ids)
