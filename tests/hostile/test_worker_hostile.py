"""Every hostile file that passes the receipt check, straight into a real worker: each item
settles with a recorded outcome, the worker survives them all, and nothing hostile comes
out the other side (promise 8)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from django.core.files.storage import storages

from intake.sanitize.sniff import HEAD_SIZE, sniff
from reports.models import SETTLED_MEDIA, MediaItem, MediaStatus
from tests.factories import hostile_files as files
from tests.factories import quarantined_item
from tests.faults.conftest import Processes, send_process_media

pytestmark = [pytest.mark.hostile, pytest.mark.django_db(transaction=True)]

FORBIDDEN_IN_OUTPUT = (b"<script", b"<html", b"PK\x03\x04", b"CANARY", b"polyglot")


def _hostile_files(tmp_path: Path) -> dict[str, bytes]:
    made = {
        "png_400mp": files.png_declaring(20_000, 20_000),
        "png_warning_range": files.png_declaring(10_000, 10_000),
        "jpeg_65535": files.jpeg_declaring(65535, 65535),
        "jpeg_warning_range": files.jpeg_declaring(10_000, 10_000),
        "gif_10000_frames": files.gif_with_frames(),
        "truncated_jpeg": files.truncated_jpeg(),
        "polyglot": files.jpeg_zip_polyglot(),
        "html_comment": files.jpeg_with_html_comment(),
        "tiff_renamed": files.tiff_renamed(),
        "mp4_no_moov": files.mp4_without_moov(),
        "mp4_1e9_samples": files.mp4_declaring_samples(),
        "mp4_8192px": files.mp4_declaring_samples(count=1, width=8192),
        "heic": files.heic_hostile(),
        "wav_4gb": files.wav_claiming_4gb(),
        "png_text_chunks": files.png_with_text_chunks(tmp_path / "t.png", count=20).read_bytes(),
    }
    for name, data in made.items():
        assert sniff(data[:HEAD_SIZE]) is not None, name  # each passes the receipt check
    return made


def test_worker_settles_every_hostile_file_and_survives(
    processes: Processes, own_celery: Celery, wait_for: Callable[..., Any], tmp_path: Path
) -> None:
    hostile = _hostile_files(tmp_path)
    items = {name: quarantined_item(data, f"Hostile {name}.") for name, data in hostile.items()}
    worker = processes.worker(concurrency=2, TESTIGO_MAX_ATTEMPTS="2")

    for item in items.values():
        send_process_media(own_celery, item)

    wait_for(
        lambda: MediaItem.objects.exclude(status__in=SETTLED_MEDIA).count() == 0,
        timeout=150,
        interval=0.5,
    )
    assert worker.poll() is None
    outcomes = {}
    for name, item in items.items():
        item.refresh_from_db()
        outcomes[name] = (item.status, item.reject_reason)
        if item.status == MediaStatus.CLEAN:
            with storages["media"].open(item.media_name) as sanitized:
                output = sanitized.read()
            for marker in FORBIDDEN_IN_OUTPUT:
                assert marker not in output, (name, marker)
        else:
            assert item.reject_reason != "", name
            assert item.media_name == ""
    for must_reject in ("jpeg_65535", "truncated_jpeg"):
        assert outcomes[must_reject] == (MediaStatus.REJECTED, {
            "jpeg_65535": "too_large", "truncated_jpeg": "malformed"
        }[must_reject])  # fmt: skip
    assert outcomes["polyglot"][0] == MediaStatus.CLEAN
    assert outcomes["html_comment"][0] == MediaStatus.CLEAN
    print("\nhostile outcomes:", outcomes)
