from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessLog
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from reports.models import AuditEvent
from reports.roles import ROLE_PERMISSIONS
from tests.staff import PASSWORD, device_of, totp_token, verified_client

pytestmark = pytest.mark.django_db


def _login(client: Client, username: str, password: str, token: str = "") -> int:
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "otp_token": token},
    )
    return response.status_code


@pytest.mark.parametrize("role", ["moderator", "legal_aid", "admin"])
def test_create_staff_prints_password_and_totp_link(
    role: str, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("create_staff", "newperson", "--role", role)
    out = capsys.readouterr().out
    user = User.objects.get(username="newperson")
    password = out.split("Password (shown only this once): ")[1].split()[0]
    assert user.check_password(password) is True
    assert (user.is_staff, user.is_superuser) == (True, False)
    assert [g.name for g in user.groups.all()] == [role]
    assert TOTPDevice.objects.get(user=user).config_url in out


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


def test_failed_logins_lock_out_after_limit(moderator: User) -> None:
    client = Client()
    for _ in range(5):
        _login(client, "mod", "wrong-password")
    token = totp_token(device_of(moderator))
    assert _login(client, "mod", "mod-password-1", token) == 429
    # The refused sixth try counts as a failure too.
    assert AccessAttempt.objects.get(username="mod").failures_since_start == 6
    assert AuditEvent.objects.filter(action="staff.login_failed").count() >= 5


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


def test_ensure_local_admin_enrols_a_second_factor(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path
    call_command("ensure_local_admin")
    # Not a terminal here: the login goes to a 0600 file (tests/unit/test_var_privacy.py).
    shown = (tmp_path / "secrets" / "local_admin").read_text()
    admin_user = User.objects.get(username="admin")
    assert TOTPDevice.objects.get(user=admin_user).config_url in shown
