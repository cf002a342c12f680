"""No staff edit is ever silently dropped (design promise 10, issue 12), in real Chromium
at 1366x768: for every action button of a report's page, a pending edit is either saved
with the action in the same request, or the action refuses and the page keeps the edit.
Leaving a page with unsaved changes asks first."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from reports.models import (
    AuditEvent,
    CaseStatus,
    Moderation,
    PartnerOrganisation,
    Priority,
    Report,
    ReportMessage,
)
from reports.services import report_message_reply
from tests.e2e.staff_pages import laptop_page, login, pending_report
from tests.factories.staff import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
__all__ = ["laptop_page"]  # the fixture, used by name

REDACTED = "Agents took [name] from [address]."


def _moderate(page: Any, base: str, moderator: User, report: Report) -> None:
    login(page, base, moderator, "mod-password-1")
    page.goto(f"{base}/admin/reports/moderationqueue/{report.pk}/change/")
    page.locator("#id_description_redacted").fill(REDACTED)


def _triage(page: Any, base: str, legal_aid: User, report: Report) -> None:
    """Legal aid on an approved report, with the edits the issue saw lost: priority
    Urgent and a note."""
    Report.objects.filter(id=report.id).update(moderation=Moderation.APPROVED, case_status="new")
    login(page, base, legal_aid, PASSWORD)
    page.goto(f"{base}/admin/reports/report/{report.pk}/change/")
    page.get_by_label("Priority").select_option(Priority.URGENT)
    page.get_by_label("New internal note").fill("Called the family; call back Monday.")


def _triage_kept(report: Report) -> None:
    report.refresh_from_db()
    assert report.priority == Priority.URGENT
    assert list(report.notes.values_list("body", flat=True)) == [
        "Called the family; call back Monday."
    ]


def test_approve_carries_the_redaction(laptop_page: Any, live_server: Any, moderator: User) -> None:
    report = pending_report(location_text="outside 4 Oak St.")
    _moderate(laptop_page, live_server.url, moderator, report)
    laptop_page.get_by_label("Where").fill("outside [address]")
    laptop_page.get_by_role("button", name="Approve", exact=True).click()
    laptop_page.wait_for_url(live_server.url + "/admin/reports/moderationqueue/")
    report.refresh_from_db()
    assert report.moderation == Moderation.APPROVED
    assert (report.shown("description"), report.shown("location_text")) == (
        REDACTED,
        "outside [address]",
    )
    assert list(
        AuditEvent.objects.filter(report_id=report.id, actor=moderator)
        .order_by("at", "id")
        .values_list("action", flat=True)
    ) == ["report.locked", "report.redacted", "report.approved"]


def test_reject_carries_the_redaction(laptop_page: Any, live_server: Any, moderator: User) -> None:
    report = pending_report()
    _moderate(laptop_page, live_server.url, moderator, report)
    laptop_page.get_by_label("Reject because").select_option("false_alarm")
    laptop_page.get_by_role("button", name="Reject", exact=True).click()
    laptop_page.wait_for_url(live_server.url + "/admin/reports/moderationqueue/")
    report.refresh_from_db()
    assert (report.moderation, report.reject_reason, report.description_redacted) == (
        Moderation.REJECTED,
        "false_alarm",
        REDACTED,
    )


def test_reject_without_a_reason_refuses_and_keeps_the_redaction(
    laptop_page: Any, live_server: Any, moderator: User
) -> None:
    report = pending_report()
    _moderate(laptop_page, live_server.url, moderator, report)
    laptop_page.get_by_role("button", name="Reject", exact=True).click()
    laptop_page.get_by_text("Choose why this report is rejected.").wait_for()
    assert laptop_page.locator("#id_description_redacted").input_value() == REDACTED
    report.refresh_from_db()
    assert (report.moderation, report.description_redacted) == (Moderation.PENDING, None)


def test_redact_with_an_unsent_question_refuses_and_keeps_both(
    laptop_page: Any, live_server: Any, moderator: User
) -> None:
    report = pending_report()
    _moderate(laptop_page, live_server.url, moderator, report)
    laptop_page.get_by_label("Question").fill("Which way did the vans go?")
    laptop_page.get_by_role("button", name="Save redaction").click()
    laptop_page.get_by_text("You have unsaved changes").wait_for()
    assert laptop_page.locator("#id_description_redacted").input_value() == REDACTED
    assert laptop_page.get_by_label("Question").input_value() == "Which way did the vans go?"
    report.refresh_from_db()
    assert (report.description_redacted, report.messages.count()) == (None, 0)

    laptop_page.get_by_label("Question").fill("")
    laptop_page.get_by_role("button", name="Save redaction").click()
    laptop_page.get_by_text("Redaction saved.").wait_for()
    report.refresh_from_db()
    assert report.description_redacted == REDACTED


def test_ask_carries_the_redaction(laptop_page: Any, live_server: Any, moderator: User) -> None:
    report = pending_report()
    report_message_reply(report=report, body="My neighbour Ana Ruiz was taken.")
    _moderate(laptop_page, live_server.url, moderator, report)
    laptop_page.get_by_label("Redact before approving").fill("My neighbour [name] was taken.")
    laptop_page.get_by_label("Question").fill("Which way did the vans go?")
    laptop_page.get_by_role("button", name="Send question").click()
    laptop_page.get_by_text("Question sent").wait_for()
    report.refresh_from_db()
    assert report.description_redacted == REDACTED
    assert list(report.messages.values_list("body_redacted", "body")) == [
        ("My neighbour [name] was taken.", "My neighbour Ana Ruiz was taken."),
        (None, "Which way did the vans go?"),
    ]


def test_group_carries_the_redaction(laptop_page: Any, live_server: Any, moderator: User) -> None:
    report = pending_report(1)
    other = pending_report(2, description="Two vans on Oak St. this morning.")
    _moderate(laptop_page, live_server.url, moderator, report)
    laptop_page.locator(f'input[name="group_with"][value="{other.pk}"]').check()
    laptop_page.get_by_role("button", name="Group into one incident").click()
    laptop_page.get_by_text("Grouped 2 reports into one incident.").wait_for()
    report.refresh_from_db()
    other.refresh_from_db()
    assert report.description_redacted == REDACTED
    assert report.incident_id is not None and report.incident_id == other.incident_id


def test_release_with_an_unsaved_redaction_refuses(
    laptop_page: Any, live_server: Any, moderator: User
) -> None:
    report = pending_report()
    _moderate(laptop_page, live_server.url, moderator, report)
    laptop_page.get_by_role("button", name="Release without deciding").click()
    laptop_page.get_by_text("You have unsaved changes").wait_for()
    assert laptop_page.locator("#id_description_redacted").input_value() == REDACTED
    report.refresh_from_db()
    assert report.locked_by == moderator


def test_status_carries_priority_and_note(
    laptop_page: Any, live_server: Any, moderator: User, legal_aid: User
) -> None:
    report = pending_report()
    _triage(laptop_page, live_server.url, legal_aid, report)
    laptop_page.get_by_label("Change to").select_option("in_progress")
    laptop_page.get_by_role("button", name="Change status").click()
    laptop_page.get_by_text("Case status changed.").wait_for()
    _triage_kept(report)
    assert report.case_status == CaseStatus.IN_PROGRESS


def test_share_carries_priority_and_note(
    laptop_page: Any, live_server: Any, moderator: User, legal_aid: User
) -> None:
    report = pending_report()
    partner = PartnerOrganisation.objects.create(name="Legal Aid North", shared_fields=["town"])
    _triage(laptop_page, live_server.url, legal_aid, report)
    laptop_page.get_by_label("Share with").select_option(str(partner.pk))
    laptop_page.get_by_role("button", name="Share", exact=True).click()
    laptop_page.get_by_text("Shared with Legal Aid North.").wait_for()
    _triage_kept(report)
    assert report.shares.filter(organisation=partner, revoked_at=None).exists()


def test_reveal_carries_priority_and_note(
    laptop_page: Any, live_server: Any, moderator: User, legal_aid: User
) -> None:
    report = pending_report()
    _triage(laptop_page, live_server.url, legal_aid, report)
    laptop_page.get_by_role("button", name="Reveal contact details").click()
    assert laptop_page.locator("#contact-value").inner_text() == "+1 555 0199"
    _triage_kept(report)


def test_assign_carries_priority_and_note(
    laptop_page: Any, live_server: Any, moderator: User, legal_aid: User
) -> None:
    report = pending_report()
    _triage(laptop_page, live_server.url, legal_aid, report)
    laptop_page.get_by_role("button", name="Assign to me").click()
    laptop_page.get_by_text("Assigned to you.").wait_for()
    _triage_kept(report)
    assert report.assignee == legal_aid


def test_status_with_an_unsent_question_refuses_and_keeps_every_edit(
    laptop_page: Any, live_server: Any, moderator: User, legal_aid: User
) -> None:
    report = pending_report()
    _triage(laptop_page, live_server.url, legal_aid, report)
    laptop_page.get_by_label("Question").fill("Can we call you tomorrow?")
    laptop_page.get_by_label("Change to").select_option("in_progress")
    laptop_page.get_by_role("button", name="Change status").click()
    laptop_page.get_by_text("You have unsaved changes").wait_for()
    assert laptop_page.get_by_label("Priority").input_value() == Priority.URGENT
    assert laptop_page.get_by_label("Question").input_value() == "Can we call you tomorrow?"
    report.refresh_from_db()
    assert (report.priority, report.case_status, report.notes.count()) == (
        Priority.NORMAL,
        CaseStatus.NEW,
        0,
    )
    assert not ReportMessage.objects.filter(report=report).exists()


def test_leaving_with_unsaved_changes_asks_first(
    laptop_page: Any, live_server: Any, moderator: User
) -> None:
    report = pending_report()
    _moderate(laptop_page, live_server.url, moderator, report)
    dialogs: list[str] = []

    def stay(dialog: Any) -> None:
        dialogs.append(dialog.type)
        dialog.dismiss()

    laptop_page.on("dialog", stay)
    laptop_page.get_by_role("link", name="Moderation queue").click()
    laptop_page.wait_for_timeout(500)
    assert dialogs == ["beforeunload"]
    assert laptop_page.url.endswith(f"/{report.pk}/change/")
    assert laptop_page.locator("#id_description_redacted").input_value() == REDACTED
