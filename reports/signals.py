"""Audit events for staff logins and for every change of a staff account's password,
roles, permissions, status flags or two-factor devices, whichever code made it (the admin,
the enrolment page, a management command, a shell): Django's own change log records only
what the admin saves, and not who asked for a password. The actor is whoever
``services.audit_actor`` names (the admin site names the signed-in staff member);
"system" otherwise.

A failed login keeps a keyed hash of the typed username, never the text: people type
passwords into the username field."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission, User
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.utils.crypto import salted_hmac
from django_otp.plugins.otp_totp.models import TOTPDevice

from reports.vocabulary import AuditAction

_ACCOUNT_FLAGS = ("is_active", "is_staff", "is_superuser")
_DEVICE_FIELDS = ("key", "user_id", "confirmed")
# The row as it was before a save, kept on the instance until post_save compares.
_BEFORE = "_testigo_audit_before"


def login_username_digest(username: str) -> str:
    """HMAC-SHA256 (keyed with SECRET_KEY) of a typed username: the same name gives the
    same digest, so repeated failures can be told apart, but the text cannot be read back
    or guessed offline."""
    return salted_hmac("testigo.login-username", username, algorithm="sha256").hexdigest()


def axes_username(request: Any, credentials: dict[str, Any] | None) -> str:
    """AXES_USERNAME_CALLABLE: django-axes stores this digest, not the typed text."""
    return login_username_digest(str((credentials or {}).get("username", "")))


def _record(action: AuditAction, data: dict[str, Any]) -> None:
    from reports.services.audit import audit_actor_current, audit_record

    actor = audit_actor_current()
    audit_record(action=action, actor=actor, actor_label="" if actor else "system", data=data)


def _logged_in(sender: Any, request: Any, user: Any, **_: Any) -> None:
    from reports.services import audit_record

    audit_record(action=AuditAction.STAFF_LOGIN, actor=user)


def _login_failed(sender: Any, credentials: dict[str, Any], **_: Any) -> None:
    from reports.services import audit_record

    # Never a client address, never the typed text (Django already masks the password).
    audit_record(
        action=AuditAction.STAFF_LOGIN_FAILED,
        actor_label="anonymous",
        data={"username_hmac": login_username_digest(str(credentials.get("username", "")))},
    )


def _user_before(sender: Any, instance: User, update_fields: Any = None, **_: Any) -> None:
    watched = {"password", *_ACCOUNT_FLAGS}
    if instance.pk is None or (update_fields is not None and not watched & set(update_fields)):
        return
    before = User.objects.filter(pk=instance.pk).values("password", *_ACCOUNT_FLAGS).first()
    setattr(instance, _BEFORE, before)


def _user_saved(sender: Any, instance: User, created: bool, **_: Any) -> None:
    before = instance.__dict__.pop(_BEFORE, None)
    if created or before is None:
        return
    if before["password"] != instance.password:
        _record(
            AuditAction.STAFF_PASSWORD_SET,
            {"user_id": instance.pk, "usable": instance.has_usable_password()},
        )
    flags = {f: getattr(instance, f) for f in _ACCOUNT_FLAGS if before[f] != getattr(instance, f)}
    if flags:
        _record(AuditAction.STAFF_ACCOUNT_CHANGED, {"user_id": instance.pk, **flags})


def _membership_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: Any = None, **_: Any
) -> None:
    model, column, audit = _MEMBERSHIPS[sender]
    if action == "pre_clear":
        # clear() names no ids afterwards: record them as removed before they go.
        mine = {column: instance.pk} if reverse else {"user_id": instance.pk}
        pk_set = set(
            sender.objects.filter(**mine).values_list("user_id" if reverse else column, flat=True)
        )
        action = "post_remove"
    verb = {"post_add": "added", "post_remove": "removed"}.get(action)
    if verb is None or not pk_set:
        return
    if reverse:  # group.user_set.add(...): one group or permission, several users
        changes = {user_id: [_name(instance)] for user_id in pk_set}
    else:
        changes = {instance.pk: sorted(_name(o) for o in model.objects.filter(pk__in=pk_set))}
    for user_id, names in changes.items():
        _record(audit, {"user_id": user_id, verb: names})


def _name(obj: Any) -> str:
    if isinstance(obj, Permission):
        return f"{obj.content_type.app_label}.{obj.codename}"
    return str(obj.name)


_MEMBERSHIPS: dict[Any, tuple[type[Group] | type[Permission], str, AuditAction]] = {
    User.groups.through: (Group, "group_id", AuditAction.STAFF_ROLES_CHANGED),
    User.user_permissions.through: (
        Permission,
        "permission_id",
        AuditAction.STAFF_PERMISSIONS_CHANGED,
    ),
}


def _device_before(sender: Any, instance: TOTPDevice, **_: Any) -> None:
    if instance.pk is not None:
        before = TOTPDevice.objects.filter(pk=instance.pk).values(*_DEVICE_FIELDS).first()
        setattr(instance, _BEFORE, before)


def _device_saved(sender: Any, instance: TOTPDevice, created: bool, **_: Any) -> None:
    before = instance.__dict__.pop(_BEFORE, None)
    data = {"user_id": instance.user_id, "device_id": instance.pk}
    if not instance.confirmed:
        return  # an enrolment in progress: recorded when confirmed
    if created or (before is not None and not before["confirmed"]):
        _record(AuditAction.STAFF_OTP_ENROLLED, data)
    elif before is not None and any(before[f] != getattr(instance, f) for f in _DEVICE_FIELDS):
        _record(AuditAction.STAFF_OTP_CHANGED, data)


def _device_deleted(sender: Any, instance: TOTPDevice, **_: Any) -> None:
    if instance.confirmed:
        _record(
            AuditAction.STAFF_OTP_REMOVED, {"user_id": instance.user_id, "device_id": instance.pk}
        )


def connect() -> None:
    user_logged_in.connect(_logged_in, dispatch_uid="testigo-audit-login")
    user_login_failed.connect(_login_failed, dispatch_uid="testigo-audit-login-failed")
    pre_save.connect(_user_before, sender=User, dispatch_uid="testigo-audit-user-before")
    post_save.connect(_user_saved, sender=User, dispatch_uid="testigo-audit-user-saved")
    for through in _MEMBERSHIPS:
        m2m_changed.connect(
            _membership_changed, sender=through, dispatch_uid=f"testigo-audit-{through.__name__}"
        )
    pre_save.connect(_device_before, sender=TOTPDevice, dispatch_uid="testigo-audit-device-before")
    post_save.connect(_device_saved, sender=TOTPDevice, dispatch_uid="testigo-audit-device-saved")
    post_delete.connect(
        _device_deleted, sender=TOTPDevice, dispatch_uid="testigo-audit-device-deleted"
    )
