"""PostgreSQL connections: one pool per process (Django's own pool, psycopg_pool).

A web thread gives its connection back after every request (config/gunicorn.py
``post_request``), so that dozens of threads waiting on slow phones hold none. Without a
pool, giving it back closed it, and the next request started a new PostgreSQL backend (a
process forked and authenticated by the server: about 13 ms a request measured at load 12,
docs/operations.md "Capacity"). With the pool, closing puts the connection back and the
next request takes it again.

- Size: as many connections as the process has web threads (``TESTIGO_WEB_THREADS``), the
  most its threads can hold at once, since a thread holds one at most. A smaller pool is
  refused: a thread would wait for a connection that another thread holds while it reads
  a slow phone's body, so a few slow uploads would fail other witnesses' requests
  (promise 12). PostgreSQL then sees what it saw before the pool (each thread one
  connection at most), and the pool closes connections left idle. ``POOL_TIMEOUT_S``
  is only reached when PostgreSQL cannot be reached.
- Health: a connection is checked (an empty query) each time it is taken, so one that
  PostgreSQL killed or lost in a restart is dropped and replaced, not handed to a request
  (tests/faults/test_database.py).
- Fork: a pool is never shared by two processes. gunicorn loads the application in each
  worker after forking it (no ``preload_app``), so each worker makes its own on its first
  query. Celery's Django fixup closes a prefork worker's pool before and after every task
  (so a child never uses its parent's), which would make a new pool, threads and
  connections for every task; a prefork child runs one task at a time and needs one
  connection, so Celery processes connect without a pool (``database_pool_off``,
  config/celery.py).
- Celery processes keep their connection from task to task. Celery's fixup would close it
  after every task (Celery 5.6 on: ``close()``, whatever CONN_MAX_AGE says), so that each
  task started a new PostgreSQL backend: 2.8 ms to connect and 2-3 ms more on its first
  query (cold caches), about 5.5 ms a task (docs/operations.md "Capacity (measured)").
  CELERY_DB_REUSE_MAX makes the fixup close only every that many tasks; at each task's
  start, Django's close_old_connections does what it does at each request (drops a
  connection past CONN_MAX_AGE, 60 s here, or after an error) and arms the health check
  (conn_health_checks, config/settings.py), so one that PostgreSQL dropped between tasks
  is replaced before the task uses it, also when its first query is in a transaction.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

# gunicorn's threads per worker (config/gunicorn.py), and so the pool's default size.
WEB_THREADS = 40
# Celery processes connect without a pool and keep their connection between tasks, as
# every process did before the pool (seconds; DATABASE_CONN_MAX_AGE's default).
CONN_MAX_AGE_S = 60
# Kept open while idle: the connections of one request at a time, and one more.
POOL_MIN_SIZE = 2
# A thread waits this long for a free connection before its request fails.
POOL_TIMEOUT_S = 10


def database_pool(*, max_size: int, web_threads: int, conn_max_age: int) -> dict[str, Any] | None:
    """The pool's options for ``DATABASES[...]["OPTIONS"]["pool"]``, or None for no pool
    (``max_size`` 0)."""
    if max_size == 0:
        return None
    if max_size < web_threads:
        raise ImproperlyConfigured(
            f"DATABASE_POOL_MAX_SIZE={max_size} must be 0 (no pool) or at least "
            f"TESTIGO_WEB_THREADS={web_threads}: with fewer, a request waits for a "
            "connection held by another thread's slow upload"
        )
    if conn_max_age != 0:
        # Django refuses both; say which variables to change.
        raise ImproperlyConfigured(
            "DATABASE_CONN_MAX_AGE cannot be used with the connection pool: "
            "unset it, or set DATABASE_POOL_MAX_SIZE=0"
        )
    return {
        "min_size": min(POOL_MIN_SIZE, max_size),
        "max_size": max_size,
        "timeout": POOL_TIMEOUT_S,
    }


def database_pool_off(**_: object) -> None:
    """This process, and every process it forks from now on, connects without a pool and
    keeps its connection between tasks (a Celery worker, before it forks its children: see
    the module's docstring)."""
    from django.db import connections

    for alias in connections:
        # The same dict the connection reads these from, on first use.
        settings_dict = connections.settings[alias]
        if settings_dict.get("OPTIONS", {}).pop("pool", None) is not None:
            settings_dict["CONN_MAX_AGE"] = CONN_MAX_AGE_S


def database_connections_check(sender: Any = None, **_: object) -> None:
    """At a task's start (Celery's task_prerun), what Django does at a request's: drop a
    connection past CONN_MAX_AGE or after an error, and have the kept one checked before
    its first use (conn_health_checks: at the first cursor, or on entering the outermost
    ``transaction.atomic()``, before its transaction begins). Not for a task run in its
    caller's process and transaction (``Task.apply``), whose connection is the caller's."""
    from django.db import close_old_connections

    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    close_old_connections()
