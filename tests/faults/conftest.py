"""Real processes for fault tests: a Redis server of our own (the system one is shared and
must never be stopped), gunicorn and Celery workers pointed at it and at the test database.

Every process started here is ours, stopped by its own handle at teardown."""

from __future__ import annotations

import http.client
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

from reports.models import MediaItem, Report
from tests.conftest import _database_url_for_worker
from tests.factories.tools import need, require_tool

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {timeout} s")
        time.sleep(0.1)


class RedisServer:
    """A throwaway redis-server on a free port: no persistence, ours to stop and freeze."""

    def __init__(self, workdir: Path) -> None:
        self.binary = require_tool("redis-server")
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait(self.answers, 10, "redis-server start")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def freeze(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def command(self, *args: str) -> bytes:
        """One command over RESP, for assertions (e.g. LLEN celery)."""
        parts = [f"*{len(args)}\r\n".encode()]
        for arg in args:
            data = arg.encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(b"".join(parts))
            return sock.recv(65536)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@dataclass
class Processes:
    """Workers and web servers started by one test, on one Redis and the test database."""

    redis: RedisServer
    tmp: Path
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)
    mail_dir: Path = field(init=False)

    def __post_init__(self) -> None:
        self.mail_dir = self.tmp / "mail"

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": _database_url_for_worker(),
            "REDIS_URL": self.redis.url,
            "TESTIGO_VAR_DIR": str(settings.VAR_DIR),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "DJANGO_EMAIL_FILE_PATH": str(self.mail_dir),
            **extra,
        }

    def worker(
        self, *, concurrency: int = 1, beat: bool = False, **extra: str
    ) -> subprocess.Popen[bytes]:
        log = self.tmp / f"worker-{uuid.uuid4().hex[:6]}.log"
        args = [
            sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO",
            "--concurrency", str(concurrency), "--pool", "prefork", "--without-gossip",
            "--without-mingle", "--without-heartbeat",
            "--hostname", f"fault-{uuid.uuid4().hex[:8]}@%h",
        ]  # fmt: skip
        if beat:
            args += ["--beat", "--schedule", str(self.tmp / f"beat-{uuid.uuid4().hex[:6]}")]
        with log.open("wb") as out:
            process = subprocess.Popen(
                args, env=self.env(**extra), stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
            )
        self.started.append(process)
        _wait(
            lambda: b" ready." in log.read_bytes() or process.poll() is not None,
            READY_TIMEOUT,
            "celery worker ready",
        )
        assert process.poll() is None, log.read_text()[-3000:]
        process.log = log  # type: ignore[attr-defined]
        return process

    def gunicorn(self, *, workers: int = 2, **extra: str) -> str:
        """Start gunicorn on a free port; returns its host:port."""
        port = free_port()
        log = self.tmp / f"gunicorn-{port}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    sys.executable, "-m", "gunicorn", "config.wsgi", "--bind",
                    f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "60",
                    "--no-control-socket",
                ],
                env=self.env(**extra),
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )  # fmt: skip
        self.started.append(process)
        address = f"127.0.0.1:{port}"

        def up() -> bool:
            try:
                return http_get(address, "/").status == 200
            except OSError:
                return False

        _wait(up, READY_TIMEOUT, "gunicorn ready")
        return address

    def stop_all(self) -> None:
        for process in reversed(self.started):
            if process.poll() is None:
                process.terminate()
        for process in self.started:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


@pytest.fixture
def processes(own_redis: RedisServer, tmp_path: Path) -> Iterator[Processes]:
    group = Processes(own_redis, tmp_path)
    yield group
    group.stop_all()


@pytest.fixture
def own_celery(own_redis: RedisServer) -> Iterator[Celery]:
    """A publisher on our Redis only (the test process's own Celery app uses the shared
    one, where another test's worker may listen)."""
    app = Celery("fault-publisher", broker=own_redis.url, set_as_current=False)
    yield app
    app.close()


def pool_children(worker: subprocess.Popen[bytes]) -> list[int]:
    path = Path(f"/proc/{worker.pid}/task/{worker.pid}/children")
    return [int(pid) for pid in path.read_text().split()]


def thread_count(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/task").iterdir()))


@dataclass
class HttpResult:
    status: int
    body: bytes
    seconds: float
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


def http_get(address: str, path: str, timeout: float = 10) -> HttpResult:
    return http_request(address, "GET", path, b"", {}, timeout)


def http_request(
    address: str,
    method: str,
    path: str,
    body: bytes,
    headers: dict[str, str],
    timeout: float = 30,
) -> HttpResult:
    host, port = address.split(":")
    started = time.monotonic()
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return HttpResult(
            response.status, data, time.monotonic() - started, dict(response.getheaders())
        )
    finally:
        conn.close()


def multipart(fields: dict[str, str], files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """(body, content type) of a multipart/form-data request."""
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(value.encode() + b"\r\n")
    for name, filename, data in files:
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
        )
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def api_submit(
    address: str, description: str, files: list[bytes], timeout: float = 30
) -> HttpResult:
    body, content_type = multipart(
        {"description": description}, [("media", f"f{i}.jpg", data) for i, data in enumerate(files)]
    )
    return http_request(
        address,
        "POST",
        "/api/v1/intake/reports/",
        body,
        {"Content-Type": content_type, "Accept-Language": "es"},
        timeout,
    )


def send_process_media(app: Celery, item: MediaItem) -> None:
    app.send_task(
        "intake.tasks.process_media", kwargs={"media_item_id": str(item.id)}, queue="media_small"
    )


def quarantine_files() -> set[str]:
    root = Path(settings.VAR_DIR) / "quarantine"
    return {p.name for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def media_files(report: Report) -> set[str]:
    root = Path(settings.VAR_DIR) / "media" / str(report.id)
    return {p.name for p in root.iterdir()} if root.exists() else set()


def require_postgres() -> None:
    if connection.vendor != "postgresql":
        need("fault tests that kill database connections need PostgreSQL (set DATABASE_URL)")


def terminate_backends(*, keep: set[int]) -> int:
    """pg_terminate_backend on every connection to the test database except ``keep``: the
    other engineers' databases on this server are never touched."""
    db = connection.settings_dict
    with psycopg.connect(
        host=db.get("HOST") or "localhost",
        port=int(db.get("PORT") or 5432),
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        dbname=db["NAME"],
        autocommit=True,
    ) as admin:
        keep = {*keep, admin.info.backend_pid}
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND NOT (pid = ANY(%s))",
            (db["NAME"], list(keep)),
        ).fetchall()
        return len(rows)
