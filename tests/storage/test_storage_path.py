"""The storage path end to end, on local files and on the object store alike (issue 15):
a photo sent with the form's API and one sent in pieces with tus (parts stored, the
upload resumed by a new client) reach the moderation queue clean through a real web
process and worker; afterwards the quarantine holds nothing new and no stored byte, in
any storage, carries the original's planted tags (promises 2 and 3)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.storage import storages
from PIL import Image

from intake.services import report_submit
from reports.models import MediaItem, MediaStatus, Moderation, Report
from tests.factories import jpeg_with_gps
from tests.factories.object_store import StorageBackend
from tests.faults.conftest import Processes, api_submit

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

ORIGINAL_MARKERS = [b"CANARY"]  # every planted tag of tests.factories.jpeg_with_gps


def test_form_and_resumable_uploads_reach_the_queue_clean_and_leave_no_original(
    storage_backend: StorageBackend, processes: Processes, wait_for: Callable[..., Any]
) -> None:
    from tusclient import client as tus_client

    quarantine_before = set(storage_backend.quarantine_names())
    processes.extra_env.update(storage_backend.env)
    web = processes.gunicorn()
    processes.worker()
    photo = jpeg_with_gps()

    sent = api_submit(web, "Agents at the school gate.", [photo])
    assert sent.status == 201, sent.body[:500]
    pieces = report_submit(description="A photo sent in pieces.")
    tus = tus_client.TusClient(f"http://{web}/tus/")
    first = tus.uploader(
        file_stream=io.BytesIO(photo), chunk_size=300, metadata={"receipt": pieces.receipt_code}
    )
    first.upload(stop_at=600)
    resumed = tus.uploader(file_stream=io.BytesIO(photo), url=first.url, chunk_size=300)
    assert resumed.get_offset() == 600
    resumed.upload()

    wait_for(
        lambda: (
            Report.objects.filter(moderation=Moderation.PENDING).count() == 2
            and MediaItem.objects.filter(status=MediaStatus.CLEAN, quarantine_name="").count() == 2
        ),
        timeout=120,
    )
    media_names = set(storage_backend.names("media"))
    for item in MediaItem.objects.all():
        assert {item.media_name, item.preview_name} <= media_names
        with storages["media"].open(item.media_name) as sanitized, Image.open(sanitized) as image:
            assert image.tobytes() == Image.open(io.BytesIO(photo)).tobytes()
            assert image.getexif().get_ifd(0x8825) == {}
    assert set(storage_backend.quarantine_names()) - quarantine_before == set()
    stored = storage_backend.stored_bytes()
    assert [marker for marker in ORIGINAL_MARKERS if marker in stored] == []
