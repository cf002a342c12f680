"""The tus 1.0 server: core, creation, termination, expiration; chunks encrypted at rest."""

from __future__ import annotations

import base64
import datetime as dt
import io
import itertools

import pytest
from django.core.files.storage import storages
from django.test import Client, override_settings
from django.utils import timezone

from intake.pipeline import quarantine_plaintext
from intake.services import report_submit
from intake.sweeper import quarantine_sweep
from reports.models import MediaItem, MediaStatus, Moderation, Report
from tests.factories.problems import assert_problem

pytestmark = pytest.mark.django_db
TUS = {"tus-resumable": "1.0.0"}


def _report() -> tuple[Report, str]:
    result = report_submit(description="Text first, files after.")
    return result.report, result.receipt_code


def _create(client: Client, code: str, length: int) -> str:
    metadata = f"receipt {base64.b64encode(code.encode()).decode()},filetype dmlkZW8vbXA0"
    response = client.post(
        "/tus/", headers={**TUS, "upload-length": str(length), "upload-metadata": metadata}
    )
    assert response.status_code == 201
    return str(response["Location"])


def _patch(client: Client, url: str, offset: int, data: bytes) -> object:
    return client.patch(
        url,
        data=data,
        content_type="application/offset+octet-stream",
        headers={**TUS, "upload-offset": str(offset)},
    )


def test_tus_options_lists_version_and_extensions() -> None:
    response = Client().options("/tus/")
    assert response.status_code == 204
    assert response["Tus-Version"] == "1.0.0"
    assert response["Tus-Extension"] == "creation,termination,expiration"


def test_tus_request_without_version_header_answers_412() -> None:
    response = Client().post("/tus/", headers={"upload-length": "10"})
    assert_problem(
        response,
        status=412,
        code="version",
        detail="The upload could not be understood. Please try again.",
    )
    assert (response["Tus-Resumable"], response["Tus-Version"]) == ("1.0.0", "1.0.0")
    assert response["Cache-Control"] == "no-store"


def test_tus_creation_with_unknown_receipt_answers_403_translated() -> None:
    metadata = f"receipt {base64.b64encode(b'2222-2222-2222-2222-2222').decode()}"
    response = Client().post(
        "/tus/",
        headers={
            **TUS,
            "upload-length": "10",
            "upload-metadata": metadata,
            "accept-language": "ht",
        },
    )
    assert_problem(
        response,
        status=403,
        code="receipt",
        detail="Nou pa jwenn okenn rapò ak kòd sa a. Tanpri verifye l epi eseye ankò.",
    )
    assert response["Tus-Resumable"] == "1.0.0"


def test_tus_upload_in_three_patches_is_quarantined_and_reads_back_whole(gps_jpeg: bytes) -> None:
    report, code = _report()
    client = Client()
    url = _create(client, code, len(gps_jpeg))
    item = MediaItem.objects.get()
    assert (item.status, item.upload_offset, item.report_id) == (
        MediaStatus.UPLOADING,
        0,
        report.id,
    )
    cuts = [0, 100, 1000, len(gps_jpeg)]
    for start, end in itertools.pairwise(cuts):
        response = _patch(client, url, start, gps_jpeg[start:end])
        assert response.status_code == 204  # type: ignore[attr-defined]
        assert response["Upload-Offset"] == str(end)  # type: ignore[index]
    item.refresh_from_db()
    assert item.status == MediaStatus.QUARANTINED
    assert len(item.quarantine_parts) == 3
    for name in item.quarantine_parts:
        with storages["quarantine"].open(name) as sealed:
            assert b"CANARY" not in sealed.read()
    with quarantine_plaintext(item) as plaintext:
        assert plaintext.read() == gps_jpeg


def test_tus_head_reports_offset_and_expiry(gps_jpeg: bytes) -> None:
    _, code = _report()
    client = Client()
    url = _create(client, code, len(gps_jpeg))
    _patch(client, url, 0, gps_jpeg[:500])
    response = client.head(url, headers=TUS)
    assert response.status_code == 200
    assert (response["Upload-Offset"], response["Upload-Length"]) == ("500", str(len(gps_jpeg)))
    assert response["Upload-Expires"].endswith("GMT")
    assert response["Cache-Control"] == "no-store"


def test_tus_patch_at_wrong_offset_answers_409(gps_jpeg: bytes) -> None:
    _, code = _report()
    client = Client()
    url = _create(client, code, len(gps_jpeg))
    _patch(client, url, 0, gps_jpeg[:500])
    response = _patch(client, url, 100, gps_jpeg[100:600])
    assert_problem(
        response,
        status=409,
        code="offset",
        detail="The upload got out of step. It will continue from where it stopped.",
    )
    assert MediaItem.objects.get().upload_offset == 500


def test_tus_unsupported_type_is_refused_on_first_patch_and_report_kept() -> None:
    report, code = _report()
    client = Client()
    url = _create(client, code, 200)
    response = _patch(client, url, 0, b"<html><script>alert(1)</script>" + b" " * 169)
    assert response.status_code == 415  # type: ignore[attr-defined]
    item = MediaItem.objects.get()
    assert (item.status, item.reject_reason, item.quarantine_parts) == (
        MediaStatus.REJECTED,
        "unsupported_format",
        [],
    )
    report.refresh_from_db()
    assert report.moderation == Moderation.PENDING


@override_settings(TESTIGO_MAX_IMAGE_BYTES=1000)
def test_tus_image_declared_over_image_limit_is_refused_as_too_large(gps_jpeg: bytes) -> None:
    _, code = _report()
    client = Client()
    url = _create(client, code, len(gps_jpeg))
    response = _patch(client, url, 0, gps_jpeg[:200])
    assert response.status_code == 413  # type: ignore[attr-defined]
    assert MediaItem.objects.get().reject_reason == "too_large"


@override_settings(TESTIGO_MAX_UPLOAD_BYTES=1000)
def test_tus_creation_over_limit_answers_413() -> None:
    _, code = _report()
    metadata = f"receipt {base64.b64encode(code.encode()).decode()}"
    response = Client().post(
        "/tus/", headers={**TUS, "upload-length": "1001", "upload-metadata": metadata}
    )
    assert response.status_code == 413
    assert MediaItem.objects.count() == 0


def test_tus_termination_destroys_parts_and_settles_report(gps_jpeg: bytes) -> None:
    report, code = _report()
    client = Client()
    url = _create(client, code, len(gps_jpeg))
    _patch(client, url, 0, gps_jpeg[:500])
    part = MediaItem.objects.get().quarantine_parts[0]
    assert client.delete(url, headers=TUS).status_code == 204
    item = MediaItem.objects.get()
    assert (item.status, item.reject_reason) == (MediaStatus.REJECTED, "cancelled")
    assert not storages["quarantine"].exists(part)
    assert client.head(url, headers=TUS).status_code == 410
    report.refresh_from_db()
    assert report.moderation == Moderation.PENDING


def test_tus_expired_upload_is_discarded_by_the_sweeper(gps_jpeg: bytes) -> None:
    _, code = _report()
    client = Client()
    url = _create(client, code, len(gps_jpeg))
    _patch(client, url, 0, gps_jpeg[:500])
    MediaItem.objects.update(upload_expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert _patch(client, url, 500, gps_jpeg[500:600]).status_code == 410  # type: ignore[attr-defined]
    quarantine_sweep()
    item = MediaItem.objects.get()
    assert (item.status, item.reject_reason, item.quarantine_name) == (
        MediaStatus.REJECTED,
        "upload_expired",
        "",
    )


def test_tus_creation_from_followup_session_needs_no_code(gps_jpeg: bytes) -> None:
    _, code = _report()
    client = Client(enforce_csrf_checks=True)
    client.get("/follow-up/")
    token = client.cookies["csrftoken"].value
    client.post("/follow-up/", {"code": code, "csrfmiddlewaretoken": token})
    response = client.post(
        "/tus/",
        headers={**TUS, "upload-length": str(len(gps_jpeg)), "x-csrftoken": token},
    )
    assert response.status_code == 201


def test_tus_creation_from_followup_session_without_csrf_token_is_refused(
    gps_jpeg: bytes,
) -> None:
    _, code = _report()
    client = Client(enforce_csrf_checks=True)
    client.get("/follow-up/")
    token = client.cookies["csrftoken"].value
    client.post("/follow-up/", {"code": code, "csrfmiddlewaretoken": token})
    # As a cross-site page would: the session cookie rides along, the token does not.
    response = client.post("/tus/", headers={**TUS, "upload-length": str(len(gps_jpeg))})
    assert response.status_code == 403
    assert MediaItem.objects.count() == 0


def test_quarantine_plaintext_of_single_file_item_reads_back(gps_jpeg: bytes) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    Client().post("/", {"description": "x", "attachments": SimpleUploadedFile("a.jpg", gps_jpeg)})
    with quarantine_plaintext(MediaItem.objects.get()) as plaintext:
        assert io.BytesIO(plaintext.read()).getvalue() == gps_jpeg
