"""A multipart post is received text first (intake.receiving): the text is committed when
the first file begins, each file is stored when complete, and a cut connection keeps
both (promise 9). Without a committed text, nothing of a refused post is kept."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.core.files.storage import storages
from django.test import Client

from reports.models import MediaItem, MediaStatus, Moderation, Report, ReportMessage
from tests.factories.processes import multipart

pytestmark = pytest.mark.django_db

FORM = "/"
API = "/api/v1/intake/reports/"


class CutBody:
    """A request body that stops after ``keep`` bytes: cleanly (``error`` None, as a
    closed connection reads) or with ``error`` (a reset, an idle timeout)."""

    def __init__(self, data: bytes, keep: int, error: OSError | None = None) -> None:
        self._data = data[:keep]
        self._error = error

    def read(self, size: int = -1) -> bytes:
        if not self._data and self._error is not None:
            raise self._error
        size = len(self._data) if size is None or size < 0 else size
        chunk, self._data = self._data[:size], self._data[size:]
        return chunk

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def _post(
    client: Client,
    path: str,
    fields: dict[str, str],
    files: list[tuple[str, bytes]],
    *,
    cut_at: int | None = None,
    error: OSError | None = None,
    file_field: str = "attachments",
    language: str = "es",
) -> Any:
    body, content_type = multipart(fields, [(file_field, name, data) for name, data in files])
    extra: dict[str, Any] = {"HTTP_ACCEPT_LANGUAGE": language}
    if cut_at is not None:
        # The length the browser announced, and a body that stops short of it.
        extra["CONTENT_LENGTH"] = str(len(body))
        extra["wsgi.input"] = CutBody(body, cut_at if cut_at >= 0 else len(body) + cut_at, error)
    return client.generic("POST", path, body, content_type=content_type, **extra)


def _photo(size: int, gps_jpeg: bytes) -> bytes:
    return gps_jpeg + os.urandom(size - len(gps_jpeg))


def _quarantine_files() -> set[str]:
    """Files in the quarantine storage (shared by the whole test session)."""
    quarantine = storages["quarantine"]
    try:
        return set(quarantine.listdir("")[1])
    except FileNotFoundError:
        return set()


@pytest.mark.parametrize(
    "error", [None, ConnectionResetError(104, "reset"), TimeoutError("idle")], ids=str
)
def test_form_cut_during_the_file_keeps_the_text_and_sends_it_to_moderation(
    gps_jpeg: bytes, error: OSError | None
) -> None:
    before = _quarantine_files()
    _post(
        Client(),
        FORM,
        {"description": "Agents at the bus stop.", "town": "Chelsea"},
        [("p.jpg", _photo(600_000, gps_jpeg))],
        cut_at=300_000,
        error=error,
    )

    report = Report.objects.get()
    assert (report.description, report.town) == ("Agents at the bus stop.", "Chelsea")
    assert report.moderation == Moderation.PENDING
    assert not MediaItem.objects.exists()
    assert _quarantine_files() == before


def test_form_cut_during_the_second_file_keeps_the_text_and_the_first_file(
    gps_jpeg: bytes,
) -> None:
    _post(
        Client(),
        FORM,
        {"description": "Two photos, one arrived."},
        [("a.jpg", _photo(200_000, gps_jpeg)), ("b.jpg", _photo(600_000, gps_jpeg))],
        cut_at=500_000,
    )

    report = Report.objects.get()
    item = MediaItem.objects.get()
    assert (item.report_id, item.position, item.status) == (report.id, 0, MediaStatus.QUARANTINED)
    assert item.size_received == 200_000
    # Its file is still to be processed: the report waits for it, then goes to moderation.
    assert report.moderation == Moderation.RECEIVED


def test_form_complete_answers_the_receipt_with_the_file_stored(gps_jpeg: bytes) -> None:
    client = Client()
    response = _post(
        client, FORM, {"description": "Complete."}, [("a.jpg", _photo(300_000, gps_jpeg))]
    )

    assert (response.status_code, response["Location"]) == (302, "/receipt/")
    assert b'id="receipt-code"' in client.get("/receipt/").content
    assert MediaItem.objects.get().status == MediaStatus.QUARANTINED


def test_form_cut_during_the_text_keeps_nothing(gps_jpeg: bytes) -> None:
    # A truncated field is not the witness's text.
    _post(
        Client(),
        FORM,
        {"description": "This sentence never fully arrives " * 20},
        [("a.jpg", gps_jpeg)],
        cut_at=200,
    )

    assert not Report.objects.exists()


def test_form_without_csrf_token_is_refused_and_nothing_kept(gps_jpeg: bytes) -> None:
    before = _quarantine_files()
    response = _post(
        Client(enforce_csrf_checks=True), FORM, {"description": "Forged."}, [("a.jpg", gps_jpeg)]
    )

    assert response.status_code == 403
    assert not Report.objects.exists()
    assert _quarantine_files() == before


def test_form_with_csrf_token_is_accepted(gps_jpeg: bytes) -> None:
    client = Client(enforce_csrf_checks=True)
    client.get(FORM)
    token = client.cookies["csrftoken"].value

    response = _post(
        client,
        FORM,
        {"csrfmiddlewaretoken": token, "description": "Mine."},
        [("a.jpg", gps_jpeg)],
    )

    assert response.status_code == 302
    assert Report.objects.get().description == "Mine."
    assert MediaItem.objects.count() == 1


def test_form_filled_honeypot_stores_nothing(gps_jpeg: bytes) -> None:
    before = _quarantine_files()
    client = Client()
    response = _post(
        client, FORM, {"website": "spam.example", "description": "Buy."}, [("a.jpg", gps_jpeg)]
    )

    assert (response.status_code, response["Location"]) == (302, "/receipt/")
    assert b'id="receipt-code"' in client.get("/receipt/").content
    assert not Report.objects.exists()
    assert _quarantine_files() == before


def test_form_invalid_text_with_a_file_shows_errors_and_keeps_nothing(gps_jpeg: bytes) -> None:
    fields = {"description": "", "town": "Chelsea", "contact_value": "+1 555 0100"}
    response = _post(Client(), FORM, fields, [("IMG_0007.jpg", gps_jpeg)])

    assert response.status_code == 200
    page = response.content.decode()
    assert "Elija cómo podemos comunicarnos con usted." in page
    # The browser forgets the chosen files with this answer: the page names them.
    assert "Elija otra vez estos archivos:" in page
    assert "<li>IMG_0007.jpg</li>" in page
    assert not Report.objects.exists()
    assert not MediaItem.objects.exists()


def test_form_page_puts_every_text_field_before_the_file_inputs() -> None:
    html = Client().get(FORM).content.decode()
    first_file = html.index('type="file"')
    for name in ("description", "website", "consent_contact", "contact_value", "consent_publish"):
        assert html.index(f'name="{name}"') < first_file, name


def test_api_text_after_the_file_is_judged_with_everything_at_the_end(gps_jpeg: bytes) -> None:
    boundary = "late-text"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="media"; filename="a.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + gps_jpeg
        + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="description"\r\n\r\n'
        f"Text sent after the photo.\r\n--{boundary}--\r\n".encode()
    )

    response = Client().generic(
        "POST", API, body, content_type=f"multipart/form-data; boundary={boundary}"
    )

    assert response.status_code == 201, response.content
    assert Report.objects.get().description == "Text sent after the photo."
    assert MediaItem.objects.get().status == MediaStatus.QUARANTINED


def test_api_cut_during_the_file_keeps_the_text(gps_jpeg: bytes) -> None:
    _post(
        Client(),
        API,
        {"description": "From an app."},
        [("v.mp4", _photo(400_000, gps_jpeg))],
        cut_at=-1000,
        file_field="media",
    )

    assert Report.objects.get().moderation == Moderation.PENDING


def _followup_client(code: str) -> Client:
    client = Client()
    client.post("/follow-up/", {"code": code})
    return client


def test_followup_cut_during_the_file_keeps_the_message(gps_jpeg: bytes) -> None:
    from intake.services import report_submit

    result = report_submit(description="First.")
    client = _followup_client(result.receipt_code)

    _post(
        client,
        "/follow-up/send/",
        {"body": "They came back tonight."},
        [("a.jpg", _photo(500_000, gps_jpeg))],
        cut_at=250_000,
    )

    assert list(ReportMessage.objects.values_list("body", flat=True)) == ["They came back tonight."]
    assert not MediaItem.objects.filter(report=result.report).exists()


def test_followup_complete_keeps_message_and_file(gps_jpeg: bytes) -> None:
    from intake.services import report_submit

    result = report_submit(description="First.")
    client = _followup_client(result.receipt_code)

    response = _post(
        client, "/follow-up/send/", {"body": "A photo."}, [("a.jpg", _photo(100_000, gps_jpeg))]
    )

    assert response.status_code == 200
    assert "Gracias. Recibimos lo que envió." in response.content.decode()
    assert ReportMessage.objects.get().body == "A photo."
    assert MediaItem.objects.get(report=result.report).status == MediaStatus.QUARANTINED


def test_file_failing_after_the_text_is_committed_still_answers_the_receipt(
    gps_jpeg: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(**kwargs: Any) -> Any:
        raise RuntimeError("storage exploded")

    monkeypatch.setattr("intake.receiving.report_media_add", fail)

    client = Client()
    response = _post(client, FORM, {"description": "Kept."}, [("a.jpg", gps_jpeg)])

    assert (response.status_code, response["Location"]) == (302, "/receipt/")
    page = client.get("/receipt/", headers={"accept-language": "es"}).content.decode()
    assert 'id="receipt-code"' in page
    assert "El resto de su reporte se guardó." in page
    assert "No se pudo guardar el archivo." in page
    assert Report.objects.get().description == "Kept."


def test_unexpected_error_answers_a_page_in_the_witness_language(
    gps_jpeg: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database exploded")

    monkeypatch.setattr("intake.receiving.submission_submit", fail)
    client = Client(raise_request_exception=False)

    response = _post(client, FORM, {"description": "Lost?"}, [("a.jpg", gps_jpeg)])

    page = response.content.decode()
    assert response.status_code == 500
    assert '<html lang="es">' in page
    assert "Algo salió mal de nuestro lado" in page
    assert "No se guardó nada de este paso" in page
    assert not Report.objects.exists()
