"""Behind the reverse proxy, the witness's address comes from X-Real-IP, and only when the
connection comes from the proxy: a client cannot pick its own throttle bucket."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from intake.middleware import ProxiedClientAddressMiddleware


def _seen_address(remote_addr: str, **headers: str) -> tuple[str, bool]:
    request = RequestFactory().get("/", REMOTE_ADDR=remote_addr, headers=headers)
    seen: list[HttpRequest] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(request)
        return HttpResponse()

    ProxiedClientAddressMiddleware(view)(request)
    return str(seen[0].META["REMOTE_ADDR"]), "HTTP_X_REAL_IP" in seen[0].META


def test_address_from_the_trusted_proxy_is_the_one_it_forwards(settings: Any) -> None:
    settings.TESTIGO_TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]

    assert _seen_address("127.0.0.1", x_real_ip="203.0.113.7") == ("203.0.113.7", False)
    assert _seen_address("10.4.5.6", x_real_ip="2001:db8::1") == ("2001:db8::1", False)


def test_header_from_anyone_else_is_dropped_and_ignored(settings: Any) -> None:
    settings.TESTIGO_TRUSTED_PROXIES = ["127.0.0.1"]

    assert _seen_address("198.51.100.2", x_real_ip="203.0.113.7") == ("198.51.100.2", False)


def test_without_a_proxy_configured_the_header_is_never_believed(settings: Any) -> None:
    settings.TESTIGO_TRUSTED_PROXIES = []

    assert _seen_address("127.0.0.1", x_real_ip="203.0.113.7") == ("127.0.0.1", False)
