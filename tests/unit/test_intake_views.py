from __future__ import annotations

import pytest
from django.conf import settings
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from reports.models import AuditEvent, MediaStatus, Moderation, Report
from tests.factories.problems import assert_problem

pytestmark = pytest.mark.django_db


def test_report_form_renders_on_get() -> None:
    response = Client().get("/")
    assert response.status_code == 200
    assert b'name="description"' in response.content
    assert b'enctype="multipart/form-data"' in response.content


def test_report_form_without_description_shows_error_and_stores_nothing() -> None:
    response = Client().post("/", {"description": "   "})
    assert response.status_code == 200
    assert b"error-summary" in response.content
    assert Report.objects.count() == 0


def test_report_form_error_is_in_the_witness_language() -> None:
    response = Client().post("/", {"description": ""}, headers={"accept-language": "es"})
    assert response.status_code == 200
    assert '<html lang="es">' in response.content.decode()


def test_report_form_submission_shows_receipt_once(gps_jpeg: bytes) -> None:
    client = Client()
    posted = client.post(
        "/",
        {
            "description": "Agents at the courthouse.",
            "attachments": SimpleUploadedFile("x.jpg", gps_jpeg),
        },
    )
    # Post/redirect/get: the code is in no URL, and a reload never posts again.
    assert (posted.status_code, posted["Location"]) == (302, "/receipt/")
    response = client.get("/receipt/")
    assert response.status_code == 200
    code = response.context["receipt_code"]
    assert code.encode() in response.content
    assert "no-store" in response["Cache-Control"]
    again = client.get("/receipt/")
    assert (again.context["receipt_code"], code.encode() in again.content) == ("", False)
    assert Report.objects.count() == 1
    report = Report.objects.get()
    assert report.receipt_hash != code
    assert report.moderation == Moderation.RECEIVED
    assert report.media_items.get().status == MediaStatus.QUARANTINED


def test_report_form_submission_keeps_only_ciphertext_in_quarantine(gps_jpeg: bytes) -> None:
    Client().post("/", {"description": "x", "attachments": SimpleUploadedFile("x.jpg", gps_jpeg)})
    item = Report.objects.get().media_items.get()
    with storages["quarantine"].open(item.quarantine_name) as sealed:
        stored = sealed.read()
    assert gps_jpeg[:64] not in stored
    assert b"CANARY" not in stored
    assert item.sha256_received != ""


def test_report_form_refuses_unsupported_file_and_keeps_the_report() -> None:
    response = Client().post(
        "/",
        {"description": "x", "attachments": SimpleUploadedFile("x.jpg", b"<svg onload=alert(1)>")},
        headers={"accept-language": "es"},
        follow=True,
    )
    assert response.status_code == 200
    assert "Este tipo de archivo no es compatible" in response.content.decode()
    report = Report.objects.get()
    assert report.moderation == Moderation.PENDING
    assert report.media_items.get().reject_reason == "unsupported_format"


def test_api_submission_answers_201_with_receipt(gps_jpeg: bytes) -> None:
    response = Client().post(
        "/api/v1/intake/reports/",
        {
            "description": "A raid.",
            "media": [SimpleUploadedFile("a.jpg", gps_jpeg), SimpleUploadedFile("b.jpg", gps_jpeg)],
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert sorted(body) == ["receipt_code", "refused_media"]
    assert body["refused_media"] == []
    assert Report.objects.get().media_items.count() == 2


def test_api_submission_without_description_answers_400() -> None:
    response = Client().post("/api/v1/intake/reports/", {"occurred_text": "now"})
    assert_problem(
        response,
        status=400,
        code="invalid",
        detail="Please check the form",
        errors={"description": ["Please write what happened, or add a photo, video or audio."]},
    )


def test_api_submission_with_empty_file_refuses_it() -> None:
    response = Client().post(
        "/api/v1/intake/reports/", {"description": "x", "media": SimpleUploadedFile("a.jpg", b"")}
    )
    assert response.status_code == 201
    assert response.json()["refused_media"][0]["reason"] == "empty"


def test_api_submission_writes_audit_events_without_client_details(gps_jpeg: bytes) -> None:
    Client().post(
        "/api/v1/intake/reports/",
        {"description": "x", "media": SimpleUploadedFile("a.jpg", gps_jpeg)},
        headers={"user-agent": "CANARY-UA/1.0"},
        REMOTE_ADDR="203.0.113.77",
    )
    events = list(AuditEvent.objects.values_list("action", flat=True).order_by("id"))
    assert events == ["report.received", "media.quarantined"]
    dump = str(list(AuditEvent.objects.values()))
    assert "203.0.113.77" not in dump
    assert "CANARY-UA" not in dump


def test_api_schema_documents_intake_endpoint() -> None:
    response = Client().get("/api/schema/", headers={"accept": "application/json"})
    assert response.status_code == 200
    assert "/api/v1/intake/reports/" in response.content.decode()


def test_report_form_page_uses_constant_queries() -> None:
    with CaptureQueriesContext(connection) as queries:
        Client().get("/")
    assert len(queries) == 0


def test_language_link_sets_a_session_cookie_and_returns_to_the_page() -> None:
    response = Client().get("/language/pt-br/", {"next": "/safety/"})
    assert (response.status_code, response["Location"]) == (302, "/safety/")
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert (cookie.value, cookie["max-age"]) == ("pt-br", "")


def test_language_link_never_leads_off_the_site() -> None:
    response = Client().get("/language/es/", {"next": "https://example.org/"})
    assert response["Location"] == "/"


def test_language_link_for_an_unknown_language_sets_nothing() -> None:
    response = Client().get("/language/fr/", {"next": "/"})
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
