"""A role-by-view table: every admin URL and action, for every role; and the escalation
rows: every view and action naming an account or a device, tried by each role on an
account as high as its own or higher (admin on superuser, admin on another admin and on
itself, legal aid and moderator on admin). The meta-tests fail when an admin model, URL or
action is missing from the tables."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import URLPattern, URLResolver, reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories.admin_world import World, build_world
from tests.factories.staff import device_of, staff_user, verified_client

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "moderator", "legal_aid", "admin")
# Anonymous users are sent to the login page (302); a role without access gets 403; the
# POST views answer 302 (back to the page) when they ran. Nobody sets another person's
# password, and no TOTP secret (config, QR code) is shown to anyone: 403 for every role.

# url name: (method, anonymous, moderator, legal_aid, admin)
TABLE: dict[str, tuple[str, int, int, int, int]] = {
    "app_list": ("GET", 302, 200, 200, 200),
    "auth_group_add": ("GET", 302, 403, 403, 403),
    "auth_group_change": ("GET", 302, 403, 403, 200),
    "auth_group_changelist": ("GET", 302, 403, 403, 200),
    "auth_group_delete": ("GET", 302, 403, 403, 403),
    "auth_group_history": ("GET", 302, 403, 403, 200),
    "auth_user_add": ("GET", 302, 403, 403, 200),
    "auth_user_change": ("GET", 302, 403, 403, 200),
    "auth_user_changelist": ("GET", 302, 403, 403, 200),
    "auth_user_delete": ("GET", 302, 403, 403, 403),
    "auth_user_history": ("GET", 302, 403, 403, 200),
    "auth_user_password_change": ("GET", 302, 403, 403, 403),
    "autocomplete": ("GET", 302, 403, 403, 200),
    "axes_accessattempt_add": ("GET", 302, 403, 403, 403),
    "axes_accessattempt_change": ("GET", 302, 403, 403, 200),
    "axes_accessattempt_changelist": ("GET", 302, 403, 403, 200),
    "axes_accessattempt_delete": ("GET", 302, 403, 403, 200),
    "axes_accessattempt_history": ("GET", 302, 403, 403, 200),
    "axes_accessfailurelog_add": ("GET", 302, 403, 403, 403),
    "axes_accessfailurelog_change": ("GET", 302, 403, 403, 200),
    "axes_accessfailurelog_changelist": ("GET", 302, 403, 403, 200),
    "axes_accessfailurelog_delete": ("GET", 302, 403, 403, 403),
    "axes_accessfailurelog_history": ("GET", 302, 403, 403, 200),
    "axes_accesslog_add": ("GET", 302, 403, 403, 403),
    "axes_accesslog_change": ("GET", 302, 403, 403, 200),
    "axes_accesslog_changelist": ("GET", 302, 403, 403, 200),
    "axes_accesslog_delete": ("GET", 302, 403, 403, 403),
    "axes_accesslog_history": ("GET", 302, 403, 403, 200),
    "index": ("GET", 302, 200, 200, 200),
    "otp_totp_totpdevice_add": ("GET", 302, 403, 403, 403),
    "otp_totp_totpdevice_change": ("GET", 302, 403, 403, 200),
    "otp_totp_totpdevice_changelist": ("GET", 302, 403, 403, 200),
    "otp_totp_totpdevice_config": ("GET", 302, 403, 403, 403),
    "otp_totp_totpdevice_delete": ("GET", 302, 403, 403, 200),
    "otp_totp_totpdevice_history": ("GET", 302, 403, 403, 200),
    "otp_totp_totpdevice_qrcode": ("GET", 302, 403, 403, 403),
    "overview": ("GET", 302, 200, 200, 200),
    "password_change": ("GET", 302, 200, 200, 200),
    "password_change_done": ("GET", 302, 200, 200, 200),
    "reports_auditevent_add": ("GET", 302, 403, 403, 403),
    "reports_auditevent_change": ("GET", 302, 403, 403, 200),
    "reports_auditevent_changelist": ("GET", 302, 403, 403, 200),
    "reports_auditevent_delete": ("GET", 302, 403, 403, 403),
    "reports_auditevent_history": ("GET", 302, 403, 403, 200),
    "reports_incident_add": ("GET", 302, 403, 403, 403),
    "reports_incident_change": ("GET", 302, 200, 200, 403),
    "reports_incident_changelist": ("GET", 302, 200, 200, 403),
    "reports_incident_delete": ("GET", 302, 403, 403, 403),
    "reports_incident_history": ("GET", 302, 200, 200, 403),
    "reports_label_add": ("GET", 302, 403, 200, 200),
    "reports_label_change": ("GET", 302, 403, 200, 200),
    "reports_label_changelist": ("GET", 302, 403, 200, 200),
    "reports_label_delete": ("GET", 302, 403, 403, 200),
    "reports_label_history": ("GET", 302, 403, 200, 200),
    "reports_moderationqueue_add": ("GET", 302, 403, 403, 403),
    "reports_moderationqueue_approve": ("POST", 302, 302, 403, 403),
    "reports_moderationqueue_ask": ("POST", 302, 302, 403, 403),
    "reports_moderationqueue_change": ("GET", 302, 200, 403, 403),
    "reports_moderationqueue_changelist": ("GET", 302, 200, 403, 403),
    "reports_moderationqueue_delete": ("GET", 302, 403, 403, 403),
    "reports_moderationqueue_group": ("POST", 302, 302, 403, 403),
    "reports_moderationqueue_history": ("GET", 302, 200, 403, 403),
    "reports_moderationqueue_next": ("GET", 302, 302, 403, 403),
    "reports_moderationqueue_reject": ("POST", 302, 302, 403, 403),
    "reports_moderationqueue_release": ("POST", 302, 302, 403, 403),
    "reports_moderationqueue_unlock": ("POST", 302, 204, 403, 403),
    "reports_moderationqueue_retry_media": ("POST", 302, 302, 403, 403),
    "reports_partnerapikey_add": ("GET", 302, 403, 403, 200),
    "reports_partnerapikey_change": ("GET", 302, 403, 403, 200),
    "reports_partnerapikey_changelist": ("GET", 302, 403, 403, 200),
    "reports_partnerapikey_delete": ("GET", 302, 403, 403, 403),
    "reports_partnerapikey_history": ("GET", 302, 403, 403, 200),
    "reports_partnerorganisation_add": ("GET", 302, 403, 403, 200),
    "reports_partnerorganisation_change": ("GET", 302, 403, 200, 200),
    "reports_partnerorganisation_changelist": ("GET", 302, 403, 200, 200),
    "reports_partnerorganisation_delete": ("GET", 302, 403, 403, 403),
    "reports_partnerorganisation_history": ("GET", 302, 403, 200, 200),
    # Publication: legal aid and admin (the publish permission), never a moderator. The
    # world's copy is in review: approving twice is refused (200, the page again); its file
    # is not made yet (404); a POST without a drawn box adds nothing (200).
    "reports_publishablecopy_add": ("GET", 302, 403, 403, 403),
    "reports_publishablecopy_add_region": ("POST", 302, 403, 200, 200),
    "reports_publishablecopy_approve": ("POST", 302, 403, 302, 200),
    "reports_publishablecopy_change": ("GET", 302, 403, 200, 200),
    "reports_publishablecopy_changelist": ("GET", 302, 403, 200, 200),
    "reports_publishablecopy_delete": ("GET", 302, 403, 403, 403),
    "reports_publishablecopy_file": ("GET", 302, 403, 404, 404),
    "reports_publishablecopy_frame": ("GET", 302, 403, 200, 200),
    "reports_publishablecopy_history": ("GET", 302, 403, 200, 200),
    "reports_publishablecopy_remove_region": ("POST", 302, 403, 302, 302),
    "reports_report_publish": ("POST", 302, 403, 302, 302),
    "reports_report_add": ("GET", 302, 403, 403, 403),
    "reports_report_ask": ("POST", 302, 302, 302, 403),
    "reports_report_assign": ("POST", 302, 403, 302, 403),
    "reports_report_change": ("GET", 302, 200, 200, 200),
    "reports_report_changelist": ("GET", 302, 200, 200, 200),
    "reports_report_delete": ("GET", 302, 403, 403, 403),
    "reports_report_export": ("GET", 302, 403, 200, 403),
    "reports_report_history": ("GET", 302, 200, 200, 200),
    "reports_report_reveal": ("POST", 302, 403, 200, 200),
    "reports_report_revoke": ("POST", 302, 403, 302, 403),
    "reports_report_share": ("POST", 302, 403, 302, 403),
    "reports_report_share_contact": ("POST", 302, 403, 302, 403),
    "reports_report_status": ("POST", 302, 403, 302, 403),
    "reports_reportshare_add": ("GET", 302, 403, 403, 403),
    "reports_reportshare_change": ("GET", 302, 403, 200, 200),
    "reports_reportshare_changelist": ("GET", 302, 403, 200, 200),
    "reports_reportshare_delete": ("GET", 302, 403, 403, 403),
    "reports_reportshare_history": ("GET", 302, 403, 200, 200),
    "reports_webhookdelivery_add": ("GET", 302, 403, 403, 403),
    "reports_webhookdelivery_change": ("GET", 302, 403, 403, 200),
    "reports_webhookdelivery_changelist": ("GET", 302, 403, 403, 200),
    "reports_webhookdelivery_delete": ("GET", 302, 403, 403, 403),
    "reports_webhookdelivery_history": ("GET", 302, 403, 403, 200),
    "reports_webhookendpoint_add": ("GET", 302, 403, 403, 200),
    "reports_webhookendpoint_change": ("GET", 302, 403, 403, 200),
    "reports_webhookendpoint_changelist": ("GET", 302, 403, 403, 200),
    "reports_webhookendpoint_delete": ("GET", 302, 403, 403, 403),
    "reports_webhookendpoint_history": ("GET", 302, 403, 403, 200),
}

# Admin URLs that are not about a role's access (with why).
NOT_IN_TABLE = {
    "login": "the login page itself",
    "logout": "ends any session",
    "jsi18n": "static translations for admin scripts",
    "view_on_site": "no admin model defines get_absolute_url",
}

# "action:<app>_<model>:<action>": (anonymous, moderator, legal_aid, admin); 302 means the
# action ran, 200 means Django refused it ("no action selected": not offered to the role).
ACTIONS: dict[str, tuple[int, int, int, int]] = {
    # 200 here: the page of one-time enrolment links (the escalation tests check its work).
    "action:auth_user:reset_enrolment": (302, 403, 403, 200),
    "action:reports_moderationqueue:reject_spam": (302, 302, 403, 403),
    "action:reports_moderationqueue:reject_false_alarm": (302, 302, 403, 403),
    "action:reports_report:assign_to_me": (302, 200, 302, 200),
    "action:reports_reportshare:revoke": (302, 403, 302, 200),
    "action:reports_partnerapikey:revoke": (302, 403, 403, 302),
    "action:reports_webhookdelivery:retry": (302, 403, 403, 302),
}


def _url_names(patterns: list[Any], out: list[str]) -> list[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _url_names(pattern.url_patterns, out)
        elif isinstance(pattern, URLPattern) and pattern.name:
            out.append(pattern.name)
    return out


def _client(world: World, role: str) -> Client:
    user = world.users[role]
    return Client() if user is None else verified_client(user)


def _url(world: World, name: str) -> str:
    for prefix, obj in world.objects.items():
        if name.startswith(prefix + "_"):
            suffix = name[len(prefix) + 1 :]
            if suffix in ("changelist", "add", "export", "next"):
                return reverse(f"admin:{name}")
            if suffix in ("revoke", "share_contact"):
                share = world.objects["reports_reportshare"]
                return reverse(f"admin:{name}", args=[share.report_id, share.pk])
            if suffix == "retry_media":
                failed = world.objects["reports_mediaitem"]
                return reverse(f"admin:{name}", args=[failed.report_id, failed.pk])
            if suffix == "publish":
                item = world.publishable_item
                return reverse(f"admin:{name}", args=[item.report_id, item.pk])
            if suffix == "remove_region":
                region = world.objects["reports_faceregion"]
                return reverse(f"admin:{name}", args=[region.copy_id, region.pk])
            if suffix == "frame":
                return reverse(f"admin:{name}", args=[obj.pk, 0])
            return reverse(f"admin:{name}", args=[obj.pk])
    if name == "app_list":
        return reverse("admin:app_list", args=["reports"])
    if name == "autocomplete":
        return (
            reverse("admin:autocomplete")
            + "?app_label=reports&model_name=report&field_name=assignee"
        )
    return reverse(f"admin:{name}")


POST_DATA = {
    "reports_moderationqueue_reject": {"reason": "spam"},
    "reports_moderationqueue_ask": {"question": "Which street?"},
    "reports_report_ask": {"question": "Which street?"},
    "reports_report_status": {"status": "in_progress"},
}


def _status(world: World, role: str, name: str, method: str) -> int:
    client = _client(world, role)
    url = _url(world, name)
    if method == "POST":
        data: dict[str, Any] = dict(POST_DATA.get(name, {}))
        if name == "reports_report_share":
            data["organisation"] = world.objects["reports_partnerorganisation"].pk
        if name == "reports_moderationqueue_group":
            data["group_with"] = [world.objects["reports_report"].pk]
        return client.post(url, data).status_code
    return client.get(url).status_code


@pytest.mark.parametrize("name", sorted(TABLE))
def test_admin_view_access_by_role(name: str) -> None:
    method, *expected = TABLE[name]
    world = build_world()
    actual = [_status(world, role, name, method) for role in ROLES]
    assert actual == expected


@pytest.mark.parametrize("key", sorted(ACTIONS))
def test_admin_action_access_by_role(key: str) -> None:
    _, model, action = key.split(":")
    world = build_world()
    obj = world.objects[model]
    actual = []
    for role in ROLES:
        response = _client(world, role).post(
            reverse(f"admin:{model}_changelist"),
            {"action": action, "_selected_action": [obj.pk], "post": "yes"},
        )
        actual.append(response.status_code)
    assert actual == list(ACTIONS[key])


def test_every_admin_url_and_action_is_in_the_table() -> None:
    names = set(_url_names(admin.site.get_urls(), []))
    assert names - set(TABLE) - set(NOT_IN_TABLE) == set()
    actions = {
        f"action:{model._meta.app_label}_{model._meta.model_name}:{action}"
        for model, model_admin in admin.site._registry.items()
        for action in (model_admin.actions or [])
    }
    assert actions - set(ACTIONS) == set()
    models = {f"{m._meta.app_label}_{m._meta.model_name}" for m in admin.site._registry}
    assert (
        models - {name.rsplit("_", 1)[0] for name in TABLE if name.endswith("_changelist")} == set()
    )


# --- Escalation: no role acts on an account ranked as high as its own, or higher ---------

# (actor, target): an admin on a superuser, on another admin and on itself; legal aid and a
# moderator on an admin; a superuser on an admin's password (nobody sets another's).
PAIRS = [
    ("admin", "superuser"),
    ("admin", "other_admin"),
    ("admin", "admin"),
    ("legal_aid", "admin"),
    ("moderator", "admin"),
    ("superuser", "other_admin"),
]

# Every admin view that names an account or a device, and every action on them: tried by
# each pair, each answering as below (one status per pair), and the target left as it was.
# An admin's refused reset answers 302 (the list again, saying "You may not reset ...");
# the superuser's reset shows the link page (200), its deletions go back to the list (302).
ESCALATION: dict[str, tuple[str, tuple[int, ...]]] = {
    "auth_user_change": ("POST", (403, 403, 403, 403, 403, 302)),
    "auth_user_delete": ("POST", (403, 403, 403, 403, 403, 302)),
    "auth_user_password_change": ("POST", (403, 403, 403, 403, 403, 403)),
    "otp_totp_totpdevice_change": ("POST", (403, 403, 403, 403, 403, 403)),
    "otp_totp_totpdevice_config": ("GET", (403, 403, 403, 403, 403, 403)),
    "otp_totp_totpdevice_delete": ("POST", (403, 403, 403, 403, 403, 302)),
    "otp_totp_totpdevice_qrcode": ("GET", (403, 403, 403, 403, 403, 403)),
    "action:auth_user:reset_enrolment": ("POST", (302, 302, 302, 403, 403, 200)),
    "action:otp_totp_totpdevice:delete_selected": ("POST", (403, 403, 403, 403, 403, 302)),
}
# What a superuser may do to another admin's account (all but setting its password).
SUPERUSER_MAY = {
    "auth_user_change",
    "auth_user_delete",
    "otp_totp_totpdevice_delete",
    "action:auth_user:reset_enrolment",
    "action:otp_totp_totpdevice:delete_selected",
}
# Views that name an account or device but change nothing and show no secret.
NOT_ESCALATION = {
    "auth_user_history": "reads the admin's change log",
    "otp_totp_totpdevice_history": "reads the admin's change log",
}


def _account(user: User) -> tuple[Any, ...]:
    """Everything about an account that an escalation would change."""
    user = User.objects.get(pk=user.pk)
    return (
        user.password,
        user.is_active,
        user.is_superuser,
        sorted(user.groups.values_list("name", flat=True)),
        sorted(user.user_permissions.values_list("codename", flat=True)),
        sorted(TOTPDevice.objects.filter(user=user).values_list("pk", "key", "confirmed")),
    )


def _escalation_world() -> dict[str, User]:
    world = build_world()
    superuser = User.objects.create_superuser("w-root", password="root-password-1")
    device_of(superuser)
    users = {role: user for role, user in world.users.items() if user is not None}
    return {**users, "superuser": superuser, "other_admin": staff_user("w-admin-2", "admin")}


def _attempt(actor: User, target: User, view: str) -> int:
    client = verified_client(actor)
    device = device_of(target)
    if view.startswith("action:"):
        _, model, action = view.split(":")
        obj = device if model == "otp_totp_totpdevice" else target
        return client.post(
            reverse(f"admin:{model}_changelist"),
            {"action": action, "_selected_action": [obj.pk], "post": "yes"},
        ).status_code
    obj = device if view.startswith("otp_totp") else target
    url = reverse(f"admin:{view}", args=[obj.pk])
    if ESCALATION[view][0] == "GET":
        return client.get(url).status_code
    data: dict[str, Any] = {
        # Deactivate, make admin, set a password, swap the key: whatever the view takes.
        "post": "yes",
        "username": target.username,
        "is_active": "",
        "groups": [Group.objects.get(name="admin").pk],
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "usable_password": "true",
        "password1": "taken-over-password-1",
        "password2": "taken-over-password-1",
        "user": actor.pk,
        "name": "mine now",
        "key": "00" * 20,
    }
    return client.post(url, data).status_code


@pytest.mark.parametrize("view", sorted(ESCALATION))
def test_no_role_acts_on_an_account_as_high_as_its_own(view: str) -> None:
    users = _escalation_world()
    statuses = []
    for actor, target in PAIRS:
        before = _account(users[target])
        statuses.append(_attempt(users[actor], users[target], view))
        if actor == "superuser" and view in SUPERUSER_MAY:
            continue
        assert _account(users[target]) == before, (actor, target, view)
    assert tuple(statuses) == ESCALATION[view][1]


def test_admin_gives_roles_only_below_its_own(administrator: User, moderator: User) -> None:
    client = verified_client(administrator)
    before = _account(moderator)
    response = client.post(
        reverse("admin:auth_user_change", args=[moderator.pk]),
        {
            "username": moderator.username,
            "is_active": "on",
            "is_staff": "on",
            "groups": [Group.objects.get(name="admin").pk],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 200  # the form again, with the refusal
    assert "groups" in response.context["adminform"].form.errors
    assert _account(moderator) == before
    added = client.post(
        reverse("admin:auth_user_add"), {"username": "climber", "email": "", "role": "admin"}
    )
    assert added.status_code == 200 and "role" in added.context["adminform"].form.errors
    assert not User.objects.filter(username="climber").exists()
    # A role below its own: made, with no password, and a one-time link shown once.
    made = client.post(
        reverse("admin:auth_user_add"), {"username": "newmod", "email": "", "role": "moderator"}
    )
    assert made.status_code == 200
    assert "no-store" in made["Cache-Control"]
    user = User.objects.get(username="newmod")
    assert (user.has_usable_password(), [g.name for g in user.groups.all()]) == (
        False,
        ["moderator"],
    )
    assert "/staff/enrol/" in made.content.decode()


def test_admin_reset_of_a_lower_account_shows_its_link_once(
    administrator: User, moderator: User
) -> None:
    response = verified_client(administrator).post(
        reverse("admin:auth_user_changelist"),
        {"action": "reset_enrolment", "_selected_action": [moderator.pk], "post": "yes"},
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    [link] = re.findall(r"/staff/enrol/[^<\s]+/", response.content.decode())
    moderator.refresh_from_db()
    assert moderator.has_usable_password() is False
    assert TOTPDevice.objects.filter(user=moderator).exists() is False
    first = Client().get(link)
    assert first.status_code == 302


def test_every_view_naming_an_account_or_device_is_in_the_escalation_table() -> None:
    names = {
        name
        for name in _url_names(admin.site.get_urls(), [])
        if name.startswith(("auth_user_", "otp_totp_totpdevice_"))
        and name.rsplit("_", 1)[-1] not in ("changelist", "add")
    }
    assert names - set(ESCALATION) - set(NOT_ESCALATION) == set()
    actions = {
        f"action:{model._meta.app_label}_{model._meta.model_name}:{action}"
        for model, model_admin in admin.site._registry.items()
        if model in (User, TOTPDevice)
        for action in [*(model_admin.actions or []), *admin.site._actions]
    }
    assert actions - set(ESCALATION) == {"action:auth_user:delete_selected"}  # no role has it
