"""Errors as JSON with stable codes: {"error": {"code": "...", "message": "..."}}."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was used with a different request."


class IdempotencyKeyInFlight(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_key_in_flight"
    default_detail = "The first request with this Idempotency-Key is still running."


class LinkExpired(exceptions.APIException):
    status_code = status.HTTP_410_GONE
    default_code = "link_expired"
    default_detail = "This download link has expired; list the media again for a new one."


CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ValidationError: "invalid",
    exceptions.ParseError: "parse_error",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


def partner_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    # A partner is never told that something exists but is not theirs: no 403, ever.
    if isinstance(exc, Http404 | DjangoPermissionDenied | exceptions.PermissionDenied):
        exc = exceptions.NotFound()
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    code = CODES.get(type(exc)) or str(exc.default_code)
    error: dict[str, Any] = {"code": code}
    if isinstance(exc, exceptions.ValidationError):
        error["message"] = "The request is not valid; see field_errors."
        error["field_errors"] = exc.detail if isinstance(exc.detail, dict) else {"": exc.detail}
    elif isinstance(exc, exceptions.NotFound):
        error["message"] = "Not found."
    else:
        error["message"] = str(exc.detail)
    response.data = {"error": error}
    return response


class ErrorDetailSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(
        help_text="Stable code: invalid, parse_error, not_authenticated, "
        "authentication_failed, not_found, method_not_allowed, not_acceptable, "
        "unsupported_media_type, throttled, idempotency_key_reused, "
        "idempotency_key_in_flight, link_expired."
    )
    message = serializers.CharField(help_text="For people; may change.")
    field_errors = serializers.DictField(
        required=False, help_text="Validation errors by field (code invalid only)."
    )


class ErrorSerializer(serializers.Serializer[Any]):
    error = ErrorDetailSerializer()


_DESCRIPTIONS = {
    400: "Invalid parameters or body (code invalid or parse_error).",
    401: "No API key, or not a valid one (not_authenticated, authentication_failed).",
    404: "Not found, or not shared with your organisation (not_found).",
    405: "Method not allowed (method_not_allowed).",
    406: "Not acceptable (not_acceptable).",
    409: "The first request with this Idempotency-Key is still running.",
    410: "The download link has expired (link_expired).",
    415: "Unsupported media type (unsupported_media_type).",
    422: "The Idempotency-Key was used with a different request (idempotency_key_reused).",
    429: "Too many requests for this key (throttled); see Retry-After.",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    return {
        code: OpenApiResponse(response=ErrorSerializer, description=_DESCRIPTIONS[code])
        for code in codes
    }
