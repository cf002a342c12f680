"""`manage.py serve` stops its children in order, each within a bounded wait, and kills
whatever does not stop together with anything it started."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from intake.management.commands.serve import Child, children_stop

# Ignores SIGTERM and leaves a grandchild that ignores it too: the shape of a Celery
# worker stuck in a task, with its pool process.
STUBBORN = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
grandchild = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
print(grandchild.pid, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _start(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", code], start_new_session=True, stdout=subprocess.PIPE
    )


def test_children_stop_kills_a_child_that_ignores_sigterm_and_its_own_children() -> None:
    stubborn = _start(STUBBORN)
    assert stubborn.stdout is not None
    grandchild = int(stubborn.stdout.readline())
    polite = _start("import time; time.sleep(600)")
    started = time.monotonic()

    children_stop([Child("worker", stubborn, 1.0), Child("beat", polite, 1.0)])

    assert time.monotonic() - started < 10
    assert stubborn.returncode is not None
    assert polite.returncode is not None
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild)


def test_children_stop_waits_for_a_child_that_stops_on_sigterm() -> None:
    polite = _start("import time; time.sleep(600)")

    children_stop([Child("web", polite, 30.0)])

    # Stopped by SIGTERM (-15), not by the SIGKILL that follows the wait.
    assert polite.returncode == -15
