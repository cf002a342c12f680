"""Redis stopped or frozen while witnesses submit: every submit answers in time, nothing
is lost, the sweeper finishes the work once Redis is back (promise 7)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from reports.models import MediaItem, MediaStatus, Moderation, Report
from tests.factories import jpeg_with_gps
from tests.faults.conftest import Processes, api_submit, pool_children, thread_count

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

SUBMIT_BUDGET_S = 5.0
SWEEP_INTERVAL_S = 15
WARM = 6


def _warm(address: str, photo: bytes) -> None:
    """Submit once per client thread while Redis is up: the budget is for a running
    server, not for its workers' first imports."""
    with ThreadPoolExecutor(max_workers=WARM) as pool:
        warm = list(pool.map(lambda n: api_submit(address, f"Warm {n}.", [photo]), range(WARM)))
    assert [r.status for r in warm] == [201] * WARM


def test_submits_answer_in_time_and_are_all_processed_when_redis_was_stopped(
    processes: Processes, wait_for: Callable[..., Any]
) -> None:
    address = processes.gunicorn(workers=3)
    photo = jpeg_with_gps(size=(16, 12))
    _warm(address, photo)
    processes.redis.stop()

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(
            pool.map(lambda n: api_submit(address, f"Report {n} while Redis is down.", [photo]),
                     range(100))
        )  # fmt: skip

    assert [r.status for r in results] == [201] * 100
    assert max(r.seconds for r in results) < SUBMIT_BUDGET_S
    assert Report.objects.count() == 100 + WARM
    assert MediaItem.objects.filter(status=MediaStatus.QUARANTINED).count() == 100 + WARM

    processes.redis.start()
    back = time.monotonic()
    processes.worker(
        concurrency=2,
        beat=True,
        TESTIGO_SWEEP_INTERVAL_S=str(SWEEP_INTERVAL_S),
        TESTIGO_SWEEP_AFTER_S="1",
    )
    # One sweep interval to re-queue everything, then the time two processes need for 100
    # tiny photos.
    wait_for(
        lambda: Report.objects.filter(moderation=Moderation.PENDING).count() == 100 + WARM,
        timeout=SWEEP_INTERVAL_S + 120,
        interval=1,
    )
    finished = time.monotonic() - back
    assert MediaItem.objects.filter(status=MediaStatus.CLEAN).count() == 100 + WARM
    print(f"\n100 reports submitted with Redis down: slowest submit "
          f"{max(r.seconds for r in results):.2f} s; all clean {finished:.0f} s after Redis "
          "returned")  # fmt: skip


def test_submits_answer_in_time_and_leave_no_stuck_threads_when_redis_is_frozen(
    processes: Processes,
) -> None:
    address = processes.gunicorn(workers=2)
    photo = jpeg_with_gps(size=(16, 12))
    # Warm every worker's broker connection, so the freeze hits established connections.
    _warm(address, photo)
    workers = pool_children(processes.started[-1])
    threads_before = {pid: thread_count(pid) for pid in workers}

    processes.redis.freeze()
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            frozen = list(
                pool.map(lambda n: api_submit(address, f"Frozen {n}.", [photo, photo, photo]),
                         range(12))
            )  # fmt: skip
    finally:
        processes.redis.thaw()

    assert [r.status for r in frozen] == [201] * 12
    assert max(r.seconds for r in frozen) < SUBMIT_BUDGET_S
    # gthread workers start pool threads on demand, at most one per request in flight: the
    # 4 concurrent clients may add up to 4; a thread stuck on the frozen broker would hold
    # its request's thread and push the count past that (12 requests).
    threads_after = {pid: thread_count(pid) for pid in workers}
    assert all(
        threads_before[pid] <= threads_after[pid] <= threads_before[pid] + 4 for pid in workers
    ), (threads_before, threads_after)
    assert Report.objects.count() == WARM + 12
    assert MediaItem.objects.count() == WARM + 36
    # After the thaw (and the publish pause), submits publish again.
    time.sleep(11)
    processes.redis.command("DEL", "media_small")
    after = api_submit(address, "After the thaw.", [photo])
    assert after.status == 201
    assert after.seconds < SUBMIT_BUDGET_S
    assert processes.redis.command("LLEN", "media_small").strip() != b":0"
