"""Hostile requests to the intake API and the form: each gets a clear answer in the
witness's language (or a recorded reason), never a 500, and nothing else of the report is
lost (promise 8)."""

from __future__ import annotations

import re
import socket
import threading
import time
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from pytest_django.fixtures import Settings

from reports.models import MediaItem, MediaStatus, Report
from tests.factories import hostile_files as files
from tests.factories import jpeg_with_gps
from tests.factories.problems import assert_problem
from tests.factories.processes import multipart
from tests.faults.conftest import Processes, api_submit

pytestmark = [pytest.mark.hostile, pytest.mark.django_db]

API = "/api/v1/intake/reports/"


def _post(data: dict[str, Any], language: str = "es") -> Any:
    return Client().post(API, data, HTTP_ACCEPT_LANGUAGE=language)


def _post_raw(body: bytes, content_type: str, path: str = API) -> Any:
    return Client().generic(
        "POST", path, body, content_type=content_type, HTTP_ACCEPT_LANGUAGE="es"
    )


def test_empty_and_one_byte_files_are_refused_and_report_kept() -> None:
    response = _post(
        {
            "description": "Empty files.",
            "media": [SimpleUploadedFile("a.jpg", b""), SimpleUploadedFile("b.jpg", b"\xff")],
        }
    )

    assert response.status_code == 201
    assert [(r["index"], r["reason"]) for r in response.json()["refused_media"]] == [
        (0, "empty"),
        (1, "unsupported_format"),
    ]
    assert response.json()["refused_media"][0]["message"] == "El archivo está vacío."
    assert Report.objects.get().description == "Empty files."


@pytest.mark.parametrize("kind", sorted(files.RENAMED))
def test_renamed_non_media_file_is_refused_as_unsupported(kind: str) -> None:
    response = _post(
        {
            "description": f"{kind} renamed.",
            "media": SimpleUploadedFile("photo.jpg", files.RENAMED[kind]),
        }
    )

    assert response.status_code == 201
    assert [r["reason"] for r in response.json()["refused_media"]] == ["unsupported_format"]
    assert list(MediaItem.objects.values_list("status", "size_received")) == [
        (MediaStatus.REJECTED, len(files.RENAMED[kind]))
    ]


def test_file_one_byte_over_the_limit_is_refused_and_one_at_the_limit_accepted(
    settings: Settings,
) -> None:
    settings.TESTIGO_MAX_IMAGE_BYTES = 4096  # a JPEG: the image limit applies
    at_limit = b"\xff\xd8\xff\xe0" + b"\0" * 4092
    over = at_limit + b"\0"

    response = _post(
        {
            "description": "Limits.",
            "media": [SimpleUploadedFile("a.jpg", at_limit), SimpleUploadedFile("b.jpg", over)],
        }
    )

    assert response.status_code == 201
    assert [(r["index"], r["reason"]) for r in response.json()["refused_media"]] == [
        (1, "too_large")
    ]
    assert dict(MediaItem.objects.values_list("position", "status")) == {
        0: MediaStatus.QUARANTINED,
        1: MediaStatus.REJECTED,
    }


def test_multipart_with_10000_fields_gets_400_not_500() -> None:
    body, content_type = multipart(
        {"description": "Many parts.", **{f"f{n}": "x" for n in range(10_000)}}, []
    )

    response = _post_raw(body, content_type)

    assert response.status_code == 400
    assert Report.objects.count() == 0


def test_multipart_with_10000_file_parts_keeps_the_text_and_refuses_the_rest_not_500(
    settings: Settings,
) -> None:
    body, content_type = multipart(
        {"description": "Many files."}, [("media", f"{n}.jpg", b"\xff") for n in range(10_000)]
    )

    response = _post_raw(body, content_type)

    # The text came first and was committed before the files (promise 9); each file part
    # is judged on its own, up to Django's limit of file parts, where reading stops.
    assert response.status_code == 201
    assert Report.objects.get().description == "Many files."
    seen = settings.DATA_UPLOAD_MAX_NUMBER_FILES
    assert [(r["index"], r["reason"]) for r in response.json()["refused_media"]] == [
        (n, "unsupported_format" if n < settings.TESTIGO_MAX_FILES else "too_many_files")
        for n in range(seen)
    ]
    assert MediaItem.objects.count() == seen
    assert not MediaItem.objects.exclude(status=MediaStatus.REJECTED).exists()


@pytest.mark.parametrize(
    "filename",
    [
        "../../../../etc/passwd.jpg",
        "a\x00b.jpg",
        "x" * 10_000 + ".jpg",
        "photo\u202egpj.exe",
        "CON",
        "..\\..\\windows\\win.ini",
    ],
    ids=["dotdot", "nul", "10000-chars", "rtl-override", "con", "backslashes"],
)
def test_hostile_filename_is_ignored_and_file_stored_under_a_random_name(filename: str) -> None:
    body, content_type = multipart(
        {"description": "Odd filename."}, [("media", filename, jpeg_with_gps())]
    )

    response = _post_raw(body, content_type)

    assert response.status_code in (201, 400)
    if response.status_code == 201:
        item = MediaItem.objects.get()
        assert re.fullmatch(r"[0-9a-f]{32}\.tq", item.quarantine_name)
        assert filename.encode("utf-8", "replace") not in response.content


def test_content_type_that_lies_does_not_decide_anything() -> None:
    body, content_type = multipart({"description": "Lying types."}, [])
    boundary = content_type.split("=", 1)[1]
    parts = [
        ("pdf.jpg", "image/jpeg", files.RENAMED["pdf"]),
        ("photo.txt", "text/plain", jpeg_with_gps()),
    ]
    extra = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="media"; filename="{name}"\r\n'
        f"Content-Type: {kind}\r\n\r\n".encode()
        + data
        + b"\r\n"
        for name, kind, data in parts
    )
    body = body.replace(f"--{boundary}--".encode(), extra + f"--{boundary}--".encode())

    response = _post_raw(body, content_type)

    assert response.status_code == 201
    assert dict(MediaItem.objects.values_list("position", "status")) == {
        0: MediaStatus.REJECTED,
        1: MediaStatus.QUARANTINED,
    }


def test_nul_bytes_in_description_get_translated_400() -> None:
    response = _post({"description": "Agents\x00 at the\x00 corner."})

    assert_problem(
        response,
        status=400,
        code="invalid",
        detail="Revise el formulario",
        errors={"description": ["Los caracteres nulos no están permitidos."]},
    )
    assert Report.objects.count() == 0


def test_nul_bytes_in_other_text_get_translated_400() -> None:
    response = _post({"description": "Fine.", "location_text": "Main\x00St"})

    assert_problem(
        response,
        status=400,
        code="invalid",
        detail="Revise el formulario",
        errors={"location_text": ["Los caracteres nulos no están permitidos."]},
    )
    assert Report.objects.count() == 0


def test_one_megabyte_description_gets_translated_400() -> None:
    response = _post({"description": "a" * 1024 * 1024})

    assert_problem(
        response,
        status=400,
        code="invalid",
        detail="Revise el formulario",
        errors={"description": ["La descripción debe tener menos de 20000 caracteres."]},
    )


def test_one_megabyte_description_on_the_form_gets_translated_error() -> None:
    response = Client().post("/", {"description": "a" * 1024 * 1024}, HTTP_ACCEPT_LANGUAGE="es")

    assert response.status_code == 200
    assert Report.objects.count() == 0
    assert "20000" in response.content.decode()


def test_json_nested_10000_deep_gets_415_from_the_intake_api() -> None:
    body = ("[" * 10_000 + "]" * 10_000).encode()

    response = _post_raw(body, "application/json")

    assert response.status_code == 415
    assert Report.objects.count() == 0


def test_json_nested_10000_deep_to_the_form_is_not_a_500() -> None:
    body = b'{"description": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"

    response = _post_raw(body, "application/json", path="/")

    assert response.status_code == 200  # the form, shown again with its error
    assert Report.objects.count() == 0


def test_idempotency_key_is_not_an_intake_concept_yet() -> None:
    # No intake endpoint takes an Idempotency-Key (each submit is a new report with its own
    # receipt code); replaying the header must not change that or fail.
    first = Client().post(API, {"description": "One."}, HTTP_IDEMPOTENCY_KEY="k-1")
    second = Client().post(API, {"description": "One."}, HTTP_IDEMPOTENCY_KEY="k-1")

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["receipt_code"] != second.json()["receipt_code"]


@pytest.mark.django_db(transaction=True)
def test_slow_drip_upload_does_not_block_other_witnesses(processes: Processes) -> None:
    address = processes.gunicorn(workers=2)
    body, content_type = multipart(
        {"description": "Slow drip."}, [("media", "a.jpg", jpeg_with_gps())]
    )
    host, port = address.split(":")
    answer: list[bytes] = []

    def drip() -> None:
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(
                f"POST {API} HTTP/1.1\r\nHost: {address}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            )
            step = len(body) // 20 + 1
            for start in range(0, len(body), step):
                sock.sendall(body[start : start + step])
                time.sleep(0.3)
            answer.append(sock.recv(65536))

    thread = threading.Thread(target=drip)
    thread.start()
    time.sleep(1)
    meanwhile = api_submit(address, "Normal submit meanwhile.", [jpeg_with_gps()])
    thread.join(timeout=30)

    assert meanwhile.status == 201
    assert meanwhile.seconds < 5
    assert answer != [] and answer[0].startswith(b"HTTP/1.1 201")
    assert Report.objects.count() == 2
