"""A lost database connection is a temporary outage, not a bug: say so, in the witness's
language, with 503 and Retry-After, instead of a bare 500: a problem document under /api/
and /tus/ (reports.problems), a page elsewhere."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from reports.problems import is_problem_path, problem_response

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 30


def unavailable_message() -> str:
    return _(
        "We could not save this right now. Nothing you sent was kept; please try again in a minute."
    )


class DatabaseUnavailableMiddleware:
    """A lost database connection is a temporary outage, not a bug: say so, in the
    witness's language, with 503 and Retry-After, instead of a bare 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        # The exception's class only: its text may quote the statement and its values.
        logger.warning("database unavailable during a request: %s", type(exception).__name__)
        response: HttpResponse
        if is_problem_path(request):
            response = problem_response(
                status=503, code="service_unavailable", detail=unavailable_message()
            )
        else:
            response = render(request, "intake/unavailable.html", status=503)
        response["Retry-After"] = str(RETRY_AFTER_S)
        response["Cache-Control"] = "no-store"
        return response
