"""Staff users for tests, made through the real code: roles, TOTP devices, OTP sessions."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from reports.services import staff_create, staff_totp_enrol

PASSWORD = "staff-password-1"


def staff_user(username: str, role: str) -> User:
    user, _password, _device = staff_create(username=username, role=role)
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    return user


def device_of(user: User) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user).first()
    return device if device is not None else staff_totp_enrol(user=user)


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
