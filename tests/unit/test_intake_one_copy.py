"""A multipart file is sealed straight into its quarantine file as it streams in: the
ciphertext is written once (no spool copied again), the plaintext never touches the disk,
and a file that is cut, refused or not taken leaves no quarantine file behind."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.storage import storages
from django.test import Client

from intake.quarantine import DecryptingReader
from reports.models import MediaItem, MediaStatus, RefusalReason, Report
from tests.factories.processes import multipart

pytestmark = pytest.mark.django_db

API = "/api/v1/intake/reports/"


def _quarantine_files() -> dict[str, int]:
    """Top-level quarantine files and their sizes."""
    quarantine = storages["quarantine"]
    try:
        names = quarantine.listdir("")[1]
    except FileNotFoundError:
        return {}
    sizes = {}
    for name in names:
        try:
            sizes[name] = quarantine.size(name)
        except FileNotFoundError:
            continue
    return sizes


def _files_holding(needle: bytes, since: float) -> list[str]:
    """Files under VAR_DIR and the temporary folder, written since ``since``, that hold
    ``needle``."""
    found = []
    for root in {Path(settings.VAR_DIR), Path(tempfile.gettempdir())}:
        for path in root.rglob("*"):
            try:
                if not path.is_file() or path.stat().st_mtime < since:
                    continue
                if path.stat().st_size > 256 * 1024 * 1024:
                    continue
                if needle in path.read_bytes():
                    found.append(str(path))
            except OSError:
                continue
    return found


class WatchedBody:
    """A request body that, once ``at`` bytes have been read, calls ``watch`` (the
    parser has then handed over part of the file)."""

    def __init__(self, data: bytes, at: int, watch: Any) -> None:
        self._data = data
        self._at = at
        self._watch = watch
        self._read = 0

    def read(self, size: int = -1) -> bytes:
        size = len(self._data) if size is None or size < 0 else size
        chunk, self._data = self._data[:size], self._data[size:]
        before, self._read = self._read, self._read + len(chunk)
        if before < self._at <= self._read:
            self._watch()
        return chunk

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def _photo(gps_jpeg: bytes, canary: bytes, size: int) -> bytes:
    # The canary repeats through the file, so any stored run of plaintext holds one.
    filler = (canary + os.urandom(4096)) * (size // (len(canary) + 4096) + 1)
    return (gps_jpeg + filler)[:size]


def test_api_upload_ciphertext_is_written_once_into_its_quarantine_file(
    gps_jpeg: bytes,
) -> None:
    canary = b"PLAINTEXT-CANARY-" + os.urandom(16).hex().encode()
    photo = _photo(gps_jpeg, canary, 5 * 1024 * 1024)
    body, content_type = multipart(
        {"description": "Sent from an app."}, [("media", "IMG_0001.jpg", photo)]
    )
    before = _quarantine_files()
    started = time.time() - 1
    seen: dict[str, Any] = {}

    def watch() -> None:
        seen["files"] = {n: s for n, s in _quarantine_files().items() if n not in before}
        seen["plaintext"] = _files_holding(canary, started)

    extra: dict[str, Any] = {
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": WatchedBody(body, len(body) // 2, watch),
    }
    response = Client().generic("POST", API, body, content_type=content_type, **extra)

    assert response.status_code == 201, response.content
    item = MediaItem.objects.get()
    # Half-way through, the file was already growing under the name its row records.
    assert list(seen["files"]) == [item.quarantine_name]
    assert 0 < seen["files"][item.quarantine_name] < len(photo)
    assert seen["plaintext"] == []
    assert _files_holding(canary, started) == []
    # It decrypts to the bytes sent, and the row's hash is the plaintext's.
    with Path(storages["quarantine"].path(item.quarantine_name)).open("rb") as sealed:
        assert DecryptingReader(sealed).read() == photo
    assert item.sha256_received == hashlib.sha256(photo).hexdigest()
    assert (item.size_received, item.status) == (len(photo), MediaStatus.QUARANTINED)
    assert set(_quarantine_files()) - set(before) == {item.quarantine_name}


@pytest.mark.parametrize("error", [None, ConnectionResetError(104, "reset")], ids=str)
def test_api_cut_during_a_file_leaves_no_quarantine_file(
    gps_jpeg: bytes, error: OSError | None
) -> None:
    photo = _photo(gps_jpeg, b"cut", 3 * 1024 * 1024)
    body, content_type = multipart({"description": "Cut."}, [("media", "a.jpg", photo)] * 2)
    before = _quarantine_files()

    class Cut(WatchedBody):
        def read(self, size: int = -1) -> bytes:
            if self._read >= self._at:
                if error is not None:
                    raise error
                return b""
            return super().read(min(size, self._at - self._read) if size >= 0 else size)

    # Cut half-way through the second file: the first is kept, nothing of the second.
    extra: dict[str, Any] = {
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": Cut(body, len(body) * 3 // 4, lambda: None),
    }
    Client().generic("POST", API, body, content_type=content_type, **extra)

    report = Report.objects.get()
    item = MediaItem.objects.get(report=report)
    assert item.size_received == len(photo)
    assert set(_quarantine_files()) - set(before) == {item.quarantine_name}


def test_api_file_over_the_limit_is_refused_and_nothing_of_it_stays(
    gps_jpeg: bytes, settings: Any
) -> None:
    settings.TESTIGO_MAX_IMAGE_BYTES = 1024 * 1024
    photo = _photo(gps_jpeg, b"big", 3 * 1024 * 1024)
    body, content_type = multipart({"description": "Too big."}, [("media", "a.jpg", photo)])
    before = _quarantine_files()

    response = Client().generic("POST", API, body, content_type=content_type)

    assert response.status_code == 201, response.content
    assert [r["reason"] for r in response.json()["refused_media"]] == ["too_large"]
    assert MediaItem.objects.get().reject_reason == RefusalReason.TOO_LARGE
    assert set(_quarantine_files()) - set(before) == set()


def test_api_invalid_text_after_the_file_keeps_no_quarantine_file(gps_jpeg: bytes) -> None:
    boundary = "late-invalid"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="media"; filename="a.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + gps_jpeg
        + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="place_type"\r\n\r\n'
        f"not-a-choice\r\n--{boundary}--\r\n".encode()
    )
    before = _quarantine_files()

    response = Client().generic(
        "POST", API, body, content_type=f"multipart/form-data; boundary={boundary}"
    )

    assert response.status_code == 400, response.content
    assert not Report.objects.exists()
    assert set(_quarantine_files()) - set(before) == set()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("slow", [True, False], ids=["slow", "fast"])
def test_api_post_holds_no_database_connection_between_reads_only_once_slow(
    gps_jpeg: bytes, slow: bool
) -> None:
    from django.db import connection

    photo = _photo(gps_jpeg, b"slow", 2 * 1024 * 1024)
    body, content_type = multipart({"description": "Uplink."}, [("media", "a.jpg", photo)] * 2)
    seen: dict[str, bool] = {}

    class Uplink(WatchedBody):
        def read(self, size: int = -1) -> bytes:
            if slow and self._read == 0:
                time.sleep(1.2)  # a phone's uplink: the post takes longer than a second
            return super().read(size)

    def watch() -> None:
        # During the second file: the text and the first file are committed by now.
        seen["connection_open"] = connection.connection is not None

    extra: dict[str, Any] = {
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": Uplink(body, len(body) * 3 // 4, watch),
    }
    response = Client().generic("POST", API, body, content_type=content_type, **extra)

    assert response.status_code == 201, response.content
    assert seen == {"connection_open": not slow}
    assert MediaItem.objects.count() == 2


def _three_photos_submitted(gps_jpeg: bytes) -> tuple[list[bytes], list[dict[str, Any]]]:
    """Three 1 MiB photos sent in one fast post: the photos, and the queries it sent."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    photos = [_photo(gps_jpeg, str(n).encode(), 1024 * 1024) for n in range(3)]
    body, content_type = multipart(
        {"description": "Three photos."}, [("media", f"{n}.jpg", p) for n, p in enumerate(photos)]
    )
    with CaptureQueriesContext(connection) as queries:
        response = Client().generic("POST", API, body, content_type=content_type)
    assert response.status_code == 201, response.content
    return photos, queries.captured_queries


def test_api_fast_post_commits_its_text_then_each_file_as_it_completes(
    gps_jpeg: bytes,
) -> None:
    photos, queries = _three_photos_submitted(gps_jpeg)

    # The test's own transaction turns each commit into a savepoint released.
    commits = [q["sql"] for q in queries if q["sql"].startswith("RELEASE")]
    # The text, then each file with its row: a process killed between two files keeps the
    # first (promise 9), however fast the post.
    assert len(commits) == 4
    items = MediaItem.objects.order_by("position")
    assert [i.sha256_received for i in items] == [hashlib.sha256(p).hexdigest() for p in photos]
    assert [i.position for i in items] == [0, 1, 2]


def test_api_submit_of_three_photos_sends_twenty_queries(gps_jpeg: bytes) -> None:
    _, queries = _three_photos_submitted(gps_jpeg)

    # The text: its commit (savepoint, report, audit event, release). Each file: one query
    # for its report's tally and the uploads announced (the budgets and the disk floor),
    # then its commit (savepoint, row, audit event, release). Then whether any file is
    # still in flight. Queuing each file runs after the commit, which this test's
    # transaction never makes.
    assert len(queries) == 4 + 3 * (1 + 4) + 1
