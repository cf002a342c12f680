"""A resumable upload is stored segment by segment as it streams in: a cut or a killed
process keeps every full segment, and the recorded offset (what HEAD says) never counts a
byte that is not stored."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.storage import storages
from django.test import Client

from intake.pipeline import quarantine_plaintext
from intake.quarantine import plaintext_size
from intake.resumable import resumable_upload_append
from intake.segments import READ_BYTES, SEGMENT_BYTES
from intake.services import report_submit
from reports.models import MediaItem, MediaStatus
from tests.unit.test_tus import TUS, _create

pytestmark = pytest.mark.django_db


class ProcessKilled(BaseException):
    """Stands in for SIGKILL: nothing after it runs, not even an ``except Exception``."""


def _upload(gps_jpeg: bytes, size: int) -> tuple[MediaItem, bytes, str]:
    data = gps_jpeg + os.urandom(size - len(gps_jpeg))
    code = report_submit(description="Sent over a weak uplink.").receipt_code
    url = _create(Client(), code, len(data))
    return MediaItem.objects.get(), data, url


def _reader(data: bytes, *, stop_after: int, stop: BaseException | None) -> Any:
    """A request body that delivers ``stop_after`` bytes, then ends (``stop`` None: the
    client closed) or raises ``stop``; it records the size of every read asked for."""
    position = 0
    asked: list[int] = []

    def read(size: int) -> bytes:
        nonlocal position
        asked.append(size)
        if position >= stop_after:
            if stop is not None:
                raise stop
            return b""
        chunk = data[position : min(position + size, stop_after)]
        position += len(chunk)
        return chunk

    read.asked = asked  # type: ignore[attr-defined]
    return read


def _stored_bytes(item: MediaItem) -> int:
    quarantine = storages["quarantine"]
    return sum(plaintext_size(quarantine.size(name)) for name in item.quarantine_parts)


def _head_offset(url: str) -> int:
    response = Client().head(url, headers=TUS)
    assert response.status_code == 200
    return int(response["Upload-Offset"])


def test_whole_patch_is_stored_in_segments_and_reads_back(gps_jpeg: bytes) -> None:
    item, data, url = _upload(gps_jpeg, 2 * SEGMENT_BYTES + 1000)
    read = _reader(data, stop_after=len(data), stop=None)

    item = resumable_upload_append(item=item, offset=0, length=len(data), read=read)

    assert item.status == MediaStatus.QUARANTINED
    assert _head_offset(url) == len(data)
    assert len(item.quarantine_parts) == 3
    assert _stored_bytes(item) == len(data)
    # No read ever reaches past the segment being filled: memory stays within a segment.
    filled = 0
    for size in read.asked:
        assert size <= READ_BYTES
        assert filled % SEGMENT_BYTES + size <= SEGMENT_BYTES
        filled += size
    with quarantine_plaintext(item) as plaintext:
        assert plaintext.read() == data


@pytest.mark.parametrize(
    ("cut_at", "stop"),
    [
        (SEGMENT_BYTES + 5000, None),  # the client closed the connection
        (2 * SEGMENT_BYTES - 1, ConnectionResetError()),  # reset
        (SEGMENT_BYTES + 70_000, TimeoutError()),  # silent past the idle limit
    ],
)
def test_cut_connection_keeps_every_byte_that_arrived(
    gps_jpeg: bytes, cut_at: int, stop: BaseException | None
) -> None:
    item, data, url = _upload(gps_jpeg, 3 * SEGMENT_BYTES)

    item = resumable_upload_append(
        item=item, offset=0, length=len(data), read=_reader(data, stop_after=cut_at, stop=stop)
    )

    item.refresh_from_db()
    assert _head_offset(url) == cut_at == _stored_bytes(item)
    assert item.status == MediaStatus.UPLOADING


def test_killed_process_keeps_every_full_segment_and_head_reports_only_those(
    gps_jpeg: bytes,
) -> None:
    item, data, url = _upload(gps_jpeg, 4 * SEGMENT_BYTES)
    killed_at = 2 * SEGMENT_BYTES + 100_000

    with pytest.raises(ProcessKilled):
        resumable_upload_append(
            item=item,
            offset=0,
            length=len(data),
            read=_reader(data, stop_after=killed_at, stop=ProcessKilled()),
        )

    offset = _head_offset(url)
    item.refresh_from_db()
    assert offset == 2 * SEGMENT_BYTES == _stored_bytes(item)
    assert killed_at - offset <= SEGMENT_BYTES

    # The client resumes from there and the file reads back whole.
    rest = data[offset:]
    item = resumable_upload_append(
        item=item,
        offset=offset,
        length=len(rest),
        read=_reader(rest, stop_after=len(rest), stop=None),
    )
    assert item.status == MediaStatus.QUARANTINED
    with quarantine_plaintext(item) as plaintext:
        assert plaintext.read() == data


def test_storage_failure_mid_patch_leaves_offset_at_what_was_stored(
    gps_jpeg: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    item, data, url = _upload(gps_jpeg, 3 * SEGMENT_BYTES)
    quarantine = storages["quarantine"]
    original_save: Callable[..., str] = quarantine.save
    saves: list[str] = []

    def save_twice_then_fail(name: str, content: Any, *args: Any, **kwargs: Any) -> str:
        if len(saves) == 2:
            raise OSError(28, "No space left on device")
        saves.append(name)
        return original_save(name, content, *args, **kwargs)

    monkeypatch.setattr(quarantine, "save", save_twice_then_fail)

    with pytest.raises(OSError, match="No space"):
        resumable_upload_append(
            item=item,
            offset=0,
            length=len(data),
            read=_reader(data, stop_after=len(data), stop=None),
        )

    item.refresh_from_db()
    assert _head_offset(url) == 2 * SEGMENT_BYTES == _stored_bytes(item)


def test_upload_cut_before_its_first_bytes_can_be_judged_keeps_nothing(gps_jpeg: bytes) -> None:
    item, data, url = _upload(gps_jpeg, SEGMENT_BYTES)

    item = resumable_upload_append(
        item=item, offset=0, length=len(data), read=_reader(data, stop_after=10, stop=None)
    )

    assert _head_offset(url) == 0
    item.refresh_from_db()
    assert item.quarantine_parts == []
