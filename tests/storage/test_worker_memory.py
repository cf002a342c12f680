"""Reads stream (issue 15): a worker processing a large video from the object store keeps
its resident memory under 150 MB. CI processes a 150 MB video; bench/worker_memory.py
runs this same test at 1 GB (TESTIGO_WORKER_MEMORY_VIDEO_MB=1000) and prints the figure.

Measured: the peak resident size (VmHWM) of the worker's pool process, which reads the
quarantine object, decrypts, sanitizes to its work folder and uploads the result. The
preview is made by a resource-limited child of its own (intake/preview.py), not counted."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from reports.models import MediaItem, MediaStatus
from tests.factories import noise_video, quarantined_file
from tests.factories.object_store import ObjectStore
from tests.factories.processes import children_of
from tests.factories.tools import require_tool
from tests.faults.conftest import Processes

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

LIMIT_MB = 150
VIDEO_MB = int(os.environ.get("TESTIGO_WORKER_MEMORY_VIDEO_MB", "150"))


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_worker_rss_stays_under_150_mb_processing_a_large_video_from_the_object_store(
    object_store: ObjectStore,
    processes: Processes,
    own_celery: Celery,
    settings: Any,
    tmp_path: Path,
    wait_for: Callable[..., Any],
) -> None:
    require_tool("ffmpeg")
    video = noise_video(tmp_path / "long.mp4", VIDEO_MB)
    settings.STORAGES = object_store.storages_setting()
    item = quarantined_file(video)
    video.unlink()
    processes.extra_env.update(object_store.app_env())
    worker = processes.worker()
    (pool,) = children_of(worker.pid)
    before = _peak_rss_mb(pool)

    own_celery.send_task(
        "intake.tasks.process_media", kwargs={"media_item_id": str(item.id)}, queue="media_large"
    )
    wait_for(
        lambda: MediaItem.objects.filter(id=item.id, status=MediaStatus.CLEAN).exists(),
        timeout=600,
        interval=1,
    )

    peak = _peak_rss_mb(pool)
    item.refresh_from_db()
    print(f"\nworker pool process peak RSS: {before:.0f} MB idle, {peak:.0f} MB after a "
          f"{item.size_received / 1e6:.0f} MB video from the object store")  # fmt: skip
    assert item.status == MediaStatus.CLEAN
    assert peak < LIMIT_MB
    object_store.empty()
