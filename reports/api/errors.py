"""Errors of the DRF views (partner and intake API) as problem details (reports.problems):
the exception handler, the partner API's own exceptions, and their place in the schema."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import Direction, OpenApiResponse, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler, set_rollback

from reports.problems import PROBLEM_CONTENT_TYPE, problem
from reports.services import ServiceError

NOT_FOUND = "Not found."
INVALID = "The request is not valid; see errors."


class LinkExpired(exceptions.APIException):
    status_code = status.HTTP_410_GONE
    default_code = "link_expired"
    default_detail = "This download link has expired; list the media again for a new one."


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """REST_FRAMEWORK's EXCEPTION_HANDLER. Anything else (a bug) is left to Django's
    handler500, which answers a problem too under /api/."""
    if isinstance(exc, ServiceError):
        # A refused state change names its own status and code (reports.services.errors).
        set_rollback()
        body = problem(
            status=exc.status, code=exc.code, detail=str(exc) or HTTPStatus(exc.status).phrase
        )
        return Response(body, status=exc.status, content_type=PROBLEM_CONTENT_TYPE)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    # DRF's own handler sets WWW-Authenticate and Retry-After and rolls the request back.
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    errors = None
    if isinstance(exc, exceptions.ValidationError):
        detail, errors = INVALID, _field_errors(exc.detail)
    elif isinstance(exc, exceptions.NotFound):
        detail = NOT_FOUND
    else:
        detail = " ".join(_messages(exc.detail))
    response.data = problem(
        status=response.status_code, code=str(exc.default_code), detail=detail, errors=errors
    )
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def partner_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    # A partner is never told that something exists but is not theirs: no 403, ever.
    response = problem_exception_handler(exc, context)
    if response is not None and response.status_code == status.HTTP_403_FORBIDDEN:
        return problem_exception_handler(exceptions.NotFound(), context)
    return response


def _field_errors(detail: Any) -> dict[str, list[str]]:
    if not isinstance(detail, dict):
        return {api_settings.NON_FIELD_ERRORS_KEY: _messages(detail)}
    return {str(field): _messages(value) for field, value in detail.items()}


def _messages(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [f"{key}: {message}" for key, item in value.items() for message in _messages(item)]
    if isinstance(value, list):
        return [message for item in value for message in _messages(item)]
    return [str(value)]


# --- In the schema ----------------------------------------------------------------------


# A field named `errors` cannot be declared on a Serializer class (it is a property there).
PROBLEM = inline_serializer(
    name="Problem",
    fields={
        "type": serializers.URLField(
            help_text="https://testigo.invalid/problems/<code>: an identifier, never fetched."
        ),
        "title": serializers.CharField(help_text="The HTTP status phrase."),
        "status": serializers.IntegerField(help_text="The HTTP status code."),
        "detail": serializers.CharField(
            help_text="For people; may change, and is translated on the witness side."
        ),
        "code": serializers.CharField(
            help_text="Stable: invalid, parse_error, not_authenticated, authentication_failed, "
            "not_found, method_not_allowed, not_acceptable, unsupported_media_type, throttled, "
            "too_large, idempotency_key_reused, idempotency_key_in_flight, link_expired, "
            "service_unavailable, server_error, or the code of a refused state change."
        ),
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            required=False,
            help_text="Validation messages by field (code invalid only).",
        ),
    },
)


_DESCRIPTIONS = {
    400: "Invalid parameters or body (invalid, with errors by field; parse_error).",
    401: "No API key, or not a valid one (not_authenticated, authentication_failed).",
    404: "Not found, or not shared with your organisation (not_found).",
    409: "The first request with this Idempotency-Key is still running "
    "(idempotency_key_in_flight), or the change conflicts with the report's state.",
    410: "The download link has expired (link_expired).",
    413: "The request body is larger than accepted (too_large).",
    415: "Unsupported media type (unsupported_media_type).",
    422: "The Idempotency-Key was used with a different request (idempotency_key_reused).",
    429: "Too many requests for this key (throttled); see Retry-After.",
    503: "The database cannot be reached for a moment (service_unavailable); see Retry-After.",
}


def problem_doc(code: int, description: str | None = None) -> dict[Any, OpenApiResponse]:
    """One problem+json response for extend_schema(responses=...)."""
    response = OpenApiResponse(PROBLEM, description=description or _DESCRIPTIONS[code])
    return {(code, PROBLEM_CONTENT_TYPE): response}


def problem_responses(*codes: int) -> dict[Any, OpenApiResponse]:
    return {key: value for code in codes for key, value in problem_doc(code).items()}


class ProblemAutoSchema(AutoSchema):
    """Every operation also documents 503: a lost database answers it on any route
    (intake.middleware)."""

    def _get_response_bodies(self, direction: Direction = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        if "503" not in responses:
            schema = self.resolve_serializer(PROBLEM, direction).ref
            responses["503"] = {
                "description": _DESCRIPTIONS[503],
                "content": {PROBLEM_CONTENT_TYPE: {"schema": schema}},
            }
        return responses
