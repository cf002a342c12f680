"""A request id on every log line, and log lines as JSON when TESTIGO_LOG_JSON is on.

Each request gets an id (a trusted proxy's ``X-Request-ID`` when it sent one, else a
fresh one), returned in the response's ``X-Request-ID`` so an operator can find a
request's lines. The JSON formatter writes a fixed set of fields: time, level, logger,
message, request id and the (redacted, config/logging_filters.py) traceback. Never a
record's other attributes: Django's request logger attaches the whole request, whose
headers hold the client's address and user agent (promise 4).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse

from config.proxies import peer_is_trusted_proxy

_request_id: ContextVar[str] = ContextVar("testigo_request_id", default="")
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9-]{8,64}")


def request_id_current() -> str:
    return _request_id.get()


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = str(request.META.get("HTTP_X_REQUEST_ID", ""))
        trusted = _ACCEPTED_ID.fullmatch(given) and peer_is_trusted_proxy(request)
        request_id = given if trusted else uuid.uuid4().hex
        # Also on the request: Django logs "Not Found" and errors after the middleware
        # chain has returned, with the request on the record.
        request.testigo_request_id = request_id  # type: ignore[attr-defined]
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = _request_id.get()
            return response
        finally:
            _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Puts the current request's id (empty outside a request) on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        record.request_id = getattr(request, "testigo_request_id", "") or _request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", ""),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)
