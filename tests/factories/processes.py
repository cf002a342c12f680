"""Real processes for tests that need them (faults, hostile, privacy, field): gunicorn with
the project's one configuration (config/gunicorn.py), Celery workers, on the test database,
plus small HTTP and /proc helpers.

Every process started here is the test's own, stopped by its own handle at teardown."""

from __future__ import annotations

import http.client
import io
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
GUNICORN_CONFIG = ROOT / "config" / "gunicorn.py"
READY_TIMEOUT = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {timeout} s")
        time.sleep(0.1)


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return found


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, children first."""
    found = children_of(pid)
    for child in list(found):
        found += descendants(child)
    return found


def process_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").glob("*"):
        try:
            target = str(fd.readlink())
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def established_inodes(local_port: int) -> set[str]:
    """Inodes of established TCP connections to ``local_port`` on this host (IPv4)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        port = int(fields[1].rsplit(":", 1)[1], 16)
        if port == local_port and fields[3] == "01":  # 01: ESTABLISHED
            inodes.add(fields[9])
    return inodes


def pids_with_connection(pids: list[int], local_port: int) -> list[int]:
    """Which of ``pids`` hold an established connection to ``local_port``."""
    wanted = established_inodes(local_port)
    return [pid for pid in pids if _socket_inodes(pid) & wanted]


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
    host, port = address.rsplit(":", 1)
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
    """(body, content type) of a multipart/form-data request: fields first, as a browser
    sends a form whose file inputs come last."""
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


def _database_url() -> str:
    from tests.conftest import _database_url_for_worker

    return _database_url_for_worker()


@dataclass
class ProcessGroup:
    """Workers and web servers started by one test (or one module), on the test database.

    ``redis_url``: the broker and cache to use; None keeps the environment's (REDIS_URL
    when set, else the embedded filesystem broker under the test VAR_DIR)."""

    tmp: Path
    redis_url: str | None = None
    # Environment every process of the group gets, on top of the test's own.
    extra_env: dict[str, str] = field(default_factory=dict)
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)
    mail_dir: Path = field(init=False)

    def __post_init__(self) -> None:
        self.mail_dir = self.tmp / "mail"

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "TESTIGO_VAR_DIR": str(settings.VAR_DIR),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "DJANGO_EMAIL_FILE_PATH": str(self.mail_dir),
            **self.extra_env,
            **extra,
        }
        if self.redis_url is not None:
            env["REDIS_URL"] = self.redis_url
        return env

    def worker(
        self, *, concurrency: int = 1, beat: bool = False, **extra: str
    ) -> subprocess.Popen[bytes]:
        log = self.tmp / f"worker-{uuid.uuid4().hex[:6]}.log"
        args = [
            sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO",
            "--concurrency", str(concurrency), "--pool", "prefork", "--without-gossip",
            "--without-mingle", "--without-heartbeat",
            "--hostname", f"test-{uuid.uuid4().hex[:8]}@%h",
        ]  # fmt: skip
        if beat:
            args += ["--beat", "--schedule", str(self.tmp / f"beat-{uuid.uuid4().hex[:6]}")]
        with log.open("wb") as out:
            process = subprocess.Popen(
                args, env=self.env(**extra), stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
            )
        self.started.append(process)
        wait_until(
            lambda: b" ready." in log.read_bytes() or process.poll() is not None,
            READY_TIMEOUT,
            "celery worker ready",
        )
        assert process.poll() is None, log.read_text()[-3000:]
        process.log = log  # type: ignore[attr-defined]
        return process

    def gunicorn(self, *, workers: int = 2, **extra: str) -> str:
        """Start gunicorn with config/gunicorn.py on a free port; returns its host:port."""
        return self.gunicorn_process(workers=workers, **extra)[0]

    def gunicorn_process(
        self, *, workers: int = 2, **extra: str
    ) -> tuple[str, subprocess.Popen[bytes]]:
        port = free_port()
        log = self.tmp / f"gunicorn-{port}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG),
                    "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                ],
                env=self.env(**extra),
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )  # fmt: skip
        self.started.append(process)
        process.log = log  # type: ignore[attr-defined]
        address = f"127.0.0.1:{port}"

        def up() -> bool:
            try:
                return http_get(address, "/").status == 200
            except OSError:
                return False

        wait_until(up, READY_TIMEOUT, "gunicorn ready")
        return address, process

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
