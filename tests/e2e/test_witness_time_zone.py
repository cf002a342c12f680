"""The report form knows the phone's time zone (intake/static/intake/timezone.js): a
witness in Chicago who types 07:40 reported 07:40 Chicago time, in real Chromium."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from reports.models import Report
from tests.e2e.chromium import PHONE_VIEWPORT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_form_sends_the_phones_time_zone(browser: Any, live_server: Any) -> None:
    context = browser.new_context(
        viewport=PHONE_VIEWPORT, is_mobile=True, timezone_id="America/Chicago"
    )
    page = context.new_page()
    page.goto(live_server.url + "/")
    assert page.locator('input[name="time_zone"]').input_value() == "America/Chicago"
    page.get_by_label("What happened?").fill("Agents at the bus stop.")
    page.get_by_label("Date and time").fill("2026-07-04T07:40")
    page.get_by_role("button", name="Send report").click()
    page.locator("#receipt-code").wait_for()
    report = Report.objects.get()
    assert (report.occurred_at, report.occurred_utc_offset, report.occurred_time_zone) == (
        datetime(2026, 7, 4, 12, 40, tzinfo=UTC),
        -300,
        "America/Chicago",
    )
    context.close()
