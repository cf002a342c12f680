"""Staff in real Chromium: a moderator works the queue; legal aid triages and shares."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User

from reports.contact import Contact
from reports.models import AuditEvent, CaseStatus, Moderation, PartnerOrganisation, Report
from reports.services import report_create, report_settle_if_ready
from tests.staff import PASSWORD, device_of, totp_token

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desktop_page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def _login(page: Any, base: str, user: User, password: str) -> None:
    page.goto(base + "/admin/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password)
    page.get_by_label("OTP Token").fill(totp_token(device_of(user)))
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base + "/admin/")


def _pending_report() -> Report:
    report = report_create(
        receipt_hash="e" * 64,
        description="Agents took Ana Ruiz from 4 Oak St.",
        facts={"town": "Springfield", "consent_contact": True, "consent_share_partners": True},
        contact=Contact(value="+1 555 0199", safe_times="evenings"),
    )
    report_settle_if_ready(report=report)
    return report


def test_moderator_redacts_asks_and_approves(
    desktop_page: Any, live_server: Any, moderator: User
) -> None:
    report = _pending_report()
    page = desktop_page
    _login(page, live_server.url, moderator, "mod-password-1")
    page.goto(live_server.url + "/admin/reports/moderationqueue/")
    page.get_by_role("link", name=str(report.id)[:8]).click()
    page.locator("#id_description_redacted").fill("Agents took [name] from [address].")
    page.get_by_role("button", name="Save redaction", exact=True).click()
    page.get_by_label("Question").fill("Which way did the vans go?")
    page.get_by_role("button", name="Send question").click()
    page.get_by_role("button", name="Approve", exact=True).click()
    page.wait_for_url(live_server.url + "/admin/reports/moderationqueue/")

    report.refresh_from_db()
    assert (report.moderation, report.description_shown) == (
        Moderation.APPROVED,
        "Agents took [name] from [address].",
    )
    assert list(report.messages.values_list("body", flat=True)) == ["Which way did the vans go?"]
    assert list(
        AuditEvent.objects.filter(report_id=report.id, actor=moderator)
        .order_by("at", "id")
        .values_list("action", flat=True)
    ) == ["report.locked", "report.redacted", "message.asked", "report.approved"]


def test_legal_aid_reveals_contact_changes_status_and_shares(
    desktop_page: Any, live_server: Any, moderator: User, legal_aid: User
) -> None:
    report = _pending_report()
    Report.objects.filter(id=report.id).update(moderation=Moderation.APPROVED, case_status="new")
    partner = PartnerOrganisation.objects.create(name="Legal Aid North", shared_fields=["id"])
    page = desktop_page
    _login(page, live_server.url, legal_aid, PASSWORD)
    change_url = f"{live_server.url}/admin/reports/report/{report.id}/change/"
    page.goto(change_url)
    page.get_by_role("button", name="Reveal contact details").click()
    assert page.locator("#contact-value").inner_text() == "+1 555 0199"
    assert (
        AuditEvent.objects.filter(
            action="contact.revealed", actor=legal_aid, report_id=report.id
        ).count()
        == 1
    )

    page.goto(change_url)
    page.get_by_label("Change to").select_option("in_progress")
    page.get_by_role("button", name="Change status").click()
    page.get_by_label("Share with").select_option(str(partner.pk))
    page.get_by_role("button", name="Share", exact=True).click()
    page.get_by_text("Shared with Legal Aid North.").wait_for()

    report.refresh_from_db()
    assert report.case_status == CaseStatus.IN_PROGRESS
    assert list(report.shares.values_list("organisation__name", "revoked_at")) == [
        ("Legal Aid North", None)
    ]
