"""The throttle and the byte budgets cost one cache round trip per check, share one
Redis connection pool per process, and still count exactly under concurrency
(config/redis_cache.py, config/cache.py)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache, caches
from django.test import Client

from config.cache import counter_add
from tests.factories.processes import multipart

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_throttle")]
API = "/api/v1/intake/reports/"
END = "intake-test-monitor-end"


def _redis_commands(action: Any) -> list[str]:
    """The commands this test's Redis database received while ``action()`` ran (Redis's
    MONITOR, kept to this database; what a Lua script runs inside is not a round trip)."""
    import redis

    url = settings.REDIS_URL
    db = str(redis.Redis.from_url(url).connection_pool.connection_kwargs.get("db", 0))
    seen: list[str] = []
    ready = threading.Event()
    ender = redis.Redis.from_url(url)
    ender.ping()  # connected (and its database selected) before anything is watched

    def watch() -> None:
        with redis.Redis.from_url(url).monitor() as monitor:  # type: ignore[no-untyped-call]
            ready.set()
            while True:
                command = monitor.next_command()
                if END in command["command"]:
                    return
                if command["db"] == int(db) and command["client_type"] != "lua":
                    seen.append(command["command"].split()[0].upper())

    watcher = threading.Thread(target=watch)
    watcher.start()
    ready.wait(10)
    try:
        action()
    finally:
        ender.echo(END)
        watcher.join(30)
    return seen


def test_api_submit_of_three_photos_sends_five_redis_commands(gps_jpeg: bytes) -> None:
    if not settings.REDIS_URL:
        pytest.skip("counts Redis commands")
    body, content_type = multipart(
        {"description": "Three photos."}, [("media", f"{n}.jpg", gps_jpeg) for n in range(3)]
    )

    def submit() -> None:
        response = Client().generic("POST", API, body, content_type=content_type)
        assert response.status_code == 201, response.content

    submit()  # the day's secret and the counters exist; the server knows the script
    commands = _redis_commands(submit)

    # The day's secret (stored unless there, and read: one SET), the report throttle (one
    # script), one byte-budget check per photo (one script each). Publishing runs after
    # the commit, which this test's transaction never makes.
    assert commands == ["SET", "EVALSHA", "EVALSHA", "EVALSHA", "EVALSHA"]


def test_threads_of_a_process_share_one_redis_client() -> None:
    if not settings.REDIS_URL:
        pytest.skip("the Redis cache's pool")
    clients: list[Any] = []

    def take() -> None:
        clients.append(caches["default"]._cache.get_client(write=True))  # type: ignore[attr-defined]

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    take()

    # Django's own cache makes a cache, a pool and its connections per thread.
    assert len({id(c) for c in clients}) == 1
    assert len({id(c.connection_pool) for c in clients}) == 1


def test_byte_budget_counter_holds_its_limit_under_concurrent_checks() -> None:
    key = "budget:bytes:test-client:1"
    results: list[int] = []
    start = threading.Barrier(20)

    def reserve() -> None:
        start.wait()
        results.append(counter_add(key, amount=10, timeout=3600, undo_over=100))

    threads = [threading.Thread(target=reserve) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Ten fit, ten are refused and taken back: the total is the limit, never past it.
    assert len([total for total in results if total <= 100]) == 10
    assert cache.get(key) == 100
