"""The production reverse proxy, run by a test: deploy/nginx.conf with only its listen port,
upstream address and /var/cache/nginx/ paths rewritten, served by the Debian nginx binary
as a foreground process in a temporary folder (no root needed)."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from pathlib import Path

from tests.factories.processes import ROOT, free_port, wait_until
from tests.factories.tools import need

NGINX_CONF = ROOT / "deploy" / "nginx.conf"
# Debian installs nginx in /usr/sbin, which is not on every user's PATH.
NGINX_PATHS = ("/usr/sbin/nginx", "/usr/local/sbin/nginx")


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in NGINX_PATHS if Path(p).exists()), None)
    if found is None:
        need("nginx not found; install the Debian package nginx")
        raise AssertionError("unreachable")
    return found


def render_nginx_conf(*, listen_port: int, upstream: str, workdir: Path) -> str:
    """deploy/nginx.conf for a test: each rewrite must match exactly once, so a change to
    the file that the tests would silently stop exercising fails here instead."""
    text = NGINX_CONF.read_text()
    rewrites = [
        (r"listen 8080;", f"listen 127.0.0.1:{listen_port};"),
        (r"server web:8000;", f"server {upstream};"),
    ]
    for pattern, replacement in rewrites:
        text, count = re.subn(re.escape(pattern), replacement, text)
        assert count == 1, f"deploy/nginx.conf: expected one {pattern!r}, found {count}"
    text, count = re.subn(r"/var/cache/nginx/", f"{workdir}/cache/", text)
    assert count >= 1, "deploy/nginx.conf names no temporary path under /var/cache/nginx/"
    return text


class NginxProxy:
    """nginx in front of ``upstream`` (host:port), on a free port of 127.0.0.1."""

    def __init__(self, workdir: Path, upstream: str) -> None:
        self.binary = nginx_binary()
        self.workdir = workdir
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.conf = workdir / "nginx.conf"
        self.cache = workdir / "cache"
        self.conf.write_text(
            render_nginx_conf(listen_port=self.port, upstream=upstream, workdir=workdir)
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.log = workdir / "nginx.log"

    def command(self) -> list[str]:
        directives = f"daemon off; pid {self.workdir}/nginx.pid;"
        return [self.binary, "-p", str(self.workdir), "-c", str(self.conf), "-g", directives]

    def check(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.command(), "-t"], capture_output=True, text=True, check=False, timeout=30
        )

    def start(self) -> None:
        self.cache.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                self.command(), stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir
            )

        def listening() -> bool:
            assert self.process is not None
            assert self.process.poll() is None, self.log.read_text()
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                return False

        wait_until(listening, 20, "nginx listening")

    def spooled_files(self) -> list[Path]:
        """Files nginx has written under its temporary folders (bodies, responses)."""
        return [path for path in self.cache.rglob("*") if path.is_file()]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None
