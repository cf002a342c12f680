"""Staff accounts and their traces: users, roles, two-factor devices, login lockouts and
the audit trail. Roles are defined in code (reports/roles.py), not edited here."""

from __future__ import annotations

from typing import Any

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.http import HttpRequest
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from reports import policy
from reports.admin.base import StaffModelAdmin
from reports.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(StaffModelAdmin[AuditEvent]):
    list_display = ["at", "action", "actor", "actor_label", "report_id", "data"]
    list_filter = ["action", "actor_label", ("actor", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["actor"]
    date_hierarchy = "at"
    show_full_result_count = False
    # Append-only (on PostgreSQL a trigger enforces it too): read here, written by services.
    allow_add = allow_change = allow_delete = False


admin.site.unregister(User)
admin.site.unregister(Group)
admin.site.unregister(TOTPDevice)
admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class LoginLockoutAdmin(AccessAttemptAdmin):
    # Axes' "clean up expired attempts" needs request state only its own login flow sets,
    # and attempts do not expire here (AXES_COOLOFF_TIME does): deleting unlocks.
    actions: list[Any] = []


@admin.register(User)
class StaffUserAdmin(UserAdmin[User]):
    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if not policy.can_grant_permissions(request.user):
            fields += ["is_superuser", "user_permissions"]
        return fields


@admin.register(Group)
class RoleAdmin(GroupAdmin):
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return policy.can_grant_permissions(request.user)


@admin.register(TOTPDevice)
class StaffTOTPDeviceAdmin(TOTPDeviceAdmin):
    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        owner = obj.user_id if obj is not None else None
        if not policy.can_change_second_factor(request.user, owner):
            return False
        return bool(super().has_delete_permission(request, obj))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        owner = obj.user_id if obj is not None else None
        if not policy.can_change_second_factor(request.user, owner):
            return False
        return bool(super().has_change_permission(request, obj))
