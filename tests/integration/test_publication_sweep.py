"""Publishable copies whose task was lost: the sweeper queues the running step again, and
a real Celery worker finishes it; a live claim is left alone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from intake.sweeper import quarantine_sweep
from reports import services
from reports.models import CopyStatus, PublishableCopy
from reports.roles import LEGAL_AID
from reports.services.publication import CLAIM_STALE
from tests.factories.publication import clean_scene_photo, publishable_report
from tests.factories.staff import staff_user

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _lost_copy(*, claimed_ago: timedelta | None) -> tuple[PublishableCopy, int]:
    """A copy waiting for detection with no task queued, as if the broker was down when it
    was requested (claimed_ago None) or its worker died that long ago."""
    lawyer = staff_user("lawyer", LEGAL_AID)
    report = publishable_report(1)
    item, truth = clean_scene_photo(report)
    copy = PublishableCopy.objects.create(
        media_item=item, report=report, requested_by=lawyer, status=CopyStatus.DETECTING
    )
    now = timezone.now()
    PublishableCopy.objects.filter(id=copy.id).update(
        updated_at=now - timedelta(hours=1),
        claimed_at=None if claimed_ago is None else now - claimed_ago,
    )
    return copy, len(truth)


@pytest.mark.parametrize(
    "claimed_ago", [None, CLAIM_STALE + timedelta(minutes=1)], ids=["never-queued", "dead-worker"]
)
def test_sweeper_requeues_lost_copy_and_the_worker_finds_its_faces(
    celery_worker_process: Any, wait_for: Callable[..., Any], claimed_ago: timedelta | None
) -> None:
    copy, faces = _lost_copy(claimed_ago=claimed_ago)

    requeued = quarantine_sweep()

    wait_for(
        lambda: PublishableCopy.objects.filter(
            id=copy.id, status__in=(CopyStatus.REVIEW, CopyStatus.FAILED)
        ).exists(),
        timeout=120,
    )
    copy.refresh_from_db()
    assert (requeued, copy.status, copy.regions.count(), copy.claimed_at) == (
        1,
        CopyStatus.REVIEW,
        faces,
        None,
    )


def test_sweeper_leaves_live_claim_alone() -> None:
    copy, _faces = _lost_copy(claimed_ago=timedelta(minutes=5))
    claimed_at = PublishableCopy.objects.get(id=copy.id).claimed_at

    requeued = quarantine_sweep()

    copy.refresh_from_db()
    assert (requeued, copy.status, copy.claimed_at) == (0, CopyStatus.DETECTING, claimed_at)


def test_copy_progress_renews_the_claim() -> None:
    copy, _faces = _lost_copy(claimed_ago=CLAIM_STALE + timedelta(minutes=1))

    services.publishable_copy_progress(copy_id=copy.id, percent=40)

    copy.refresh_from_db()
    assert (copy.progress, quarantine_sweep()) == (40, 0)
    assert timezone.now() - copy.claimed_at < timedelta(minutes=1)  # type: ignore[operator]
