"""Resident memory of the web process (gunicorn) while it receives a 1 GB upload through
tus in one PATCH. Prints the growth; goal < 50 MB.

    .venv/bin/python bench/upload_memory.py [size_mb]

Starts its own gunicorn (config/gunicorn.py, one worker) on the embedded default under a
temporary TESTIGO_VAR_DIR, creates a report, streams the file, samples the worker's RSS.
Its own upload throttle is raised (TESTIGO_THROTTLE_UPLOADS_PER_HOUR) so repeated runs from
one address are not refused; an upload that is not accepted whole gives no figure (exit 1).
"""

from __future__ import annotations

import base64
import http.client
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

SIZE = int(sys.argv[1] if len(sys.argv) > 1 else 1024) * 1024 * 1024
PORT = 8765
ROOT = Path(__file__).resolve().parent.parent


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    var = tempfile.mkdtemp(prefix="testigo-bench-")
    env = {
        **os.environ,
        "TESTIGO_VAR_DIR": var,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "TESTIGO_THROTTLE_UPLOADS_PER_HOUR": "10000000",
        "TESTIGO_THROTTLE_UPLOAD_PARTS_PER_HOUR": "10000000",
        # Plain HTTP on loopback, as `manage.py serve` runs it.
        "TESTIGO_HTTPS": "0",
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    python = str(ROOT / ".venv/bin/python")
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    code = subprocess.run(
        [python, "-c", "import django; django.setup(); from config.var_dirs import var_dirs_ensure;"
         "var_dirs_ensure(); from intake.services import report_submit;"
         "print(report_submit(description='bench').receipt_code)"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    server = subprocess.Popen(
        [python, "-m", "gunicorn", "-c", "config/gunicorn.py", "--bind", f"127.0.0.1:{PORT}",
         "--workers", "1"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/safety/")
                break
            except OSError:
                time.sleep(0.1)
        worker = int(subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True,
                                    text=True).stdout.split()[0])  # fmt: skip
        before = rss_kb(worker)
        conn = http.client.HTTPConnection("127.0.0.1", PORT)
        meta = "receipt " + base64.b64encode(code.encode()).decode()
        conn.request("POST", "/tus/", headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(SIZE),
                                               "Upload-Metadata": meta})  # fmt: skip
        response = conn.getresponse()
        response.read()
        if response.status != 201:
            raise SystemExit(f"POST /tus/ answered {response.status}: no figure")
        path = re.sub(r"^https?://[^/]+", "", response.getheader("Location") or "")
        peak = before
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, rss_kb(worker))
                time.sleep(0.05)

        threading.Thread(target=sample, daemon=True).start()
        start = time.monotonic()
        conn.putrequest("PATCH", path)
        for name, value in {"Tus-Resumable": "1.0.0", "Upload-Offset": "0",
                            "Content-Type": "application/offset+octet-stream",
                            "Content-Length": str(SIZE)}.items():  # fmt: skip
            conn.putheader(name, value)
        conn.endheaders()
        block = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + os.urandom(1024 * 1024 - 24)
        sent = 0
        while sent < SIZE:
            piece = block[: min(len(block), SIZE - sent)]
            conn.send(piece)
            sent += len(piece)
        response = conn.getresponse()
        response.read()
        done.set()
        elapsed = time.monotonic() - start
        offset = response.getheader("Upload-Offset")
        print(f"PATCH {SIZE >> 20} MB: HTTP {response.status}, offset {offset}, {elapsed:.1f} s")
        if response.status != 204 or offset != str(SIZE):
            raise SystemExit("the upload was not accepted whole: growth n/a")
        print(f"worker RSS before {before / 1024:.1f} MB, peak {peak / 1024:.1f} MB, "
              f"growth {(peak - before) / 1024:.1f} MB (goal < 50 MB)")  # fmt: skip
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        subprocess.run(["rm", "-rf", var], check=False)


if __name__ == "__main__":
    main()
