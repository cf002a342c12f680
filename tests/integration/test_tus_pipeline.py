"""Resumable uploads with a real tus client (tuspy), a live server and a real worker."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.storage import storages
from PIL import Image

from intake.services import report_submit
from reports.models import MediaItem, MediaStatus, Moderation, Report

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_tuspy_upload_stopped_midway_resumes_and_reaches_moderation_clean(
    live_server: Any, celery_worker_process: Any, wait_for: Callable[..., Any], gps_jpeg: bytes
) -> None:
    from tusclient import client as tus_client

    result = report_submit(description="A photo sent in pieces.")
    tus = tus_client.TusClient(live_server.url + "/tus/")
    first = tus.uploader(
        file_stream=io.BytesIO(gps_jpeg), chunk_size=300, metadata={"receipt": result.receipt_code}
    )
    first.upload(stop_at=600)
    item = MediaItem.objects.get()
    assert (item.status, item.upload_offset) == (MediaStatus.UPLOADING, 600)

    # A new client, as after a reload: it asks the server for the offset and goes on.
    resumed = tus.uploader(file_stream=io.BytesIO(gps_jpeg), url=first.url, chunk_size=300)
    assert resumed.get_offset() == 600
    resumed.upload()

    report = Report.objects.get()
    wait_for(
        lambda: (
            Report.objects.filter(id=report.id, moderation=Moderation.PENDING).exists()
            and MediaItem.objects.filter(id=item.id, quarantine_name="").exists()
        )
    )
    item.refresh_from_db()
    assert item.status == MediaStatus.CLEAN
    assert item.quarantine_parts == []
    assert item.sha256_received != ""
    with storages["media"].open(item.media_name) as sanitized, Image.open(sanitized) as image:
        assert image.tobytes() == Image.open(io.BytesIO(gps_jpeg)).tobytes()
        assert image.getexif().get_ifd(0x8825) == {}
