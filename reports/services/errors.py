"""Why a service refuses: one exception per kind of refusal, all under ServiceError.

Each carries a stable machine ``code`` and the HTTP ``status`` the API layer answers with;
the message is shown to staff as it is. Permission refusals are Django's PermissionDenied:
services raise it when their reports.policy predicate says no (the decision the admin
shares), and through ``require`` for the permissions no predicate stands for.
"""

from __future__ import annotations

from typing import ClassVar

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied


class ServiceError(Exception):
    """A refused state change; the message is shown to staff as it is."""

    code: ClassVar[str] = "refused"
    status: ClassVar[int] = 400


class ReportLocked(ServiceError):
    """Another moderator holds the report's edit lock."""

    code = "report_locked"
    status = 409


class InvalidTransition(ServiceError):
    """The change is not allowed from the current state (CASE_TRANSITIONS,
    MEDIA_TRANSITIONS, or a moderation decision already taken)."""

    code = "invalid_transition"
    status = 409


class ShareNotAllowed(ServiceError):
    """The report may not be shared: not approved, no consent, or the partner inactive."""

    code = "share_not_allowed"
    status = 403


class PublishNotAllowed(ServiceError):
    """No consent to publish, the report not approved, or the item not clean."""

    code = "publish_not_allowed"
    status = 403


class ContactNotAvailable(ServiceError):
    """No contact details, or the witness did not consent to being contacted."""

    code = "contact_not_available"
    status = 404


class UploadConflict(ServiceError):
    """The upload moved on (or ended) since the caller looked at it."""

    code = "upload_conflict"
    status = 409


class IdempotencyKeyReused(ServiceError):
    """The Idempotency-Key was first used with a different request."""

    code = "idempotency_key_reused"
    status = 422


class IdempotencyKeyInFlight(ServiceError):
    """The first request with this Idempotency-Key has not finished."""

    code = "idempotency_key_in_flight"
    status = 409


def require(user: User, permission: str) -> None:
    """Refuse (PermissionDenied) a user who is inactive or lacks ``permission``."""
    if not user.is_active or not user.has_perm(permission):
        raise PermissionDenied
