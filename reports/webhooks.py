"""Webhook transport: target checks against SSRF, signing, and one pinned HTTP POST.

No database here; services.webhook_deliver records what happened. A target must be an
HTTPS URL whose host resolves only to public addresses. The check runs when an endpoint is
saved and again at every delivery (DNS can change), and the connection goes to the very
address that was checked, so a second lookup cannot swap in a private one (DNS rebinding).
TESTIGO_WEBHOOK_ALLOW_PRIVATE lifts both rules, for tests and local development only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from urllib.parse import urlsplit

from django.conf import settings

SIGNATURE_HEADER = "Testigo-Signature"
TIMESTAMP_HEADER = "Testigo-Timestamp"
EVENT_HEADER = "Testigo-Event"
DELIVERY_HEADER = "Testigo-Delivery"


class TargetRefused(Exception):
    """The URL may not receive webhooks (not HTTPS, or not a public address)."""


@dataclasses.dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the checked IP address the connection is pinned to


def sign(*, secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 over "timestamp.body", hex, as sent in the signature header."""
    message = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def resolve_target(url: str, *, allow_private: bool | None = None) -> Target:
    """Check ``url`` and resolve its host once; raises TargetRefused."""
    if allow_private is None:
        allow_private = settings.TESTIGO_WEBHOOK_ALLOW_PRIVATE
    parts = urlsplit(url)
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        raise TargetRefused("Webhook URLs must use HTTPS.")
    if not parts.hostname or parts.username or parts.password:
        raise TargetRefused("Webhook URLs need a host and no credentials.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise TargetRefused("Invalid port.") from error
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise TargetRefused(f"The host {parts.hostname} does not resolve.") from error
    addresses = [str(info[4][0]) for info in infos]
    # Every address must be public: a host with one private record is refused outright.
    if not allow_private and not all(_address_is_public(a) for a in addresses):
        raise TargetRefused(f"The host {parts.hostname} resolves to a non-public address.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, parts.hostname, port, path, addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(target.host, target.port, timeout=timeout, context=self._tls)
        self._address = target.address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        # The certificate is checked against the host name, not the pinned address.
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


@dataclasses.dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str
    ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _abort(connection: http.client.HTTPConnection) -> None:
    """Runs on a timer thread when the deadline passes: shut the socket down under the
    reader, whatever it is waiting for (TLS included: only the descriptor is touched)."""
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


def post(
    *, url: str, secret: str, body: bytes, event: str, delivery_id: str, timeout: float
) -> Outcome:
    """One signed POST, abandoned ``timeout`` seconds after it started whatever the other
    side does: a socket timeout alone bounds each read, and an endpoint that drips one
    byte a second would hold the worker for as long as it likes. Redirects are not
    followed (they could point anywhere)."""
    started = time.monotonic()
    try:
        target = resolve_target(url)
    except TargetRefused as error:
        return Outcome(None, f"refused: {error}", 0)
    timestamp = int(time.time())
    # Each connect, send and read also gives up within what is left of the deadline.
    remaining = max(timeout - (time.monotonic() - started), 0.1)
    connection: http.client.HTTPConnection = (
        _PinnedHTTPSConnection(target, remaining)
        if target.scheme == "https"
        else _PinnedHTTPConnection(target, remaining)
    )
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Testigo-Webhooks/1",
        SIGNATURE_HEADER: sign(secret=secret, timestamp=timestamp, body=body),
        TIMESTAMP_HEADER: str(timestamp),
        EVENT_HEADER: event,
        DELIVERY_HEADER: delivery_id,
    }
    watchdog = threading.Timer(remaining, _abort, args=(connection,))
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(4096)  # a bounded drain; the body is not used
        status: int | None = response.status
        problem = "" if 200 <= response.status < 300 else f"HTTP {response.status}"
    except (OSError, http.client.HTTPException) as exc:
        status, problem = None, f"{type(exc).__name__}: {exc}"[:300]
    finally:
        watchdog.cancel()
        connection.close()
    if time.monotonic() - started >= timeout:
        # Cut off by the deadline: whatever part of an answer arrived does not count.
        status, problem = None, f"deadline: no complete answer within {timeout:g} s"
    return Outcome(status, problem, int((time.monotonic() - started) * 1000))
