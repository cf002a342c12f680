"""A media item's life as rows: received, uploaded in parts, claimed by a worker, clean,
rejected or failed, its quarantine copy forgotten; and the report it belongs to queued
for moderation once none of its media is in flight. intake/pipeline.py drives these.

Claims are conditional updates, so a task delivered twice does the work once; a settling
item takes its report's row lock first, so two items settling at once cannot both miss.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from reports import jobs, policy
from reports.models import (
    MEDIA_STAFF_TRANSITIONS,
    MEDIA_TRANSITIONS,
    SETTLED_MEDIA,
    AuditAction,
    MediaItem,
    MediaStatus,
    Moderation,
    RefusalReason,
    Report,
    WebhookEvent,
)
from reports.services.alerts import (
    moderators_alert_failed_media_enqueue,
    report_alert_enqueue,
    report_is_urgent,
)
from reports.services.audit import audit_record, audit_record_many
from reports.services.errors import InvalidTransition, UploadConflict
from reports.services.webhooks import webhook_event_emit_to_sharing_partners

logger = logging.getLogger(__name__)


def _media_status_check(source: str, target: str) -> None:
    """Refuse a status change MEDIA_TRANSITIONS does not allow; every change below asks."""
    if target not in MEDIA_TRANSITIONS.get(source, set()):
        raise InvalidTransition(f"A media item cannot go from {source} to {target}.")


def media_item_quarantine(
    *, report: Report, position: int, quarantine_name: str, size: int, sha256: str
) -> MediaItem:
    """One file received whole and sealed in quarantine (media_items_quarantine)."""
    files = [(position, quarantine_name, size, sha256)]
    return media_items_quarantine(report=report, files=files)[0]


def media_items_quarantine(
    *, report: Report, files: Sequence[tuple[int, str, int, str]]
) -> list[MediaItem]:
    """Files received whole and sealed in quarantine, (position, quarantine name, size,
    sha256) each: their rows and audit events in two inserts whatever their number."""
    items = MediaItem.objects.bulk_create(
        MediaItem(
            report=report,
            position=position,
            status=MediaStatus.QUARANTINED,
            quarantine_name=name,
            size_received=size,
            sha256_received=sha256,
        )
        for position, name, size, sha256 in files
    )
    audit_record_many(
        action=AuditAction.MEDIA_QUARANTINED,
        actor_label="witness",
        events=[
            (report.id, item.id, {"size": item.size_received, "sha256": item.sha256_received})
            for item in items
        ],
    )
    return items


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
        action=AuditAction.MEDIA_UPLOAD_STARTED,
        actor_label="witness",
        report_id=report.id,
        media_item_id=item.id,
        data={"length": length},
    )
    return item


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
            _media_status_check(item.status, MediaStatus.QUARANTINED)
            item.status = MediaStatus.QUARANTINED
            fields.append("status")
            audit_record(
                action=AuditAction.MEDIA_QUARANTINED,
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
        _media_status_check(item.status, MediaStatus.REJECTED)
        item.status = MediaStatus.REJECTED
        item.reject_reason = reason
        item.save(update_fields=["status", "reject_reason", "updated_at"])
        audit_record(
            action=AuditAction.MEDIA_REJECTED,
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
        action=AuditAction.MEDIA_REJECTED,
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
    for source in (MediaStatus.QUARANTINED, MediaStatus.PROCESSING):
        _media_status_check(source, MediaStatus.PROCESSING)
    now = timezone.now()
    claimable = Q(status=MediaStatus.QUARANTINED) | Q(
        status=MediaStatus.PROCESSING, claimed_at__lt=stale_before
    )
    if take_over_from:
        claimable |= Q(status=MediaStatus.PROCESSING, claimed_by=take_over_from)
    # The claim and its audit event in one commit: one fewer per item, and no claim
    # without its event if the connection drops in between.
    with transaction.atomic():
        _commit_without_waiting_for_disk()
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
            action=AuditAction.MEDIA_PROCESSING,
            actor_label="worker",
            report_id=item.report_id,
            media_item_id=item.id,
            data={"attempt": item.attempts, "taken_over": bool(take_over_from)},
        )
    return item


def _commit_without_waiting_for_disk() -> None:
    """The current transaction's commit returns before its WAL reaches the disk: one disk
    flush less per item (7-9 ms on a shared VM). Only for a claim: if the database
    server crashes before the flush, the claim and its event are lost together and the
    item is back in quarantine, as if never claimed; the claimant's connection died with
    the server, so its next statement fails and the task retries as after any database
    drop, and no quarantine file is deleted unless a settling update committed. Every
    settling commit waits for the disk, and so flushes any claim before it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def media_item_mark_clean(
    *,
    item: MediaItem,
    media_name: str,
    manifest: dict[str, Any],
    preview_name: str = "",
    sealed_original_name: str = "",
    image_hash: str = "",
) -> MediaItem:
    """``image_hash``: the image's dhash, made by the preview child (intake/preview.py);
    nothing here decodes pixels. The quarantine copy is forgotten in the same commit
    (see _quarantine_forget): the caller deletes its files after this returns."""
    _media_status_check(MediaStatus.PROCESSING, MediaStatus.CLEAN)
    with transaction.atomic():
        Report.objects.select_for_update().get(id=item.report_id)
        updated = MediaItem.objects.filter(id=item.id, status=MediaStatus.PROCESSING).update(
            **_QUARANTINE_FORGOTTEN,
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
                action=AuditAction.MEDIA_CLEAN,
                actor_label="worker",
                report_id=item.report_id,
                media_item_id=item.id,
                data={"format": manifest.get("format"), "removed": len(manifest["removed"])},
            )
            _quarantine_forget_audit(item=item)
            webhook_event_emit_to_sharing_partners(
                event=WebhookEvent.MEDIA_ADDED, report_id=item.report_id, media_item_id=item.id
            )
            _report_settle(report_id=item.report_id)
        # Read back before the commit: after it, the worker deletes the quarantine files
        # the row no longer names, with no statement in between that could fail.
        item.refresh_from_db()
    return item


def media_item_reject(
    *,
    item: MediaItem,
    reason: str,
    manifest: dict[str, Any] | None = None,
    sealed_original_name: str = "",
) -> MediaItem:
    """Refused by the sanitizer or the re-scan; its quarantine copy is forgotten in the
    same commit, as for media_item_mark_clean."""
    _media_status_check(MediaStatus.PROCESSING, MediaStatus.REJECTED)
    with transaction.atomic():
        Report.objects.select_for_update().get(id=item.report_id)
        updated = MediaItem.objects.filter(id=item.id, status=MediaStatus.PROCESSING).update(
            **_QUARANTINE_FORGOTTEN,
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
                action=AuditAction.MEDIA_REJECTED,
                actor_label="worker",
                report_id=item.report_id,
                media_item_id=item.id,
                data={"reason": reason},
            )
            _quarantine_forget_audit(item=item)
            _report_settle(report_id=item.report_id)
        item.refresh_from_db()  # before the commit, as in media_item_mark_clean
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
            _media_status_check(current.status, MediaStatus.FAILED)
            current.status = MediaStatus.FAILED
            current.reject_reason = RefusalReason.PROCESSING_FAILED
            action = AuditAction.MEDIA_FAILED
        else:
            _media_status_check(current.status, MediaStatus.QUARANTINED)
            current.status = MediaStatus.QUARANTINED
            action = AuditAction.MEDIA_RETRY
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
            transaction.on_commit(
                partial(moderators_alert_failed_media_enqueue, media_item_id=current.id)
            )
    return current


def media_item_wait(*, item: MediaItem, error: str, claimed_by: str) -> MediaItem:
    """The object store could not be reached during processing: back to quarantine with
    the attempt its claim counted given back. An outage says nothing about the file, so
    it must not use up the attempts that end in ``failed``; the task tries again later
    (intake/tasks.py), and the sweeper after that. Only ``claimed_by``'s claim is put back."""
    _media_status_check(MediaStatus.PROCESSING, MediaStatus.QUARANTINED)
    with transaction.atomic():
        updated = MediaItem.objects.filter(
            id=item.id, status=MediaStatus.PROCESSING, claimed_by=claimed_by, attempts__gt=0
        ).update(
            status=MediaStatus.QUARANTINED,
            attempts=F("attempts") - 1,
            claimed_at=None,
            claimed_by="",
            updated_at=timezone.now(),
        )
        if updated == 1:
            audit_record(
                action=AuditAction.MEDIA_WAITING_FOR_STORAGE,
                actor_label="worker",
                report_id=item.report_id,
                media_item_id=item.id,
                data={"error": error[:200]},
            )
    item.refresh_from_db()
    return item


def media_item_retry(*, item: MediaItem, by: User) -> MediaItem:
    """Staff re-run a failed item (its quarantine copy was kept): back to quarantine with
    its attempts reset; the caller queues it on commit. Refuses a user the policy does
    not allow (PermissionDenied) and an item that is not failed (InvalidTransition)."""
    if not policy.can_retry_media(by):
        raise PermissionDenied
    if MediaStatus.QUARANTINED not in MEDIA_STAFF_TRANSITIONS.get(item.status, set()):
        raise InvalidTransition(f"Only failed media can be re-run, not {item.status} media.")
    with transaction.atomic():
        updated = MediaItem.objects.filter(
            id=item.id, status=MediaStatus.FAILED, quarantine_name__gt=""
        ).update(
            status=MediaStatus.QUARANTINED,
            attempts=0,
            reject_reason="",
            claimed_at=None,
            claimed_by="",
            updated_at=timezone.now(),
        )
        if updated != 1:
            raise InvalidTransition("This media item was already re-run or has no copy left.")
        audit_record(
            action=AuditAction.MEDIA_RERUN,
            actor=by,
            report_id=item.report_id,
            media_item_id=item.id,
        )
        queue = jobs.media_queue(max(item.size_received, item.upload_length or 0))
        transaction.on_commit(
            partial(jobs.enqueue, jobs.PROCESS_MEDIA, queue=queue, media_item_id=str(item.id))
        )
    item.refresh_from_db()
    return item


# A settled item's quarantine copy is no longer needed. The row forgets it in the commit
# that settles the item, and the worker deletes the files after that commit: a crash in
# between leaves files no row names, which intake/leftovers.py deletes once idle past
# TESTIGO_ORPHAN_GRACE_S. Deleting first would lose the item if the commit then failed.
_QUARANTINE_FORGOTTEN: dict[str, Any] = {"quarantine_name": "", "quarantine_parts": []}


def _quarantine_forget_audit(*, item: MediaItem) -> None:
    audit_record(
        action=AuditAction.MEDIA_QUARANTINE_DESTROYED,
        actor_label="worker",
        report_id=item.report_id,
        media_item_id=item.id,
    )


def media_item_forget_quarantine(*, item: MediaItem) -> None:
    """Record that the quarantine copy is gone (the caller deleted the file): for rows
    settled before their settling commit forgot it, and abandoned uploads."""
    with transaction.atomic():
        MediaItem.objects.filter(id=item.id).update(**_QUARANTINE_FORGOTTEN, claimed_by="")
        _quarantine_forget_audit(item=item)


def report_settle_if_ready(*, report: Report) -> None:
    """Queue a report for moderation if none of its media is in flight (a report sent
    without files, or one the sweeper finds left behind by a crash)."""
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
        audit_record(action=AuditAction.REPORT_QUEUED, actor_label="system", report_id=report_id)
        report = Report.objects.get(id=report_id)
        if report_is_urgent(report):
            # A second chance for an alert whose publish at submit was lost; the task
            # sends at most once per report.
            transaction.on_commit(partial(report_alert_enqueue, report_id=report_id))
