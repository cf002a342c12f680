"""What every staff page shares: the signed-in staff member as a typed ``User``,
permission switches in place of repeated ``has_*_permission`` overrides, a read-only
inline, and how a POST action calls a service and reports back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse
from django.views.decorators.http import require_POST

from reports import services
from reports.models import Report

_ModelT = TypeVar("_ModelT", bound=Model)
_ParentT = TypeVar("_ParentT", bound=Model)


def staff(request: HttpRequest) -> User:
    """The signed-in staff member. Admin views run behind the site's admin_view, which
    lets only active staff through; anything else reaching a service call is refused."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


class StaffModelAdmin(admin.ModelAdmin[_ModelT]):
    """A ModelAdmin whose add, change and delete can be switched off per class; when on,
    the role's model permissions decide as usual."""

    allow_add = True
    allow_change = True
    allow_delete = True

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.allow_add and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: _ModelT | None = None) -> bool:
        return self.allow_change and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: _ModelT | None = None) -> bool:
        return self.allow_delete and super().has_delete_permission(request, obj)


class ReadOnlyInline(admin.TabularInline[_ModelT, _ParentT]):
    """Rows shown beside their parent and never written from it; subclasses list their
    ``fields`` and repeat them as ``readonly_fields``."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: _ParentT | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: _ParentT | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: _ParentT | None = None) -> bool:
        return False


def post_only(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    return require_POST(view)


def service_call(request: HttpRequest, work: Callable[[], Any], success: str) -> bool:
    """Run a staff action's service call; report its outcome as a message. True if done."""
    try:
        work()
    except services.ServiceError as exc:
        messages.error(request, str(exc))
        return False
    messages.success(request, success)
    return True


def report_change_url(report: Report, model: str = "report") -> str:
    return reverse(f"admin:reports_{model}_change", args=[report.pk])
