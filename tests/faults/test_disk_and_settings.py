"""A full disk while receiving an upload, and the Celery settings the pipeline relies on."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from config.celery import app
from reports.models import MediaItem, MediaStatus, Report
from tests.factories import jpeg_with_gps
from tests.factories.tools import need

pytestmark = [pytest.mark.faults]

DISK_BYTES = 256 * 1024


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KB tmpfs of our own (root only); unmounted afterwards."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES},mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        need(f"mounting a small tmpfs needs root: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.django_db
def test_upload_larger_than_free_disk_is_refused_cleanly_and_report_kept(
    tiny_disk: Path, settings: SettingsWrapper
) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "quarantine": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tiny_disk), "base_url": None},
        },
    }
    # No free-space floor (tests/hostile/test_abuse_disk.py has it): a file larger than the
    # free space is still refused before a byte is written, and the one that fits is kept.
    settings.TESTIGO_DISK_FLOOR_BYTES = 0
    too_big = b"\xff\xd8\xff\xe0" + os.urandom(4 * DISK_BYTES)
    fits = jpeg_with_gps()

    response = Client().post(
        "/api/v1/intake/reports/",
        {
            "description": "The disk filled up.",
            "media": [SimpleUploadedFile("big.jpg", too_big), SimpleUploadedFile("ok.jpg", fits)],
        },
        HTTP_ACCEPT_LANGUAGE="es",
    )

    assert response.status_code == 201
    assert response.json()["refused_media"] == [
        {
            "index": 0,
            "reason": "storage_full",
            "message": "En este momento no podemos recibir archivos. Su reporte se guardó; "
            "envíe los archivos de nuevo más tarde.",
        }
    ]
    report = Report.objects.get()
    assert report.description == "The disk filled up."
    statuses = dict(report.media_items.values_list("position", "status"))
    assert statuses == {0: MediaStatus.REJECTED, 1: MediaStatus.QUARANTINED}
    kept = MediaItem.objects.get(position=1)
    # Only the file that fitted is on the disk: no partial ciphertext of the refused one.
    assert sorted(p.name for p in tiny_disk.iterdir()) == [kept.quarantine_name]


def test_celery_settings_ack_late_requeue_lost_and_visibility_outlives_time_limit() -> None:
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_publish_retry is False
    if settings.REDIS_URL:
        options = conf.broker_transport_options
        assert options["visibility_timeout"] >= 2 * conf.task_time_limit
        assert options["socket_timeout"] == settings.TESTIGO_PUBLISH_TIMEOUT_S
        assert options["max_retries"] == 0
    assert settings.TESTIGO_PUBLISH_TIMEOUT_S < 5
    assert conf.task_time_limit < settings.TESTIGO_CLAIM_STALE_S


@pytest.mark.django_db
def test_attempts_are_counted_in_the_database_on_every_claim() -> None:
    from intake.pipeline import worker_identity
    from reports.services import media_item_claim, media_item_release
    from tests.factories import quarantined_item

    item = quarantined_item(jpeg_with_gps())
    for attempt in range(1, 4):
        claimed = media_item_claim(
            media_item_id=item.id, stale_before=item.created_at, claimant=worker_identity()
        )
        assert claimed is not None
        assert claimed.attempts == attempt
        media_item_release(item=claimed, error="test", max_attempts=3)
    item.refresh_from_db()
    assert (item.status, item.attempts) == (MediaStatus.FAILED, 3)
