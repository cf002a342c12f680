"""Every refusal a service raises is a ServiceError with a stable code and an HTTP status,
the two attributes the API's error responses are built from."""

from __future__ import annotations

import re

from intake.resumable import UploadRefused
from reports.services import errors


def _refusals() -> list[type[Exception]]:
    return [
        value
        for value in vars(errors).values()
        if isinstance(value, type)
        and issubclass(value, Exception)
        and value.__module__ == errors.__name__
    ]


def test_every_service_exception_is_a_service_error_with_code_and_status() -> None:
    refusals = _refusals()
    assert len(refusals) >= 8
    for refusal in refusals:
        assert issubclass(refusal, errors.ServiceError), refusal
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", refusal.code), refusal
        assert 400 <= refusal.status < 500, refusal


def test_service_error_codes_are_unique() -> None:
    codes = [getattr(refusal, "code", None) for refusal in _refusals()]
    assert len(codes) == len(set(codes))


def test_conflicts_and_reused_keys_map_to_their_statuses() -> None:
    assert errors.ReportLocked.status == 409
    assert errors.InvalidTransition.status == 409
    assert errors.IdempotencyKeyInFlight.status == 409
    assert errors.IdempotencyKeyReused.status == 422


def test_a_refused_upload_is_a_service_error_too() -> None:
    assert issubclass(UploadRefused, errors.ServiceError)
    assert UploadRefused.code not in {getattr(refusal, "code", None) for refusal in _refusals()}
    assert UploadRefused("too_large").reason == "too_large"
