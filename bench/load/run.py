"""Load on loopback: gunicorn + PostgreSQL + Redis + Celery workers, reports with three
4 MB photos each. Prints figures; no pass/fail.

Usage:
  .venv/bin/python bench/load/run.py rate  [--seconds 20] [--clients 1,2,4] [--workers 1,2]
                                           [--web-only]
  .venv/bin/python bench/load/run.py soak  [--minutes 10] [--clients 2]

Everything runs as processes of its own: a bench database (created and dropped on the
system PostgreSQL: --database-url), a redis-server on a free port, gunicorn
(config/gunicorn.py, 3 workers) and Celery workers. The load is closed-loop: each client
thread submits, waits for the answer, submits again. Every client comes from 127.0.0.1, so
the stack runs with the witness throttles raised (TESTIGO_THROTTLE_*_PER_HOUR =
10,000,000; --throttle sets another value): with the defaults every report after the 30th
an hour would answer 429.

A figure computed over errors is not a figure: where a step had any (a non-201 answer, or
a report not settled in time) it prints "n/a (N errors)" instead, and the bench exits 1.
Figures:
  rate  1. the web side alone, per client count: reports/min and submit latency p50/p95,
        against the framework floor (a bare Django view that parses the same multipart
        body with Django's parser and writes each file to disk, same settings and
        gunicorn: bench/load/floor_urls.py) and the ratio; 2. pipeline capacity with 1 and
        2 workers: a backlog drained, reports/min; 3. at 70% of that capacity, the time
        from submit to "pending moderation" p50/p95 (from the audit trail), split into
        queue wait and processing (bench/load/probe.py); then both goals and the load
        average; 4. one worker against bare sanitize() (bench/worker_pipeline.py, run
        with a stack of its own). Every figure line ends with the load average.
  soak  the same load for --minutes: every minute, RSS and open files of gunicorn and the
        workers; at the end errors and lost reports (submitted 201 but not in the queue).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# As bench/sanitize.py finds them: a worktree is not next to shared/.
SAMPLES = Path(os.environ.get("TESTIGO_SHARED_SAMPLES", ROOT.parent / "shared" / "media-samples"))
PHOTO = SAMPLES / "files" / "jpeg_phone_full_4032x3024.jpg"
PY = sys.executable
# The stack's own throttle limit (per hour): the load comes from one address, far above
# any real witness's rate; the throttle itself is not what this bench measures.
BENCH_THROTTLE = 10_000_000
THROTTLE_VARIABLES = (
    "TESTIGO_THROTTLE_REPORTS_PER_HOUR",
    "TESTIGO_THROTTLE_CODES_PER_HOUR",
    "TESTIGO_THROTTLE_UPLOADS_PER_HOUR",
    "TESTIGO_THROTTLE_FOLLOWUPS_PER_HOUR",
    "TESTIGO_THROTTLE_UPLOAD_PARTS_PER_HOUR",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def body_with_photos(photo: bytes, count: int = 3) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="description"\r\n\r\n'
        "Agents detained two people at the bus stop.\r\n".encode()
    ]
    for n in range(count):
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="media"; '
            f'filename="IMG_{n}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
            + photo
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Stack:
    """The processes of one run; stopped in reverse order."""

    def __init__(self, database_url: str, var_dir: Path, throttle: int) -> None:
        self.database_url = database_url
        self.throttle = throttle
        self.var_dir = var_dir
        self.redis_port = free_port()
        self.procs: list[subprocess.Popen[bytes]] = []
        self.workers: list[subprocess.Popen[bytes]] = []
        self.web: subprocess.Popen[bytes] | None = None
        self.web_address = ""

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "TESTIGO_VAR_DIR": str(self.var_dir),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PYTHONPATH": str(ROOT),
            "LOG_LEVEL": "WARNING",
            # Plain HTTP on loopback, as `manage.py serve` runs it.
            "TESTIGO_HTTPS": "0",
            **dict.fromkeys(THROTTLE_VARIABLES, str(self.throttle)),
            **extra,
        }

    def start_redis(self) -> None:
        self.procs.append(
            subprocess.Popen(
                ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL,
            )
        )  # fmt: skip
        time.sleep(0.5)

    def migrate(self) -> None:
        subprocess.run(
            [PY, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT, env=self.env(), check=True,
        )  # fmt: skip

    def start_web(self, settings_module: str = "config.settings") -> None:
        self.stop_web()
        port = free_port()
        self.web = subprocess.Popen(
            [PY, "-m", "gunicorn", "-c", "config/gunicorn.py", "--bind", f"127.0.0.1:{port}",
             "--workers", "3"],
            cwd=ROOT, env=self.env(DJANGO_SETTINGS_MODULE=settings_module),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.web_address = f"127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/api/schema/")
                conn.getresponse().read()
                return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("gunicorn did not start")

    def drop_queue(self) -> None:
        """Forget queued tasks (the rows stay; no sweeper runs in the bench), so the next
        phase measures only its own reports."""
        subprocess.run(
            ["redis-cli", "-p", str(self.redis_port), "FLUSHDB"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip

    def stop_web(self) -> None:
        if self.web is not None:
            self.web.terminate()
            self.web.wait(30)
            self.web = None

    def start_workers(self, count: int) -> None:
        self.stop_workers()
        for n in range(count):
            self.workers.append(
                subprocess.Popen(
                    [PY, "-m", "celery", "-A", "config", "worker", "--concurrency", "1",
                     "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
                     "--hostname", f"bench{n}-{uuid.uuid4().hex[:6]}@%h"],
                    cwd=ROOT, env=self.env(),
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )
            )  # fmt: skip
        time.sleep(4)

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.terminate()
        for worker in self.workers:
            worker.wait(60)
        self.workers = []

    def stop(self) -> None:
        self.stop_workers()
        self.stop_web()
        for proc in reversed(self.procs):
            proc.terminate()
            proc.wait(10)


def family_pids(root: subprocess.Popen[bytes] | None) -> list[int]:
    if root is None:
        return []
    pids = [root.pid]
    with contextlib.suppress(OSError):
        pids += [
            int(p) for p in Path(f"/proc/{root.pid}/task/{root.pid}/children").read_text().split()
        ]
    return pids


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def open_files(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += len(list(Path(f"/proc/{pid}/fd").iterdir()))
    return total


def drive(
    address: str,
    body: bytes,
    content_type: str,
    clients: int,
    seconds: float,
    think: float = 0.0,
    every: float = 0.0,
) -> dict[str, Any]:
    """Closed-loop load (each client waits ``think`` seconds between submits, or starts
    one every ``every`` seconds, at once when the last took longer); returns latencies,
    statuses and receipt codes."""
    host, port = address.split(":")
    stop_at = time.monotonic() + seconds
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    receipts: list[str] = []

    def client() -> None:
        next_at = time.monotonic()
        while time.monotonic() < stop_at:
            if every:
                time.sleep(max(0.0, next_at - time.monotonic()))
                next_at += every
            started = time.monotonic()
            status = 0
            try:
                conn = http.client.HTTPConnection(host, int(port), timeout=60)
                conn.request("POST", "/api/v1/intake/reports/", body=body,
                             headers={"Content-Type": content_type})  # fmt: skip
                response = conn.getresponse()
                data = response.read()
                status = response.status
                conn.close()
            except OSError:
                data = b""
            elapsed = time.monotonic() - started
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1
                if status == 201 and b"receipt_code" in data:
                    receipts.append(data.decode())
            if think:
                time.sleep(think)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "latencies": latencies,
        "statuses": statuses,
        "receipts": receipts,
        "seconds": time.monotonic() - began,
    }


def errors_in(result: dict[str, Any]) -> int:
    return sum(n for status, n in result["statuses"].items() if status != 201)


def figure(text: str, errors: int) -> str:
    """``text``, or n/a when it would be computed over errors."""
    return text if errors == 0 else f"n/a ({errors} errors)"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def settle_times(stack: Stack, since: str, timeout: float) -> tuple[list[float], int, int]:
    """(submit→pending seconds per report, reports pending, reports received) from the
    audit trail, once every report received since ``since`` is pending or ``timeout``."""
    data = settle_data(stack, since, timeout)
    return data["times"], data["pending"], data["received"]


def settle_data(stack: Stack, since: str, timeout: float) -> dict[str, Any]:
    """The probe's whole answer (bench/load/probe.py), with the wait/work split."""
    out = _probe(stack, "settle", since, str(timeout))
    data: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return data


def load() -> str:
    """The machine's load average (1, 5, 15 min): other people share the CPUs."""
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def now_iso(stack: Stack) -> str:
    return _probe(stack, "now").strip()


def _probe(stack: Stack, *args: str) -> str:
    return subprocess.run(
        [PY, "-m", "bench.load.probe", *args],
        cwd=ROOT, env=stack.env(), capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def create_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", name], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    subprocess.run(
        ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", name], check=False
    )


def _web_step(
    stack: Stack, label: str, body: bytes, ctype: str, clients: int, secs: float
) -> tuple[float, int]:
    """(reports/min, errors) of one closed-loop step."""
    result = drive(stack.web_address, body, ctype, clients, secs)
    errors = errors_in(result)
    per_min = float(result["statuses"].get(201, 0) * 60 / result["seconds"])
    if errors:
        print(f"{label:9} {clients:7d} {'n/a':>8} {'n/a':>6} {'n/a':>6} {errors:6d}  "
              f"{dict(sorted(result['statuses'].items()))}", flush=True)  # fmt: skip
    else:
        print(f"{label:9} {clients:7d} {per_min:8.1f} {pct(result['latencies'], 0.5):6.2f} "
              f"{pct(result['latencies'], 0.95):6.2f} {errors:6d}  {load()}",
              flush=True)  # fmt: skip
    return per_min, errors


def rate(stack: Stack, args: argparse.Namespace, body: bytes, content_type: str) -> int:
    """Runs the three rate phases; returns the number of errors met."""
    total_errors = 0
    clients_list = [int(c) for c in args.clients.split(",")]
    secs = args.seconds
    print(f"\nbody: {len(body) / 1e6:.1f} MB per report (3 photos); {secs:.0f} s per step")
    print("\n1. Web side alone (no workers running): closed-loop clients")
    print(f"{'stack':9} {'clients':>7} {'rep/min':>8} {'p50 s':>6} {'p95 s':>6} {'errors':>6}")
    web: dict[int, tuple[float, int]] = {}
    floors: dict[int, tuple[float, int]] = {}
    # Both sides alternate at each client count, so a change in the machine's other load
    # meets both alike.
    for clients in clients_list:
        stack.start_web()
        web[clients] = _web_step(stack, "testigo", body, content_type, clients, secs)
        stack.start_web("bench.load.floor_settings")
        floors[clients] = _web_step(stack, "floor", body, content_type, clients, secs)
    stack.start_web()
    ratios: dict[int, str] = {}
    for clients in clients_list:
        floor, floor_errors = floors[clients]
        errors = web[clients][1] + floor_errors
        total_errors += errors
        ratios[clients] = figure(f"{web[clients][0] / floor:.2f}" if floor else "n/a", errors)
        print(f"{'':9} ratio testigo/floor at {clients} clients: {ratios[clients]}")
    if args.web_only:
        return total_errors

    print("\n2. Pipeline capacity: a backlog submitted, then drained by the workers")
    print(f"{'workers':>7} {'reports':>7} {'drain s':>8} {'rep/min':>8}")
    capacity: dict[int, float] = {}
    for workers in [int(w) for w in args.workers.split(",")]:
        stack.stop_workers()
        stack.drop_queue()
        since = now_iso(stack)
        submitted = drive(stack.web_address, body, content_type, 1, args.backlog_seconds)
        stack.start_workers(workers)
        started = time.monotonic()
        times, pending, received = settle_times(stack, since, timeout=900)
        drained = time.monotonic() - started
        capacity[workers] = pending * 60 / drained
        errors = errors_in(submitted) + (received - pending)
        total_errors += errors
        print(
            f"{workers:7d} {pending:7d} {drained:8.0f} "
            f"{figure(f'{capacity[workers]:8.1f}', errors)}  "
            f"(accepted {submitted['statuses'].get(201, 0)}, received {received}, "
            f"not settled {received - pending})",
            flush=True,
        )

    workers = max(capacity)
    paced = 0.7 * capacity[workers]
    print(
        f"\n3. Submit to pending moderation at {paced:.1f} reports/min "
        f"(70% of the {workers}-worker capacity), {args.paced_seconds:.0f} s"
    )
    since = now_iso(stack)
    # Paced: one client starting a submit every 60 / paced seconds (a think time that
    # guessed the submit's own duration paced at 108 % of capacity once submits got faster).
    result = drive(stack.web_address, body, content_type, 1, args.paced_seconds,
                   every=60 / paced)  # fmt: skip
    data = settle_data(stack, since, timeout=600)
    times, pending, received = data["times"], int(data["pending"]), int(data["received"])
    errors = errors_in(result) + (received - pending)
    total_errors += errors
    submit_p95 = figure(f"{pct(result['latencies'], 0.95):.2f} s", errors)
    settle = figure(f"p50 {pct(times, 0.5):.1f} s, p95 {pct(times, 0.95):.1f} s", errors)
    achieved = 60 * len(result["latencies"]) / result["seconds"]
    print(f"submitted {result['statuses'].get(201, 0)} ({achieved:.1f} reports/min), "
          f"errors {errors_in(result)}, "
          f"submit p95 {submit_p95}; pending {pending}/{received}; "
          f"submit->pending {settle}  {load()}")  # fmt: skip
    split = data["split"]
    for label, key in (
        ("per report, no item of it running (queue wait)", "wait"),
        ("per report, an item of it running (processing)", "work"),
        ("per photo, quarantined -> processing started", "items_wait"),
        ("per photo, processing", "items_work"),
    ):
        values = split[key]
        print(f"  {label}: p50 {pct(values, 0.5):.1f} s, p95 {pct(values, 0.95):.1f} s")
    stack.stop_workers()

    print(f"\nGoals ({load()})")
    for clients in clients_list:
        print(
            f"  (a) intake throughput / floor at {clients} clients: {ratios[clients]} (goal >= 0.8)"
        )
    print(f"  (b) submit->pending p95 at 70% of capacity: "
          f"{figure(f'{pct(times, 0.95):.1f} s', errors)} (goal < 2 s)")  # fmt: skip
    return total_errors


def worker_ratio(database_url: str) -> None:
    """The fast path's last goal, printed with the others: one worker's photos/s against
    bare sanitize() on the same files (bench/worker_pipeline.py, on a stack of its own)."""
    print("\n4. One worker against bare sanitize() (bench/worker_pipeline.py --files 60)")
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "worker_pipeline.py"), "--files", "60",
         "--database-url", database_url],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    lines = done.stdout.strip().splitlines() or [f"failed: {done.stderr.strip()[-300:]}"]
    for line in lines:
        print(f"  {line}")
    ratio = next((line for line in lines if line.startswith("ratio")), "n/a")
    print(f"  (c) {ratio}", flush=True)


def soak(stack: Stack, args: argparse.Namespace, body: bytes, content_type: str) -> int:
    """Runs the soak; returns the number of errors met."""
    stack.start_workers(args.soak_workers)
    since = now_iso(stack)
    totals: dict[int, int] = {}
    latencies: list[float] = []
    print(f"\nsoak: {args.minutes} min, {args.clients_soak} clients (think {args.think} s), "
          f"{args.soak_workers} workers")  # fmt: skip
    print(f"{'minute':>6} {'rep/min':>8} {'p95 s':>6} {'web MB':>7} {'web fds':>7} "
          f"{'wrk MB':>7} {'wrk fds':>7}")  # fmt: skip
    for minute in range(1, args.minutes + 1):
        result = drive(
            stack.web_address, body, content_type, args.clients_soak, 60, think=args.think
        )
        for status, n in result["statuses"].items():
            totals[status] = totals.get(status, 0) + n
        latencies += result["latencies"]
        web = family_pids(stack.web)
        wrk = [pid for w in stack.workers for pid in family_pids(w)]
        per_min = result["statuses"].get(201, 0) * 60 / result["seconds"]
        p95 = pct(result["latencies"], 0.95)
        errors = errors_in(result)
        figures = f"{per_min:8.1f} {p95:6.2f}" if not errors else f"{'n/a':>8} {'n/a':>6}"
        print(f"{minute:6d} {figures} {rss_mb(web):7.0f} {open_files(web):7d} "
              f"{rss_mb(wrk):7.0f} {open_files(wrk):7d}"
              + (f"  ({errors} errors)" if errors else ""), flush=True)  # fmt: skip
    times, pending, received = settle_times(stack, since, timeout=900)
    accepted = totals.get(201, 0)
    errors = sum(n for s, n in totals.items() if s != 201) + (accepted - pending)
    p95_all = figure(f"{pct(latencies, 0.95):.2f} s", errors)
    settle = figure(f"p50 {pct(times, 0.5):.1f} s p95 {pct(times, 0.95):.1f} s", errors)
    print(f"submitted {sum(totals.values())}, accepted {accepted}, errors "
          f"{sum(n for s, n in totals.items() if s != 201)}, p95 {p95_all}; "
          f"received {received}, pending moderation {pending}, lost {accepted - pending}; "
          f"submit→pending {settle}")  # fmt: skip
    return errors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["rate", "soak"])
    parser.add_argument("--seconds", type=float, default=20, help="rate: each web step")
    parser.add_argument("--backlog-seconds", type=float, default=10)
    parser.add_argument("--paced-seconds", type=float, default=60)
    parser.add_argument("--clients", default="1,2,4")
    parser.add_argument(
        "--web-only",
        action="store_true",
        help="rate: step 1 only (the web side against the floor), to iterate on the intake",
    )
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--clients-soak", type=int, default=2)
    parser.add_argument("--soak-workers", type=int, default=2)
    parser.add_argument("--think", type=float, default=0.0, help="soak: pause between submits")
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/testigo_bench_w7"
    )
    parser.add_argument(
        "--throttle",
        type=int,
        default=BENCH_THROTTLE,
        help="the stack's witness throttles, per hour (all clients are 127.0.0.1)",
    )
    args = parser.parse_args()
    photo = PHOTO.read_bytes()
    body, content_type = body_with_photos(photo)
    var_dir = ROOT / "var" / f"bench-load-{uuid.uuid4().hex[:6]}"
    create_database(args.database_url)
    stack = Stack(args.database_url, var_dir, args.throttle)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        stack.start_redis()
        stack.migrate()
        stack.start_web()
        print(
            f"machine: {os.cpu_count()} CPUs; gunicorn 3 gthread workers (config/gunicorn.py); "
            f"Celery prefork, concurrency 1 per worker process; PostgreSQL and Redis on loopback"
        )
        print(
            f"throttles: TESTIGO_THROTTLE_*_PER_HOUR = "
            f"{args.throttle:,} for this stack (every client is 127.0.0.1)"
        )
        if args.mode == "rate":
            errors = rate(stack, args, body, content_type)
            if not args.web_only:
                worker_ratio(args.database_url + "_worker")
        else:
            errors = soak(stack, args, body, content_type)
    finally:
        stack.stop()
        drop_database(args.database_url)
        subprocess.run(["rm", "-rf", str(var_dir)], check=False)
    if errors:
        raise SystemExit(f"\n{errors} errors: the figures marked n/a are void")


if __name__ == "__main__":
    main()
