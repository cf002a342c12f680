"""A worker process's resident helpers (issue 16): one ExifTool and one preview child serve
all its files, end with the worker, and an ExifTool that cannot answer keeps media hidden
(promises 3 and 8)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from reports.models import MediaItem, MediaStatus
from tests.factories import jpeg_with_gps, quarantined_item
from tests.factories.processes import descendants, process_alive
from tests.faults.conftest import Processes, media_files, send_process_media

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]


def _helpers(worker: subprocess.Popen[bytes]) -> dict[str, list[int]]:
    """The worker's ExifTools and preview children, by their command lines."""
    found: dict[str, list[int]] = {"exiftool": [], "preview": []}
    for pid in descendants(worker.pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"-stay_open" in command:
            found["exiftool"].append(pid)
        elif b"intake.preview" in command and b"serve" in command:
            found["preview"].append(pid)
    return found


def test_worker_helpers_serve_every_file_and_end_with_the_worker(
    processes: Processes, own_celery: Celery, wait_for: Callable[..., Any]
) -> None:
    first = quarantined_item(jpeg_with_gps(), "First photo.")
    worker = processes.worker(concurrency=1)
    send_process_media(own_celery, first)
    wait_for(lambda: MediaItem.objects.filter(id=first.id, status=MediaStatus.CLEAN).exists())
    helpers = _helpers(worker)
    assert [len(pids) for pids in helpers.values()] == [1, 1]

    later = [quarantined_item(jpeg_with_gps(), f"Photo {n}.") for n in range(3)]
    for item in later:
        send_process_media(own_celery, item)
    wait_for(
        lambda: (
            MediaItem.objects.filter(
                id__in=[item.id for item in later], status=MediaStatus.CLEAN
            ).count()
            == len(later)
        )
    )

    assert _helpers(worker) == helpers
    for item in [first, *later]:
        item.refresh_from_db()
        assert item.preview_name and len(item.dhash) == 16
    worker.terminate()
    worker.wait(30)
    pids = helpers["exiftool"] + helpers["preview"]
    wait_for(lambda: not any(process_alive(pid) for pid in pids), timeout=10)


def test_item_stays_hidden_when_exiftool_cannot_answer(
    processes: Processes, own_celery: Celery, wait_for: Callable[..., Any], tmp_path: Path
) -> None:
    dies = tmp_path / "exiftool-that-dies"
    dies.write_text("#!/bin/sh\nexit 0\n")
    dies.chmod(0o755)
    item = quarantined_item(jpeg_with_gps(), "Nobody checks this one.")
    processes.worker(concurrency=1, TESTIGO_EXIFTOOL=str(dies), TESTIGO_MAX_ATTEMPTS="1")
    send_process_media(own_celery, item)

    wait_for(lambda: MediaItem.objects.filter(id=item.id, status=MediaStatus.FAILED).exists())

    item.refresh_from_db()
    assert (item.status, item.media_name, item.preview_name) == (MediaStatus.FAILED, "", "")
    assert media_files(item.report) == set()
