"""One script cannot fill the disk: byte budgets per report and per client and hour, a
free-space floor below which new files are refused (in the witness's language) while
report text still lands, and resumable uploads that stop receiving bytes expire after
30 minutes, not 24 hours (issue 14, "Anonymous abuse", row 1)."""

from __future__ import annotations

import base64
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from intake.sweeper import quarantine_sweep
from reports.models import MediaItem, MediaStatus, Report
from tests.factories import jpeg_with_gps
from tests.factories.problems import assert_problem
from tests.factories.processes import ROOT, HttpResult, http_request
from tests.factories.tools import need
from tests.faults.conftest import Processes, api_submit

pytestmark = [pytest.mark.hostile]

GIB = 1024**3
TUS = {"tus-resumable": "1.0.0"}
API = "/api/v1/intake/reports/"


@pytest.fixture
def roomy_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Budgets alone decide: these tests reserve several GiB, more than a test machine may
    have free (the floor has a real disk of its own below)."""
    monkeypatch.setattr("intake.budgets._free_bytes", lambda path: 1024**5)


def _metadata(code: str) -> str:
    return f"receipt {base64.b64encode(code.encode()).decode()}"


def _text_report(client: Client) -> str:
    response = client.post(API, {"description": "Agents at the bus stop."})
    assert response.status_code == 201
    return str(response.json()["receipt_code"])


def _tus_create(client: Client, code: str, length: int) -> Any:
    return client.post(
        "/tus/",
        headers={**TUS, "upload-length": str(length), "upload-metadata": _metadata(code)},
        HTTP_ACCEPT_LANGUAGE="es",
    )


@pytest.mark.django_db
def test_fifty_one_gib_creations_on_one_receipt_are_stopped_by_the_byte_budgets(
    roomy_disk: None,
) -> None:
    client = Client()
    code = _text_report(client)

    # The script: 50 x 1 GiB announced with one receipt code.
    statuses = [_tus_create(client, code, GIB).status_code for _ in range(50)]

    assert statuses[:2] == [201, 201]  # 2 GiB per report
    assert set(statuses[2:]) == {413}
    assert_problem(
        _tus_create(client, code, GIB),
        status=413,
        code="report_budget",
        detail=(
            "Este reporte ya tiene todos los archivos que podemos recibir. Su reporte se guardó."
        ),
    )
    assert MediaItem.objects.filter(status=MediaStatus.UPLOADING).count() == 2

    # New reports from the same connection: 4 GiB an hour in all, then 429.
    second = _text_report(client)
    assert [_tus_create(client, second, GIB).status_code for _ in range(2)] == [201, 201]
    assert_problem(
        _tus_create(client, _text_report(client), GIB),
        status=429,
        code="client_budget",
        detail=(
            "Se enviaron demasiados archivos desde su conexión en la última hora. Su reporte "
            "se guardó; envíe los archivos de nuevo más tarde."
        ),
    )
    # Another witness, on another connection, is not affected.
    other = Client(REMOTE_ADDR="198.51.100.7")
    assert _tus_create(other, _text_report(other), GIB).status_code == 201


@pytest.mark.django_db
def test_multipart_files_over_the_report_budget_are_refused_one_by_one_and_text_kept(
    settings: Settings,
) -> None:
    photo = jpeg_with_gps(size=(320, 240))
    settings.TESTIGO_REPORT_MAX_BYTES = 2 * len(photo) + 10
    response = Client().post(
        API,
        {
            "description": "Three photos.",
            "media": [SimpleUploadedFile(f"{n}.jpg", photo) for n in range(3)],
        },
        HTTP_ACCEPT_LANGUAGE="pt-br",
    )
    assert response.status_code == 201
    assert response.json()["refused_media"] == [
        {
            "index": 2,
            "reason": "report_budget",
            "message": (
                "Este relato já tem todos os arquivos que podemos receber. Seu relato foi salvo."
            ),
        }
    ]
    report = Report.objects.get()
    assert report.description == "Three photos."
    assert sorted(report.media_items.values_list("status", flat=True)) == [
        MediaStatus.QUARANTINED,
        MediaStatus.QUARANTINED,
        MediaStatus.REJECTED,
    ]


@pytest.mark.django_db
def test_upload_with_no_bytes_for_30_minutes_expires(
    gps_jpeg: bytes, settings: Settings, roomy_disk: None
) -> None:
    assert settings.TESTIGO_UPLOAD_STALL_S == 30 * 60
    client = Client()
    code = _text_report(client)
    urls = [str(_tus_create(client, code, len(gps_jpeg))["Location"]) for _ in range(2)]
    for url in urls:
        response = client.patch(
            url,
            data=gps_jpeg[:600],
            content_type="application/offset+octet-stream",
            headers={**TUS, "upload-offset": "0"},
        )
        assert response.status_code == 204
    stalled, active = MediaItem.objects.order_by("position")
    parts = list(stalled.quarantine_parts)
    now = timezone.now()
    MediaItem.objects.filter(id=stalled.id).update(updated_at=now - timedelta(minutes=31))
    MediaItem.objects.filter(id=active.id).update(updated_at=now - timedelta(minutes=29))

    quarantine_sweep()

    stalled.refresh_from_db()
    active.refresh_from_db()
    assert (stalled.status, stalled.reject_reason) == (MediaStatus.REJECTED, "upload_expired")
    assert not any(storages["quarantine"].exists(name) for name in parts)
    assert active.status == MediaStatus.UPLOADING
    # The bytes it reserved are free again for the report's 2 GiB.
    assert _tus_create(client, code, GIB).status_code == 201
    assert _tus_create(client, code, GIB - len(gps_jpeg)).status_code == 201
    assert _tus_create(client, code, 1).status_code == 413


@pytest.mark.django_db
def test_at_the_floor_files_are_refused_in_the_witness_language_and_text_lands(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, gps_jpeg: bytes
) -> None:
    """The floor's rule alone (the real disk below needs root to mount)."""
    monkeypatch.setattr(
        "intake.budgets._free_bytes", lambda path: settings.TESTIGO_DISK_FLOOR_BYTES + 1000
    )
    client = Client()
    response = client.post(
        API,
        {"description": "Agents at the clinic.", "media": SimpleUploadedFile("a.jpg", gps_jpeg)},
        HTTP_ACCEPT_LANGUAGE="ht",
    )
    assert response.status_code == 201
    assert response.json()["refused_media"] == [
        {
            "index": 0,
            "reason": "storage_full",
            "message": (
                "Nou pa ka resevwa fichye kounye a. Nou anrejistre rapò ou a; tanpri voye "
                "fichye yo ankò pita."
            ),
        }
    ]
    assert Report.objects.get().description == "Agents at the clinic."
    code = response.json()["receipt_code"]
    assert _tus_create(client, code, 500).status_code == 201  # small enough: above the floor
    assert_problem(
        _tus_create(client, code, 1000),
        status=507,
        code="storage_full",
        detail=(
            "En este momento no podemos recibir archivos. Su reporte se guardó; envíe los "
            "archivos de nuevo más tarde."
        ),
    )


# --- A real disk that fills up ------------------------------------------------------------

DISK = 64 * 1024 * 1024
FLOOR = 16 * 1024 * 1024
CHUNK = 4 * 1024 * 1024
SMALL_CHUNK = 64 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 MiB tmpfs of our own (root only), where the service keeps everything: the
    SQLite database, quarantine and media."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK},mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        need(f"mounting a small tmpfs needs root: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _tus_create_raw(web: str, metadata: str, length: int) -> HttpResult:
    headers = {**TUS, "Upload-Length": str(length), "Upload-Metadata": metadata}
    return http_request(web, "POST", "/tus/", b"", {**headers, "Accept-Language": "es"})


def _fill(web: str, length: int) -> int:
    """Create and send uploads of ``length`` bytes, on as many reports as it takes, until
    creation is refused; how many went in."""
    metadata = ""
    for accepted in range(DISK // length + 1):
        if accepted % 40 == 0:  # a report takes 50 files at most
            metadata = _metadata(api_submit(web, "Filler.", []).json()["receipt_code"])
        created = _tus_create_raw(web, metadata, length)
        if created.status != 201:
            assert created.status == 507, created.body
            return accepted
        sent = http_request(
            web,
            "PATCH",
            created.headers["Location"].split(web, 1)[1],
            b"\xff\xd8\xff\xe0" + os.urandom(length - 4),
            {**TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
        )
        assert sent.status == 204, sent.body
    raise AssertionError("the disk never filled")


def _free(path: Path) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def test_filling_a_small_disk_refuses_files_at_the_floor_and_text_reports_still_land(
    small_disk: Path, processes: Processes
) -> None:
    service = {
        "TESTIGO_VAR_DIR": str(small_disk),
        "DATABASE_URL": f"sqlite:///{small_disk}/db.sqlite3",
        "TESTIGO_DISK_FLOOR_BYTES": str(FLOOR),
        # The floor, not the budgets, is what this test reaches.
        "TESTIGO_REPORT_MAX_BYTES": str(100 * GIB),
        "TESTIGO_CLIENT_MAX_BYTES_PER_HOUR": str(100 * GIB),
        "TESTIGO_THROTTLE_REPORTS_PER_HOUR": "100000",
        "TESTIGO_THROTTLE_UPLOADS_PER_HOUR": "100000",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        env=processes.env(**service),
        cwd=ROOT,
        check=True,
    )
    web = processes.gunicorn(workers=2, **service)
    # The script: announce and send 4 MiB at a time until the service says no, then
    # 64 KiB at a time to take what is left.
    accepted = {CHUNK: _fill(web, CHUNK), SMALL_CHUNK: _fill(web, SMALL_CHUNK)}
    print(
        f"\n{accepted[CHUNK]} x 4 MiB and {accepted[SMALL_CHUNK]} x 64 KiB accepted; "
        f"{_free(small_disk) // 1024} KiB left free"
    )
    assert accepted[CHUNK] >= 8
    code = api_submit(web, "One more.", []).json()["receipt_code"]
    refused = _tus_create_raw(web, _metadata(code), SMALL_CHUNK)
    assert refused.status == 507
    assert refused.json()["code"] == "storage_full"
    assert refused.json()["detail"] == (
        "En este momento no podemos recibir archivos. Su reporte se guardó; envíe los "
        "archivos de nuevo más tarde."
    )
    assert FLOOR - SMALL_CHUNK <= _free(small_disk) < FLOOR + SMALL_CHUNK

    # Witnesses still report: text alone, and text with a photo (the photo refused).
    photo = jpeg_with_gps(size=(1200, 900))
    assert len(photo) > SMALL_CHUNK
    text_only = api_submit(web, "Two vans outside the school.", [])
    with_photo = api_submit(web, "They took my neighbour.", [photo])
    assert (text_only.status, with_photo.status) == (201, 201)
    assert [r["reason"] for r in with_photo.json()["refused_media"]] == ["storage_full"]
    with sqlite3.connect(small_disk / "db.sqlite3") as db:
        saved = {row[0] for row in db.execute("SELECT description FROM reports_report")}
    assert {"Two vans outside the school.", "They took my neighbour."} <= saved
