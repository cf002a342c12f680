"""The admin site: every staff login needs a password and a TOTP token (django-otp)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import URLPattern, URLResolver, path
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite
from django_otp.plugins.otp_totp.models import TOTPDevice

from reports import policy


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


class TestigoAdminSite(OTPAdminSite):
    login_form = StaffLoginForm
    site_header = "Testigo"
    site_title = "Testigo staff"
    index_title = "Moderation and triage"

    def __init__(self, name: str = "admin") -> None:
        # Keep the usual "admin" namespace so reverse("admin:...") works everywhere.
        super().__init__(name)

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
