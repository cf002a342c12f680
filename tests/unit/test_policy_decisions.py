"""Each policy predicate, true and false: the role's permission, then the report's state.
The admin shows a control only when its predicate holds; services refuse otherwise."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import AnonymousUser, Permission, User
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from reports import policy, services
from reports.models import (
    AuditEvent,
    CaseStatus,
    Moderation,
    PartnerOrganisation,
    Report,
    ReportShare,
)
from reports.roles import ADMIN, LEGAL_AID, MODERATOR
from tests.factories.staff import staff_user

pytestmark = pytest.mark.django_db


def _report(**fields: object) -> Report:
    """Predicates read fields only: an unsaved report is enough."""
    defaults: dict[str, object] = {
        "description": "x",
        "moderation": Moderation.APPROVED,
        "consent_contact": True,
        "consent_share_partners": True,
        "contact_sealed": b"sealed",
    }
    return Report(**{**defaults, **fields})


def _deactivated(user: User) -> User:
    user.is_active = False
    user.save(update_fields=["is_active"])
    return User.objects.get(pk=user.pk)  # fresh: no cached permissions


def test_can_moderate(moderator: User, legal_aid: User) -> None:
    assert policy.can_moderate(moderator)
    assert not policy.can_moderate(legal_aid)
    assert not policy.can_moderate(AnonymousUser())
    assert not policy.can_moderate(_deactivated(moderator))


def test_can_read_original_text(moderator: User, legal_aid: User) -> None:
    assert policy.can_read_original_text(moderator)
    assert not policy.can_read_original_text(legal_aid)


def test_can_ask_witness(moderator: User, legal_aid: User, administrator: User) -> None:
    assert policy.can_ask_witness(moderator)
    assert policy.can_ask_witness(legal_aid)
    assert not policy.can_ask_witness(administrator)


def test_can_triage_needs_the_role(legal_aid: User, moderator: User) -> None:
    assert policy.can_triage(legal_aid)
    assert not policy.can_triage(moderator)
    assert not policy.can_triage(moderator, _report())
    assert not policy.can_triage(_deactivated(legal_aid), _report())


@pytest.mark.parametrize(
    ("moderation", "allowed"),
    [
        (Moderation.APPROVED, True),
        (Moderation.PENDING, False),
        (Moderation.RECEIVED, False),
        (Moderation.REJECTED, False),
    ],
)
def test_can_triage_only_approved_reports(legal_aid: User, moderation: str, allowed: bool) -> None:
    assert policy.can_triage(legal_aid, _report(moderation=moderation)) is allowed


def test_can_reveal_contact(legal_aid: User, administrator: User, moderator: User) -> None:
    assert policy.can_reveal_contact(legal_aid)
    assert policy.can_reveal_contact(legal_aid, _report())
    assert policy.can_reveal_contact(administrator, _report())
    assert not policy.can_reveal_contact(moderator)
    assert not policy.can_reveal_contact(moderator, _report())
    assert not policy.can_reveal_contact(legal_aid, _report(consent_contact=False))
    assert not policy.can_reveal_contact(legal_aid, _report(contact_sealed=None))
    assert not policy.can_reveal_contact(legal_aid, _report(contact_sealed=b""))


def test_share_refusal_names_the_reason() -> None:
    active = PartnerOrganisation(name="Active", active=True)
    inactive = PartnerOrganisation(name="Dormant", active=False)
    assert policy.share_refusal(_report()) is None
    assert policy.share_refusal(_report(), active) is None
    assert policy.share_refusal(_report(moderation=Moderation.PENDING)) == (
        "Only approved reports can be shared."
    )
    assert policy.share_refusal(_report(consent_share_partners=False)) == (
        "The witness did not consent to sharing with partners."
    )
    assert policy.share_refusal(_report(), inactive) == "Dormant is not active."


def test_can_share(legal_aid: User, administrator: User, moderator: User) -> None:
    inactive = PartnerOrganisation(name="Dormant", active=False)
    assert policy.can_share(legal_aid)
    assert policy.can_share(legal_aid, _report())
    assert not policy.can_share(administrator)
    assert not policy.can_share(moderator, _report())
    assert not policy.can_share(legal_aid, _report(moderation=Moderation.REJECTED))
    assert not policy.can_share(legal_aid, _report(consent_share_partners=False))
    assert not policy.can_share(legal_aid, _report(), inactive)


def test_can_export(legal_aid: User, moderator: User, administrator: User) -> None:
    assert policy.can_export(legal_aid)
    assert not policy.can_export(moderator)
    assert not policy.can_export(administrator)


def test_can_view_overview(moderator: User, legal_aid: User, administrator: User) -> None:
    assert all(policy.can_view_overview(u) for u in (moderator, legal_aid, administrator))
    assert not policy.can_view_overview(AnonymousUser())
    assert not policy.can_view_overview(User.objects.create_user("nobody", is_staff=True))


def test_can_grant_permissions(administrator: User) -> None:
    superuser = User.objects.create_superuser("root", password="root-password-1")
    assert policy.can_grant_permissions(superuser)
    assert not policy.can_grant_permissions(administrator)
    assert not policy.can_grant_permissions(AnonymousUser())


def test_can_manage_user_only_below_ones_own_rank(
    administrator: User, moderator: User, legal_aid: User
) -> None:
    superuser = User.objects.create_superuser("root", password="root-password-1")
    other_admin = staff_user("other-admin", ADMIN)
    assert policy.can_manage_user(administrator)
    assert policy.can_manage_user(administrator, moderator)
    assert policy.can_manage_user(administrator, legal_aid)
    # Never one's own account (its second factor included), an equal, or anyone higher.
    assert not policy.can_manage_user(administrator, administrator)
    assert not policy.can_manage_user(administrator, other_admin)
    assert not policy.can_manage_user(administrator, superuser)
    # Raw permissions put an account out of reach of every role.
    legal_aid.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    assert not policy.can_manage_user(administrator, legal_aid)
    # Legal aid and moderators manage nobody; a superuser manages everyone but themself.
    assert not policy.can_manage_user(legal_aid)
    assert not policy.can_manage_user(legal_aid, moderator)
    assert not policy.can_manage_user(moderator, legal_aid)
    assert not policy.can_manage_user(_deactivated(administrator), moderator)
    assert policy.can_manage_user(superuser, other_admin)
    assert not policy.can_manage_user(superuser, superuser)


def test_grantable_roles_are_below_ones_own(administrator: User, legal_aid: User) -> None:
    superuser = User.objects.create_superuser("root", password="root-password-1")
    assert policy.grantable_roles(administrator) == [MODERATOR, LEGAL_AID, "on_call"]
    assert policy.grantable_roles(superuser) == [MODERATOR, LEGAL_AID, ADMIN, "on_call"]
    assert policy.grantable_roles(legal_aid) == []
    assert policy.grantable_roles(AnonymousUser()) == []


def _share(**report_fields: object) -> ReportShare:
    return ReportShare(
        report=_report(**{"consent_contact_partners": True, **report_fields}),
        organisation=PartnerOrganisation(name="P"),
    )


def test_can_share_contact(legal_aid: User, moderator: User, administrator: User) -> None:
    assert policy.can_share_contact(legal_aid)
    assert policy.can_share_contact(legal_aid, _share())
    # The admin role may reveal contact details but never hands them to a partner.
    assert not policy.can_share_contact(administrator)
    assert not policy.can_share_contact(moderator)
    assert not policy.can_share_contact(legal_aid, _share(consent_contact_partners=False))
    assert not policy.can_share_contact(legal_aid, _share(contact_sealed=None))
    revoked = _share()
    revoked.revoked_at = timezone.now()
    assert policy.contact_share_refusal(revoked) == "This share was revoked."
    assert not policy.can_share_contact(legal_aid, revoked)


# --- The services refuse by the same predicates -------------------------------------------
# Real users and reports that the predicates refuse: a service that stops asking its
# predicate lets them through and fails here.

type Call = Callable[[Report, User], object]


def _share_then_revoke(report: Report, by: User) -> object:
    organisation = PartnerOrganisation.objects.create(name="Revoked")
    share = ReportShare.objects.create(report=report, organisation=organisation)
    return services.report_share_revoke(share=share, by=by)


def _organisation() -> PartnerOrganisation:
    return PartnerOrganisation.objects.get_or_create(name="Partner")[0]


ROLE_DECISIONS: list[tuple[str, Call]] = [
    ("can_moderate", lambda r, by: services.report_lock_acquire(report=r, by=by)),
    ("can_moderate", lambda r, by: services.report_lock_release(report=r, by=by)),
    (
        "can_moderate",
        lambda r, by: services.report_redact(
            report=r, by=by, redaction=services.Redaction(facts={"description": "x"})
        ),
    ),
    ("can_moderate", lambda r, by: services.report_approve(report=r, by=by)),
    ("can_moderate", lambda r, by: services.report_reject(report=r, by=by, reason="spam")),
    ("can_moderate", lambda r, by: services.incident_group(reports=[r, r], by=by)),
    ("can_ask_witness", lambda r, by: services.report_message_ask(report=r, by=by, body="?")),
    ("can_triage", lambda r, by: services.report_note_add(report=r, by=by, body="n")),
    ("can_triage", lambda r, by: services.report_legal_hold_set(report=r, by=by, hold=True)),
    ("can_triage", lambda r, by: services.report_triage_update(report=r, by=by, priority="high")),
    (
        "can_triage",
        lambda r, by: services.report_case_status_set(report=r, by=by, status="in_progress"),
    ),
    ("can_reveal_contact", lambda r, by: services.report_contact_reveal(report=r, by=by)),
    (
        "can_share",
        lambda r, by: services.report_share(report=r, organisation=_organisation(), by=by),
    ),
    ("can_share", _share_then_revoke),
    ("can_export", lambda r, by: services.reports_export_record(by=by, count=1, query="")),
]

# (predicate, call, what makes the report refused, the refusal)
REPORT_DECISIONS: list[tuple[str, Call, dict[str, object], type[Exception]]] = [
    (
        "can_triage",
        lambda r, by: services.report_triage_update(report=r, by=by, priority="high"),
        {"moderation": Moderation.PENDING},
        services.InvalidTransition,
    ),
    (
        "can_triage",
        lambda r, by: services.report_case_status_set(report=r, by=by, status="in_progress"),
        {"moderation": Moderation.PENDING},
        services.InvalidTransition,
    ),
    (
        "can_reveal_contact",
        lambda r, by: services.report_contact_reveal(report=r, by=by),
        {"consent_contact": False},
        services.ContactNotAvailable,
    ),
    (
        "can_share",
        lambda r, by: services.report_share(report=r, organisation=_organisation(), by=by),
        {"consent_share_partners": False},
        services.ShareNotAllowed,
    ),
]


@pytest.fixture
def superuser() -> User:
    return User.objects.create_superuser("root", password="root-password-1")


def _saved_report(**fields: object) -> Report:
    report = _report(receipt_hash="f" * 64, case_status=CaseStatus.NEW, **fields)
    report.save(force_insert=True)
    return report


@pytest.fixture
def staff_without_role() -> User:
    return User.objects.create_user("no-role", password="no-role-password-1", is_staff=True)


@pytest.mark.parametrize(("predicate", "call"), ROLE_DECISIONS)
def test_services_refuse_the_role_by_its_predicate(
    staff_without_role: User, predicate: str, call: Call
) -> None:
    report = _saved_report()
    assert not getattr(policy, predicate)(staff_without_role)
    with pytest.raises(PermissionDenied):
        call(report, staff_without_role)
    assert not AuditEvent.objects.filter(actor=staff_without_role).exists()


@pytest.mark.parametrize(("predicate", "call", "refused", "refusal"), REPORT_DECISIONS)
def test_services_refuse_the_report_by_its_predicate(
    superuser: User,
    predicate: str,
    call: Call,
    refused: dict[str, object],
    refusal: type[Exception],
) -> None:
    report = _saved_report(**refused)
    # The role may; this report may not.
    assert getattr(policy, predicate)(superuser)
    assert not getattr(policy, predicate)(superuser, report, *_extra(predicate))
    with pytest.raises(refusal):
        call(report, superuser)
    assert not AuditEvent.objects.filter(actor=superuser).exists()


def _extra(predicate: str) -> tuple[object, ...]:
    return (_organisation(),) if predicate == "can_share" else ()
