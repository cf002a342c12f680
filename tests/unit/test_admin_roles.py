"""A role-by-view table: every admin URL and action, for every role. The meta-test fails
when an admin model, URL or action is missing from the table."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, reverse

from tests.staff import verified_client
from tests.unit.admin_world import World, build_world

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "moderator", "legal_aid", "admin")
# Anonymous users are sent to the login page (302); a role without access gets 403; the
# POST views answer 302 (back to the page) when they ran. The TOTP QR code answers 503
# because the optional qrcode package is not installed: staff get the otpauth:// link.

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
    "auth_user_password_change": ("GET", 302, 403, 403, 200),
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
    "otp_totp_totpdevice_add": ("GET", 302, 403, 403, 200),
    "otp_totp_totpdevice_change": ("GET", 302, 403, 403, 200),
    "otp_totp_totpdevice_changelist": ("GET", 302, 403, 403, 200),
    "otp_totp_totpdevice_config": ("GET", 302, 403, 403, 200),
    "otp_totp_totpdevice_delete": ("GET", 302, 403, 403, 200),
    "otp_totp_totpdevice_history": ("GET", 302, 403, 403, 200),
    "otp_totp_totpdevice_qrcode": ("GET", 302, 403, 403, 503),
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
            if suffix == "revoke":
                share = world.objects["reports_reportshare"]
                return reverse(f"admin:{name}", args=[share.report_id, share.pk])
            return reverse(f"admin:{name}", args=[obj.pk])
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
