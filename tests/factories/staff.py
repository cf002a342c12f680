"""Staff users for tests, made through the real code: roles, TOTP devices, OTP sessions."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from reports.services import staff_create

PASSWORD = "staff-password-1"


def staff_user(username: str, role: str) -> User:
    """A staff user as after their enrolment: PASSWORD and one confirmed device."""
    user, _link = staff_create(username=username, role=role)
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    device_of(user)
    return user


def device_of(user: User) -> TOTPDevice:
    """The user's authenticator, enrolled now if they have none (as their enrolment page
    would; the page itself is tested in tests/unit/test_staff_enrolment.py)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    return device


def totp_token(device: TOTPDevice) -> str:
    """The code an authenticator app would show now."""
    return f"{totp(device.bin_key, device.step, device.t0, device.digits):0{device.digits}d}"


def verified_client(user: User, client: Client | None = None) -> Client:
    """A client logged in as ``user`` with a verified second factor, as after the OTP
    login form (django_otp.login stores the same session key)."""
    client = client or Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device_of(user).persistent_id
    session.save()
    return client
