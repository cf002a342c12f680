"""Staff in real Chromium: a moderator works the queue; legal aid triages, shares and gives
one partner the contact details; a new staff member sets up their login from the link."""

from __future__ import annotations

from base64 import b32decode
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from reports import services
from reports.contact import Contact
from reports.models import AuditEvent, CaseStatus, Moderation, PartnerOrganisation, Report
from reports.services import report_create, report_settle_if_ready
from tests.factories.staff import PASSWORD, device_of, totp_token

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


def test_new_staff_member_sets_up_their_login_through_the_one_time_link(
    desktop_page: Any, live_server: Any
) -> None:
    user, link = services.staff_create(username="newbie", role="legal_aid")
    page = desktop_page
    page.goto(live_server.url + urlsplit(link).path)
    # The token leaves the address bar at once.
    assert page.url.endswith("/set/") and urlsplit(link).path not in page.url
    config_url = page.locator("#enrol-config-url").get_attribute("href")
    secret = parse_qs(urlsplit(config_url).query)["secret"][0]
    assert page.locator("#enrol-secret").inner_text().replace(" ", "") == secret
    key = b32decode(secret + "=" * (-len(secret) % 8))
    page.get_by_label("New password:", exact=True).fill("correct horse battery staple")
    page.get_by_label("New password confirmation").fill("correct horse battery staple")
    page.get_by_label("Code from the app").fill(f"{totp(key):06d}")
    page.get_by_role("button", name="Finish setting up").click()
    page.wait_for_url(live_server.url + "/admin/login/")
    page.get_by_text("Your login is ready").wait_for()

    # The app's next code logs in (a code is good once).
    TOTPDevice.objects.filter(user=user).update(last_t=-1)
    _login(page, live_server.url, user, "correct horse battery staple")
    assert page.get_by_role("link", name="Reports").count() >= 1
    # The link was for one use.
    fresh = page.context.browser.new_context()
    other = fresh.new_page()
    other.goto(live_server.url + urlsplit(link).path)
    assert "This link is not valid" in other.locator("#enrol-invalid").inner_text()
    fresh.close()


def test_legal_aid_gives_one_partner_the_witness_contact_details(
    desktop_page: Any, live_server: Any, moderator: User, legal_aid: User
) -> None:
    report = _pending_report()
    Report.objects.filter(id=report.id).update(
        moderation=Moderation.APPROVED, case_status="new", consent_contact_partners=True
    )
    partner, key = services.partner_create(name="Legal Aid North", shared_fields=["town"])
    services.report_share(report=report, organisation=partner, by=legal_aid)
    api = Client(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert "contact" not in api.get(f"/api/v1/reports/{report.id}/").json()

    page = desktop_page
    _login(page, live_server.url, legal_aid, PASSWORD)
    page.goto(f"{live_server.url}/admin/reports/report/{report.id}/change/")
    page.get_by_role("button", name="Give Legal Aid North the contact details").click()
    page.get_by_text("Legal Aid North may now read the witness's contact details").wait_for()
    page.get_by_text("Contact details given on").wait_for()

    assert AuditEvent.objects.filter(
        action="report.contact_shared", actor=legal_aid, report_id=report.id
    ).exists()
    body = api.get(f"/api/v1/reports/{report.id}/").json()
    assert body["contact"] == {"channel": "", "value": "+1 555 0199", "safe_times": "evenings"}
