"""Workers killed mid-job, items that kill them every time, duplicate deliveries and a
crash between storing the sanitized file and destroying the quarantine copy (promise 7)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest
from celery import Celery
from django.contrib.auth.models import Group, User
from django.core.files.storage import storages
from django.test import override_settings

from intake.pipeline import (
    _media_item_sanitize,
    media_item_destroy_quarantine,
    worker_identity,
)
from intake.sweeper import quarantine_sweep
from reports.models import AuditEvent, MediaItem, MediaStatus, Moderation
from reports.roles import MODERATOR
from reports.services import media_item_claim, media_item_mark_clean
from tests.factories import jpeg_with_gps, quarantined_item
from tests.factories.staff import verified_client
from tests.faults.conftest import (
    Processes,
    media_files,
    quarantine_files,
    send_process_media,
)

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

MAX_ATTEMPTS = 3


def _kill_when_processing(item: MediaItem, killed: set[str], timeout: float = 30) -> None:
    """SIGKILL the pool child as soon as it holds ``item`` under a claim not yet killed: the
    worker dies mid-job, as under the kernel's OOM killer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = MediaItem.objects.filter(id=item.id, status=MediaStatus.PROCESSING).first()
        if row is not None and row.claimed_by and row.claimed_by not in killed:
            os.kill(int(row.claimed_by.split(":")[1]), signal.SIGKILL)
            killed.add(row.claimed_by)
            return
        time.sleep(0.01)
    raise AssertionError(f"item never entered processing within {timeout} s")


def _actions(item: MediaItem) -> list[str]:
    return list(
        AuditEvent.objects.filter(media_item_id=item.id)
        .order_by("at", "id")
        .values_list("action", flat=True)
    )


def _expected_outputs(item: MediaItem) -> set[str]:
    return {f"{item.id}.jpg", f"{item.id}.preview.jpg"}


def test_items_end_clean_exactly_once_when_worker_is_killed_mid_job_repeatedly(
    processes: Processes, own_celery: Celery, wait_for: Callable[..., Any]
) -> None:
    quarantine_before = quarantine_files()
    items = [quarantined_item(jpeg_with_gps(), f"Killed worker {n}.") for n in range(4)]
    processes.worker(concurrency=1, TESTIGO_MAX_ATTEMPTS=str(MAX_ATTEMPTS))
    for item in items:
        send_process_media(own_celery, item)

    # Kill each item's worker once, mid-job; the claim is far from stale (600 s), so only the
    # takeover of a provably dead claimant can finish them in time.
    killed: set[str] = set()
    for item in items:
        _kill_when_processing(item, killed)

    wait_for(
        lambda: MediaItem.objects.filter(status=MediaStatus.CLEAN).count() == len(items),
        timeout=60,
    )
    for item in items:
        item.refresh_from_db()
        assert (item.status, item.attempts, item.quarantine_name) == (MediaStatus.CLEAN, 2, "")
        assert _actions(item).count("media.clean") == 1
        assert _actions(item).count("media.retry") == 1
        assert media_files(item.report) == _expected_outputs(item)
        assert item.report.moderation == Moderation.PENDING
    assert quarantine_files() == quarantine_before


def test_item_killing_its_worker_every_time_fails_after_max_attempts_and_queue_moves_on(
    processes: Processes, own_celery: Celery, wait_for: Callable[..., Any]
) -> None:
    moderator = User.objects.create_user(
        username="mod-alert", email="moderator@example.org", is_staff=True
    )
    moderator.groups.add(Group.objects.get(name=MODERATOR))
    poison = quarantined_item(jpeg_with_gps(), "Poison item.")
    healthy = quarantined_item(jpeg_with_gps(), "Next in the queue.")
    processes.worker(concurrency=1, TESTIGO_MAX_ATTEMPTS=str(MAX_ATTEMPTS))
    send_process_media(own_celery, poison)
    send_process_media(own_celery, healthy)

    killed: set[str] = set()
    for _attempt in range(MAX_ATTEMPTS):
        _kill_when_processing(poison, killed)

    wait_for(lambda: MediaItem.objects.filter(id=poison.id, status=MediaStatus.FAILED).exists())
    wait_for(lambda: MediaItem.objects.filter(id=healthy.id, status=MediaStatus.CLEAN).exists())
    poison.refresh_from_db()
    assert (poison.attempts, poison.reject_reason) == (MAX_ATTEMPTS, "processing_failed")
    # Failed media stays in quarantine, never viewable, and the report still moves on.
    assert storages["quarantine"].exists(poison.quarantine_name)
    assert poison.media_name == ""
    assert poison.report.moderation == Moderation.PENDING
    assert _actions(poison).count("media.failed") == 1
    failed_at = AuditEvent.objects.get(media_item_id=poison.id, action="media.failed").at
    clean_at = AuditEvent.objects.get(media_item_id=healthy.id, action="media.clean").at
    assert (clean_at - failed_at).total_seconds() < 10
    wait_for(lambda: AuditEvent.objects.filter(action="alert.media_failed").exists())
    mails = [p.read_text() for p in processes.mail_dir.iterdir()]
    assert len(mails) == 1
    assert "moderator@example.org" in mails[0]
    assert str(poison.id) in mails[0]


def test_same_task_delivered_twice_at_once_gives_one_set_of_outputs(
    processes: Processes, own_celery: Celery, wait_for: Callable[..., Any]
) -> None:
    item = quarantined_item(jpeg_with_gps(), "Delivered twice.")
    processes.worker(concurrency=2)

    send_process_media(own_celery, item)
    send_process_media(own_celery, item)

    wait_for(lambda: MediaItem.objects.filter(id=item.id, status=MediaStatus.CLEAN).exists())
    time.sleep(2)  # let the second delivery finish (it must do nothing)
    item.refresh_from_db()
    assert item.attempts == 1
    assert _actions(item) == [
        "media.quarantined",
        "media.processing",
        "media.clean",
        "media.quarantine_destroyed",
    ]
    assert media_files(item.report) == _expected_outputs(item)


def test_crash_between_storing_output_and_destroying_quarantine_is_reconciled(
    admin_user: User,
) -> None:
    original = jpeg_with_gps()
    item = quarantined_item(original, "Crash before clean-up.")
    quarantine_name = item.quarantine_name
    # What a worker leaves when it dies right after marking the item clean: the sanitized
    # file is stored and the row is clean, and in the same commit it stopped naming the
    # quarantine copy, whose file is still there.
    claimed = media_item_claim(
        media_item_id=item.id,
        stale_before=item.created_at,
        claimant=worker_identity(),
    )
    assert claimed is not None
    assert _media_item_sanitize(claimed) == "clean"
    item.refresh_from_db()
    assert (item.status, item.quarantine_name) == (MediaStatus.CLEAN, "")
    assert storages["quarantine"].exists(quarantine_name)

    # A file no row names goes once idle past the grace (here: at once).
    with override_settings(TESTIGO_ORPHAN_GRACE_S=0, TESTIGO_UPLOAD_STALL_S=0):
        quarantine_sweep()

    item.refresh_from_db()
    assert item.quarantine_name == ""
    assert not storages["quarantine"].exists(quarantine_name)
    # Media views need a session verified with a second factor, as every admin page.
    served = verified_client(admin_user).get(f"/staff/media/{item.id}/")
    body = b"".join(served.streaming_content)  # type: ignore[attr-defined]
    assert served.status_code == 200
    assert b"CANARY" not in body
    assert body != original
    assert _actions(item).count("media.quarantine_destroyed") == 1


def test_quarantine_destroy_is_idempotent_after_file_already_gone() -> None:
    item = quarantined_item(jpeg_with_gps(), "Deleted, row not updated.")
    claimed = media_item_claim(
        media_item_id=item.id, stale_before=item.created_at, claimant=worker_identity()
    )
    assert claimed is not None
    media_item_mark_clean(item=claimed, media_name="x.jpg", manifest={"removed": []})
    # The crash came after deleting the file and before recording it.
    quarantine_name = item.quarantine_name
    storages["quarantine"].delete(quarantine_name)

    quarantine_sweep()

    item.refresh_from_db()
    assert item.quarantine_name == ""
    assert storages["quarantine"].exists(quarantine_name) is False
    media_item_destroy_quarantine(item=item)  # a second pass changes nothing
    assert _actions(item).count("media.quarantine_destroyed") == 1
