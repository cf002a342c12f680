"""The follow-up page: the receipt code opens a short session; no code in URLs or sessions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from intake.services import report_submit
from reports.models import MediaStatus, MessageSender, Report
from reports.services import report_message_ask

pytestmark = pytest.mark.django_db


def _submitted() -> tuple[Report, str]:
    result = report_submit(description="Agents at the bakery.")
    return result.report, result.receipt_code


def _opened(code: str) -> Client:
    client = Client()
    response = client.post("/follow-up/", {"code": code})
    assert response.status_code == 302
    assert response["Location"] == "/follow-up/"
    return client


def test_followup_with_valid_code_shows_status_in_plain_words() -> None:
    _, code = _submitted()
    response = _opened(code).get("/follow-up/")
    assert response.status_code == 200
    assert "waiting for a member of our team" in response.content.decode()
    assert "no-store" in response["Cache-Control"]


def test_followup_code_accepts_lower_case_and_no_dashes() -> None:
    _, code = _submitted()
    client = _opened(code.replace("-", "").lower())
    assert client.get("/follow-up/").context["report"] is not None


def test_followup_with_unknown_code_shows_translated_error() -> None:
    response = Client().post(
        "/follow-up/", {"code": "2222-3333-4444-5555-6666"}, headers={"accept-language": "es"}
    )
    assert response.status_code == 200
    assert "No encontramos un reporte con este código" in response.content.decode()


def test_followup_session_holds_report_id_but_never_the_code() -> None:
    report, code = _submitted()
    _opened(code)
    decoded = [s.get_decoded() for s in Session.objects.all()]
    assert len(decoded) == 1
    assert decoded[0]["testigo_followup"]["report"] == str(report.id)
    assert code not in str(decoded)
    assert code.replace("-", "") not in str(decoded)


@override_settings(TESTIGO_FOLLOWUP_SESSION_S=-1)
def test_followup_session_past_expiry_asks_for_the_code_again() -> None:
    _, code = _submitted()
    client = Client()
    client.post("/follow-up/", {"code": code})
    response = client.get("/follow-up/")
    assert response.context.get("report") is None
    assert 'name="code"' in response.content.decode()


def test_followup_shows_staff_question_and_stores_the_answer(moderator: User) -> None:
    report, code = _submitted()
    report_message_ask(report=report, by=moderator, body="Which street exactly?")
    client = _opened(code)
    assert "Which street exactly?" in client.get("/follow-up/").content.decode()
    response = client.post("/follow-up/send/", {"body": "Elm Street, by the church."})
    assert response.status_code == 200
    replies = list(report.messages.values_list("sender", "body"))
    assert replies == [
        (MessageSender.STAFF, "Which street exactly?"),
        (MessageSender.WITNESS, "Elm Street, by the church."),
    ]


def test_followup_adds_media_to_the_report(gps_jpeg: bytes) -> None:
    report, code = _submitted()
    client = _opened(code)
    client.post(
        "/follow-up/send/",
        {
            "attachments": [
                SimpleUploadedFile("a.jpg", gps_jpeg),
                SimpleUploadedFile("b.txt", b"hello"),
            ]
        },
    )
    items = list(report.media_items.values_list("position", "status", "reject_reason"))
    assert items == [
        (0, MediaStatus.QUARANTINED, ""),
        (1, MediaStatus.REJECTED, "unsupported_format"),
    ]


def test_followup_send_without_anything_shows_error() -> None:
    _, code = _submitted()
    response = _opened(code).post("/follow-up/send/", {"body": "  "})
    assert "Please write something or choose a file to send." in response.content.decode()


def test_followup_send_without_session_redirects_to_code_entry() -> None:
    response = Client().post("/follow-up/send/", {"body": "hello"})
    assert (response.status_code, response["Location"]) == (302, "/follow-up/")


def test_quick_exit_ends_followup_session_and_leaves_for_neutral_site() -> None:
    _, code = _submitted()
    client = _opened(code)
    response = client.get("/exit/")
    assert (response.status_code, response["Location"]) == (302, "https://www.weather.gov/")
    assert 'name="code"' in client.get("/follow-up/").content.decode()


@pytest.mark.parametrize("path", ["/", "/follow-up/", "/safety/"])
def test_public_page_has_quick_exit_language_picker_and_script_only_from_self(path: str) -> None:
    response = Client().get(path)
    html = response.content.decode()
    assert 'id="quick-exit" href="/exit/"' in html
    assert 'href="/language/es/?next=' in html
    assert "<script>" not in html
    assert " onclick=" not in html
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_report_form_default_language_comes_from_accept_language() -> None:
    response = Client().get("/", headers={"accept-language": "pt-BR,pt;q=0.9"})
    assert '<html lang="pt-br">' in response.content.decode()
    assert "Relate o que você viu" in response.content.decode()
