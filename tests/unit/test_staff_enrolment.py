"""Staff accounts start, and start again after a reset, from a one-time enrolment link:
its owner chooses the password and sees the TOTP secret, once; nobody else sets either.
Every change of an account's password, roles or devices is in the audit trail, with who
made it."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from reports import services
from reports.models import AuditEvent
from tests.factories.staff import PASSWORD, device_of, totp_token, verified_client

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "correct horse battery staple"


def _path(link: str) -> str:
    return urlsplit(link).path


def _open(client: Client, link: str) -> Any:
    """Follow the link as a browser does: the token moves into the session first."""
    first = client.get(_path(link))
    assert first.status_code == 302
    return client.get(first["Location"])


def _secret_code(page: Any) -> tuple[str, str]:
    """The otpauth:// link shown on the page, and the code an app made from it shows now."""
    [url] = re.findall(r'href="(otpauth://[^"]+)"', page.content.decode())
    secret = parse_qs(urlsplit(url.replace("&amp;", "&")).query)["secret"][0]
    device = TOTPDevice(key=_hex(secret))
    return url, f"{totp(device.bin_key, device.step, device.t0, device.digits):06d}"


def _hex(base32: str) -> str:
    from base64 import b32decode

    return b32decode(base32 + "=" * (-len(base32) % 8)).hex()


def _finish(client: Client, page: Any, code: str, password: str = NEW_PASSWORD) -> Any:
    return client.post(
        page.wsgi_request.path,
        {"new_password1": password, "new_password2": password, "otp_token": code},
    )


def _login(user: User, password: str) -> int:
    response = Client().post(
        "/admin/login/?next=/admin/",
        {"username": user.username, "password": password, "otp_token": totp_token(device_of(user))},
    )
    return response.status_code


def test_new_account_is_set_up_by_its_owner_through_the_link() -> None:
    user, link = services.staff_create(username="newbie", role="moderator")
    client = Client()
    first = client.get(_path(link))
    # The token leaves the address bar (and the history) at once.
    assert first.status_code == 302
    token = _path(link).rstrip("/").rsplit("/", 1)[1]
    assert token not in first["Location"]
    page = client.get(first["Location"])
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    url, code = _secret_code(page)
    pending = TOTPDevice.objects.get(user=user)
    assert (pending.confirmed, pending.config_url.replace("&", "&amp;")) == (False, url)

    done = _finish(client, page, code)
    assert (done.status_code, done["Location"]) == (302, "/admin/login/")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD) is True
    assert TOTPDevice.objects.get(user=user).confirmed is True
    # A code is good once: the login would wait for the app's next one.
    TOTPDevice.objects.filter(user=user).update(last_t=-1)
    assert _login(user, NEW_PASSWORD) == 302
    # One use only.
    assert _open(Client(), link).status_code == 404


def test_each_opening_shows_a_new_secret_and_a_form_error_shows_none() -> None:
    user, link = services.staff_create(username="newbie", role="legal_aid")
    client = Client()
    first_url, first_code = _secret_code(_open(client, link))
    page = _open(client, link)
    second_url, second_code = _secret_code(page)
    assert first_url != second_url
    assert TOTPDevice.objects.filter(user=user).count() == 1  # the first one is gone
    # The first page's secret no longer works.
    assert first_code != second_code  # (one chance in a million that two keys agree now)
    wrong = _finish(client, page, first_code)
    assert wrong.status_code == 200
    assert "otpauth://" not in wrong.content.decode()
    assert "That code is not right" in wrong.content.decode()
    weak = _finish(client, page, second_code, password="short")
    assert weak.status_code == 200 and "otpauth://" not in weak.content.decode()
    user.refresh_from_db()
    assert user.has_usable_password() is False
    # The page's own secret still finishes it (once the device's throttle after the wrong
    # code has passed: django-otp makes each retry wait longer).
    TOTPDevice.objects.filter(user=user).update(throttling_failure_count=0)
    assert _finish(client, page, second_code).status_code == 302


def test_a_reset_voids_password_devices_sessions_and_older_links(
    administrator: User, moderator: User
) -> None:
    session = verified_client(moderator)
    assert session.get("/admin/").status_code == 200
    first = services.staff_enrolment_reset(user=moderator, by=administrator)
    second = services.staff_enrolment_reset(user=moderator, by=administrator)
    moderator.refresh_from_db()
    assert moderator.has_usable_password() is False
    assert TOTPDevice.objects.filter(user=moderator).exists() is False
    assert session.get("/admin/").status_code == 302  # signed out everywhere
    assert _open(Client(), first).status_code == 404
    client = Client()
    page = _open(client, second)
    assert _finish(client, page, _secret_code(page)[1]).status_code == 302
    assert _open(Client(), second).status_code == 404


@pytest.mark.parametrize(
    "link", ["/staff/enrol/MQ/abc-def/", "/staff/enrol/zz/set/", "/staff/enrol/OTk5OQ/x-y/"]
)
def test_a_made_up_link_opens_nothing(link: str) -> None:
    client = Client()
    response = client.get(link)
    if response.status_code == 302:
        response = client.get(response["Location"])
    assert response.status_code == 404
    assert TOTPDevice.objects.count() == 0


def test_a_link_of_an_account_already_set_up_opens_nothing(moderator: User) -> None:
    # staff_create's link, then the password set some other way: the link is void.
    user, link = services.staff_create(username="newbie", role="moderator")
    user.set_password(PASSWORD)
    user.save()
    assert _open(Client(), link).status_code == 404


def _actions(user: User) -> list[tuple[str, str, str]]:
    return [
        (e.action, e.actor.username if e.actor else e.actor_label, str(sorted(e.data.items())))
        for e in AuditEvent.objects.filter(
            action__startswith="staff.", data__user_id=user.pk
        ).order_by("at", "id")
    ]


def test_every_change_of_password_roles_and_devices_is_audited_with_its_actor(
    administrator: User,
) -> None:
    user, link = services.staff_create(username="newbie", role="moderator", by=administrator)
    client = Client()
    page = _open(client, link)
    _finish(client, page, _secret_code(page)[1])
    device = device_of(user)
    admin = verified_client(administrator)
    # Through the admin: a role added, the device removed, then a reset.
    response = admin.post(
        f"/admin/auth/user/{user.pk}/change/",
        {
            "username": user.username,
            "email": "",
            "is_active": "on",
            "is_staff": "on",
            "groups": [Group.objects.get(name=g).pk for g in ("moderator", "legal_aid")],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302
    assert (
        admin.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"}).status_code
        == 302
    )
    services.staff_enrolment_reset(user=user, by=administrator)
    # From a shell or a command: no one signed in, so the system is named.
    user.groups.clear()
    pk = user.pk
    assert _actions(user) == [
        ("staff.roles_changed", "administrator", str([("added", ["moderator"]), ("user_id", pk)])),
        ("staff.created", "administrator", str([("role", "moderator"), ("user_id", pk)])),
        ("staff.enrolment_issued", "administrator", str([("user_id", pk)])),
        ("staff.otp_enrolled", "newbie", str([("device_id", device.pk), ("user_id", pk)])),
        ("staff.password_set", "newbie", str([("usable", True), ("user_id", pk)])),
        ("staff.roles_changed", "administrator", str([("added", ["legal_aid"]), ("user_id", pk)])),
        ("staff.otp_removed", "administrator", str([("device_id", device.pk), ("user_id", pk)])),
        ("staff.password_set", "administrator", str([("usable", False), ("user_id", pk)])),
        ("staff.enrolment_issued", "administrator", str([("reset", True), ("user_id", pk)])),
        (
            "staff.roles_changed",
            "system",
            str([("removed", ["legal_aid", "moderator"]), ("user_id", pk)]),
        ),
    ]


def test_account_flags_and_raw_permissions_are_audited() -> None:
    root = User.objects.create_superuser("root", password="root-password-1")
    user, _link = services.staff_create(username="newbie", role="moderator")
    with services.audit_actor(root):
        user.is_active = False
        user.save()
        user.user_permissions.add(*Group.objects.get(name="admin").permissions.all()[:1])
    events = AuditEvent.objects.filter(
        action__in=["staff.account_changed", "staff.permissions_changed"]
    ).order_by("at", "id")
    assert [(e.action, e.actor, e.data.get("is_active")) for e in events] == [
        ("staff.account_changed", root, False),
        ("staff.permissions_changed", root, None),
    ]
    assert events[1].data["added"] and events[1].data["user_id"] == user.pk
