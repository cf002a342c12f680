"""No log line holds an upload key or a receipt code (issue 14, "Upload capability URLs
appear in Django's request warnings and gunicorn's error lines"). The whole flow against a
real gunicorn and worker is in tests/hostile/test_wire.py."""

from __future__ import annotations

import io
import logging

import pytest
from django.test import Client

from config.logging_filters import GUNICORN_LOGGERS, RedactCapabilities, gunicorn_logs_redact

KEY = "q0Zk3_Xy-8fTnVb2LmA9sQpR4uW6yE1cD7hJ5gK2oI0"
CODE = "7KQM-2XWB-9HTP-4NDF-RC3V"
UUID = "0f6c2d0e-5b1a-4f7e-9d3c-2a8b7e6f1c4d"


def _logged(
    logger_name: str, *args: object, exc: BaseException | None = None, filtered: bool = True
) -> str:
    """What one record looks like through a handler (with the filter, unless the logger
    is to bring its own)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    if filtered:
        handler.addFilter(RedactCapabilities())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    try:
        if exc is None:
            logger.warning(*args)
        else:
            try:
                raise exc
            except type(exc):
                logger.exception(*args)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("Not Found: %s", f"/tus/{KEY}/"), "Not Found: /tus/[redacted]/"),
        (("%s %s", "PATCH", f"/tus/{KEY}/"), "PATCH /tus/[redacted]/"),
        ((f"Location: http://testigo.example.org/tus/{KEY}/",), "/tus/[redacted]/"),
        (("GET /follow-up/?code=%s HTTP/1.1", CODE), "/follow-up/?code=[redacted] HTTP/1.1"),
        (("code %s", CODE.lower().replace("-", "")), "code [redacted]"),
        # Not capabilities: left alone.
        (("POST /tus/ HTTP/1.1 201",), "POST /tus/ HTTP/1.1 201"),
        (("item %s", UUID), UUID),
    ],
)
def test_capabilities_are_redacted_from_messages(args: tuple[object, ...], expected: str) -> None:
    line = _logged("django.request", *args)
    assert expected in line
    assert KEY not in line
    assert CODE not in line.upper().replace("-", "") and CODE not in line


def test_capabilities_are_redacted_from_tracebacks() -> None:
    line = _logged("intake", "upload failed", exc=OSError(f"cannot open /tus/{KEY}/ for {CODE}"))
    assert "OSError: cannot open /tus/[redacted]/ for [redacted]" in line
    assert KEY not in line
    assert CODE not in line


@pytest.mark.django_db
def test_every_record_through_django_logging_is_redacted() -> None:
    # The handler of LOGGING's root logger carries the filter: every propagating record
    # (django.request, django.server, celery, the project's own) passes through it.
    console = next(
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(f, RedactCapabilities) for f in handler.filters)
    )
    assert isinstance(console, logging.StreamHandler)
    buffer = io.StringIO()
    previous = console.setStream(buffer)
    try:
        response = Client().get(f"/tus/{KEY}/?code={CODE}", headers={"tus-resumable": "1.0.0"})
    finally:
        console.setStream(previous)
    assert response.status_code == 404
    assert "Not Found: /tus/[redacted]/" in buffer.getvalue()
    assert KEY not in buffer.getvalue()
    assert CODE not in buffer.getvalue()


def test_gunicorn_loggers_get_the_filter_once() -> None:
    gunicorn_logs_redact()
    gunicorn_logs_redact()  # config.wsgi may be imported again: still one filter
    for name in GUNICORN_LOGGERS:
        filters = logging.getLogger(name).filters
        assert sum(isinstance(f, RedactCapabilities) for f in filters) == 1
    line = _logged("gunicorn.error", "Error handling request %s", f"/tus/{KEY}/", filtered=False)
    assert "Error handling request /tus/[redacted]/" in line
