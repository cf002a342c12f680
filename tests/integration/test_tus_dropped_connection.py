"""A resumable upload whose connection drops in the middle of a request body."""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from intake.services import report_submit
from reports.models import MediaItem, MediaStatus

pytestmark = pytest.mark.django_db(transaction=True)
TUS = {"Tus-Resumable": "1.0.0"}


def _connection(live_server: Any) -> http.client.HTTPConnection:
    parts = urlsplit(live_server.url)
    return http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)


def _offset(live_server: Any, path: str) -> int:
    connection = _connection(live_server)
    connection.request("HEAD", path, headers=TUS)
    response = connection.getresponse()
    response.read()
    return int(response.headers["Upload-Offset"])


def test_tus_patch_cut_midway_keeps_what_arrived_and_resumes(
    live_server: Any, celery_worker_process: Any, wait_for: Callable[..., Any], gps_jpeg: bytes
) -> None:
    data = gps_jpeg + os.urandom(300_000)  # a JPEG with a long tail: enough to cut into
    code = report_submit(description="Cut connection.").receipt_code
    metadata = "receipt " + base64.b64encode(code.encode()).decode()
    connection = _connection(live_server)
    connection.request(
        "POST",
        "/tus/",
        headers={**TUS, "Upload-Length": str(len(data)), "Upload-Metadata": metadata},
    )
    created = connection.getresponse()
    created.read()
    assert created.status == 201
    path = urlsplit(created.headers["Location"]).path

    # Promise the whole file, send 200 kB of it, then drop the connection.
    parts = urlsplit(live_server.url)
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=10) as raw:
        head = (
            f"PATCH {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nTus-Resumable: 1.0.0\r\n"
            f"Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        )
        raw.sendall(head.encode() + data[:200_000])
    deadline = time.monotonic() + 10
    while (kept := _offset(live_server, path)) == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert kept == 200_000

    connection = _connection(live_server)
    connection.request(
        "PATCH",
        path,
        body=data[kept:],
        headers={
            **TUS,
            "Upload-Offset": str(kept),
            "Content-Type": "application/offset+octet-stream",
        },
    )
    finished = connection.getresponse()
    finished.read()
    assert (finished.status, finished.headers["Upload-Offset"]) == (204, str(len(data)))

    item = MediaItem.objects.get()
    wait_for(lambda: MediaItem.objects.filter(id=item.id, status=MediaStatus.CLEAN).exists())
    item.refresh_from_db()
    # The worker read exactly the bytes sent, across the cut: same SHA-256.
    assert item.manifest["sha256_in"] == hashlib.sha256(data).hexdigest()
