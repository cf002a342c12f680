"""The processing service run in this process (no broker): idempotence and defaults."""

from __future__ import annotations

import io

import pytest
from django.core.files import File
from django.core.files.storage import storages
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

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


def _commits(statements: list[str]) -> list[str]:
    """The commits a run of statements made, each "flushed" (waits for the disk) or
    "unflushed" (its transaction set synchronous_commit off): each COMMIT, and each
    write outside BEGIN ... COMMIT (autocommit)."""
    commits = []
    in_transaction = unflushed = False
    for sql in statements:
        verb = sql.split(None, 1)[0].upper()
        if verb == "BEGIN":
            in_transaction, unflushed = True, False
        elif sql == "SET LOCAL synchronous_commit TO OFF":
            unflushed = True
        elif verb == "COMMIT":
            in_transaction = False
            commits.append("unflushed" if unflushed else "flushed")
        elif verb in ("INSERT", "UPDATE", "DELETE") and not in_transaction:
            commits.append("flushed")
    return commits


@pytest.mark.django_db(transaction=True)  # real commits, not the test's savepoints
def test_media_process_of_a_photo_makes_one_flushed_commit(gps_jpeg: bytes) -> None:
    # Per item: the claim with its audit event (not waiting for the disk), then the
    # clean result with its audit event, the quarantine copy forgotten and the report
    # settled (docs/operations.md, "One worker against bare sanitize()").
    item = quarantined_item(gps_jpeg)
    with CaptureQueriesContext(connection) as queries:
        assert media_item_process(media_item_id=item.id) == ProcessOutcome.CLEAN
    statements = [query["sql"] for query in queries.captured_queries]
    work = [sql for sql in statements if sql.split(None, 1)[0].upper() not in ("BEGIN", "COMMIT")]
    assert (_commits(statements), len(work)) == (["unflushed", "flushed"], 16)
    assert not storages["quarantine"].exists(item.quarantine_name)
