"""deploy/nginx.conf, run by the Debian nginx in front of a recording upstream: upload
bodies stream through as they arrive and never touch the proxy's disk, small bodies are
held in memory, the app learns the client's address and nothing a client could forge,
and a failing upstream, like what nginx refuses itself, gets a page in the witnesses'
languages."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories.processes import free_port
from tests.field.clients import paced_request, request
from tests.field.proxy import NginxProxy

pytestmark = pytest.mark.field


class RecordingUpstream:
    """A minimal HTTP/1.1 server standing in for gunicorn: it records each request's
    headers and when each piece of its body arrived, then answers 200 with the headers."""

    def __init__(self) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.arrivals: list[tuple[float, int]] = []
        self.headers: dict[str, str] = {}
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        with connection:
            data = b""
            while b"\r\n\r\n" not in data:
                data += connection.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            self.headers = headers
            length = int(headers.get("content-length", "0"))
            received = len(body)
            self.arrivals = [(time.monotonic(), received)]
            while received < length:
                chunk = connection.recv(65536)
                if not chunk:
                    break
                received += len(chunk)
                self.arrivals.append((time.monotonic(), received))
            answer = json.dumps(headers).encode()
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(answer)}\r\nConnection: close\r\n\r\n".encode()
                + answer
            )

    def received_by(self, moment: float) -> int:
        return max((count for at, count in self.arrivals if at <= moment), default=0)

    def close(self) -> None:
        self._server.close()


@pytest.fixture
def upstream() -> Iterator[RecordingUpstream]:
    server = RecordingUpstream()
    yield server
    server.close()


@pytest.fixture
def proxy(tmp_path: Path, upstream: RecordingUpstream) -> Iterator[NginxProxy]:
    nginx = NginxProxy(tmp_path, upstream=upstream.address)
    nginx.start()
    yield nginx
    nginx.stop()


def _send_with_a_pause(proxy: NginxProxy, path: str, size: int) -> tuple[float, float]:
    """Send ``size`` bytes: the first 300 kB at once, then 3 s of silence, then the rest.
    Returns when the silence began and ended."""
    body = b"x" * size
    pause: dict[str, float] = {}
    started = threading.Event()

    def send() -> None:
        paced_request(
            proxy.address,
            "POST",
            path,
            {"Content-Type": "application/octet-stream"},
            body,
            rate=50_000_000,
            pause_at=300_000,
            pause_s=3.0,
            on_sent={300_000: started},
        )

    thread = threading.Thread(target=send)
    thread.start()
    assert started.wait(10)
    pause["start"] = time.monotonic()
    time.sleep(2.5)
    pause["end"] = time.monotonic()
    thread.join(30)
    return pause["start"], pause["end"]


@pytest.mark.parametrize("path", ["/", "/tus/abc/", "/api/v1/intake/reports/", "/follow-up/send/"])
def test_upload_bodies_stream_through_as_they_arrive(
    proxy: NginxProxy, upstream: RecordingUpstream, path: str
) -> None:
    _, silence_end = _send_with_a_pause(proxy, path, 1_000_000)

    # During the client's silence the app already holds most of what was sent: the
    # proxy forwards as it reads (at most its 64 KiB buffer behind), it does not wait
    # for the whole body.
    assert upstream.received_by(silence_end) >= 300_000 - 64 * 1024
    assert upstream.arrivals[-1][1] == 1_000_000
    assert proxy.spooled_files() == []


def test_small_bodies_elsewhere_are_held_in_memory_not_on_disk(
    proxy: NginxProxy, upstream: RecordingUpstream
) -> None:
    _, silence_end = _send_with_a_pause(proxy, "/admin/login/", 1_000_000)

    # Buffered whole (in memory, up to 2 MB) before it goes on.
    assert upstream.received_by(silence_end) == 0
    assert upstream.arrivals[-1][1] == 1_000_000
    assert proxy.spooled_files() == []


def test_app_sees_the_client_address_and_no_forged_forwarding(
    proxy: NginxProxy, upstream: RecordingUpstream
) -> None:
    host, port = proxy.address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), source_address=("127.0.9.9", 0)) as sock:
        sock.sendall(
            b"GET /safety/ HTTP/1.1\r\nHost: testigo.example.org\r\n"
            b"X-Forwarded-For: 6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\nConnection: close\r\n\r\n"
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk

    seen = upstream.headers
    assert seen["x-forwarded-for"] == "127.0.9.9"
    assert "x-real-ip" not in seen
    assert seen["host"] == "testigo.example.org"
    assert seen["x-forwarded-proto"] == "http"
    assert b"6.6.6.6" not in answer  # the recorder echoes all it got


def test_unreachable_app_answers_a_page_in_every_witness_language(
    tmp_path: Path,
) -> None:
    nginx = NginxProxy(tmp_path, upstream=f"127.0.0.1:{free_port()}")
    nginx.start()
    try:
        response = request(nginx.address, "GET", "/")
        host, port = nginx.address.rsplit(":", 1)
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            page = b""
            while chunk := sock.recv(65536):
                page += chunk
    finally:
        nginx.stop()

    text = page.decode()
    assert response.status == 503
    assert response.getheader("Retry-After") == "30"
    assert "Lo que ya nos llegó se guardó." in text
    assert "O que já chegou até nós foi guardado." in text
    assert "Nou kenbe tout sa ki te deja rive jwenn nou." in text
    assert "Anything that already reached us is kept." in text


def _raw(address: str, data: bytes) -> tuple[int, str]:
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode()


REFUSED = [
    "Your phone could not send this",
    "Su teléfono no pudo enviar esto",
    "Seu celular não conseguiu enviar isto",
    "Telefòn ou an pa t ka voye sa a",
]


def test_what_nginx_refuses_itself_answers_in_every_witness_language(
    proxy: NginxProxy, upstream: RecordingUpstream
) -> None:
    too_large = _raw(
        proxy.address,
        b"POST /admin/login/ HTTP/1.1\r\nHost: x\r\nContent-Length: 3000000\r\n"
        b"Connection: close\r\n\r\n",
    )
    malformed = _raw(proxy.address, b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n")
    too_long = _raw(
        proxy.address,
        b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )

    assert [
        (status, [sentence in body for sentence in REFUSED])
        for status, body in (too_large, malformed, too_long)
    ] == [(413, [True] * 4), (400, [True] * 4), (414, [True] * 4)]
