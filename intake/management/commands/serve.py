"""Run the embedded default: web server, Celery worker and beat, started together."""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from config.var_dirs import var_dirs_ensure


class Command(BaseCommand):
    help = "Start gunicorn, a Celery worker and Celery beat; stop all three on Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default="127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        var_dirs_ensure()
        plain_http_on_loopback(options["bind"])
        python = sys.executable
        commands = [
            [python, "-m", "gunicorn", "config.wsgi", "--bind", options["bind"], "--workers", "2"],
            [
                python,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "--queues=media_small,media_large,webhooks,maintenance",
            ],
            [python, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO"],
        ]
        processes = [subprocess.Popen(command) for command in commands]
        self.stdout.write(f"Testigo is running on http://{options['bind']}/ (Ctrl-C stops it)")
        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while not stopping and all(p.poll() is None for p in processes):
            time.sleep(0.5)
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            process.wait(timeout=30)
        if not stopping:
            raise SystemExit("a process of the service exited; stopped the others")


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
