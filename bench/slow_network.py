"""Uploads from the witness form over slow and cut phone links, in real Chromium.

For each uplink (64 kbit/s, 400 kbit/s, 1.5 Mbit/s, 10 Mbit/s) prints the time to send one
file (30 MB; 300 KB at 64 kbit/s), the goodput as a share of the link's rate, and the
bytes each drop cost: the link goes offline for 10 s mid-upload (DevTools emulation), and
the loss is what the client had sent minus the offset the server answers (HEAD) once the
link is back.

    .venv/bin/python bench/slow_network.py [--quick] [--size-mb N] [--drops N]

--quick sends 6 MB instead of 30 MB and makes two drops per link instead of three.
Starts its own embedded default (``manage.py serve``: gunicorn, Celery worker and beat)
under a temporary TESTIGO_VAR_DIR, as bench/upload_memory.py does.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.e2e.chromium import CHROMIUM_ARGS, PHONE_VIEWPORT  # noqa: E402
from tests.field.phone import (  # noqa: E402
    EDGE,
    FAST_3G,
    LTE,
    SLOW_3G,
    Link,
    TusLog,
    Uplink,
    mp4_like,
    noise_jpeg,
    send_report,
    upload_rows,
)

PORT = 8766
SMALL = 300_000  # what a 64 kbit/s link is asked to carry


def serve(var: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TESTIGO_VAR_DIR": var, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    python = str(ROOT / ".venv/bin/python")
    for command in (["migrate"], ["collectstatic", "--noinput"]):
        subprocess.run([python, "manage.py", *command, "-v0"], cwd=ROOT, env=env, check=True)
    server = subprocess.Popen(
        [python, "manage.py", "serve", "--bind", f"127.0.0.1:{PORT}"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/safety/")
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the server did not start")


def wait(page: Any, done: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out; rows: {upload_rows(page)}")
        page.wait_for_timeout(200)


def row(page: Any) -> dict[str, str]:
    rows = upload_rows(page)
    return rows[0] if rows else {"state": "", "sent": "0"}


def timed_send(browser: Any, url: str, uplink: Uplink, file: Path) -> float:
    """Seconds from the first PATCH to the last one answered."""
    context = browser.new_context(viewport=PHONE_VIEWPORT, is_mobile=True)
    page = context.new_page()
    log = TusLog(page)
    Link(context, page, uplink)
    send_report(page, url, [file], "Bench: timed send.")
    size = file.stat().st_size
    wait(page, lambda: row(page)["state"] == "done", 3 * size / uplink.up + 120)
    seconds = log.sending_time()
    context.close()
    return seconds


def drops_lost(browser: Any, url: str, uplink: Uplink, file: Path, drops: int) -> list[int]:
    """Bytes lost by each 10 s drop; the drops are spread over the file's sending time."""
    context = browser.new_context(viewport=PHONE_VIEWPORT, is_mobile=True)
    page = context.new_page()
    log = TusLog(page)
    link = Link(context, page, uplink)
    send_report(page, url, [file], "Bench: drops.")
    wait(page, lambda: int(row(page)["sent"]) > 0, 60)
    lost: list[int] = []
    between = min(8.0, file.stat().st_size / uplink.up / (drops + 1))
    for _ in range(drops):
        page.wait_for_timeout(between * 1000)
        if row(page)["state"] == "done":
            break
        link.cut()
        page.wait_for_timeout(1000)
        sent = int(row(page)["sent"])  # the client's count: no progress since the cut
        page.wait_for_timeout(9000)
        back = time.time()
        link.restore()
        wait(page, lambda back=back: any(h.started > back for h in log.heads()), 60)
        server = next(h for h in log.heads() if h.started > back).answered_offset or 0
        lost.append(max(0, sent - server))
    context.close()
    return lost


def size_text(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size // 1000} KB"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="6 MB, two drops per link")
    parser.add_argument("--size-mb", type=float, default=None)
    parser.add_argument("--drops", type=int, default=None)
    args = parser.parse_args()
    size = int((args.size_mb or (6 if args.quick else 30)) * 1e6)
    drops = args.drops or (2 if args.quick else 3)

    var = tempfile.mkdtemp(prefix="testigo-bench-")
    files = Path(var) / "files"
    files.mkdir()
    big = mp4_like(files / "VID_0001.mp4", size)
    small = noise_jpeg(files / "IMG_0001.jpg", SMALL)
    server = serve(var)
    url = f"http://127.0.0.1:{PORT}"
    rows = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            for uplink in (EDGE, SLOW_3G, FAST_3G, LTE):
                file = small if uplink is EDGE else big
                seconds = timed_send(browser, url, uplink, file)
                goodput = file.stat().st_size / seconds / uplink.up
                lost = drops_lost(browser, url, uplink, file, drops)
                rows.append((uplink, file.stat().st_size, seconds, goodput, lost))
                print(f"  {uplink.name}: {seconds:.1f} s, {goodput:.2f}, lost {lost}", flush=True)
            browser.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        subprocess.run(["rm", "-rf", var], check=False)

    print()
    print("| uplink | file | time to send | goodput ÷ link | bytes lost per drop (n) |")
    print("|---|---|---|---|---|")
    for uplink, file_size, seconds, goodput, lost in rows:
        worst = max(lost) if lost else 0
        mean = sum(lost) // len(lost) if lost else 0
        print(
            f"| {uplink.name}, {uplink.latency_ms} ms | {size_text(file_size)} | {seconds:.0f} s"
            f" | {goodput:.2f} | mean {mean:,} B, max {worst:,} B ({len(lost)}) |"
        )


if __name__ == "__main__":
    main()
