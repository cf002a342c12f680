"""Throttling keys on an HMAC of the address under a random daily secret; the address is
kept nowhere."""

from __future__ import annotations

import base64
import datetime as dt
import time

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory, override_settings
from django.utils import timezone

from intake.throttle import WINDOW_S, client_token
from reports.models import Report
from tests.conftest import cache_dump

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_throttle")]
CANARY_ADDRESS = "203.0.113.77"


def test_client_token_differs_between_days(monkeypatch: pytest.MonkeyPatch) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR=CANARY_ADDRESS)
    today = client_token(request)
    tomorrow = timezone.now() + dt.timedelta(days=1)
    monkeypatch.setattr(timezone, "now", lambda: tomorrow)
    assert client_token(request) != today
    assert CANARY_ADDRESS not in today


def test_client_token_cannot_be_remade_once_the_days_secret_is_gone() -> None:
    request = RequestFactory().get("/", REMOTE_ADDR=CANARY_ADDRESS)
    before = client_token(request)
    assert client_token(request) == before  # stable within the day
    cache.delete(f"throttle-secret:{timezone.now():%Y-%m-%d}")
    # Nothing derives the old secret (not even SECRET_KEY): old counters stay unlinkable.
    assert client_token(request) != before


def test_client_token_ignores_forwarded_for_header() -> None:
    plain = RequestFactory().get("/", REMOTE_ADDR=CANARY_ADDRESS)
    forged = RequestFactory().get("/", REMOTE_ADDR=CANARY_ADDRESS, HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_token(plain) == client_token(forged)


@override_settings(TESTIGO_THROTTLE_REPORTS_PER_HOUR=2)
def test_report_form_over_throttle_answers_429_translated() -> None:
    client = Client(REMOTE_ADDR=CANARY_ADDRESS)
    for _ in range(2):
        # Sent: the form redirects to the receipt (post/redirect/get).
        assert client.post("/", {"description": "x"}).status_code == 302
    response = client.post("/", {"description": "x"}, headers={"accept-language": "es"})
    assert response.status_code == 429
    assert "Demasiados intentos desde su conexión" in response.content.decode()
    assert Report.objects.count() == 2
    other = Client(REMOTE_ADDR="198.51.100.9")
    assert other.post("/", {"description": "y"}).status_code == 302


@override_settings(TESTIGO_THROTTLE_CODES_PER_HOUR=1)
def test_followup_code_guessing_is_throttled() -> None:
    client = Client(REMOTE_ADDR=CANARY_ADDRESS)
    client.post("/follow-up/", {"code": "2222-2222-2222-2222-2222"})
    assert client.post("/follow-up/", {"code": "2222-2222-2222-2222-2223"}).status_code == 429


def test_submission_with_canary_address_and_agent_leaves_them_in_no_table_or_cache(
    gps_jpeg: bytes,
) -> None:
    from django.apps import apps
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = Client(REMOTE_ADDR=CANARY_ADDRESS, headers={"user-agent": "CANARY-UA/9.9"})
    client.post("/", {"description": "x", "attachments": SimpleUploadedFile("a.jpg", gps_jpeg)})
    client.post("/follow-up/", {"code": "2222-2222-2222-2222-2222"})
    dump = "".join(str(list(model._default_manager.values())) for model in apps.get_models())
    assert Report.objects.count() == 1
    assert CANARY_ADDRESS not in dump
    assert "CANARY-UA" not in dump
    cached = cache_dump()
    # The dump reads every value back (the day's secret is one); the counters are there.
    assert str(cache.get(f"throttle-secret:{timezone.now():%Y-%m-%d}")) in cached
    token = client_token(RequestFactory().get("/", REMOTE_ADDR=CANARY_ADDRESS))
    window = int(time.time()) // WINDOW_S
    assert cache.get(f"throttle:report:{token}:{window}") == 1
    assert cache.get(f"throttle:code:{token}:{window}") == 1
    assert CANARY_ADDRESS not in cached
    assert "CANARY-UA" not in cached


# --- Every witness-facing write is throttled, one count for all processes ---------------

TUS = {"tus-resumable": "1.0.0"}
# Every witness-facing view that takes a write, and what bounds it. A new view must be added
# here, with its scope or the reason it needs none.
WITNESS_WRITES = {
    "intake:report_new": "report",
    "api-intake-report": "report",
    "intake:followup": "code",
    "intake:followup_send": "followup",
    "intake:tus_create": "upload, and code for a receipt in Upload-Metadata",
    "intake:tus_upload": "upload_part (PATCH); HEAD reads, DELETE only cancels",
    "intake:followup_end": "exempt: only ends the witness's own session",
    "intake:exit": "exempt: Quick exit must always work",
    "intake:safety": "exempt: a page, GET only",
    "set_language": "exempt: sets a session cookie, stores nothing",
    "intake:language": "exempt: GET only, sets the same session cookie, stores nothing",
    "intake:receipt": "exempt: GET only, shows the code once from the session, stores nothing",
}


def test_every_witness_facing_view_is_in_the_throttle_table() -> None:
    from django.urls import get_resolver

    from intake import api_urls, urls

    names = {f"intake:{p.name}" for p in urls.urlpatterns}
    names |= {str(p.name) for p in api_urls.urlpatterns}
    names.add("set_language")
    assert names == set(WITNESS_WRITES)
    assert "set_language" in get_resolver().reverse_dict


def _code_and_client() -> tuple[str, Client]:
    from intake.services import report_submit

    code = report_submit(description="Seen from the bus stop.").receipt_code
    client = Client(REMOTE_ADDR=CANARY_ADDRESS)
    client.post("/follow-up/", {"code": code})
    return code, client


@override_settings(TESTIGO_THROTTLE_FOLLOWUPS_PER_HOUR=30)
def test_followup_message_flood_is_throttled() -> None:
    """The attack: 60 follow-up messages of 20 KB in a few seconds."""
    from reports.models import ReportMessage

    _, client = _code_and_client()
    statuses = [
        client.post("/follow-up/send/", {"body": "x" * 20_000}).status_code for _ in range(60)
    ]
    assert statuses == [200] * 30 + [429] * 30
    assert ReportMessage.objects.count() == 30


def _tus_create(client: Client, code: str) -> int:
    metadata = f"receipt {base64.b64encode(code.encode()).decode()}"
    headers = {**TUS, "upload-length": "10", "upload-metadata": metadata}
    return client.post("/tus/", headers=headers).status_code


@override_settings(TESTIGO_THROTTLE_CODES_PER_HOUR=4, TESTIGO_THROTTLE_UPLOADS_PER_HOUR=1000)
def test_receipt_codes_tried_through_tus_count_under_the_code_limit() -> None:
    code, _ = _code_and_client()
    client = Client(REMOTE_ADDR=CANARY_ADDRESS)
    wrong = ["2222-2222-2222-2222-2222", "3333-3333-3333-3333-3333", "4444-4444-4444-4444-4444"]
    assert [_tus_create(client, guess) for guess in wrong] == [403, 403, 403]
    assert client.post("/follow-up/", {"code": "5555-5555-5555-5555-5555"}).status_code == 200
    # Four wrong codes on two paths: the one limit is spent, on both paths, for any code.
    assert _tus_create(client, "6666-6666-6666-6666-6666") == 429
    assert _tus_create(client, code) == 429
    assert client.post("/follow-up/", {"code": code}).status_code == 429
    assert Client(REMOTE_ADDR="198.51.100.9").post("/follow-up/", {"code": code}).status_code == 302


@override_settings(TESTIGO_THROTTLE_CODES_PER_HOUR=2)
def test_right_receipt_codes_do_not_use_up_the_limit() -> None:
    """A witness sending many files, each upload created with their code, is never stopped."""
    code, _ = _code_and_client()
    client = Client(REMOTE_ADDR=CANARY_ADDRESS)
    assert [_tus_create(client, code) for _ in range(12)] == [201] * 12
    assert client.post("/follow-up/", {"code": code}).status_code == 302
    assert client.post("/follow-up/", {"code": "2222-2222-2222-2222-2222"}).status_code == 200
    assert client.post("/follow-up/", {"code": "2222-2222-2222-2222-2223"}).status_code == 200
    assert client.post("/follow-up/", {"code": code}).status_code == 429


@override_settings(TESTIGO_THROTTLE_UPLOAD_PARTS_PER_HOUR=3)
def test_tus_patch_requests_are_throttled() -> None:
    code, _ = _code_and_client()
    client = Client(REMOTE_ADDR=CANARY_ADDRESS)
    metadata = f"receipt {base64.b64encode(code.encode()).decode()}"
    created = client.post(
        "/tus/", headers={**TUS, "upload-length": "100", "upload-metadata": metadata}
    )
    url = str(created["Location"])
    # A byte at a time: too little to judge the file's type, so nothing is kept and the
    # client may send it again; the flood of requests is what the limit is for.
    statuses = [
        client.patch(
            url,
            data=b"x",
            content_type="application/offset+octet-stream",
            headers={**TUS, "upload-offset": "0"},
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [204, 204, 204, 429]
    assert client.head(url, headers=TUS).status_code == 200  # reads are not counted


_TWO_PROCESSES = """
import sys
import django
django.setup()
from django.test import RequestFactory
from intake.throttle import throttle_hit
request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.77")
sys.stdin.readline()  # both processes start counting together
over = [throttle_hit(request, scope="report", limit=30) for _ in range(25)]
print(sum(over))
"""


def test_throttle_is_one_count_across_processes() -> None:
    """The attack: with a counter per process, two gunicorn workers let 59 wrong codes
    through before the first 429 (limit 30). Two processes count 25 each, at once."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from django.conf import settings

    env = {**os.environ, "TESTIGO_VAR_DIR": str(settings.VAR_DIR)}
    root = Path(__file__).resolve().parents[2]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _TWO_PROCESSES],
            cwd=root,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate("go\n", timeout=120)[0] for p in processes]
    assert sum(int(out.strip()) for out in outputs) == 50 - 30
    token = client_token(RequestFactory().post("/", REMOTE_ADDR=CANARY_ADDRESS))
    assert cache.get(f"throttle:report:{token}:{int(time.time()) // WINDOW_S}") == 50


def test_shared_cache_counter_keeps_its_expiry(monkeypatch: pytest.MonkeyPatch) -> None:
    cache.add("throttle:test:counter", 1, timeout=3600)
    assert cache.incr("throttle:test:counter") == 2
    assert cache.decr("throttle:test:counter") == 1
    later = time.time() + 3000  # past the cache's default timeout (300 s), within the hour
    monkeypatch.setattr(time, "time", lambda: later)
    assert cache.get("throttle:test:counter") == 1


def test_shared_throttle_stays_fast() -> None:
    from intake.throttle import throttle_hit

    requests = [RequestFactory().post("/", REMOTE_ADDR=f"198.51.100.{i}") for i in range(50)]
    started = time.perf_counter()
    for i in range(500):
        throttle_hit(requests[i % 50], scope="report", limit=30)
    per_hit_ms = (time.perf_counter() - started) / 500 * 1000
    print(f"throttle_hit: {per_hit_ms:.2f} ms per request")
    # About 1.5 ms on the shared 2-CPU development machine; a submit takes ~70 ms.
    assert per_hit_ms < 25
