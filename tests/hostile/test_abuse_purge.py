"""The retention purge removes every stored file of a report in every media state, on a
local disk and on a store of flat keys (as S3: no folders, a prefix is not a thing to
delete), and one report's failure never stops the run (issue 14, "Anonymous abuse",
row 5)."""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.utils import timezone
from pytest_django.fixtures import Settings

from intake.legal_hold import keypair_new
from intake.pipeline import media_item_process
from intake.resumable import resumable_upload_abandon, resumable_upload_append
from intake.resumable import resumable_upload_create as upload_create
from reports.models import AuditEvent, MediaItem, MediaStatus, Moderation, Report
from reports.services import media_item_claim, media_item_release, report_create, retention_purge
from tests.factories import hostile_files as files
from tests.factories import jpeg_with_gps, quarantined_item

pytestmark = [pytest.mark.hostile, pytest.mark.django_db]

STORAGE_NAMES = ("quarantine", "media", "legal_hold")


class FlatKeyStorage(Storage):
    """Keys and bytes in a dict, listed the way S3 lists them: "folders" exist only as
    shared key prefixes, and deleting a prefix deletes nothing."""

    buckets: dict[str, dict[str, bytes]] = {}

    def __init__(self, bucket: str) -> None:
        self.objects = self.buckets.setdefault(bucket, {})

    def _save(self, name: str, content: File[Any]) -> str:
        content.seek(0)
        self.objects[name] = content.read()
        return name

    def _open(self, name: str, mode: str = "rb") -> File[Any]:
        if name not in self.objects:
            raise FileNotFoundError(name)
        return File(io.BytesIO(self.objects[name]), name=name)

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return name  # overwrite, as the S3 settings do

    def delete(self, name: str) -> None:
        self.objects.pop(name, None)

    def exists(self, name: str) -> bool:
        return name in self.objects

    def size(self, name: str) -> int:
        return len(self.objects[name])

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        prefix = path if not path or path.endswith("/") else path + "/"
        dirs, found = set(), []
        for key in self.objects:
            if key.startswith(prefix):
                rest = key[len(prefix) :]
                if "/" in rest:
                    dirs.add(rest.split("/", 1)[0])
                else:
                    found.append(rest)
        return sorted(dirs), sorted(found)


@pytest.fixture(params=["local", "flat_keys"])
def stores(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> Iterator[str]:
    """Quarantine, media and legal-hold storage of our own, on disk or as flat keys."""
    backends: dict[str, Any] = {}
    for name in STORAGE_NAMES:
        if request.param == "local":
            backends[name] = {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(tmp_path / name), "base_url": None},
            }
        else:
            FlatKeyStorage.buckets.pop(name, None)
            backends[name] = {
                "BACKEND": f"{__name__}.FlatKeyStorage",
                "OPTIONS": {"bucket": name},
            }
    settings.STORAGES = {**settings.STORAGES, **backends}
    settings.TESTIGO_LEGAL_HOLD_PUBLIC_KEY = keypair_new()[1]
    yield str(request.param)


def _everything_stored(tmp_path: Path, kind: str) -> list[str]:
    """Every file and folder in the three storages."""
    if kind == "local":
        return sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    return sorted(f"{name}:{key}" for name in STORAGE_NAMES for key in FlatKeyStorage.buckets[name])


def _tus_item(data: bytes, *, upload_bytes: int) -> MediaItem:
    """A report with a resumable upload of ``data`` of which ``upload_bytes`` arrived,
    plus a part a crash left behind, stored but never recorded."""
    report = report_create(receipt_hash=uuid.uuid4().hex * 2, description="resumable")
    upload = upload_create(report=report, length=len(data))
    item = resumable_upload_append(
        item=upload.item, offset=0, length=upload_bytes, read=io.BytesIO(data).read
    )
    storages["quarantine"].save(f"tus/{item.id}/9999999999999-orphan.tq", File(io.BytesIO(b"x")))
    return item


def _report_in_each_state() -> dict[str, MediaItem]:
    photo = jpeg_with_gps(size=(160, 120))
    states: dict[str, MediaItem] = {}
    states["uploading"] = _tus_item(photo, upload_bytes=len(photo) // 2)
    whole = jpeg_with_gps(size=(161, 120))
    states["quarantined_tus"] = _tus_item(whole, upload_bytes=len(whole))
    cancelled = _tus_item(jpeg_with_gps(size=(162, 120)), upload_bytes=len(photo) // 2)
    resumable_upload_abandon(item=cancelled, reason="cancelled", actor_label="witness")
    states["rejected_upload"] = cancelled
    states["quarantined"] = quarantined_item(photo, "quarantined")
    processing = quarantined_item(photo, "processing")
    media_item_claim(
        media_item_id=processing.id, stale_before=timezone.now(), claimant="elsewhere:1:2:3:4"
    )
    states["processing"] = processing
    states["clean"] = quarantined_item(photo, "clean")
    states["rejected"] = quarantined_item(files.truncated_jpeg(), "rejected")
    for name in ("clean", "rejected"):
        media_item_process(media_item_id=states[name].id)
    failed = quarantined_item(photo, "failed")
    claimed = media_item_claim(
        media_item_id=failed.id, stale_before=timezone.now(), claimant="gone:1:2:3:4"
    )
    assert claimed is not None
    media_item_release(item=claimed, error="test", max_attempts=1)
    states["failed"] = failed
    for item in states.values():
        item.refresh_from_db()
    return states


def _make_due(report_ids: list[Any]) -> None:
    Report.objects.filter(id__in=report_ids).update(
        moderation=Moderation.REJECTED, reviewed_at=timezone.now() - timedelta(days=31)
    )


def test_purge_removes_every_file_of_a_report_in_each_media_state(
    stores: str, tmp_path: Path
) -> None:
    states = _report_in_each_state()
    expected = {
        "uploading": MediaStatus.UPLOADING,
        "quarantined_tus": MediaStatus.QUARANTINED,
        "rejected_upload": MediaStatus.REJECTED,
        "quarantined": MediaStatus.QUARANTINED,
        "processing": MediaStatus.PROCESSING,
        "clean": MediaStatus.CLEAN,
        "rejected": MediaStatus.REJECTED,
        "failed": MediaStatus.FAILED,
    }
    assert {name: item.status for name, item in states.items()} == expected
    # What each state leaves in the storages before the purge.
    assert states["uploading"].quarantine_parts and states["quarantined_tus"].quarantine_parts
    assert states["clean"].media_name and states["clean"].preview_name
    assert states["clean"].sealed_original_name and states["rejected"].sealed_original_name
    assert states["failed"].quarantine_name and states["quarantined"].quarantine_name
    assert _everything_stored(tmp_path, stores) != []

    report_ids = [item.report_id for item in states.values()]
    _make_due(report_ids)
    purged = retention_purge(dry_run=False)

    assert sorted(str(d.report_id) for d in purged) == sorted(str(r) for r in report_ids)
    assert not Report.objects.filter(id__in=report_ids).exists()
    assert not MediaItem.objects.exists()
    left = _everything_stored(tmp_path, stores)
    if stores == "local":
        # Only the storages' own folders, and the folder all resumable uploads share.
        assert set(left) <= {"quarantine", "quarantine/tus", "media", "legal_hold"}, left
    else:
        assert left == []
    files_by_report = dict(
        AuditEvent.objects.filter(action="report.purged").values_list("report_id", "data__files")
    )
    assert files_by_report[states["clean"].report_id] == 3  # media, preview, sealed original
    assert files_by_report[states["uploading"].report_id] == 2  # a part and the orphan


def test_one_report_failing_to_purge_does_not_stop_the_run_and_is_retried(
    settings: Settings, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = [quarantined_item(jpeg_with_gps(), f"report {n}") for n in range(3)]
    _make_due([item.report_id for item in items])
    stuck = items[1].quarantine_name
    quarantine = storages["quarantine"]
    delete: Callable[[str], None] = quarantine.delete

    def failing_delete(name: str) -> None:
        if name == stuck:
            raise PermissionError(13, "Permission denied", name)
        delete(name)

    monkeypatch.setattr(quarantine, "delete", failing_delete)
    with caplog.at_level(logging.ERROR, logger="reports.services.retention"):
        purged = retention_purge(dry_run=False)

    assert {d.report_id for d in purged} == {items[0].report_id, items[2].report_id}
    assert list(Report.objects.values_list("id", flat=True)) == [items[1].report_id]
    assert f"purging report {items[1].report_id} failed" in caplog.text
    assert quarantine.exists(stuck)

    monkeypatch.setattr(quarantine, "delete", delete)
    assert [d.report_id for d in retention_purge(dry_run=False)] == [items[1].report_id]
    assert not Report.objects.exists()
    assert not quarantine.exists(stuck)
