"""Staff accounts and their traces: users, roles, two-factor devices, login lockouts and
the audit trail. Roles are defined in code (reports/roles.py), not edited here.

Nobody climbs from here: an account is changed only by someone ranked above it
(policy.can_manage_user), roles are given only below one's own (policy.grantable_roles),
nobody sets another person's password, and no TOTP secret is shown (devices come only
from their owner's one-time enrolment page). New accounts and resets end in such a link,
shown once to the one who made it, to hand over."""

from __future__ import annotations

from typing import Any

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from reports import policy, services
from reports.admin.base import StaffModelAdmin, staff
from reports.models import AuditEvent
from reports.roles import ROLES


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


class StaffAddForm(forms.ModelForm[User]):
    """A new account: who and in which role. No password: its owner sets one through the
    enrolment link."""

    role = forms.ChoiceField(choices=[])

    class Meta:
        model = User
        fields = ["username", "email"]


# The new account's enrolment link, from save_model to response_add (shown once).
_LINK = "_testigo_enrolment_link"


def _links_page(request: HttpRequest, title: str, links: list[tuple[User, str]]) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": title,
        "links": links,
        "opts": User._meta,
    }
    response = TemplateResponse(request, "admin/auth/user/enrolment_links.html", context)
    response["Cache-Control"] = "no-store"
    return response


@admin.register(User)
class StaffUserAdmin(UserAdmin[User]):
    add_form = StaffAddForm
    add_form_template = None
    add_fieldsets = ((None, {"fields": ("username", "email", "role")}),)
    # No password field: nobody sets another person's password (a reset sends a link).
    fieldsets = (
        (None, {"fields": ("username",)}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    actions = ["reset_enrolment"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if not policy.can_grant_permissions(request.user):
            fields += ["is_superuser", "user_permissions"]
        return fields

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        grantable = policy.grantable_roles(request.user)
        if obj is None:
            form.base_fields["role"].choices = [  # type: ignore[attr-defined]
                (role, role) for role in grantable if role in ROLES
            ]
        elif "groups" in form.base_fields:
            # Only roles below one's own can be given (an invalid choice otherwise).
            form.base_fields["groups"].queryset = Group.objects.filter(  # type: ignore[attr-defined]
                name__in=grantable
            )
        return form

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or policy.can_manage_user(request.user, obj)

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        user, link = services.staff_create(
            username=form.cleaned_data["username"],
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            by=staff(request),
        )
        obj.pk, obj._state.adding = user.pk, False
        setattr(obj, _LINK, link)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        if change:  # a new account's role was given by staff_create
            super().save_related(request, form, formsets, change)

    def response_add(self, request: HttpRequest, obj: User, post_url_continue: Any = None) -> Any:
        return _links_page(request, f"Account {obj} created", [(obj, getattr(obj, _LINK))])

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> Any:
        # Nobody sets another person's password, whatever their rank: a reset sends its
        # owner through a one-time enrolment link. One's own: "Change password" (top right).
        raise PermissionDenied

    @admin.action(
        description=_("Reset: new password and authenticator through a one-time link"),
        permissions=["manage"],
    )
    def reset_enrolment(self, request: HttpRequest, queryset: QuerySet[User]) -> Any:
        by = staff(request)
        links = []
        for user in queryset:
            if not policy.can_manage_user(by, user):
                messages.error(request, f"You may not reset {user}.")
                continue
            links.append((user, services.staff_enrolment_reset(user=user, by=by)))
        if not links:
            return None
        return _links_page(request, "One-time enrolment links", links)

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return policy.can_manage_user(request.user)


@admin.register(Group)
class RoleAdmin(GroupAdmin):
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return policy.can_grant_permissions(request.user)


@admin.register(TOTPDevice)
class StaffTOTPDeviceAdmin(TOTPDeviceAdmin):
    """Devices listed without their secrets (OTP_ADMIN_HIDE_SENSITIVE_DATA also refuses the
    config and QR code pages); one of an account one manages may be removed (a lost
    phone). New devices come only from the owner's enrolment page."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not policy.can_manage_user(request.user, obj.user):
            return False
        return bool(super().has_delete_permission(request, obj))
