"""The sweeper: what lost tasks, stalled uploads and killed processes left behind.

Run by Celery beat (intake.tasks.sweep_quarantine). It builds on both the pipeline and
the resumable uploads, which is why it has a module of its own: neither of those needs
to import the other's callers.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from intake.leftovers import (
    quarantine_orphans_sweep,
    quarantine_unrecorded_sweep,
    work_folders_sweep,
)
from intake.pipeline import media_item_destroy_quarantine, media_item_enqueue
from intake.resumable import resumable_upload_abandon
from reports import selectors
from reports.models import RefusalReason
from reports.services import report_settle_if_ready
from reports.services.publication import CLAIM_STALE, publishable_copy_requeue


def quarantine_sweep() -> int:
    """Re-queue media items and publishable copies whose task was lost and finish
    interrupted clean-ups. Returns how many were re-queued (published to the broker)."""
    now = timezone.now()
    stalled_before = now - timedelta(seconds=settings.TESTIGO_UPLOAD_STALL_S)
    for expired in selectors.media_items_upload_expired(now=now, stalled_before=stalled_before):
        resumable_upload_abandon(
            item=expired, reason=RefusalReason.UPLOAD_EXPIRED, actor_label="system"
        )
    for leftover in selectors.media_items_with_leftover_quarantine():
        media_item_destroy_quarantine(item=leftover)
    candidates = selectors.media_items_to_sweep(
        idle_before=now - timedelta(seconds=settings.TESTIGO_SWEEP_AFTER_S)
    )
    count = 0
    for media_item_id in candidates.values_list("id", flat=True):
        if media_item_enqueue(media_item_id=media_item_id):
            count += 1
    for copy in selectors.publishable_copies_to_sweep(
        idle_before=now - timedelta(seconds=settings.TESTIGO_SWEEP_AFTER_S),
        stale_before=now - CLAIM_STALE,
    ):
        if publishable_copy_requeue(copy=copy):
            count += 1
    for report in selectors.reports_received_without_media_in_flight():
        report_settle_if_ready(report=report)
    # Last, so a storage error here never holds up the re-queueing above: what killed
    # processes left, unrecorded upload parts and multipart files, and a dead worker's
    # work folders.
    quarantine_orphans_sweep(now=now)
    quarantine_unrecorded_sweep(now=now)
    work_folders_sweep()
    return count
