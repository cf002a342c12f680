"""Staff roles as Django groups with exact permissions. Kept in step on every migrate.

- moderator: the queue, sanitized media, redaction, approve/reject, incidents, questions
  to the witness and the conversation with them. Never contact details.
- legal_aid: approved reports, triage, the conversation with the witness, sharing,
  export, publishable copies with faces hidden (``publish``), the audited contact reveal.
- admin: accounts of the roles below it (never another admin's or a superuser's), their
  roles, resets and two-factor devices, login lockouts, partner organisations, labels, the
  audit trail, publishable copies; contact details only through the same audited reveal.

The roles rank (ROLE_RANK): an account may manage only accounts ranked below it
(reports/policy.py ``can_manage_user``); only a superuser goes above the admin role.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

MODERATOR = "moderator"
LEGAL_AID = "legal_aid"
ADMIN = "admin"
ROLES = (MODERATOR, LEGAL_AID, ADMIN)
# Moderators and legal aid are peers; an admin manages both; no role manages its own rank.
ROLE_RANK: dict[str, int] = {MODERATOR: 1, LEGAL_AID: 1, ADMIN: 2}

ROLE_PERMISSIONS: dict[str, list[str]] = {
    MODERATOR: [
        "reports.view_moderationqueue",
        "reports.change_moderationqueue",
        "reports.view_report",
        "reports.view_unapproved",
        "reports.view_original_text",
        "reports.moderate_report",
        "reports.ask_witness",
        "reports.view_reportmessage",
        "reports.view_mediaitem",
        "reports.view_incident",
        "reports.add_incident",
        "reports.change_incident",
        "reports.view_overview",
    ],
    LEGAL_AID: [
        "reports.view_report",
        "reports.change_report",
        "reports.triage_report",
        "reports.reveal_contact",
        "reports.share_report",
        "reports.export_reports",
        "reports.publish",
        "reports.ask_witness",
        "reports.view_reportmessage",
        "reports.view_mediaitem",
        "reports.view_incident",
        "reports.view_label",
        "reports.add_label",
        "reports.view_partnerorganisation",
        "reports.view_reportshare",
        "reports.view_partnercase",
        "reports.view_overview",
    ],
    ADMIN: [
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "auth.view_group",
        # Devices come only from their owner's enrolment page: never added or edited here.
        "otp_totp.view_totpdevice",
        "otp_totp.delete_totpdevice",
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
        "axes.view_accesslog",
        "axes.view_accessfailurelog",
        "reports.view_auditevent",
        "reports.view_partnerorganisation",
        "reports.add_partnerorganisation",
        "reports.change_partnerorganisation",
        "reports.view_reportshare",
        "reports.view_partnerapikey",
        "reports.add_partnerapikey",
        "reports.change_partnerapikey",
        "reports.view_webhookendpoint",
        "reports.add_webhookendpoint",
        "reports.change_webhookendpoint",
        "reports.view_webhookdelivery",
        "reports.change_webhookdelivery",
        "reports.view_label",
        "reports.add_label",
        "reports.change_label",
        "reports.delete_label",
        "reports.view_report",
        "reports.view_unapproved",
        "reports.reveal_contact",
        "reports.publish",
        "reports.view_overview",
    ],
}


def roles_ensure(**_: Any) -> None:
    from django.conf import settings

    # Membership only: who gets urgent-report alerts. No permissions come with it.
    Group.objects.get_or_create(name=settings.TESTIGO_ON_CALL_GROUP)
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        permissions = [
            Permission.objects.get(content_type__app_label=app, codename=codename)
            for app, codename in (name.split(".", 1) for name in codenames)
        ]
        group.permissions.set(permissions)
