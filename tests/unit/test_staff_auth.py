"""Staff logins: two factors, one error for every failure, a slow-down keyed on the client
address (never an account), hashed usernames in the trail, and accounts that start from a
one-time enrolment link."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from reports.models import AuditEvent
from reports.roles import ROLE_PERMISSIONS
from reports.signals import login_username_digest
from tests.factories.staff import PASSWORD, device_of, totp_token, verified_client

pytestmark = pytest.mark.django_db


def _login(client: Client, username: str, password: str, token: str = "") -> int:
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "otp_token": token},
    )
    return response.status_code


@pytest.mark.parametrize("role", ["moderator", "legal_aid", "admin"])
def test_create_staff_prints_only_a_one_time_enrolment_link(
    role: str, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("create_staff", "newperson", "--role", role)
    out = capsys.readouterr().out
    user = User.objects.get(username="newperson")
    [link] = re.findall(r"http://\S+/staff/enrol/\S+/", out)
    # No password and no TOTP secret exist yet, so none can be printed: its owner chooses
    # the one and is shown the other on the enrolment page.
    assert user.has_usable_password() is False
    assert TOTPDevice.objects.filter(user=user).exists() is False
    assert "otpauth" not in out and "secret" not in out.lower()
    assert (user.is_staff, user.is_superuser) == (True, False)
    assert [g.name for g in user.groups.all()] == [role]
    assert Client().get(urlsplit(link).path).status_code == 302


def test_create_staff_reset_voids_password_devices_and_older_links(
    moderator: User, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("create_staff", "mod", "--reset")
    [link] = re.findall(r"http://\S+/staff/enrol/\S+/", capsys.readouterr().out)
    moderator.refresh_from_db()
    assert moderator.has_usable_password() is False
    assert TOTPDevice.objects.filter(user=moderator).exists() is False
    call_command("create_staff", "mod", "--reset")
    capsys.readouterr()
    client = Client()
    client.get(urlsplit(link).path)
    assert client.get(client.get(urlsplit(link).path)["Location"]).status_code == 404


def test_roles_have_exactly_their_permissions() -> None:
    for role, expected in ROLE_PERMISSIONS.items():
        user = User.objects.create_user(username=f"r-{role}", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        assert user.get_all_permissions() == set(expected)


def test_moderator_has_no_contact_permission() -> None:
    assert "reports.reveal_contact" not in ROLE_PERMISSIONS["moderator"]


def test_admin_login_with_password_only_is_refused(moderator: User) -> None:
    client = Client()
    assert _login(client, "mod", "mod-password-1") == 200
    assert client.get("/admin/").status_code == 302


def test_admin_login_with_password_and_token_succeeds(moderator: User) -> None:
    client = Client()
    token = totp_token(device_of(moderator))
    assert _login(client, "mod", "mod-password-1", token) == 302
    assert client.get("/admin/").status_code == 200
    assert AuditEvent.objects.filter(action="staff.login", actor=moderator).count() == 1


def test_admin_logged_in_without_second_factor_is_not_let_in(moderator: User) -> None:
    client = Client()
    client.force_login(moderator)
    assert client.get("/admin/reports/moderationqueue/").status_code == 302


def test_failed_logins_slow_down_the_address_not_the_account(moderator: User) -> None:
    stranger = Client(REMOTE_ADDR="198.51.100.7")
    statuses = [_login(stranger, "mod", "wrong-password") for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    token = totp_token(device_of(moderator))
    # The stranger's address waits, whatever it sends...
    assert _login(stranger, "mod", "mod-password-1", token) == 429
    assert AccessAttempt.objects.get(ip_address="198.51.100.7").failures_since_start == 6
    # ...and the account's owner, from their own address, is not locked out at all.
    assert _login(Client(REMOTE_ADDR="203.0.113.20"), "mod", "mod-password-1", token) == 302
    assert AuditEvent.objects.filter(action="staff.login_failed").count() >= 5


def test_slowed_down_address_may_try_again_after_the_cool_off(
    moderator: User, settings: Any
) -> None:
    client = Client(REMOTE_ADDR="198.51.100.8")
    for _ in range(5):
        _login(client, "mod", "wrong-password")
    assert _login(client, "mod", "mod-password-1", totp_token(device_of(moderator))) == 429
    # A short wait (TESTIGO_LOGIN_COOLOFF_MINUTES, 1 by default), not a 30-minute lockout.
    assert settings.AXES_COOLOFF_TIME == 1 / 60
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=1, seconds=1))
    device = device_of(moderator)
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)
    assert _login(client, "mod", "mod-password-1", totp_token(device)) == 302


def test_every_failed_login_says_the_same_and_counts(moderator: User) -> None:
    User.objects.create_user(username="visitor", password="visitor-password-1")
    token = totp_token(device_of(moderator))
    attempts = {
        "unknown user": ("nobody", "mod-password-1", token),
        "wrong password": ("mod", "wrong-password", token),
        "right password, wrong code": ("mod", "mod-password-1", "000000"),
        "right password, no code": ("mod", "mod-password-1", ""),
        "not a staff account": ("visitor", "visitor-password-1", ""),
    }
    errors: dict[str, Any] = {}
    for name, (username, password, code) in attempts.items():
        response = Client(REMOTE_ADDR=f"192.0.2.{len(errors) + 1}").post(
            "/admin/login/?next=/admin/",
            {"username": username, "password": password, "otp_token": code},
        )
        assert response.status_code == 200, name
        errors[name] = response.context["form"].errors.as_data()
    messages = {
        name: [e.message % e.params for e in err["__all__"]] for name, err in errors.items()
    }
    assert set(map(tuple, messages.values())) == {
        (
            "Please enter the correct username and password for a staff account. Note that "
            "both fields may be case-sensitive.",
        )
    }, messages
    assert all(set(err) == {"__all__"} for err in errors.values())
    # A right password with a wrong code is a failed login like any other: audited, and
    # counted towards its address's slow-down.
    assert AuditEvent.objects.filter(action="staff.login_failed").count() == len(attempts)
    assert AccessAttempt.objects.count() == len(attempts)


def test_failed_login_keeps_a_hash_of_the_typed_username_never_the_text(
    moderator: User,
) -> None:
    typed = "mod-password-1"  # a password typed into the username field
    _login(Client(), typed, "anything")
    event = AuditEvent.objects.get(action="staff.login_failed")
    assert event.data == {"username_hmac": login_username_digest(typed)}
    assert len(event.data["username_hmac"]) == 64
    assert login_username_digest(typed) != login_username_digest("mod")
    # Nowhere else either: not in the trail, not in django-axes' tables.
    for model in (AuditEvent, AccessAttempt, AccessLog, AccessFailureLog):
        for row in model.objects.values():
            assert typed not in str(row), model


def test_witness_requests_never_touch_axes() -> None:
    client = Client(REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="WitnessPhone/1.0")
    client.get("/")
    client.post("/", {"description": ""})
    client.get("/api/v1/intake/reports/")
    assert (AccessAttempt.objects.count(), AccessLog.objects.count()) == (0, 0)


def test_staff_cannot_delete_own_totp_device(administrator: User) -> None:
    client = verified_client(administrator)
    own = device_of(administrator)
    response = client.post(f"/admin/otp_totp/totpdevice/{own.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert TOTPDevice.objects.filter(pk=own.pk).exists() is True


def test_admin_role_cannot_make_itself_superuser(administrator: User) -> None:
    client = verified_client(administrator)
    response = client.get(f"/admin/auth/user/{administrator.pk}/change/")
    assert response.status_code == 200
    assert "is_superuser" not in response.context["adminform"].form.fields


def test_staff_password_constant_is_used(legal_aid: User) -> None:
    assert legal_aid.check_password(PASSWORD) is True


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_ensure_local_admin_prints_an_enrolment_link_until_set_up(
    settings: Any, tmp_path: Path
) -> None:
    # Shown on a terminal only (tests/unit/test_var_privacy.py): this is one.
    settings.VAR_DIR = tmp_path
    call_command("ensure_local_admin", stdout=(out := _Terminal()))
    first = re.findall(r"http://\S+/staff/enrol/\S+/", out.getvalue())
    admin_user = User.objects.get(username="admin")
    assert (admin_user.is_superuser, admin_user.has_usable_password()) == (True, False)
    assert TOTPDevice.objects.filter(user=admin_user).exists() is False
    # Not set up yet: the next run prints a new link, and the first stops working.
    call_command("ensure_local_admin", stdout=(out := _Terminal()))
    [second] = re.findall(r"http://\S+/staff/enrol/\S+/", out.getvalue())
    assert len(first) == 1 and first[0] != second
    client = Client()
    assert client.get(client.get(urlsplit(first[0]).path)["Location"]).status_code == 404
    assert client.get(client.get(urlsplit(second).path)["Location"]).status_code == 200
    admin_user.set_password("local-admin-password-1")
    admin_user.save()
    call_command("ensure_local_admin", stdout=(out := _Terminal()))
    assert "Admin login exists" in out.getvalue()
