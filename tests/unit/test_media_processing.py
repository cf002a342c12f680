"""The processing service run in this process (no broker): idempotence and defaults."""

from __future__ import annotations

import io

import pytest
from django.core.files import File
from django.core.files.storage import storages
from django.test import override_settings

from intake.pipeline import ProcessOutcome, media_item_process
from reports.models import MediaStatus, Moderation, Report
from tests.factories import quarantined_item

pytestmark = pytest.mark.django_db


@override_settings(TESTIGO_LEGAL_HOLD_PUBLIC_KEY="")
def test_media_process_without_legal_hold_keeps_no_original(gps_jpeg: bytes) -> None:
    item = quarantined_item(gps_jpeg)
    quarantine_name = item.quarantine_name

    assert media_item_process(media_item_id=item.id) == ProcessOutcome.CLEAN

    item.refresh_from_db()
    assert (item.status, item.sealed_original_name, item.quarantine_name) == (
        MediaStatus.CLEAN,
        "",
        "",
    )
    assert not storages["quarantine"].exists(quarantine_name)
    assert Report.objects.get().moderation == Moderation.PENDING


def test_media_process_twice_does_the_work_once(gps_jpeg: bytes) -> None:
    item = quarantined_item(gps_jpeg)
    assert media_item_process(media_item_id=item.id) == ProcessOutcome.CLEAN
    assert media_item_process(media_item_id=item.id) == ProcessOutcome.SKIPPED
    item.refresh_from_db()
    assert item.attempts == 1


def test_media_process_of_corrupt_quarantine_fails_after_max_attempts() -> None:
    item = quarantined_item(b"")
    storages["quarantine"].delete(item.quarantine_name)
    storages["quarantine"].save(item.quarantine_name, File(io.BytesIO(b"not ciphertext")))
    with override_settings(TESTIGO_MAX_ATTEMPTS=2):
        assert media_item_process(media_item_id=item.id) == ProcessOutcome.RETRY
        assert media_item_process(media_item_id=item.id) == ProcessOutcome.FAILED
    item.refresh_from_db()
    assert (item.status, item.attempts) == (MediaStatus.FAILED, 2)
    # A failed item keeps its quarantine copy and is never viewable.
    assert item.quarantine_name != ""
    assert item.media_name == ""
