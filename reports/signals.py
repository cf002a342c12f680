"""Audit events for staff logins (successful and failed)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed

from reports.vocabulary import AuditAction


def _logged_in(sender: Any, request: Any, user: Any, **_: Any) -> None:
    from reports.services import audit_record

    audit_record(action=AuditAction.STAFF_LOGIN, actor=user)


def _login_failed(sender: Any, credentials: dict[str, Any], **_: Any) -> None:
    from reports.services import audit_record

    # The username only (Django already masks the password); never a client address.
    audit_record(
        action=AuditAction.STAFF_LOGIN_FAILED,
        actor_label="anonymous",
        data={"username": str(credentials.get("username", ""))[:150]},
    )


def connect() -> None:
    user_logged_in.connect(_logged_in, dispatch_uid="testigo-audit-login")
    user_login_failed.connect(_login_failed, dispatch_uid="testigo-audit-login-failed")
