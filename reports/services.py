"""Every state change of the domain, each writing its audit event.

Views, admin actions, API views and tasks call these; nothing else writes these models.
Claims use conditional updates so that a task delivered twice does the work once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
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


def media_item_claim(*, media_item_id: Any, stale_before: datetime) -> MediaItem | None:
    """Take an item for processing. Returns None when it is not claimable: already settled,
    or being processed by a worker whose claim is still fresh."""
    now = timezone.now()
    claimable = MediaItem.objects.filter(
        Q(status=MediaStatus.QUARANTINED)
        | Q(status=MediaStatus.PROCESSING, claimed_at__lt=stale_before),
        id=media_item_id,
    )
    updated = claimable.update(
        status=MediaStatus.PROCESSING, claimed_at=now, attempts=F("attempts") + 1
    )
    if updated != 1:
        return None
    return MediaItem.objects.select_related("report").get(id=media_item_id)


def media_item_mark_clean(
    *, item: MediaItem, media_name: str, manifest: dict[str, Any]
) -> MediaItem:
    with transaction.atomic():
        Report.objects.select_for_update().get(id=item.report_id)
        updated = MediaItem.objects.filter(id=item.id, status=MediaStatus.PROCESSING).update(
            status=MediaStatus.CLEAN,
            # Resumable uploads arrive over several requests: their hash is the worker's.
            sha256_received=item.sha256_received or manifest.get("sha256_in", ""),
            media_name=media_name,
            sha256_sanitized=manifest.get("sha256_out", ""),
            detected_format=manifest.get("format", ""),
            media_kind=manifest.get("media_kind") or "",
            manifest=manifest,
            claimed_at=None,
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
    *, item: MediaItem, reason: str, manifest: dict[str, Any] | None = None
) -> MediaItem:
    with transaction.atomic():
        Report.objects.select_for_update().get(id=item.report_id)
        updated = MediaItem.objects.filter(id=item.id, status=MediaStatus.PROCESSING).update(
            status=MediaStatus.REJECTED,
            reject_reason=reason,
            detected_format=(manifest or {}).get("format", ""),
            manifest=manifest or {},
            claimed_at=None,
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


def media_item_release(*, item: MediaItem, error: str, max_attempts: int) -> MediaItem:
    """A processing attempt crashed: back to quarantine for a retry, or failed for good
    once ``max_attempts`` is used up. A failed item stays in quarantine, never viewable."""
    with transaction.atomic():
        Report.objects.select_for_update().get(id=item.report_id)
        current = MediaItem.objects.get(id=item.id)
        if current.status != MediaStatus.PROCESSING:
            return current
        if current.attempts >= max_attempts:
            current.status = MediaStatus.FAILED
            current.reject_reason = "processing_failed"
            action = "media.failed"
        else:
            current.status = MediaStatus.QUARANTINED
            action = "media.retry"
        current.claimed_at = None
        current.save(update_fields=["status", "reject_reason", "claimed_at", "updated_at"])
        audit_record(
            action=action,
            actor_label="worker",
            report_id=current.report_id,
            media_item_id=current.id,
            data={"attempts": current.attempts, "error": error[:200]},
        )
        if current.status == MediaStatus.FAILED:
            _report_settle(report_id=current.report_id)
    return current


def media_item_forget_quarantine(*, item: MediaItem) -> None:
    """Record that the quarantine copy is gone (the caller deleted the file)."""
    MediaItem.objects.filter(id=item.id).update(quarantine_name="", quarantine_parts=[])
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
