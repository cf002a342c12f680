"""How long things are kept: legal hold, the purge of a report with every file it left in
every state, and the retention policy's run (which reports are due, and purging them)."""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from reports import policy
from reports.models import (
    AuditAction,
    CaseStatus,
    MediaItem,
    Moderation,
    Report,
    ReportShare,
    WebhookEvent,
)
from reports.services.audit import audit_record
from reports.services.webhooks import webhook_event_emit

logger = logging.getLogger(__name__)


def report_legal_hold_set(*, report: Report, by: User, hold: bool) -> Report:
    if not policy.can_triage(by):
        raise PermissionDenied
    if Report.objects.filter(id=report.id).exclude(legal_hold=hold).update(legal_hold=hold):
        action = AuditAction.REPORT_LEGAL_HOLD_SET if hold else AuditAction.REPORT_LEGAL_HOLD_LIFTED
        audit_record(action=action, actor=by, report_id=report.id)
    report.refresh_from_db()
    return report


def report_purge(*, report: Report, reason: str, by: User | None = None) -> bool:
    """Delete a report, its rows and every file it left, in every media state (sanitized
    media, previews, sealed originals, quarantine copies and resumable-upload parts, its
    publishable copies and their review frames),
    unless it is under legal hold. Files go first: if anything fails the rows stay, and
    the next run tries again, so nothing is kept. Partners it was shared with are told
    (share.revoked), since they hold a copy."""
    current = Report.objects.filter(id=report.id, legal_hold=False).first()
    if current is None:
        return False
    items = list(MediaItem.objects.filter(report=current))
    files = _report_files_delete(report_id=current.id, items=items)
    holders = list(
        ReportShare.objects.filter(report_id=current.id, revoked_at__isnull=True).values_list(
            "organisation_id", flat=True
        )
    )
    with transaction.atomic():
        deleted = Report.objects.filter(id=current.id, legal_hold=False).delete()[0]
        if not deleted:
            return False
        webhook_event_emit(
            event=WebhookEvent.SHARE_REVOKED, report_id=current.id, organisation_ids=holders
        )
        audit_record(
            action=AuditAction.REPORT_PURGED,
            actor=by,
            actor_label="" if by else "system",
            report_id=current.id,
            data={"reason": reason, "media_items": len(items), "files": files},
        )
    return True


def _report_files_delete(*, report_id: Any, items: list[MediaItem]) -> int:
    """Delete every file of a report and return how many there were: the names its rows
    record, and whatever lies under its prefixes, found by listing rather than by name
    (so any layout of resumable-upload parts goes, and on S3, where a prefix is not a
    thing to delete, its parts too). Raises when a deletion fails."""
    names: set[tuple[str, str]] = set()
    prefixes = {
        ("media", f"{report_id}/"),
        ("legal_hold", f"{report_id}/"),
        # Publishable copies and the frames sampled for their review (faces not hidden).
        ("media", f"publication/{report_id}/"),
    }
    for item in items:
        for part in item.quarantine_parts:
            names.add(("quarantine", part))
        for storage, name in (
            ("media", item.media_name),
            ("media", item.preview_name),
            ("quarantine", item.quarantine_name),
            # Sealed originals are kept for legal hold; past retention, they go too.
            ("legal_hold", item.sealed_original_name),
        ):
            if name.endswith("/"):
                prefixes.add((storage, name))
            elif name:
                names.add((storage, name))
        # Where resumable uploads keep their parts, even once the row has forgotten them.
        prefixes.add(("quarantine", f"tus/{item.id}/"))
    folders: list[tuple[str, str]] = []
    for storage, prefix in sorted(prefixes):
        found_files, found_folders = _storage_walk(storages[storage], prefix)
        names.update((storage, name) for name in found_files)
        folders.extend((storage, folder) for folder in found_folders)
    for storage, name in sorted(names):
        storages[storage].delete(name)
    # Local storage leaves the emptied folders behind; deepest first. Object stores have
    # none (exists() is False for a prefix there).
    for storage, folder in sorted(folders, key=lambda entry: -len(entry[1])):
        if storages[storage].exists(folder):
            storages[storage].delete(folder)
    return len(names)


def _storage_walk(storage: Storage, prefix: str) -> tuple[list[str], list[str]]:
    """(files, folders) under ``prefix`` (ending in "/"), the prefix's own folder
    included in folders when the storage has one."""
    try:
        dirs, files = storage.listdir(prefix)
    except FileNotFoundError:
        return [], []
    found_files = [prefix + name for name in files]
    found_folders = [prefix.rstrip("/")]
    for name in dirs:
        sub_files, sub_folders = _storage_walk(storage, f"{prefix}{name}/")
        found_files += sub_files
        found_folders += sub_folders
    return found_files, found_folders


@dataclasses.dataclass(frozen=True)
class Due:
    report_id: UUID
    reason: str


def reports_due_for_purge(*, now: datetime | None = None) -> QuerySet[Report]:
    """Rejected reports past their period, closed cases past theirs; never legal hold."""
    now = now or timezone.now()
    rejected_before = now - timedelta(days=settings.TESTIGO_RETENTION_REJECTED_DAYS)
    closed_before = now - timedelta(days=settings.TESTIGO_RETENTION_CLOSED_DAYS)
    return (
        Report.objects.filter(
            Q(moderation=Moderation.REJECTED, reviewed_at__lt=rejected_before)
            | Q(
                moderation=Moderation.APPROVED,
                case_status=CaseStatus.CLOSED,
                closed_at__lt=closed_before,
            )
        )
        .filter(legal_hold=False)
        .order_by("received_at")
    )


def retention_purge(*, dry_run: bool, now: datetime | None = None) -> list[Due]:
    """Purge what the policy says is due (or only list it, for a dry run)."""
    due = [
        Due(report_id=r.id, reason="rejected" if r.moderation == Moderation.REJECTED else "closed")
        for r in reports_due_for_purge(now=now).only("id", "moderation")
    ]
    if dry_run:
        return due
    purged = []
    for entry in due:
        try:
            report = Report.objects.filter(id=entry.report_id).first()
            if report is not None and report_purge(report=report, reason=entry.reason):
                purged.append(entry)
        except Exception:
            # One report's failure (a storage error, a file in the way) must not keep the
            # others: its rows stay, so the next run tries it again.
            logger.exception("purging report %s failed; the next run retries", entry.report_id)
    return purged
