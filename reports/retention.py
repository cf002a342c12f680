"""The retention policy: which reports are due to go, and the run that purges them."""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from reports.models import CaseStatus, Moderation, Report
from reports.services import report_purge

logger = logging.getLogger(__name__)


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
