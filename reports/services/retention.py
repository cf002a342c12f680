"""How long things are kept: legal hold, the purge of a report with every file it left,
and the retention policy's run (which reports are due, and purging them)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from reports import policy
from reports.models import AuditAction, CaseStatus, MediaItem, Moderation, Report
from reports.services.audit import audit_record


def report_legal_hold_set(*, report: Report, by: User, hold: bool) -> Report:
    if not policy.can_triage(by):
        raise PermissionDenied
    if Report.objects.filter(id=report.id).exclude(legal_hold=hold).update(legal_hold=hold):
        action = AuditAction.REPORT_LEGAL_HOLD_SET if hold else AuditAction.REPORT_LEGAL_HOLD_LIFTED
        audit_record(action=action, actor=by, report_id=report.id)
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
            action=AuditAction.REPORT_PURGED,
            actor=by,
            actor_label="" if by else "system",
            report_id=current.id,
            data={"reason": reason, "media_items": len(items), "files": files},
        )
    return True


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
        report = Report.objects.filter(id=entry.report_id).first()
        if report is not None and report_purge(report=report, reason=entry.reason):
            purged.append(entry)
    return purged
