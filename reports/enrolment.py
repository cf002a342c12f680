"""The one-time enrolment page: a new or reset staff account's owner chooses a password and
adds an authenticator app, proving it with a code; the link dies as the password is set.

The link's token moves into the session at once and the page redirects, so it is not left
in the address bar or the browser history (as Django's password-reset page does). The TOTP
secret is shown once, on this page: opening it again makes a new secret, and a form error
does not show it again (open the link again to start over)."""

from __future__ import annotations

from base64 import b32encode
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django_otp.plugins.otp_totp.models import TOTPDevice

from reports import services

_SESSION = "testigo_enrolment"
# The URL's token segment once the real token has moved into the session.
SET = "set"


class EnrolmentForm(SetPasswordForm[User]):
    otp_token = forms.CharField(
        label="Code from the app",
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def _page(request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    return TemplateResponse(
        request,
        "reports/enrol.html",
        {**admin.site.each_context(request), "title": "Set up your staff login", **context},
        status=status,
    )


# A secret on the page: never_cache makes it no-store for browser and proxy caches.
@never_cache
@csrf_protect
def staff_enrol(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    if token != SET:
        request.session[_SESSION] = {"uid": uidb64, "token": token}
        return HttpResponseRedirect(reverse("reports:staff_enrol", args=[uidb64, SET]))
    state = request.session.get(_SESSION) or {}
    user = (
        services.staff_enrolment_user(uidb64=uidb64, token=str(state.get("token", "")))
        if state.get("uid") == uidb64
        else None
    )
    if user is None:
        return _page(request, {"invalid": True}, status=404)
    if request.method != "POST":
        device = services.staff_enrolment_device(user=user)
        request.session[_SESSION] = {**state, "device": device.pk}
        secret = b32encode(device.bin_key).decode()
        return _page(
            request,
            {
                "form": EnrolmentForm(user),
                "username": user.username,
                "config_url": device.config_url,
                "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            },
        )
    form = EnrolmentForm(user, request.POST)
    device = TOTPDevice.objects.filter(pk=state.get("device"), user=user).first()
    if form.is_valid() and device is None:
        form.add_error(None, "This enrolment has expired; open the link again.")
    elif form.is_valid() and device is not None:
        try:
            services.staff_enrolment_complete(
                user=user,
                device=device,
                password=form.cleaned_data["new_password1"],
                token=form.cleaned_data["otp_token"],
            )
        except services.ServiceError as error:
            form.add_error("otp_token", str(error))
        else:
            del request.session[_SESSION]
            messages.success(request, "Your login is ready: sign in with your password and code.")
            return HttpResponseRedirect(reverse("admin:login"))
    return _page(request, {"form": form, "username": user.username})
