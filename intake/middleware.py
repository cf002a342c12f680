"""Request plumbing for the witness side: the client's address behind the reverse proxy,
and a lost database connection answered as a temporary outage."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 30


def unavailable_message() -> str:
    return _(
        "We could not save this right now. Nothing you sent was kept; please try again in a minute."
    )


@cache
def _trusted_networks(
    entries: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _from_trusted_proxy(address: str) -> bool:
    networks = _trusted_networks(tuple(settings.TESTIGO_TRUSTED_PROXIES))
    try:
        peer = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(peer in network for network in networks)


class ProxiedClientAddressMiddleware:
    """Behind the reverse proxy every connection comes from the proxy, so all witnesses
    would share one throttle bucket. The proxy puts the client's address in X-Real-IP,
    replacing any value the client sent; it is believed only when the connection comes
    from an address in TESTIGO_TRUSTED_PROXIES, and then becomes REMOTE_ADDR (which the
    throttle reduces to an HMAC at once, promise 4)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        forwarded = request.META.pop("HTTP_X_REAL_IP", "")
        if forwarded and _from_trusted_proxy(str(request.META.get("REMOTE_ADDR", ""))):
            request.META["REMOTE_ADDR"] = forwarded
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """A lost database connection is a temporary outage, not a bug: say so, in the
    witness's language, with 503 and Retry-After, instead of a bare 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        # The exception's class only: its text may quote the statement and its values.
        logger.warning("database unavailable during a request: %s", type(exception).__name__)
        response: HttpResponse
        if request.path.startswith("/api/"):
            response = JsonResponse(
                {"detail": unavailable_message(), "code": "service_unavailable"}, status=503
            )
        else:
            response = render(request, "intake/unavailable.html", status=503)
        response["Retry-After"] = str(RETRY_AFTER_S)
        response["Cache-Control"] = "no-store"
        return response
