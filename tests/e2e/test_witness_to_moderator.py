"""A witness reports from a phone; a moderator sees the sanitized photo in the admin."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from reports.models import MediaStatus, Moderation, Report
from tests.factories.staff import device_of, totp_token
from tests.factories.tools import require_tool

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_witness_report_reaches_moderator_without_gps(
    phone_page: Any,
    live_server: Any,
    celery_worker_process: Any,
    moderator: User,
    gps_jpeg_file: Path,
    wait_for: Callable[..., Any],
    tmp_path: Path,
) -> None:
    exiftool = require_tool("exiftool")
    page = phone_page
    page.goto(live_server.url + "/")
    page.get_by_label("What happened?").fill("Three agents took a neighbour from the bus stop.")
    page.get_by_label("When did it happen?").fill("Today, 8 am")
    page.get_by_label("Where did it happen?").fill("Main St and 5th, Springfield")
    page.get_by_label("Photos, videos or audio").set_input_files(str(gps_jpeg_file))
    page.get_by_role("button", name="Send report").click()

    # With JavaScript the text is posted first and the photo follows over tus.
    page.locator("#receipt-code:not(:empty)").wait_for()
    receipt = page.locator("#receipt-code").inner_text()
    assert len(receipt.replace("-", "")) == 20
    assert receipt not in page.url

    report = Report.objects.get()
    page.locator("#upload-list li[data-state=done]").wait_for()
    wait_for(lambda: Report.objects.filter(id=report.id, moderation=Moderation.PENDING).exists())
    item = report.media_items.get()
    item.refresh_from_db()
    assert item.status == MediaStatus.CLEAN

    page.goto(live_server.url + "/admin/login/")
    page.get_by_label("Username").fill("mod")
    page.get_by_label("Password").fill("mod-password-1")
    page.get_by_label("OTP Token").fill(totp_token(device_of(moderator)))
    page.get_by_role("button", name="Log in").click()
    page.goto(live_server.url + "/admin/reports/moderationqueue/")
    page.get_by_role("link", name=str(report.id)[:8]).click()
    preview = page.locator("img.testigo-preview")
    preview.wait_for()
    assert preview.evaluate("img => img.complete && img.naturalWidth") == 64

    fetched = page.request.get(live_server.url + preview.get_attribute("src"))
    assert fetched.status == 200
    fetched_path = tmp_path / "preview.jpg"
    fetched_path.write_bytes(fetched.body())
    tags = subprocess.run(
        [exiftool, "-s", "-a", "-u", "-G1", "-ee3", str(fetched_path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert [line for line in tags.splitlines() if "GPS" in line] == []
    assert "CANARY" not in tags
