"""The production-like stack for field tests: the real nginx with deploy/nginx.conf in front
of gunicorn with config/gunicorn.py, and a real Celery worker, on the test database.

Other test packages can use it by importing its fixtures into their conftest, as
tests/field/conftest.py does. ``url`` goes through nginx, ``direct_url`` straight to
gunicorn (bin/serve's configuration, without a proxy). A module that needs more
environment for the stack's processes overrides ``field_stack_env``. The static files are
collected first, as the Docker image does, so pages load their scripts from gunicorn
(WhiteNoise) as in production."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.factories.processes import ProcessGroup, children_of, pids_with_connection
from tests.field.proxy import NginxProxy

# The client's address reaches the app from nginx on loopback (deploy/nginx.conf sets
# X-Real-IP). Throttles stay out of the way of tests that send many reports.
STACK_ENV = {
    "TESTIGO_TRUSTED_PROXIES": "127.0.0.1",
    "TESTIGO_THROTTLE_REPORTS_PER_HOUR": "100000",
    "TESTIGO_THROTTLE_CODES_PER_HOUR": "100000",
    "TESTIGO_THROTTLE_UPLOADS_PER_HOUR": "100000",
    "TESTIGO_THROTTLE_FOLLOWUPS_PER_HOUR": "100000",
    "TESTIGO_THROTTLE_UPLOAD_PARTS_PER_HOUR": "100000",
}


@dataclass
class FieldStack:
    processes: ProcessGroup
    proxy: NginxProxy
    gunicorn: subprocess.Popen[bytes]
    direct_address: str
    worker: subprocess.Popen[bytes]

    @property
    def address(self) -> str:
        return self.proxy.address

    @property
    def url(self) -> str:
        return f"http://{self.proxy.address}"

    @property
    def direct_url(self) -> str:
        return f"http://{self.direct_address}"

    @property
    def direct_port(self) -> int:
        return int(self.direct_address.rsplit(":", 1)[1])

    def web_workers(self) -> list[int]:
        return children_of(self.gunicorn.pid)

    def kill_web_worker_serving(self) -> list[int]:
        """SIGKILL the gunicorn worker(s) holding a connection at the moment (the one
        handling the request in flight); gunicorn starts a new one. Returns their pids."""
        serving = pids_with_connection(self.web_workers(), self.direct_port)
        for pid in serving:
            os.kill(pid, signal.SIGKILL)
        return serving

    def logs(self) -> str:
        """The tails of the stack's logs, for a failing assertion's message."""
        parts = []
        for process in (self.gunicorn, self.worker):
            log: Path = process.log  # type: ignore[attr-defined]
            parts.append(f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)


@pytest.fixture(scope="session")
def static_collected() -> None:
    """STATIC_ROOT (under the test VAR_DIR, which the stack shares) filled once: WhiteNoise
    serves only what is there when gunicorn starts."""
    call_command("collectstatic", interactive=False, verbosity=0)


@pytest.fixture(scope="module")
def field_stack_env() -> dict[str, str]:
    """Environment a test module adds to the stack's processes: override it there."""
    return {}


@pytest.fixture(scope="module")
def field_stack(
    django_db_setup: None,
    static_collected: None,
    field_stack_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[FieldStack]:
    tmp = tmp_path_factory.mktemp("field")
    processes = ProcessGroup(tmp, extra_env={**STACK_ENV, **field_stack_env})
    proxy: NginxProxy | None = None
    try:
        direct_address, gunicorn = processes.gunicorn_process()
        worker = processes.worker(concurrency=2)
        (tmp / "nginx").mkdir()
        proxy = NginxProxy(tmp / "nginx", upstream=direct_address)
        proxy.start()
        yield FieldStack(processes, proxy, gunicorn, direct_address, worker)
    finally:
        if proxy is not None:
            proxy.stop()
        processes.stop_all()
