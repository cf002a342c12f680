"""Proxy headers are believed only from TESTIGO_TRUSTED_PROXIES (issue 14, "HTTPS
hardening"; issue 15, "Trusted proxies"); `manage.py serve` drops HTTPS only on loopback.
The production side of HTTPS is in test_deployment.py."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory

from config.env import env_networks
from config.proxies import client_address
from intake.management.commands.serve import _loopback, plain_http_on_loopback
from intake.throttle import client_token
from reports.models import Report

PROXY = "10.0.0.2"
WITNESS_A = "198.51.100.7"
WITNESS_B = "198.51.100.8"
pytestmark = pytest.mark.django_db


@pytest.fixture
def behind_proxy(settings: Any) -> None:
    settings.TESTIGO_TRUSTED_PROXIES = ["10.0.0.0/8", "fd00::/8"]


def _request(peer: str, forwarded_for: str | None = None) -> Any:
    request = RequestFactory().get("/", REMOTE_ADDR=peer)
    if forwarded_for is not None:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return request


def test_without_trusted_proxies_forwarded_for_is_ignored() -> None:
    assert client_address(_request(PROXY, WITNESS_A)) == PROXY
    assert client_address(_request(WITNESS_B, WITNESS_A)) == WITNESS_B


@pytest.mark.usefixtures("behind_proxy")
@pytest.mark.parametrize(
    ("peer", "forwarded_for", "expected"),
    [
        # Our proxy appends the address it saw: that one, not what the client wrote before.
        (PROXY, f"6.6.6.6, {WITNESS_A}", WITNESS_A),
        (PROXY, WITNESS_A, WITNESS_A),
        # Two proxies of ours: skip both.
        (PROXY, f"6.6.6.6, {WITNESS_A}, 10.0.0.9", WITNESS_A),
        ("fd00::5", f"{WITNESS_A}, fd00::9", WITNESS_A),
        (PROXY, "2001:db8::7", "2001:db8::7"),
        # No header: the proxy itself is the client (a health check, say).
        (PROXY, None, PROXY),
        # Our proxy wrote garbage: no bucket of the client's choosing.
        (PROXY, "6.6.6.6, not-an-address", PROXY),
        # Only proxies: the left-most is closest to the client.
        (PROXY, "10.0.0.7, 10.0.0.9", "10.0.0.7"),
        # Not from a proxy: the header proves nothing.
        (WITNESS_B, WITNESS_A, WITNESS_B),
    ],
)
def test_client_address_behind_trusted_proxies(
    peer: str, forwarded_for: str | None, expected: str
) -> None:
    assert client_address(_request(peer, forwarded_for)) == expected


def test_throttle_buckets_split_behind_a_trusted_proxy_only(settings: Any) -> None:
    a, b = _request(PROXY, WITNESS_A), _request(PROXY, WITNESS_B)
    # Untrusted: every witness behind the proxy shares the proxy's bucket.
    assert client_token(a) == client_token(b)
    settings.TESTIGO_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_token(a) != client_token(b)
    # Same daily HMAC: a witness keeps one bucket whichever way they arrive.
    assert client_token(a) == client_token(_request(WITNESS_A))
    assert WITNESS_A not in client_token(a)


def test_throttle_key_is_the_daily_hmac_of_the_address_the_trusted_proxy_forwarded(
    settings: Any,
) -> None:
    """Both ways, the key is today's HMAC of one address: the forwarded witness's from a
    trusted proxy, the connection's own from anyone else; never the address itself."""
    import hashlib
    import hmac

    from django.core.cache import cache
    from django.utils import timezone

    def expected(address: str) -> str:
        secret = bytes.fromhex(str(cache.get(f"throttle-secret:{timezone.now():%Y-%m-%d}")))
        return hmac.new(secret, address.encode(), hashlib.sha256).hexdigest()[:32]

    untrusted = client_token(_request(PROXY, WITNESS_A))
    assert untrusted == expected(PROXY)
    settings.TESTIGO_TRUSTED_PROXIES = ["10.0.0.0/8"]
    trusted = client_token(_request(PROXY, WITNESS_A))
    assert trusted == expected(WITNESS_A)
    assert client_token(_request("203.0.113.5", WITNESS_A)) == expected("203.0.113.5")


def test_report_throttle_behind_proxy_is_per_witness(settings: Any) -> None:
    settings.TESTIGO_THROTTLE_REPORTS_PER_HOUR = 1
    settings.TESTIGO_TRUSTED_PROXIES = ["10.0.0.0/8"]
    for witness in (WITNESS_A, WITNESS_B):
        client = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=witness)
        # Sent: the form redirects to the receipt (post/redirect/get).
        assert client.post("/", {"description": "x"}).status_code == 302
    spoofed = Client(REMOTE_ADDR=WITNESS_A, HTTP_X_FORWARDED_FOR="203.0.113.1")
    assert spoofed.post("/", {"description": "x"}).status_code == 429
    assert Report.objects.count() == 2


@pytest.mark.usefixtures("behind_proxy")
def test_axes_keys_staff_logins_on_the_same_client_address() -> None:
    from axes.helpers import get_client_ip_address

    assert get_client_ip_address(_request(PROXY, f"6.6.6.6, {WITNESS_A}")) == WITNESS_A
    assert get_client_ip_address(_request(WITNESS_B, WITNESS_A)) == WITNESS_B


@pytest.mark.usefixtures("behind_proxy")
def test_forwarded_proto_marks_https_only_from_a_trusted_proxy(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    from_proxy = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_PROTO="https").get("/safety/")
    assert from_proxy.status_code == 200
    forged = Client(REMOTE_ADDR=WITNESS_A, HTTP_X_FORWARDED_PROTO="https").get("/safety/")
    assert forged.status_code == 301
    assert forged["Location"].startswith("https://")


def test_trusted_proxies_must_be_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESTIGO_TRUSTED_PROXIES", "10.0.0.0/8, ::1,192.0.2.7")
    assert env_networks("TESTIGO_TRUSTED_PROXIES") == ["10.0.0.0/8", "::1/128", "192.0.2.7/32"]
    monkeypatch.setenv("TESTIGO_TRUSTED_PROXIES", "10.0.0.0/8,proxy.local")
    with pytest.raises(ImproperlyConfigured, match=r"'proxy\.local' is not an IP network"):
        env_networks("TESTIGO_TRUSTED_PROXIES")


@pytest.mark.parametrize(
    ("bind", "loopback"),
    [
        ("127.0.0.1:8000", True),
        ("127.0.0.5:8000", True),
        ("localhost:8000", True),
        ("[::1]:8000", True),
        ("0.0.0.0:8000", False),
        ("10.0.0.5:8000", False),
        ("[::]:8000", False),
        ("unix:/run/testigo.sock", False),
        ("testigo.example.org:8000", False),
    ],
)
def test_serve_turns_https_off_only_on_loopback(
    bind: str, loopback: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _loopback(bind) is loopback
    monkeypatch.delenv("TESTIGO_HTTPS", raising=False)
    plain_http_on_loopback(bind)
    assert os.environ.get("TESTIGO_HTTPS") == ("0" if loopback else None)


def test_serve_keeps_an_explicit_https_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESTIGO_HTTPS", "1")
    plain_http_on_loopback("127.0.0.1:8000")
    assert os.environ["TESTIGO_HTTPS"] == "1"
