"""Each policy predicate, true and false: the role's permission, then the report's state.
The admin shows a control only when its predicate holds; services refuse otherwise."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied

from reports import policy, services
from reports.models import (
    AuditEvent,
    CaseStatus,
    Moderation,
    PartnerOrganisation,
    Report,
    ReportShare,
)

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


def test_can_change_second_factor_never_ones_own(administrator: User, moderator: User) -> None:
    assert policy.can_change_second_factor(administrator)
    assert policy.can_change_second_factor(administrator, moderator.pk)
    assert not policy.can_change_second_factor(administrator, administrator.pk)


# --- The services refuse by the same predicates -------------------------------------------
# Each predicate is replaced by one that says no, for a superuser on a report every real
# check would let through: a service that stops asking its predicate fails here.

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

REPORT_DECISIONS: list[tuple[str, Call, type[Exception]]] = [
    (
        "can_triage",
        lambda r, by: services.report_triage_update(report=r, by=by, priority="high"),
        services.InvalidTransition,
    ),
    (
        "can_triage",
        lambda r, by: services.report_case_status_set(report=r, by=by, status="in_progress"),
        services.InvalidTransition,
    ),
    (
        "can_reveal_contact",
        lambda r, by: services.report_contact_reveal(report=r, by=by),
        services.ContactNotAvailable,
    ),
    (
        "can_share",
        lambda r, by: services.report_share(report=r, organisation=_organisation(), by=by),
        services.ShareNotAllowed,
    ),
]


@pytest.fixture
def superuser() -> User:
    return User.objects.create_superuser("root", password="root-password-1")


def _saved_report() -> Report:
    report = _report(receipt_hash="f" * 64, case_status=CaseStatus.NEW)
    report.save(force_insert=True)
    return report


@pytest.mark.parametrize(("predicate", "call"), ROLE_DECISIONS)
def test_services_refuse_the_role_by_its_predicate(
    monkeypatch: pytest.MonkeyPatch, superuser: User, predicate: str, call: Call
) -> None:
    report = _saved_report()
    monkeypatch.setattr(policy, predicate, lambda *args, **kwargs: False)
    with pytest.raises(PermissionDenied):
        call(report, superuser)
    assert not AuditEvent.objects.filter(actor=superuser).exists()


@pytest.mark.parametrize(("predicate", "call", "refusal"), REPORT_DECISIONS)
def test_services_refuse_the_report_by_its_predicate(
    monkeypatch: pytest.MonkeyPatch,
    superuser: User,
    predicate: str,
    call: Call,
    refusal: type[Exception],
) -> None:
    report = _saved_report()
    # The role may; this report may not.
    monkeypatch.setattr(policy, predicate, lambda user, report=None, *rest: report is None)
    with pytest.raises(refusal):
        call(report, superuser)
    assert not AuditEvent.objects.filter(actor=superuser).exists()
