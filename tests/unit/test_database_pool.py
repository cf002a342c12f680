"""PostgreSQL connections come from a pool per process (config/database.py): a web
request takes one, gives it back when gunicorn's ``post_request`` closes it, and the next
request takes it again instead of starting a new server backend."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from celery.fixups.django import DjangoWorkerFixup  # type: ignore[attr-defined]  # not in celery-types
from celery.signals import (
    beat_embedded_init,
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_init,
)
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections, transaction
from django.test import Client

from config import gunicorn
from config.celery import app as celery_app
from config.database import CONN_MAX_AGE_S, WEB_THREADS, database_pool, database_pool_off
from intake.tasks import sweep_quarantine
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


@pytest.fixture
def worker_connection() -> Iterator[None]:
    """This process's connection as a Celery worker's (database_pool_off), with Celery's
    Django fixup installed as `celery -A config worker` installs it."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's backends")
    connection.close()
    saved = copy.deepcopy(connections.settings["default"])
    database_pool_off()
    fixup = DjangoWorkerFixup(celery_app).install()
    try:
        yield
    finally:
        task_prerun.disconnect(fixup.on_task_prerun)
        task_postrun.disconnect(fixup.on_task_postrun)
        worker_process_init.disconnect(fixup.on_worker_process_init)
        beat_embedded_init.disconnect(fixup.close_database)
        connection.close()
        connections.settings["default"].clear()
        connections.settings["default"].update(saved)


def _task_backend(*, in_transaction: bool = False) -> int:
    """Run one task as a worker does, between its signals; the backend it queried (its
    first query inside ``transaction.atomic()`` when ``in_transaction``)."""
    task = sweep_quarantine
    task_prerun.send(sender=task, task_id="t", task=task, args=(), kwargs={})
    atomic = transaction.atomic() if in_transaction else contextlib.nullcontext()
    with atomic, connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend: int = cursor.fetchone()[0]
    task_postrun.send(
        sender=task, task_id="t", task=task, args=(), kwargs={}, retval=None, state="SUCCESS"
    )
    return backend


@pytest.mark.django_db(transaction=True)
def test_celery_worker_keeps_its_database_connection_from_task_to_task(
    worker_connection: None,
) -> None:
    # The fixup alone closes it after every task: a new server backend each time.
    assert len({_task_backend() for _ in range(3)}) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("in_transaction", [False, True])
def test_celery_worker_replaces_a_database_connection_dropped_between_tasks(
    worker_connection: None, in_transaction: bool
) -> None:
    first = _task_backend()
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"] or "localhost",
        port=int(db["PORT"] or 5432),
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [first])
    # A PostgreSQL restart between tasks: the next task still runs, on a new backend, also
    # when its first query is in a transaction (where Django cannot replace a dead one).
    assert _task_backend(in_transaction=in_transaction) != first
