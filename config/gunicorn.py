"""gunicorn's configuration, the one used wherever gunicorn starts: ``bin/serve`` (through
``manage.py serve``), the Docker image and docker-compose, the tests and the benches.

    gunicorn -c config/gunicorn.py --bind HOST:PORT

Witnesses send from phones on congested uplinks, so a request body may take minutes to
arrive (promise 9). Measured in docs/operations.md ("Web server"); in short:

- Threaded workers (gthread). A slow body holds one thread, not a whole process, and
  gthread's heartbeat runs in the worker's main loop, so ``timeout`` never cuts a request
  that is still moving: with the default sync workers it killed every upload longer than
  30 s, and two clients dripping a body one byte at a time starved ``GET /``.
- Idle limits only: a connection that sends nothing for ``IDLE_TIMEOUT_S`` is dropped (a
  phone that left the network without closing), one that keeps moving is never cut. The
  reverse proxy in deploy/ holds the same rule with shorter limits, so it decides first.
- No control socket: its default path is one per user, so a second gunicorn on the host
  (tests, benches, a second checkout) collided with the first.
- No access log: it would record witnesses' addresses (promise 4).

Sizes come from the environment (``TESTIGO_WEB_WORKERS``, ``TESTIGO_WEB_THREADS``). Web
threads give their database connection back after each request (see ``post_request``):
to their worker's pool with PostgreSQL (config/database.py), which keeps them open for
the next request. A worker holds at most one connection per thread, so the defaults stay
under PostgreSQL's default 100 with room for Celery.
"""

from __future__ import annotations

import os
from typing import Any

# Seconds a request may go without receiving a byte of its body before it is dropped.
IDLE_TIMEOUT_S = 120


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"{name} must be a whole number of at least 1, not {raw!r}")
    return int(raw)


wsgi_app = "config.wsgi:application"
bind = ["127.0.0.1:8000"]
worker_class = "gthread"
workers = _positive_int("TESTIGO_WEB_WORKERS", 2)
# Each slow upload holds a thread for as long as it takes; a thread waiting on a socket
# costs ~100 kB of memory and no CPU.
# The same default as config/database.py's WEB_THREADS, the pool's size (a test checks):
# this file imports nothing of the project, since gunicorn reads it before the project's
# folder is on its path.
threads = _positive_int("TESTIGO_WEB_THREADS", 40)
# A worker accepts a connection only while it has a thread free for it: a request accepted
# by a worker whose threads all hold slow uploads would wait behind them (measured: 30 s
# stalls of GET / with 50 drippers when one worker took more than its share) while the
# other worker idled. Connections beyond all threads wait in the listen backlog instead.
worker_connections = threads
# So no connection is kept open idle between requests (it would take a thread's place):
# keep-alive to phones is the reverse proxy's job (deploy/nginx.conf).
keepalive = 0
# gthread's heartbeat, not a limit on a request: the main loop notifies while threads work.
timeout = 60
graceful_timeout = 30
control_socket_disable = True
accesslog = None
# The proxy in front (deploy/nginx.conf) has already checked these; directly facing
# clients (bin/serve) they bound what one request may hold.
limit_request_line = 8190
limit_request_fields = 100


def pre_request(worker: Any, req: Any) -> None:
    """An idle limit on the body, never a total one: each ``recv`` may wait at most
    ``IDLE_TIMEOUT_S`` (gthread leaves the socket blocking without a limit)."""
    sock = getattr(req.unreader, "sock", None)
    if sock is not None:
        sock.settimeout(IDLE_TIMEOUT_S)


def post_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    """A thread keeps no database connection between requests: with dozens of threads
    per worker, persistent connections would exhaust PostgreSQL's connection slots while
    most threads wait on slow clients. With PostgreSQL, closing puts the connection back
    in the worker's pool, open, for the next request (config/database.py)."""
    from django.db import connections

    connections.close_all()
