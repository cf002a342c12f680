"""One Celery worker's photo throughput against bare sanitize() on the same files, in one
run. Prints figures; no pass/fail.

Usage: .venv/bin/python bench/worker_pipeline.py [--files 60]
         [--database-url postgres://postgres@127.0.0.1:5432/testigo_bench_worker_pipeline]

1. sanitize()  intake.sanitize.sanitize() over --files copies of the 12 MP phone JPEG, in
               this one process (bench/sanitize.py's cached copies): files/s.
2. worker      the stack of bench/load/run.py (a bench database created and dropped on
               the system PostgreSQL, a redis-server of its own, gunicorn): --files / 3
               reports of three such photos are submitted through the intake API, gunicorn
               is stopped, then ONE Celery worker process (prefork, concurrency 1) drains
               the backlog: claim, sanitize, ExifTool re-check, preview and near-duplicate
               hash, stored, report pending. Files/s from the first claim to the last
               item clean (audit trail), so the worker's start-up is not counted.
sanitize() runs again after the worker, and the ratio worker / sanitize() (goal >= 0.5)
uses the mean of the two, since other people's load on the shared machine moves during a
run; the load average is printed at each step: compare figures taken at similar loads.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load.run import (  # noqa: E402
    PHOTO,
    Stack,
    _probe,
    body_with_photos,
    create_database,
    drop_database,
    now_iso,
)
from bench.sanitize import CACHE, load, make_jpegs  # noqa: E402
from intake.sanitize import sanitize  # noqa: E402

PHOTOS_PER_REPORT = 3


def bare_sanitize(files: list[Path]) -> float:
    """files/s of sanitize() over ``files`` in this process."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        started = time.perf_counter()
        for src in files:
            manifest = sanitize(src, Path(tmp) / src.name)
            if manifest.status != "clean":
                raise SystemExit(f"sanitize() refused {src}: {manifest.reason}")
        return len(files) / (time.perf_counter() - started)


def submit(stack: Stack, reports: int) -> int:
    """Submit ``reports`` reports through the intake API; returns how many were accepted."""
    body, content_type = body_with_photos(PHOTO.read_bytes(), PHOTOS_PER_REPORT)
    host, port = stack.web_address.split(":")
    accepted = 0
    for _ in range(reports):
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        conn.request("POST", "/api/v1/intake/reports/", body=body,
                     headers={"Content-Type": content_type})  # fmt: skip
        response = conn.getresponse()
        response.read()
        conn.close()
        accepted += response.status == 201
    return accepted


def worker_drain(stack: Stack, reports: int, timeout: float) -> tuple[float, dict[str, int], float]:
    """(files/s of one worker from first claim to last clean, items by final status, the
    share of that span spent between an item's claim and its clean result)."""
    stack.drop_queue()
    since = now_iso(stack)
    accepted = submit(stack, reports)
    if accepted != reports:
        raise SystemExit(f"only {accepted} of {reports} reports accepted")
    stack.stop_web()  # the web side is idle now: keep it off the CPUs
    stack.start_workers(1)
    data = json.loads(_probe(stack, "drain", since, str(timeout)).strip().splitlines()[-1])
    stack.stop_workers()
    statuses: dict[str, int] = data["statuses"]
    clean = statuses.get("clean", 0)
    if not clean or data["first_claim"] is None or data["last_clean"] is None:
        return 0.0, statuses, 0.0
    span = data["last_clean"] - data["first_claim"]
    return clean / span, statuses, data["claim_to_clean"] / span


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=60, help="photos (a multiple of 3)")
    parser.add_argument("--timeout", type=float, default=900, help="for the worker's drain")
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/testigo_bench_worker_pipeline",
    )
    args = parser.parse_args()
    reports = max(1, args.files // PHOTOS_PER_REPORT)
    files = reports * PHOTOS_PER_REPORT
    print(f"machine: {os.cpu_count()} CPUs; load average before: {load()}")
    print(f"input: {files} x {PHOTO.name} ({PHOTO.stat().st_size / 1e6:.1f} MB)")

    jpegs = make_jpegs(files)
    bare_before = bare_sanitize(jpegs)
    print(f"1. sanitize() in one process: {bare_before:.1f} files/s (load {load()})", flush=True)

    var_dir = ROOT / "var" / f"bench-worker-{uuid.uuid4().hex[:6]}"
    create_database(args.database_url)
    # The witness throttles are not what this measures (every client is 127.0.0.1).
    stack = Stack(args.database_url, var_dir, throttle=10_000_000)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        stack.start_redis()
        stack.migrate()
        stack.start_web()
        worker, statuses, in_items = worker_drain(stack, reports, args.timeout)
    finally:
        stack.stop()
        drop_database(args.database_url)
        shutil.rmtree(var_dir, ignore_errors=True)
    print(
        f"2. one Celery worker (concurrency 1), {reports} reports of {PHOTOS_PER_REPORT} photos: "
        f"{worker:.1f} files/s first claim to last clean; items {statuses} (load {load()}); "
        f"{in_items:.0%} of that time between an item's claim and its clean result"
    )
    bare_after = bare_sanitize(jpegs)
    print(f"3. sanitize() again: {bare_after:.1f} files/s (load {load()})")
    bare = (bare_before + bare_after) / 2
    print(f"ratio worker / sanitize() (mean {bare:.1f} files/s): {worker / bare:.2f} (goal >= 0.5)")
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
