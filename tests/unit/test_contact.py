from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import PermissionDenied

from reports.contact import Contact, contact_open
from reports.models import AuditEvent, MessageSender, Report
from reports.roles import MODERATOR
from reports.services import (
    ContactNotAvailable,
    report_contact_reveal,
    report_create,
    report_message_ask,
    report_message_reply,
)

pytestmark = pytest.mark.django_db

CONTACT = Contact(value="+1 617 555 0199", safe_times="evenings")


def _report(consent: bool = True) -> Report:
    return report_create(
        receipt_hash="c" * 64,
        description="x",
        facts={"consent_contact": consent, "contact_channel": "signal"},
        contact=CONTACT,
    )


def _legal_aid() -> User:
    user = User.objects.create_user(username="lawyer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="reveal_contact"))
    return User.objects.get(id=user.id)  # fresh permission cache


def test_contact_is_sealed_at_rest() -> None:
    report = _report()
    sealed = Report.objects.values_list("contact_sealed", flat=True).get()
    assert sealed is not None
    stored = bytes(sealed)
    assert b"555" not in stored
    assert b"evenings" not in stored
    assert contact_open(report_id=report.id, sealed=stored) == CONTACT


def test_contact_sealed_for_one_report_does_not_open_for_another() -> None:
    report = _report()
    other = report_create(receipt_hash="d" * 64, description="y")
    with pytest.raises(InvalidTag):
        contact_open(report_id=other.id, sealed=report.contact_sealed)  # type: ignore[arg-type]


def test_contact_reveal_by_legal_aid_is_audited() -> None:
    report = _report()
    lawyer = _legal_aid()
    assert report_contact_reveal(report=report, by=lawyer) == CONTACT
    event = AuditEvent.objects.get(action="contact.revealed")
    assert (event.actor, event.report_id) == (lawyer, report.id)


def test_contact_reveal_without_permission_is_refused() -> None:
    report = _report()
    moderator = User.objects.create_user(username="m", is_staff=True)
    with pytest.raises(PermissionDenied):
        report_contact_reveal(report=report, by=moderator)
    assert not AuditEvent.objects.filter(action="contact.revealed").exists()


def test_contact_reveal_by_inactive_user_is_refused() -> None:
    report = _report()
    lawyer = _legal_aid()
    User.objects.filter(id=lawyer.id).update(is_active=False)
    lawyer.refresh_from_db()
    with pytest.raises(PermissionDenied):
        report_contact_reveal(report=report, by=lawyer)
    assert not AuditEvent.objects.filter(action="contact.revealed").exists()


def test_contact_reveal_without_consent_is_refused() -> None:
    report = _report(consent=False)
    with pytest.raises(ContactNotAvailable):
        report_contact_reveal(report=report, by=_legal_aid())


def test_report_messages_go_both_ways_with_audit() -> None:
    report = _report()
    moderator = User.objects.create_user(username="m", is_staff=True)
    moderator.groups.add(Group.objects.get(name=MODERATOR))
    report_message_ask(report=report, by=moderator, body="Which street was it?")
    report_message_reply(report=report, body="Elm Street")
    assert list(report.messages.values_list("sender", "body")) == [
        (MessageSender.STAFF, "Which street was it?"),
        (MessageSender.WITNESS, "Elm Street"),
    ]
    assert list(
        AuditEvent.objects.filter(action__startswith="message").values_list("action", flat=True)
    ) == ["message.replied", "message.asked"]
