"""The full witness form and the intake API: facts, consent, contact, limits, honeypot."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from reports.contact import Contact, contact_open
from reports.models import AuditEvent, MediaStatus, Report
from tests.factories.problems import assert_problem

pytestmark = pytest.mark.django_db

FULL = {
    "description": "Four agents took a man from the bus stop.",
    "witness_relation": "saw",
    "happening_now": "on",
    "occurred_at": "2025-06-01T08:30",
    "occurred_text": "this morning",
    "location_text": "Main St and 5th",
    "town": "Springfield",
    "place_type": "street",
    "agencies": ["ice", "local_police"],
    "local_police_department": "Springfield PD",
    "agents_count": "4",
    "uniforms": "vests saying POLICE ICE",
    "masks": "yes",
    "identified_themselves": "no",
    "vehicles": "grey SUV, plate 123-ABC",
    "warrant": "administrative",
    "detained_count": "1",
    "children_present": "unknown",
    "injuries": "no",
    "force_used": "yes",
    "bystanders_arrested": "no",
    "consent_contact": "on",
    "consent_share_partners": "on",
    "consent_contact_partners": "on",
    "contact_channel": "signal",
    "contact_value": "+1 555 0100",
    "contact_safe_times": "after 6 pm",
}


def test_report_form_with_every_fact_stores_each_field() -> None:
    response = Client().post("/", FULL, follow=True)
    assert response.status_code == 200
    report = Report.objects.get()
    assert report.description == FULL["description"]
    assert report.witness_relation == "saw"
    assert report.happening_now is True
    assert report.occurred_at == dt.datetime(2025, 6, 1, 8, 30, tzinfo=dt.UTC)
    assert (report.occurred_text, report.location_text) == ("this morning", "Main St and 5th")
    assert (report.town, report.place_type) == ("Springfield", "street")
    assert report.agencies == ["ice", "local_police"]
    assert report.local_police_department == "Springfield PD"
    assert (report.agents_count, report.detained_count) == (4, 1)
    assert report.uniforms == "vests saying POLICE ICE"
    assert (report.masks, report.identified_themselves) == ("yes", "no")
    assert report.vehicles == "grey SUV, plate 123-ABC"
    assert report.warrant == "administrative"
    assert (report.children_present, report.injuries) == ("unknown", "no")
    assert (report.force_used, report.bystanders_arrested) == ("yes", "no")
    assert (report.consent_contact, report.consent_share_partners) == (True, True)
    assert report.consent_contact_partners is True
    assert report.consent_publish is False
    assert report.contact_channel == "signal"


def test_report_form_contact_is_sealed_not_stored_in_clear() -> None:
    Client().post("/", FULL)
    report = Report.objects.get()
    sealed = bytes(report.contact_sealed or b"")
    assert b"555 0100" not in sealed
    assert contact_open(report_id=report.id, sealed=sealed) == Contact(
        value="+1 555 0100", safe_times="after 6 pm"
    )


def test_report_form_only_description_uses_blank_defaults() -> None:
    Client().post("/", {"description": "Agents at the school."})
    report = Report.objects.get()
    assert (report.warrant, report.masks, report.agencies) == ("", "", [])
    assert (report.agents_count, report.occurred_at, report.contact_sealed) == (None, None, None)
    assert (report.consent_contact, report.consent_publish) == (False, False)
    assert report.consent_contact_partners is False


def test_report_form_contact_without_consent_shows_translated_error() -> None:
    data = {**FULL, "consent_contact": ""}
    response = Client().post("/", data, headers={"accept-language": "es"})
    assert response.status_code == 200
    expected = "marque «Un equipo de ayuda legal puede comunicarse conmigo»"
    assert expected in response.content.decode()
    assert Report.objects.count() == 0


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("ht", "Tanpri ekri yon chif, pa egzanp 3."),
        ("pt-br", "Digite um número inteiro, por exemplo 3."),
        ("es", "Escriba un número entero, por ejemplo 3."),
    ],
)
def test_report_form_invalid_number_error_is_translated(language: str, expected: str) -> None:
    data = {"description": "x", "agents_count": "many"}
    response = Client().post("/", data, headers={"accept-language": language})
    assert expected in response.content.decode()


def test_report_form_error_summary_links_to_the_field() -> None:
    response = Client().post("/", {"description": "", "masks": "perhaps"})
    html = response.content.decode()
    assert '<a href="#id_description">' in html
    assert '<a href="#id_masks_0">' in html
    assert 'aria-describedby="id_description_helptext id_description_error"' in html


def test_report_form_has_sections_with_legends_and_camera_capture() -> None:
    html = Client().get("/").content.decode()
    assert html.count('<fieldset class="section">') == 6
    # Capture first: the words, then (folded until the script moves them after Send) the
    # optional sections, then the camera, the files and Send.
    order = [
        html.index(marker)
        for marker in (
            'name="description"',
            'id="report-details"',
            'id="id_camera"',
            'id="send-report"',
        )
    ]
    assert order == sorted(order)
    assert "<legend>Warrant</legend>" in html
    assert 'capture="environment"' in html
    assert 'accept="image/*,video/*,audio/*"' in html
    assert "judicial warrant is signed by a judge" in html


def test_report_form_honeypot_answers_like_success_and_stores_nothing() -> None:
    response = Client().post(
        "/", {"description": "buy pills", "website": "http://spam"}, follow=True
    )
    assert response.status_code == 200
    assert len(response.context["receipt_code"]) == 24
    assert Report.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_report_form_resumable_request_commits_text_and_answers_json() -> None:
    response = Client().post(
        "/", {"description": "Text first."}, headers={"x-testigo-resumable": "1"}
    )
    assert response.status_code == 200
    body = response.json()
    assert sorted(body) == ["receipt_code", "refused"]
    report = Report.objects.get()
    assert report.description == "Text first."
    # It waits for the files that follow before entering moderation.
    assert report.moderation == "received"


def test_report_form_resumable_request_with_errors_answers_400() -> None:
    data = {"description": "", "contact_value": "+1 555 0100"}
    response = Client().post("/", data, headers={"x-testigo-resumable": "1"})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["contact_channel", "consent_contact"]
    assert Report.objects.count() == 0


def test_report_form_resumable_request_without_words_is_accepted_for_its_files() -> None:
    # The script posts the text only when files follow: a photo says enough.
    response = Client().post("/", {"description": ""}, headers={"x-testigo-resumable": "1"})
    assert response.status_code == 200
    assert Report.objects.get().description == ""


def test_report_form_without_words_or_files_asks_for_one_or_the_other() -> None:
    response = Client().post("/", {"description": "  "}, headers={"accept-language": "es"})
    assert response.status_code == 200
    expected = "Escriba lo que pasó, o agregue una foto, un video o un audio."
    assert expected in response.content.decode()
    assert Report.objects.count() == 0


def test_report_form_with_a_photo_and_no_words_is_a_report(gps_jpeg: bytes) -> None:
    photo = SimpleUploadedFile("a.jpg", gps_jpeg)
    response = Client().post("/", {"description": "", "attachments": photo})
    assert (response.status_code, response["Location"]) == (302, "/receipt/")
    report = Report.objects.get()
    assert (report.description, report.media_items.count()) == ("", 1)


@override_settings(TESTIGO_MAX_FILES=2)
def test_report_form_more_files_than_allowed_refuses_the_extra_ones(gps_jpeg: bytes) -> None:
    files = [SimpleUploadedFile(f"{i}.jpg", gps_jpeg) for i in range(3)]
    response = Client().post(
        "/",
        {"description": "x", "attachments": files},
        headers={"accept-language": "pt-br"},
        follow=True,
    )
    assert response.status_code == 200
    assert [r["reason"] for r in response.context["refused"]] == ["too_many_files"]
    assert "Muitos arquivos foram enviados de uma vez" in response.content.decode()
    statuses = list(Report.objects.get().media_items.values_list("status", flat=True))
    assert statuses == [MediaStatus.QUARANTINED, MediaStatus.QUARANTINED, MediaStatus.REJECTED]


@override_settings(TESTIGO_MAX_IMAGE_BYTES=1000)
def test_report_form_image_over_image_limit_is_refused_as_too_large(gps_jpeg: bytes) -> None:
    response = Client().post(
        "/", {"description": "x", "attachments": SimpleUploadedFile("a.jpg", gps_jpeg)}, follow=True
    )
    assert [r["reason"] for r in response.context["refused"]] == ["too_large"]
    assert Report.objects.get().media_items.get().status == MediaStatus.REJECTED


@override_settings(TESTIGO_MAX_IMAGE_BYTES=1000)
def test_report_form_video_is_judged_by_the_video_limit() -> None:
    video = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 5000
    response = Client().post(
        "/", {"description": "x", "attachments": SimpleUploadedFile("v.jpg", video)}, follow=True
    )
    assert response.context["refused"] == []
    assert Report.objects.get().media_items.get().status == MediaStatus.QUARANTINED


def test_api_submission_accepts_the_same_facts_as_the_form() -> None:
    response = Client().post("/api/v1/intake/reports/", FULL)
    assert response.status_code == 201
    report = Report.objects.get()
    assert (report.warrant, report.agencies, report.agents_count) == (
        "administrative",
        ["ice", "local_police"],
        4,
    )
    assert report.contact_sealed is not None


def test_api_submission_invalid_choice_answers_translated_400() -> None:
    response = Client().post(
        "/api/v1/intake/reports/",
        {"description": "x", "warrant": "forged"},
        headers={"accept-language": "ht"},
    )
    assert_problem(
        response,
        status=400,
        code="invalid",
        detail="Tanpri verifye fòmilè a",
        errors={"warrant": ["Tanpri chwazi youn nan chwa yo montre yo."]},
    )


@pytest.mark.parametrize(
    ("language", "label"),
    [
        ("en", "A partner legal organisation may contact me"),
        ("es", "Una organización legal aliada puede contactarme"),
        ("pt-br", "Uma organização jurídica parceira pode entrar em contato comigo"),
        ("ht", "Yon òganizasyon legal patnè ka kontakte m"),
    ],
)
def test_report_form_asks_partner_contact_consent_on_its_own(language: str, label: str) -> None:
    """A choice of its own, unticked by default, beside the consent to be contacted (the
    media consents come last, with the files: intake.receiving)."""
    page = Client().get("/", headers={"accept-language": language}).content.decode()
    assert f'<label for="id_consent_contact_partners">{label}' in page
    assert (
        '<input type="checkbox" name="consent_contact_partners" id="id_consent_contact_partners">'
        in page
    )
    consents = [
        page.index(f'name="{name}"')
        for name in (
            "consent_contact",
            "consent_contact_partners",
            "consent_share_partners",
            "consent_publish",
        )
    ]
    assert consents == sorted(consents)
