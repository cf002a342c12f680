"""Throttling keys on an HMAC of the address under a random daily secret; the address is
kept nowhere."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory, override_settings
from django.utils import timezone

from intake.throttle import WINDOW_S, client_token
from reports.models import Report
from tests.conftest import cache_dump, throttle_reset

pytestmark = pytest.mark.django_db
CANARY_ADDRESS = "203.0.113.77"


@pytest.fixture(autouse=True)
def _empty_throttle() -> Iterator[None]:
    throttle_reset()
    yield
    throttle_reset()


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
        assert client.post("/", {"description": "x"}).status_code == 200
    response = client.post("/", {"description": "x"}, headers={"accept-language": "es"})
    assert response.status_code == 429
    assert "Demasiados intentos desde su conexión" in response.content.decode()
    assert Report.objects.count() == 2
    other = Client(REMOTE_ADDR="198.51.100.9")
    assert other.post("/", {"description": "y"}).status_code == 200


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
