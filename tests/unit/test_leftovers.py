"""What a killed process leaves behind is swept: an upload part stored but never recorded
on its row (killed between ``storage.save`` and the row update), and the work folder of a
worker process that is gone."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from intake.leftovers import work_folder, work_folders_sweep, work_root
from intake.resumable import resumable_upload_append
from intake.segments import SEGMENT_BYTES
from intake.sweeper import quarantine_sweep
from reports.models import MediaItem, MediaStatus
from tests.unit.test_segments import _reader, _upload

pytestmark = pytest.mark.django_db

GRACE_S = 600


def _age(name: str, seconds: float) -> None:
    path = storages["quarantine"].path(name)
    then = time.time() - seconds
    os.utime(path, (then, then))


def _unrecorded_part(item_id: object, offset: int) -> str:
    """Exactly what ``_segment_store`` leaves when killed after ``quarantine.save``."""
    return storages["quarantine"].save(
        f"tus/{item_id}/{offset:013d}-{uuid.uuid4().hex[:8]}.tq", ContentFile(b"sealed")
    )


def test_sweep_removes_old_unrecorded_parts_and_keeps_recorded_and_fresh_ones(
    gps_jpeg: bytes, settings: Any
) -> None:
    settings.TESTIGO_ORPHAN_GRACE_S = GRACE_S
    item, data, _ = _upload(gps_jpeg, 3 * SEGMENT_BYTES)
    item = resumable_upload_append(
        item=item,
        offset=0,
        length=len(data),
        read=_reader(data, stop_after=2 * SEGMENT_BYTES, stop=None),
    )
    assert item.status == MediaStatus.UPLOADING
    recorded = list(item.quarantine_parts)
    assert len(recorded) == 2
    orphan = _unrecorded_part(item.id, 2 * SEGMENT_BYTES)  # killed before the row update
    fresh = _unrecorded_part(item.id, 2 * SEGMENT_BYTES)  # being recorded right now
    for name in [*recorded, orphan]:
        _age(name, GRACE_S + 60)
    gone_item = uuid.uuid4()  # an item purged while a part of it was being stored
    stray = _unrecorded_part(gone_item, 0)
    _age(stray, GRACE_S + 60)

    quarantine_sweep()

    quarantine = storages["quarantine"]
    assert not quarantine.exists(orphan)
    assert not quarantine.exists(stray)
    assert not quarantine.exists(f"tus/{gone_item}")
    assert quarantine.exists(fresh)
    assert all(quarantine.exists(name) for name in recorded)
    item.refresh_from_db()
    assert item.quarantine_parts == recorded
    assert item.status == MediaStatus.UPLOADING


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_work_folders_of_dead_processes_are_removed_and_live_ones_kept() -> None:
    host = socket.gethostname()
    dead = work_root() / f"{host}_{_dead_pid()}_abc123"
    (dead / "inner").mkdir(parents=True)
    (dead / "inner" / "out").write_bytes(b"sanitized")
    other_host = work_root() / f"elsewhere_{_dead_pid()}_abc123"  # not ours to judge
    other_host.mkdir()

    with work_folder() as live:
        (live / "original.sealed").write_bytes(b"sealed")
        work_folders_sweep()
        assert live.exists()
        assert live.name.startswith(f"{host}_{os.getpid()}_")
        assert (live.stat().st_mode & 0o777) == 0o700

    assert not dead.exists()
    assert other_host.exists()
    other_host.rmdir()


def test_quarantine_sweep_also_removes_dead_work_folders(tmp_path: Path) -> None:
    dead = work_root() / f"{socket.gethostname()}_{_dead_pid()}_xyz"
    dead.mkdir()

    quarantine_sweep()

    assert not dead.exists()
    assert MediaItem.objects.count() == 0


def test_sweep_removes_old_unrecorded_multipart_files_and_keeps_recorded_and_fresh_ones(
    settings: Any,
) -> None:
    """A multipart file is sealed into quarantine as it streams in: a process killed
    meanwhile leaves a file no row names."""
    from intake.services import report_submit
    from reports.services import media_item_quarantine

    settings.TESTIGO_ORPHAN_GRACE_S = GRACE_S
    settings.TESTIGO_UPLOAD_STALL_S = 2 * GRACE_S
    quarantine = storages["quarantine"]
    report = report_submit(description="Killed mid-upload.", resumable_uploads_follow=True).report
    recorded = quarantine.save(f"{uuid.uuid4().hex}.tq", ContentFile(b"sealed"))
    media_item_quarantine(
        report=report, position=0, quarantine_name=recorded, size=6, sha256="0" * 64
    )
    orphan = quarantine.save(f"{uuid.uuid4().hex}.tq", ContentFile(b"sealed"))
    arriving = quarantine.save(f"{uuid.uuid4().hex}.tq", ContentFile(b"sealed"))
    for name in (recorded, orphan):
        _age(name, 2 * GRACE_S + 60)
    _age(arriving, 2 * GRACE_S - 60)  # still within the upload stall limit

    quarantine_sweep()

    assert not quarantine.exists(orphan)
    assert quarantine.exists(arriving)
    assert quarantine.exists(recorded)
    quarantine.delete(arriving)
