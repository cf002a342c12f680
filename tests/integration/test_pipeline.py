"""Submission to moderation queue through a real Celery worker process.

The core path (submit, sanitize, pending, files stored) runs on local files and on the
object store alike (issue 15): a real web process and worker on the test's own Redis, with
the backend's environment, and every stored file read back through the storage API."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from PIL import Image

from intake.sweeper import quarantine_sweep
from reports.models import MediaItem, MediaStatus, Moderation, Report
from tests.factories import quarantined_item
from tests.factories.object_store import StorageBackend
from tests.factories.tools import require_shared_samples, require_tool
from tests.faults.conftest import Processes, api_submit

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _exiftool_gps_tags(path: str) -> list[str]:
    exiftool = require_tool("exiftool")
    out = subprocess.run(
        [exiftool, "-s", "-a", "-u", "-G1", path], capture_output=True, text=True, check=True
    ).stdout
    return [line for line in out.splitlines() if "GPS" in line or "CANARY" in line]


def _web_and_worker(
    backend: StorageBackend, processes: Processes, env: dict[str, str] | None = None
) -> str:
    """A web process and a worker on ``backend`` (plus ``env``); returns the web's host:port."""
    processes.extra_env.update({**backend.env, **(env or {})})
    processes.worker()
    return processes.gunicorn(workers=1)


def test_api_submission_reaches_moderation_queue_with_clean_photo(
    storage_backend: StorageBackend,
    processes: Processes,
    wait_for: Callable[..., Any],
    gps_jpeg: bytes,
    tmp_path: Path,
) -> None:
    quarantine_before = set(storage_backend.quarantine_names())
    web = _web_and_worker(storage_backend, processes)

    response = api_submit(web, "Agents detained a man outside the bakery.", [gps_jpeg])
    assert response.status == 201, response.body[:500]
    report = Report.objects.get()
    item = report.media_items.get()

    # The quarantine copy is destroyed just after the report settles: wait for both.
    wait_for(
        lambda: (
            Report.objects.filter(id=report.id, moderation=Moderation.PENDING).exists()
            and MediaItem.objects.filter(id=item.id, quarantine_name="").exists()
        ),
        timeout=120,
    )

    item.refresh_from_db()
    assert item.status == MediaStatus.CLEAN
    assert item.quarantine_name == ""
    assert set(storage_backend.quarantine_names()) - quarantine_before == set()
    assert {item.media_name, item.preview_name} <= set(storage_backend.names("media"))
    assert storages["media"].exists(item.media_name)
    copy = tmp_path / "sanitized.jpg"
    with storages["media"].open(item.media_name) as sanitized:
        copy.write_bytes(sanitized.read())
    assert _exiftool_gps_tags(str(copy)) == []
    with Image.open(copy) as image, Image.open(io.BytesIO(gps_jpeg)) as original:
        assert image.tobytes() == original.tobytes()
    assert item.manifest["lossless"] is True
    with storages["media"].open(item.preview_name) as preview, Image.open(preview) as image:
        assert (image.format, image.size) == ("JPEG", (64, 48))


def test_legal_hold_original_opens_only_with_private_key(
    storage_backend: StorageBackend,
    processes: Processes,
    wait_for: Callable[..., Any],
    gps_jpeg: bytes,
    legal_hold_keys: tuple[str, str],
    tmp_path: Path,
) -> None:
    web = _web_and_worker(
        storage_backend, processes, {"TESTIGO_LEGAL_HOLD_PUBLIC_KEY": legal_hold_keys[1]}
    )
    assert api_submit(web, "Legal hold.", [gps_jpeg]).status == 201
    item = MediaItem.objects.get()
    wait_for(
        lambda: MediaItem.objects.filter(id=item.id, status=MediaStatus.CLEAN).exists(),
        timeout=120,
    )
    item.refresh_from_db()
    assert item.sealed_original_name in storage_backend.names("legal_hold")
    with storages["legal_hold"].open(item.sealed_original_name) as sealed:
        assert b"CANARY" not in sealed.read()
    key_file = tmp_path / "legal-hold.key"
    key_file.write_text(legal_hold_keys[0])
    out = tmp_path / "original.jpg"

    call_command("unseal_original", "--key", str(key_file), str(item.id), str(out))

    assert out.read_bytes() == gps_jpeg


def test_unsupported_upload_is_refused_and_report_still_queued(
    celery_worker_process: Any, wait_for: Callable[..., Any]
) -> None:
    response = Client().post(
        "/api/v1/intake/reports/",
        {
            "description": "Two vans at the school gate.",
            "media": SimpleUploadedFile("a.jpg", b"%PDF-1.7\n..."),
        },
    )
    assert response.status_code == 201
    assert response.json()["refused_media"][0]["reason"] == "unsupported_format"
    report = Report.objects.get()
    assert report.moderation == Moderation.PENDING
    assert list(report.media_items.values_list("status", flat=True)) == [MediaStatus.REJECTED]


def test_sweeper_requeues_item_whose_task_was_never_published(
    celery_worker_process: Any, wait_for: Callable[..., Any], gps_jpeg: bytes
) -> None:
    # As if the broker was down at submit time: the rows and ciphertext exist, no task does.
    item = quarantined_item(gps_jpeg, description="Broker was down.")
    report, name = item.report, item.quarantine_name
    MediaItem.objects.filter(id=item.id).update(updated_at=timezone.now() - timedelta(hours=1))

    assert quarantine_sweep() == 1

    wait_for(lambda: Report.objects.filter(id=report.id, moderation=Moderation.PENDING).exists())
    item.refresh_from_db()
    assert item.status == MediaStatus.CLEAN
    assert not storages["quarantine"].exists(name)


@pytest.mark.parametrize(
    ("sample", "media_kind", "has_preview"),
    [
        ("mp4_rotated90_xyz.mp4", "video", True),
        ("heic_iphone_like.heic", "image", True),
        ("m4a_voice_memo.m4a", "audio", False),
        ("webm_vp9_matroska_tags.webm", "video", True),
        # ExifTool's check once refused these clean files (an ICC profile's emptied
        # creator, a voice note's Vorbis stream header).
        ("real/exifsamples_iphone_13_pro_max.HEIC", "image", True),
        ("opus_voice_note.opus", "audio", False),
    ],
)
def test_sample_media_is_sanitized_through_the_worker(
    celery_worker_process: Any,
    wait_for: Callable[..., Any],
    sample: str,
    media_kind: str,
    has_preview: bool,
) -> None:
    require_tool("ffmpeg")
    data = (require_shared_samples() / "files" / sample).read_bytes()
    Client().post(
        "/api/v1/intake/reports/",
        {"description": "Sample.", "media": SimpleUploadedFile("upload", data)},
    )
    item = MediaItem.objects.get()
    wait_for(lambda: MediaItem.objects.filter(id=item.id, status=MediaStatus.CLEAN).exists())
    item.refresh_from_db()
    assert (item.media_kind, bool(item.preview_name)) == (media_kind, has_preview)
    assert item.manifest["lossless"] is True
    assert item.sha256_sanitized != item.sha256_received
    with storages["media"].open(item.media_name) as sanitized:
        assert b"CANARY" not in sanitized.read().upper()
