"""The admin site: every staff login needs a password and a TOTP token (django-otp).

A failed login says the same thing whatever failed (unknown name, wrong password, wrong or
missing code, an account not for staff), and a right password with a wrong code counts as
a failed login too (audited, and towards the client address's slow-down in django-axes).
Staff-account changes made on the site name the signed-in staff member as their actor in
the audit trail (reports/signals.py)."""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import Any

from django.contrib.auth.models import User
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseBase
from django.urls import URLPattern, URLResolver, path
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite
from django_otp.plugins.otp_totp.models import TOTPDevice

from reports import policy
from reports.services.audit import audit_actor


class StaffLoginForm(OTPAdminAuthenticationForm):
    """Username, password and the 6-digit code on one page: staff have one authenticator
    device, so it is chosen for them (still only ever one of their own devices)."""

    def _chosen_device(self, user: Any) -> Any:
        device = super()._chosen_device(user)
        if device is None:
            devices = list(TOTPDevice.objects.filter(user=user, confirmed=True)[:2])
            if len(devices) == 1:
                device = devices[0]
        return device

    def clean(self) -> dict[str, Any]:
        try:
            cleaned: dict[str, Any] = super().clean()
        except ValidationError:
            if self.get_user() is not None:
                # The password was right and the rest was not: tell nobody which, and
                # count it as the failed login it is (Django signalled only bad passwords).
                user_login_failed.send(
                    sender=__name__,
                    credentials={"username": self.cleaned_data.get("username", "")},
                    request=self.request,
                )
                self.user_cache = None
            raise self.get_invalid_login_error() from None
        return cleaned


class TestigoAdminSite(OTPAdminSite):
    login_form = StaffLoginForm
    site_header = "Testigo"
    site_title = "Testigo staff"
    index_title = "Moderation and triage"

    def __init__(self, name: str = "admin") -> None:
        # Keep the usual "admin" namespace so reverse("admin:...") works everywhere.
        super().__init__(name)

    def admin_view(
        self, view: Callable[..., HttpResponseBase], cacheable: bool = False
    ) -> Callable[..., HttpResponseBase]:
        def as_actor(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            user = request.user if isinstance(request.user, User) else None
            with audit_actor(user):
                return view(request, *args, **kwargs)

        wrapped: Callable[..., HttpResponseBase] = super().admin_view(
            update_wrapper(as_actor, view), cacheable
        )
        return wrapped

    def get_urls(self) -> list[URLResolver | URLPattern]:
        # Not at the top: importing reports.admin registers its models on this very site.
        from reports.admin import overview

        return [
            path("overview/", self.admin_view(overview.overview), name="overview"),
            *super().get_urls(),
        ]

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context: dict[str, Any] = super().each_context(request)
        context["testigo_can_overview"] = policy.can_view_overview(request.user)
        return context
