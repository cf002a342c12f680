"""Staff accounts: made in one role, and set up (or reset) only through a one-time
enrolment link that their owner opens to choose a password and enrol an authenticator.

Nobody sets another person's password or sees another person's TOTP secret: a new
account and a reset both end in a link, and the secret appears once, on the owner's
enrolment page. A link is good for one use within PASSWORD_RESET_TIMEOUT (3 days by
default): it is bound to the account's password hash, so setting the password, or issuing
a newer link, voids it. Every change is in the audit trail (reports/signals.py records
password, role and device changes with the actor named by ``audit_actor``)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice

from reports import policy
from reports.models import AuditAction
from reports.roles import ROLES
from reports.services.audit import audit_actor, audit_record
from reports.services.errors import ServiceError


class _EnrolmentTokens(PasswordResetTokenGenerator):
    # Its own salt: a password-reset token (were one ever made) is not an enrolment token.
    key_salt = "testigo.staff-enrolment"


_tokens = _EnrolmentTokens()


def _enrolment_link(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    path = reverse("reports:staff_enrol", args=[uid, _tokens.make_token(user)])
    return settings.TESTIGO_ADMIN_BASE_URL.rstrip("/") + path


def staff_create(
    *, username: str, role: str, email: str = "", by: User | None = None
) -> tuple[User, str]:
    """Create a staff user in one role, without a password or device; returns the user and
    the one-time enrolment link to hand to them. ``by`` (None from the command line) may
    only give a role below their own."""
    if role not in ROLES:
        raise ServiceError(f"Unknown role {role!r}; one of {', '.join(ROLES)}.")
    if by is not None and role not in policy.grantable_roles(by):
        raise PermissionDenied(f"You may not give the {role} role.")
    with transaction.atomic(), audit_actor(by):
        user = User.objects.create_user(username=username, email=email, is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        audit_record(
            action=AuditAction.STAFF_CREATED,
            actor=by,
            actor_label="" if by else "system",
            data={"user_id": user.pk, "role": role},
        )
        link = _enrolment_link(user)
        audit_record(
            action=AuditAction.STAFF_ENROLMENT_ISSUED,
            actor=by,
            actor_label="" if by else "system",
            data={"user_id": user.pk},
        )
    return user, link


def staff_superuser_create(*, username: str) -> tuple[User, str]:
    """The first superuser of a deployment (from the command line): no password or device
    until its owner opens the returned one-time enrolment link."""
    with transaction.atomic():
        user = User.objects.create_superuser(username=username, email="", password=None)
        audit_record(
            action=AuditAction.STAFF_CREATED,
            actor_label="system",
            data={"user_id": user.pk, "superuser": True},
        )
        link = _enrolment_link(user)
        audit_record(
            action=AuditAction.STAFF_ENROLMENT_ISSUED,
            actor_label="system",
            data={"user_id": user.pk},
        )
    return user, link


def staff_enrolment_reset(*, user: User, by: User | None = None) -> str:
    """Reset a staff account: its password and devices go (and with the password, every
    session it had), and a new one-time enrolment link is returned for its owner.
    ``by`` (None from the command line) must be allowed to manage that account."""
    if by is not None and not policy.can_manage_user(by, user):
        raise PermissionDenied("You may not reset this account.")
    with transaction.atomic(), audit_actor(by):
        user.set_unusable_password()
        user.save(update_fields=["password"])
        for device in TOTPDevice.objects.filter(user=user):
            device.delete()
        link = _enrolment_link(user)
        audit_record(
            action=AuditAction.STAFF_ENROLMENT_ISSUED,
            actor=by,
            actor_label="" if by else "system",
            data={"user_id": user.pk, "reset": True},
        )
    return link


def staff_enrolment_user(*, uidb64: str, token: str) -> User | None:
    """The account a link is for, if the link is still good: active, never set up since
    the link was made, within its time."""
    try:
        user = User.objects.get(pk=int(force_str(urlsafe_base64_decode(uidb64))))
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        return None
    if not user.is_active or user.has_usable_password():
        return None
    return user if _tokens.check_token(user, token) else None


def staff_enrolment_device(*, user: User) -> TOTPDevice:
    """A fresh, unconfirmed authenticator for the enrolment page. Its secret is shown only
    on that page; opening the page again replaces it, so each secret is shown once."""
    with audit_actor(user):
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


def staff_enrolment_complete(*, user: User, device: TOTPDevice, password: str, token: str) -> None:
    """Finish an enrolment: the code from the new authenticator proves it was added, then
    the password is set and the device confirmed (the link is void from here on)."""
    if device.user_id != user.pk or device.confirmed:
        raise ServiceError("This enrolment has expired; open the link again.")
    if not device.verify_token(token):
        raise ServiceError("That code is not right; check the app's current code.")
    with transaction.atomic(), audit_actor(user):
        for other in TOTPDevice.objects.filter(user=user).exclude(pk=device.pk):
            other.delete()
        device.confirmed = True
        device.save()
        user.set_password(password)
        user.save(update_fields=["password"])
