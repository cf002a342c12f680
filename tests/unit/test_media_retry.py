"""Staff re-run a failed media item (issue 15): the service with its policy check and
audit event, the button on the moderator's report page, a role without the right refused;
and an object-store outage during processing hands its attempt back (media_item_wait)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from reports.models import AuditAction, AuditEvent, MediaItem, MediaStatus, Moderation
from reports.services import (
    InvalidTransition,
    media_item_claim,
    media_item_release,
    media_item_retry,
    media_item_wait,
)
from tests.factories import quarantined_item
from tests.factories.staff import verified_client

pytestmark = pytest.mark.django_db


def _failed_item() -> MediaItem:
    item = quarantined_item(b"\xff\xd8\xff not really a photo")
    claimed = media_item_claim(
        media_item_id=item.id, stale_before=timezone.now() - timedelta(hours=1), claimant="w:1"
    )
    assert claimed is not None
    return media_item_release(item=claimed, error="Crash", max_attempts=1, claimed_by="w:1")


def test_media_item_retry_by_moderator_puts_failed_item_back_with_fresh_attempts(
    moderator: User,
) -> None:
    item = _failed_item()
    assert (item.status, item.attempts) == (MediaStatus.FAILED, 1)

    retried = media_item_retry(item=item, by=moderator)

    assert (retried.status, retried.attempts, retried.reject_reason) == (
        MediaStatus.QUARANTINED,
        0,
        "",
    )
    event = AuditEvent.objects.get(action=AuditAction.MEDIA_RERUN)
    assert (event.actor_id, event.media_item_id) == (moderator.id, item.id)


def test_media_item_retry_by_legal_aid_is_refused(legal_aid: User) -> None:
    item = _failed_item()

    with pytest.raises(PermissionDenied):
        media_item_retry(item=item, by=legal_aid)

    item.refresh_from_db()
    assert item.status == MediaStatus.FAILED
    assert AuditEvent.objects.filter(action=AuditAction.MEDIA_RERUN).count() == 0


def test_media_item_retry_of_an_item_not_failed_is_refused(moderator: User) -> None:
    item = quarantined_item(b"\xff\xd8\xff")

    with pytest.raises(InvalidTransition):
        media_item_retry(item=item, by=moderator)


def test_media_item_retry_twice_is_refused_the_second_time(moderator: User) -> None:
    item = _failed_item()
    media_item_retry(item=item, by=moderator)

    with pytest.raises(InvalidTransition):
        media_item_retry(item=item, by=moderator)


def test_media_item_wait_gives_the_attempt_back(db: None) -> None:
    item = quarantined_item(b"\xff\xd8\xff")
    claimed = media_item_claim(
        media_item_id=item.id, stale_before=timezone.now() - timedelta(hours=1), claimant="w:2"
    )
    assert claimed is not None and claimed.attempts == 1

    waited = media_item_wait(item=claimed, error="object store unreachable", claimed_by="w:2")

    assert (waited.status, waited.attempts, waited.claimed_by) == (MediaStatus.QUARANTINED, 0, "")
    assert AuditEvent.objects.filter(action=AuditAction.MEDIA_WAITING_FOR_STORAGE).count() == 1


def test_media_item_wait_leaves_another_claim_alone(db: None) -> None:
    item = quarantined_item(b"\xff\xd8\xff")
    claimed = media_item_claim(
        media_item_id=item.id, stale_before=timezone.now() - timedelta(hours=1), claimant="w:3"
    )
    assert claimed is not None

    waited = media_item_wait(item=claimed, error="unreachable", claimed_by="someone-else")

    assert (waited.status, waited.attempts) == (MediaStatus.PROCESSING, 1)


def test_report_page_rerun_button_requeues_the_failed_item(moderator: User) -> None:
    item = _failed_item()
    report = item.report
    report.refresh_from_db()
    assert report.moderation == Moderation.PENDING
    client = verified_client(moderator)
    page = client.get(reverse("admin:reports_moderationqueue_change", args=[report.pk]))
    url = reverse("admin:reports_moderationqueue_retry_media", args=[report.pk, item.pk])
    assert url in page.content.decode()

    response = client.post(url, {"_page": "1", "description_redacted": report.description})

    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == MediaStatus.QUARANTINED


def test_report_page_rerun_by_legal_aid_is_refused(legal_aid: User) -> None:
    item = _failed_item()
    url = reverse("admin:reports_moderationqueue_retry_media", args=[item.report_id, item.pk])

    response = verified_client(legal_aid).post(url, {"_page": "1"})

    assert response.status_code == 403
    item.refresh_from_db()
    assert item.status == MediaStatus.FAILED
