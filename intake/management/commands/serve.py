"""Run the embedded default: web server, Celery worker and beat, started together.

Each child runs in a process group of its own, so Ctrl-C or a SIGTERM to this command's
group reaches this command only, which then stops the children in order: the web server
first (no new work comes in), then beat, then the worker (which finishes or hands back
its task). Each gets a bounded wait; what does not stop is killed with its whole group,
so no gunicorn worker or Celery pool process outlives the command.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from config.var_dirs import var_dirs_ensure

# gunicorn gives in-flight requests its graceful_timeout (30 s) before killing them.
WEB_STOP_S = 40
BEAT_STOP_S = 10
# Tasks are acknowledged late: one cut short here is delivered again, so the worker's
# wait is bounded well below a task's time limit.
WORKER_STOP_S = 30
KILL_WAIT_S = 5


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    stop_within_s: float


class Command(BaseCommand):
    help = "Start gunicorn, a Celery worker and Celery beat; stop all three on Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default="127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        var_dirs_ensure()
        plain_http_on_loopback(options["bind"])
        python = sys.executable
        gunicorn_config = str(settings.BASE_DIR / "config" / "gunicorn.py")
        celery = [python, "-m", "celery", "-A", "config"]
        commands = [
            ("web", [python, "-m", "gunicorn", "-c", gunicorn_config, "--bind", options["bind"]]),
            ("beat", [*celery, "beat", "--loglevel", "INFO"]),
            (
                "worker",
                [
                    *celery,
                    "worker",
                    "--loglevel",
                    "INFO",
                    "--concurrency",
                    "2",
                    "--queues=media_small,media_large,webhooks,maintenance,faces",
                ],
            ),
        ]
        limits = {"web": WEB_STOP_S, "beat": BEAT_STOP_S, "worker": WORKER_STOP_S}
        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        children: list[Child] = []
        try:
            for name, command in commands:
                process = subprocess.Popen(command, start_new_session=True)
                children.append(Child(name, process, limits[name]))
            self.stdout.write(f"Testigo is running on http://{options['bind']}/ (Ctrl-C stops it)")
            while not stopping and not any(_exited(c.process, within_s=0) for c in children):
                time.sleep(0.5)
        finally:
            children_stop(children)
        if not stopping:
            raise SystemExit("a process of the service exited; stopped the others")


def children_stop(children: list[Child]) -> None:
    """Stop each child in turn: SIGTERM to its main process, a bounded wait, then SIGKILL
    to its whole group, which also takes any pool process the main one left behind."""
    for child in children:
        process = child.process
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            if not _exited(process, within_s=child.stop_within_s):
                sys.stderr.write(f"{child.name} did not stop in {child.stop_within_s} s: killed\n")
        # The main process is not reaped yet, so its pid still names this group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        try:
            process.wait(timeout=KILL_WAIT_S)
        except subprocess.TimeoutExpired:
            sys.stderr.write(f"{child.name} (pid {process.pid}) survived SIGKILL\n")


def _exited(process: subprocess.Popen[bytes], *, within_s: float) -> bool:
    """Wait for ``process`` to exit without reaping it (WNOWAIT)."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            info = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        if info is not None:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def plain_http_on_loopback(bind: str) -> None:
    """Plain HTTP that only this machine can reach (the embedded default): HTTPS enforcement
    would lock the browser out, so the processes started here run without it unless
    TESTIGO_HTTPS says otherwise. Any other address keeps it on (config/settings.py)."""
    if _loopback(bind):
        os.environ.setdefault("TESTIGO_HTTPS", "0")


def _loopback(bind: str) -> bool:
    host = bind.rsplit(":", 1)[0].strip("[]") if ":" in bind else bind
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a unix socket or a host name: assume others can reach it
        return False
