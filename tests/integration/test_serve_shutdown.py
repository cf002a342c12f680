"""`manage.py serve`, the embedded default's one command: a SIGTERM to its process group
stops gunicorn, Celery beat and the Celery worker, and leaves no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import _database_url_for_worker
from tests.factories.processes import ROOT, descendants, free_port, process_alive, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def test_sigterm_to_the_process_group_leaves_no_child(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url_for_worker(),
        # Its own broker folder and secrets: nothing shared with the suite's worker.
        "REDIS_URL": "",
        "TESTIGO_VAR_DIR": str(tmp_path / "var"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    with log.open("wb") as out:
        serve = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/safety/"), 90, "gunicorn")
        # gunicorn's master and 2 workers, beat, the Celery worker and its 2 pool processes.
        wait_until(lambda: len(descendants(serve.pid)) >= 7, 90, "every child started")
        wait_until(lambda: b" ready." in log.read_bytes(), 90, "celery worker ready")
        children = descendants(serve.pid)

        os.killpg(serve.pid, signal.SIGTERM)
        serve.wait(timeout=120)

        assert serve.returncode == 0, log.read_text()[-3000:]
        wait_until(lambda: not any(process_alive(pid) for pid in children), 10, "children gone")
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait(10)
