"""PostgreSQL connections come from a pool per process (config/database.py): a web
request takes one, gives it back when gunicorn's ``post_request`` closes it, and the next
request takes it again instead of starting a new server backend."""

from __future__ import annotations

from typing import Any

import pytest
from celery.signals import worker_init
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections
from django.test import Client

from config import gunicorn
from config.database import CONN_MAX_AGE_S, WEB_THREADS, database_pool, database_pool_off
from tests.factories.processes import multipart

API = "/api/v1/intake/reports/"


@pytest.mark.django_db(transaction=True)
def test_web_requests_reuse_pooled_connections_after_post_request() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the pool is PostgreSQL's")
    backends: list[int] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        backends.append(connection.connection.info.backend_pid)
        return execute(sql, params, many, context)

    body, content_type = multipart({"description": "Agents at the bus stop."}, [])

    def submit() -> None:
        response = Client().generic("POST", API, body, content_type=content_type)
        assert response.status_code == 201, response.content
        gunicorn.post_request(None, None, None, None)  # as after every real request

    submit()  # the pool opens (it may open a connection more while it fills)
    pool = getattr(connection, "pool", None)  # PostgreSQL's backend has one
    opened = pool.get_stats()["connections_num"] if pool is not None else 0
    requests = 6
    with connection.execute_wrapper(record):
        for _ in range(requests):
            submit()

    # Each request ran on a connection the pool kept open, round robin; without a pool
    # each one started a backend of its own.
    assert len(backends) > requests
    assert len(set(backends)) < requests
    assert pool is not None
    assert pool.get_stats()["connections_num"] - opened == 0


def test_database_pool_options_and_refusals() -> None:
    assert database_pool(max_size=0, web_threads=40, conn_max_age=60) is None
    assert database_pool(max_size=40, web_threads=40, conn_max_age=0) == {
        "min_size": 2,
        "max_size": 40,
        "timeout": 10,
    }
    assert database_pool(max_size=1, web_threads=1, conn_max_age=0) == {
        "min_size": 1,
        "max_size": 1,
        "timeout": 10,
    }
    with pytest.raises(ImproperlyConfigured, match="DATABASE_POOL_MAX_SIZE=-1"):
        database_pool(max_size=-1, web_threads=40, conn_max_age=0)
    with pytest.raises(ImproperlyConfigured, match="DATABASE_CONN_MAX_AGE cannot be used"):
        database_pool(max_size=40, web_threads=40, conn_max_age=60)


def test_database_pool_smaller_than_the_web_threads_is_refused() -> None:
    # Ten threads holding connections while slow phones send their bodies would make every
    # other request of the process wait, then fail: a pool never has fewer than threads.
    with pytest.raises(
        ImproperlyConfigured,
        match=r"DATABASE_POOL_MAX_SIZE=10 must be 0 .* at least TESTIGO_WEB_THREADS=40",
    ):
        database_pool(max_size=10, web_threads=40, conn_max_age=0)


def test_database_pool_default_size_is_gunicorns_thread_count() -> None:
    assert gunicorn.threads == WEB_THREADS
    if connection.vendor == "postgresql":
        assert connections.settings["default"]["OPTIONS"]["pool"]["max_size"] == WEB_THREADS


def test_celery_worker_turns_the_pool_off_before_forking() -> None:
    options = connections.settings["default"].setdefault("OPTIONS", {})
    saved = options.get("pool")
    options["pool"] = {"min_size": 2, "max_size": 10, "timeout": 10}
    saved_max_age = connections.settings["default"]["CONN_MAX_AGE"]
    connections.settings["default"]["CONN_MAX_AGE"] = 0
    try:
        # Celery's fixup would close a prefork child's pool before and after each task.
        # `celery -A config` loads config/celery.py, which connects it.
        import config.celery  # noqa: F401

        assert database_pool_off in [receiver for _, receiver in worker_init.receivers]
        database_pool_off()
        assert "pool" not in connections["default"].settings_dict["OPTIONS"]
        # Without a pool, a worker keeps its connection from one task to the next.
        assert connections["default"].settings_dict["CONN_MAX_AGE"] == CONN_MAX_AGE_S
    finally:
        connections.settings["default"]["CONN_MAX_AGE"] = saved_max_age
        if saved is not None:
            options["pool"] = saved
        else:
            options.pop("pool", None)
