"""Storage faults lose nothing (issue 15, promise 7), against a real SeaweedFS that the
test stops and starts: a report sent while the store is down keeps its text and its file
is refused with the translated "try again" (nothing half-written is left); a resumable
upload answers 503 and keeps its stored parts, so the client resumes; an outage
during processing is not an attempt: the item waits and is sanitized once the store is
back."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from intake.services import report_submit
from reports.models import AuditAction, AuditEvent, MediaItem, MediaStatus, Moderation, Report
from tests.factories import jpeg_with_gps
from tests.factories.object_store import BUCKETS, ObjectStore
from tests.factories.processes import http_request
from tests.faults.conftest import Processes, api_submit

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]


def test_store_down_at_submit_keeps_the_text_and_refuses_the_file_in_spanish(
    own_object_store: ObjectStore, processes: Processes, settings: Any
) -> None:
    settings.STORAGES = own_object_store.storages_setting()
    processes.extra_env.update(own_object_store.app_env())
    web = processes.gunicorn()
    own_object_store.stop()

    response = api_submit(web, "Agents at the bus stop; photo attached.", [jpeg_with_gps()])

    assert response.status == 201, response.body[:500]
    assert response.json()["refused_media"] == [
        {
            "index": 0,
            "reason": "storage_error",
            "message": "No se pudo guardar el archivo. Inténtelo de nuevo.",
        }
    ]
    report = Report.objects.get()
    assert report.description == "Agents at the bus stop; photo attached."
    assert report.moderation == Moderation.PENDING
    assert list(report.media_items.values_list("status", "reject_reason")) == [
        (MediaStatus.REJECTED, "storage_error")
    ]
    own_object_store.start()
    assert own_object_store.keys("quarantine") == []
    uploads = own_object_store.client().list_multipart_uploads(Bucket=BUCKETS["quarantine"])
    assert uploads.get("Uploads", []) == []


def test_store_down_during_processing_is_not_an_attempt_and_the_item_completes_after(
    own_object_store: ObjectStore,
    processes: Processes,
    settings: Any,
    wait_for: Callable[..., Any],
) -> None:
    settings.STORAGES = own_object_store.storages_setting()
    processes.extra_env.update(own_object_store.app_env(), TESTIGO_STORAGE_RETRY_S="1")
    web = processes.gunicorn()
    own_object_store.stop()
    # The file is stored first, with the store up; then the store goes away before any
    # worker looks at it.
    own_object_store.start()
    response = api_submit(web, "Photo sent before the outage.", [jpeg_with_gps()])
    assert response.status == 201, response.body[:500]
    item = MediaItem.objects.get()
    assert item.status == MediaStatus.QUARANTINED
    own_object_store.stop()

    processes.worker()
    waits = AuditEvent.objects.filter(
        media_item_id=item.id, action=AuditAction.MEDIA_WAITING_FOR_STORAGE
    )
    wait_for(lambda: waits.count() >= 3, timeout=90)
    item.refresh_from_db()
    assert (item.status, item.attempts) in {
        (MediaStatus.QUARANTINED, 0),
        (MediaStatus.PROCESSING, 1),  # caught mid-try: the next wait gives it back
    }

    own_object_store.start()
    wait_for(
        lambda: MediaItem.objects.filter(
            id=item.id, status=MediaStatus.CLEAN, quarantine_name=""
        ).exists(),
        timeout=90,
    )
    item.refresh_from_db()
    assert item.attempts == 1
    assert Report.objects.get().moderation == Moderation.PENDING
    assert sorted(own_object_store.keys("media")) == sorted([item.media_name, item.preview_name])
    assert own_object_store.keys("quarantine") == []


def test_store_down_during_a_resumable_upload_answers_503_and_the_upload_resumes_after(
    own_object_store: ObjectStore, processes: Processes, settings: Any
) -> None:
    from tusclient import client as tus_client

    settings.STORAGES = own_object_store.storages_setting()
    processes.extra_env.update(own_object_store.app_env(), TESTIGO_STORAGE_RETRY_S="7")
    web = processes.gunicorn()
    photo = jpeg_with_gps()
    receipt = report_submit(description="A photo sent in pieces.").receipt_code
    tus = tus_client.TusClient(f"http://{web}/tus/")
    first = tus.uploader(
        file_stream=io.BytesIO(photo), chunk_size=300, metadata={"receipt": receipt}
    )
    first.upload(stop_at=600)
    own_object_store.stop()

    refused = http_request(
        web,
        "PATCH",
        urlsplit(str(first.url)).path,
        photo[600:900],
        {
            "Tus-Resumable": "1.0.0",
            "Upload-Offset": "600",
            "Content-Type": "application/offset+octet-stream",
            "Accept-Language": "ht",
        },
    )

    assert refused.status == 503
    assert refused.headers["Retry-After"] == "7"
    assert refused.json()["code"] == "storage_unavailable"
    assert refused.json()["detail"] == "Nou pa t ka anrejistre fichye a. Tanpri eseye ankò."
    item = MediaItem.objects.get()
    assert (item.status, item.upload_offset) == (MediaStatus.UPLOADING, 600)

    own_object_store.start()
    resumed = tus.uploader(file_stream=io.BytesIO(photo), url=first.url, chunk_size=300)
    assert resumed.get_offset() == 600
    resumed.upload()
    item.refresh_from_db()
    assert (item.status, item.upload_offset) == (MediaStatus.QUARANTINED, len(photo))
    assert sorted(own_object_store.keys("quarantine")) == sorted(item.quarantine_parts)
