"""Clients the way a phone on a weak uplink is one: raw sockets that send a request body at
a set rate, pause, stop dead or reset the connection midway, and clients that drip a body
one byte at a time. Each may come from its own loopback address (127.0.0.0/8), so the
per-client throttle sees different witnesses."""

from __future__ import annotations

import http.client
import io
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from tests.factories import GPS_LAT, GPS_LON

PIECE = 4096


@dataclass
class Exchange:
    """What a paced request got: ``status`` 0 when there was no answer (cut)."""

    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float
    sent: int
    log: list[str] = field(default_factory=list)

    def text(self) -> str:
        return self.body.decode(errors="replace")


def _connect(address: str, source: str | None, timeout: float) -> socket.socket:
    host, port = address.rsplit(":", 1)
    sock = socket.socket()
    sock.settimeout(timeout)
    if source:
        sock.bind((source, 0))
    sock.connect((host, int(port)))
    return sock


def paced_request(
    address: str,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    *,
    rate: float,
    source: str | None = None,
    cut_after: int | None = None,
    reset: bool = False,
    pause_at: int | None = None,
    pause_s: float = 0.0,
    on_sent: dict[int, threading.Event] | None = None,
    answer_timeout: float = 150,
) -> Exchange:
    """Send ``body`` at about ``rate`` bytes/s in 4 KiB pieces. ``cut_after``: stop after
    that many body bytes and close (FIN), or with ``reset`` abort (RST). ``pause_at``:
    go silent for ``pause_s`` once that many bytes are out. ``on_sent``: events set once
    their byte count is out (to act on the server meanwhile)."""
    sock = _connect(address, source, timeout=60)
    head = f"{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    head += f"Content-Length: {len(body)}\r\n\r\n"
    started = time.monotonic()
    sent = 0
    paused = 0.0
    try:
        sock.sendall(head.encode())
        while sent < len(body):
            if cut_after is not None and sent >= cut_after:
                if reset:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
                return Exchange(0, {}, b"", time.monotonic() - started, sent)
            if pause_at is not None and sent >= pause_at and not paused:
                time.sleep(pause_s)
                paused = pause_s
            piece = body[sent : sent + PIECE]
            sock.sendall(piece)
            sent += len(piece)
            for count, event in (on_sent or {}).items():
                if sent >= count:
                    event.set()
            delay = started + paused + sent / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        return _answer(sock, started, sent, answer_timeout)
    except OSError as error:
        return Exchange(0, {}, str(error).encode(), time.monotonic() - started, sent)
    finally:
        sock.close()


def _answer(sock: socket.socket, started: float, sent: int, timeout: float) -> Exchange:
    sock.settimeout(timeout)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1]) if lines[0].startswith("HTTP/") else 0
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Exchange(status, headers, body, time.monotonic() - started, sent)


def request(
    address: str, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> http.client.HTTPResponse:
    host, port = address.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


class Drippers:
    """``count`` clients, each sending a request body one byte every ``interval`` s, each
    from its own loopback address. ``cut`` counts those whose connection the server cut
    (or answered) before ``stop()``: a moving upload must never be cut."""

    def __init__(self, address: str, count: int, interval: float = 3.0, subnet: int = 5) -> None:
        self.address = address
        self.interval = interval
        self.sockets: list[socket.socket] = []
        self.cut = 0
        self.connected = 0
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._drip, args=(f"127.0.{subnet}.{i}",), daemon=True)
            for i in range(1, count + 1)
        ]
        self._lock = threading.Lock()

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def _drip(self, source: str) -> None:
        try:
            sock = _connect(self.address, source, timeout=10)
        except OSError:
            with self._lock:
                self.cut += 1
            return
        host = self.address
        sock.sendall(
            f"POST /api/v1/intake/reports/ HTTP/1.1\r\nHost: {host}\r\n"
            "Content-Type: multipart/form-data; boundary=drip\r\n"
            "Content-Length: 1000000\r\n\r\n--drip\r\n".encode()
        )
        with self._lock:
            self.connected += 1
        try:
            while not self._stop.wait(self.interval):
                sock.sendall(b"-")
                sock.setblocking(False)
                try:
                    sock.recv(1)  # an answer, or the end, before the body ended: cut
                    answered = True
                except BlockingIOError:
                    answered = False
                finally:
                    sock.setblocking(True)
                if answered:
                    raise ConnectionResetError
        except OSError:
            with self._lock:
                self.cut += 1
        finally:
            sock.close()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)


def get_latencies(address: str, *, seconds: float, every: float = 0.5) -> list[float]:
    """``GET /`` again and again for ``seconds``; each answer's time (30 s if none)."""
    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            status = request(address, "GET", "/").status
            latencies.append(time.monotonic() - started if status == 200 else 30.0)
        except OSError:
            latencies.append(30.0)
        time.sleep(every)
    return latencies


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def phone_photo(approx_bytes: int, seed: int = 7) -> bytes:
    """A JPEG of about ``approx_bytes`` (sensor-like noise compresses poorly) carrying EXIF
    GPS, as a phone's photo does."""
    pixels = approx_bytes / 1.5
    width = int((pixels * 4 / 3) ** 0.5)
    height = int(width * 3 / 4)
    noise = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", GPS_LAT, "W", GPS_LON
    out = io.BytesIO()
    Image.fromarray(noise).save(out, "JPEG", quality=98, exif=exif)
    return out.getvalue()
