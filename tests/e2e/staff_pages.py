"""Staff in Chromium: logging in through the real two-factor form, a laptop-sized page,
and reports made through the services."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User

from reports.contact import Contact
from reports.models import Report
from reports.services import report_create, report_settle_if_ready
from tests.factories.staff import device_of, totp_token

# The measure: a moderator's laptop.
LAPTOP = {"width": 1366, "height": 768}


@pytest.fixture
def laptop_page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    yield page
    context.close()


def login(page: Any, base: str, user: User, password: str) -> None:
    page.goto(base + "/admin/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password)
    page.get_by_label("OTP Token").fill(totp_token(device_of(user)))
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base + "/admin/")


def pending_report(n: int = 0, **facts: Any) -> Report:
    """A report waiting for a moderator, with a name and an address in it."""
    report = report_create(
        receipt_hash=f"{n:064x}",
        description=facts.pop("description", "Agents took Ana Ruiz from 4 Oak St."),
        occurred_text=facts.pop("occurred_text", ""),
        location_text=facts.pop("location_text", ""),
        language=facts.pop("language", "en"),
        facts={
            "town": "Springfield",
            "consent_contact": True,
            "consent_share_partners": True,
            **facts,
        },
        contact=Contact(value="+1 555 0199", safe_times="evenings"),
    )
    report_settle_if_ready(report=report)
    return report
