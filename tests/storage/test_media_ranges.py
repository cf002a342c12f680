"""Media views stream with HTTP Range support (issue 15), from local files and from the
object store alike: 206 with exactly the bytes asked for, 416 past the end, the whole
file (200) without a range; the partner download too."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from reports.models import MediaItem, MediaStatus, Report
from reports.streaming import Unsatisfiable, byte_range
from tests.factories.object_store import StorageBackend
from tests.factories.staff import verified_client

pytestmark = pytest.mark.django_db

DATA = bytes(range(256)) * 1024  # 256 KiB: several blocks


def _clean_item() -> MediaItem:
    name = storages["media"].save("ranges/video.mp4", ContentFile(DATA))
    report = Report.objects.create(receipt_hash="r" * 64, description="x")
    return MediaItem.objects.create(
        report=report, status=MediaStatus.CLEAN, media_name=name, detected_format="mp4"
    )


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", (0, 9)),
        ("bytes=100-", (100, 999)),
        ("bytes=-10", (990, 999)),
        ("bytes=990-5000", (990, 999)),
        ("bytes=0-1,5-9", None),
        ("items=0-9", None),
        ("", None),
    ],
)
def test_byte_range_parses_single_ranges(header: str, expected: tuple[int, int] | None) -> None:
    assert byte_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=1000-2000", "bytes=-0", "bytes=9-3"])
def test_byte_range_past_the_end_is_unsatisfiable(header: str) -> None:
    with pytest.raises(Unsatisfiable):
        byte_range(header, 1000)


def test_media_range_is_206_with_the_bytes_asked_for(
    storage_backend: StorageBackend, moderator: User
) -> None:
    item = _clean_item()
    response = verified_client(moderator).get(
        f"/staff/media/{item.id}/", HTTP_RANGE="bytes=70000-70099"
    )

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 70000-70099/{len(DATA)}"
    assert response["Content-Length"] == "100"
    assert response["Cache-Control"].startswith("private, no-store")
    assert _body(response) == DATA[70000:70100]


def test_media_open_ended_range_is_206_to_the_end(
    storage_backend: StorageBackend, moderator: User
) -> None:
    item = _clean_item()
    response = verified_client(moderator).get(f"/staff/media/{item.id}/", HTTP_RANGE="bytes=1-")

    assert response.status_code == 206
    assert _body(response) == DATA[1:]


def test_media_range_past_the_end_is_416(storage_backend: StorageBackend, moderator: User) -> None:
    item = _clean_item()
    response = verified_client(moderator).get(
        f"/staff/media/{item.id}/", HTTP_RANGE=f"bytes={len(DATA)}-"
    )

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(DATA)}"


def test_media_without_range_is_the_whole_file(
    storage_backend: StorageBackend, moderator: User
) -> None:
    item = _clean_item()
    response = verified_client(moderator).get(f"/staff/media/{item.id}/")

    assert response.status_code == 200
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == str(len(DATA))
    assert _body(response) == DATA
