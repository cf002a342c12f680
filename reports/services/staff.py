"""Staff accounts: one role each, a random first password and a TOTP device."""

from __future__ import annotations

import secrets

from django.contrib.auth.models import Group, User
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from reports.models import AuditAction
from reports.roles import ROLES
from reports.services.audit import audit_record
from reports.services.errors import ServiceError


def staff_totp_enrol(*, user: User, name: str = "authenticator") -> TOTPDevice:
    """Give a staff user a TOTP device; its otpauth:// URL is shown once by the caller."""
    device = TOTPDevice.objects.create(user=user, name=name, confirmed=True)
    audit_record(
        action=AuditAction.STAFF_OTP_ENROLLED, actor_label="system", data={"user_id": user.pk}
    )
    return device


def staff_create(*, username: str, role: str, email: str = "") -> tuple[User, str, TOTPDevice]:
    """Create a staff user in one role, with a random password and a TOTP device.
    Returns the password in clear for the one time it is shown."""
    if role not in ROLES:
        raise ServiceError(f"Unknown role {role!r}; one of {', '.join(ROLES)}.")
    password = secrets.token_urlsafe(15)
    with transaction.atomic():
        user = User.objects.create_user(
            username=username, email=email, password=password, is_staff=True
        )
        user.groups.add(Group.objects.get(name=role))
        device = staff_totp_enrol(user=user)
        audit_record(
            action=AuditAction.STAFF_CREATED,
            actor_label="system",
            data={"user_id": user.pk, "role": role},
        )
    return user, password, device
