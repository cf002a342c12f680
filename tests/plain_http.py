"""Loaded by pytest before Django's settings (``-p tests.plain_http`` in pyproject.toml).

The tests talk plain HTTP on loopback, as ``manage.py serve`` on 127.0.0.1 does, so they
turn HTTPS enforcement off explicitly, for this process and every server it starts. The
production side (secure cookies, HSTS, a clean ``check --deploy``) is tested with its own
environment in tests/unit/test_deployment.py.
"""

from __future__ import annotations

import os

os.environ.setdefault("TESTIGO_HTTPS", "0")
