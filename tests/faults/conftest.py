"""Real processes for fault tests: a Redis server of our own (the system one is shared and
must never be stopped), and gunicorn and Celery workers (tests/processes.py) pointed at it
and at the test database.

Every process started here is ours, stopped by its own handle at teardown."""

from __future__ import annotations

import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

from reports.models import MediaItem, Report
from tests.factories.processes import (
    HttpResult,
    ProcessGroup,
    free_port,
    http_request,
    multipart,
    wait_until,
)
from tests.factories.tools import need, require_tool


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
        wait_until(self.answers, 10, "redis-server start")

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


class Processes(ProcessGroup):
    """Workers and web servers started by one test, on its own Redis and the test database."""

    def __init__(self, redis: RedisServer, tmp: Path) -> None:
        super().__init__(tmp, redis_url=redis.url)
        self.redis = redis


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
