"""Which client a request comes from, and whether it came over HTTPS, behind a reverse proxy.

Headers such as ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are written by whoever sends
the request, so they are believed only when the connection comes from an address in
``TESTIGO_TRUSTED_PROXIES`` (a list of networks). From anyone else they are removed before
any view or middleware sees them, and the client is the connection's own address.

The address found here is never stored or logged: the witness throttle turns it at once into
a daily HMAC (intake/throttle.py); only staff logins (django-axes) keep it (promise 4).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# The proxy headers Django or this project could read; none survives from an untrusted peer.
FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
)


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def trusted_networks() -> tuple[Network, ...]:
    return _networks(tuple(settings.TESTIGO_TRUSTED_PROXIES))


def _trusted(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in networks)


def peer_is_trusted_proxy(request: HttpRequest) -> bool:
    """True when the connection itself comes from a configured proxy."""
    return _trusted(str(request.META.get("REMOTE_ADDR", "")), trusted_networks())


def client_address(request: HttpRequest) -> str:
    """The address of the client, as far as it can be known.

    From a trusted proxy: the right-most ``X-Forwarded-For`` entry that is not itself a
    trusted proxy (what the outermost proxy of ours saw; entries to its left were written by
    the client and prove nothing). From anyone else: the connection's address."""
    peer = str(request.META.get("REMOTE_ADDR", ""))
    networks = trusted_networks()
    if not _trusted(peer, networks):
        return peer
    hops = [hop.strip() for hop in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
    hops = [hop for hop in hops if hop]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                # Our proxy wrote something that is no address: do not let it name a bucket.
                return peer
    # Only proxies in the chain: the left-most is as close to the client as we can get.
    return hops[0] if hops else peer


class TrustedProxyMiddleware:
    """First in the chain: drops proxy headers that do not come from a trusted proxy, so
    SECURE_PROXY_SSL_HEADER (``X-Forwarded-Proto``) is believed only from one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not peer_is_trusted_proxy(request):
            for header in FORWARDED_HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)
