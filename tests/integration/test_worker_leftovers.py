"""A worker SIGKILLed while it sanitizes leaves its work folder (sanitized partial output,
sealed original): the pool child that replaces it removes the folder at start."""

from __future__ import annotations

import io
import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from intake.leftovers import work_root
from reports.models import MediaItem, MediaStatus

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _noise_png(side: int) -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buffer, "PNG")
    return buffer.getvalue()


def _work_folder_appearing(timeout: float = 30) -> Path:
    owner = f"{socket.gethostname()}_"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in work_root().iterdir():
            if entry.name.startswith(owner):
                return entry
        time.sleep(0.002)
    pytest.fail("the worker never made a work folder")


def test_killed_worker_child_work_folder_is_removed_by_its_replacement(
    celery_worker_process: Any, wait_for: Callable[..., Any]
) -> None:
    response = Client().post(
        "/api/v1/intake/reports/",
        {"description": "A big photo.", "media": SimpleUploadedFile("a.png", _noise_png(2000))},
    )
    assert response.status_code == 201

    folder = _work_folder_appearing()
    pid = int(folder.name[len(f"{socket.gethostname()}_") :].split("_", 1)[0])
    assert pid not in (os.getpid(), celery_worker_process.pid)  # the pool child
    os.kill(pid, signal.SIGKILL)

    wait_for(lambda: not folder.exists(), timeout=30)
    assert celery_worker_process.poll() is None  # the worker lives on with a new child
    # Killed mid-job, not after: the item never became clean.
    assert MediaItem.objects.get().status != MediaStatus.CLEAN
