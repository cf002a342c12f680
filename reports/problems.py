"""The one error shape under /api/ and /tus/: RFC 9457 problem details.

    {"type": "https://testigo.invalid/problems/not_found", "title": "Not Found",
     "status": 404, "detail": "Not found.", "code": "not_found"}

served as ``application/problem+json``, with ``errors`` ({field: [messages]}) when fields
were invalid. ``code`` is stable and ``type`` is made from it: an identifier under a
reserved domain, never fetched. ``detail`` is for people; on the witness side it is in the
witness's language. DRF views reach this through reports.api.errors; tus views and the
outage middleware call ``problem_response``; Django's own 400/404/500 handlers below make
a URL no view matches, or a crash, answer the same shape there and the usual pages elsewhere.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://testigo.invalid/problems/"
PROBLEM_PATHS = ("/api/", "/tus/")


def problem(
    *,
    status: int,
    code: str,
    detail: str,
    title: str | None = None,
    errors: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors is not None:
        body["errors"] = errors
    return body


def problem_response(
    *,
    status: int,
    code: str,
    detail: str,
    title: str | None = None,
    errors: dict[str, list[str]] | None = None,
) -> HttpResponse:
    body = problem(status=status, code=code, detail=detail, title=title, errors=errors)
    return JsonResponse(
        body,
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
        json_dumps_params={"ensure_ascii": False},
    )


def is_problem_path(request: HttpRequest) -> bool:
    return request.path_info.startswith(PROBLEM_PATHS)


# Django's error handlers (config/urls.py). Only what no view answered reaches them. The
# detail is in the language LocaleMiddleware chose: the witness's, on the witness side.


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not is_problem_path(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return problem_response(
            status=413, code="too_large", detail=_("The request body is larger than accepted.")
        )
    return problem_response(
        status=400, code="bad_request", detail=_("The request could not be understood.")
    )


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not is_problem_path(request):
        return defaults.page_not_found(request, exception)
    return problem_response(status=404, code="not_found", detail=_("Not found."))


def server_error(request: HttpRequest) -> HttpResponse:
    if not is_problem_path(request):
        return defaults.server_error(request)
    return problem_response(
        status=500, code="server_error", detail=_("Something went wrong on our side.")
    )
