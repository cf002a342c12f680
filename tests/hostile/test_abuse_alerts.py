"""A flood of fake "happening now" reports cannot silence the alert for a real one: past
the hourly cap one digest tells on-call how many more arrived, with a link to the urgent
view; and a mail server that fails is retried with backoff, never dropped (issue 14,
"Anonymous abuse", row 3)."""

from __future__ import annotations

import logging
import smtplib
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.mail.message import EmailMessage
from pytest_django.fixtures import Settings

from reports import services
from reports.models import AuditEvent, MediaStatus, Report
from reports.roles import MODERATOR
from reports.tasks import alert_failed_media, alert_urgent_report, send_alerts_digest
from tests.factories import jpeg_with_gps, quarantined_item
from tests.factories.staff import staff_user, verified_client

pytestmark = [pytest.mark.hostile, pytest.mark.django_db]


class FlakyBackend(LocmemBackend):
    """Locmem, after ``failures`` refusals as a mail server that went away."""

    failures = 0

    def send_messages(self, messages: Sequence[EmailMessage]) -> int:
        if FlakyBackend.failures > 0:
            FlakyBackend.failures -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


@pytest.fixture
def on_call(db: None) -> User:
    user = staff_user("on-call", MODERATOR)
    user.email = "oncall@example.org"
    user.save()
    user.groups.add(Group.objects.get(name="on_call"))
    return user


@pytest.fixture
def flaky_mail(settings: Settings) -> type[FlakyBackend]:
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.FlakyBackend"}}
    FlakyBackend.failures = 0
    return FlakyBackend


def _urgent(description: str) -> Report:
    return services.report_create(
        receipt_hash=uuid.uuid4().hex * 2, description=description, facts={"happening_now": True}
    )


def test_past_the_cap_one_digest_tells_on_call_how_many_more_with_the_urgent_view(
    on_call: User, settings: Settings
) -> None:
    settings.TESTIGO_ADMIN_BASE_URL = "https://testigo.example.org"
    assert settings.TESTIGO_ALERTS_PER_HOUR == 20
    fakes = [_urgent(f"fake {n}") for n in range(20)]
    for report in fakes:
        assert services.report_alert_send(report_id=report.id) is True
    real = _urgent("Agents are taking my neighbour right now")
    more = [_urgent(f"fake {n}") for n in range(20, 24)]
    for report in [real, *more]:
        assert services.report_alert_send(report_id=report.id) is False
    # A second attempt for the same report (the settle-time second chance) counts once.
    assert services.report_alert_send(report_id=real.id) is False
    assert AuditEvent.objects.filter(action="alert.suppressed").count() == 5
    assert len(mail.outbox) == 20

    assert send_alerts_digest.apply().get() == 5

    assert len(mail.outbox) == 21
    digest = mail.outbox[-1]
    assert digest.to == ["oncall@example.org"]
    assert "5 more urgent reports" in digest.subject
    urgent_view = "https://testigo.example.org/admin/reports/report/?view=urgent"
    assert urgent_view in digest.body
    assert "neighbour" not in digest.body  # ids and links only, never a witness's words
    # The link leads to the real report.
    page = verified_client(on_call).get("/admin/reports/report/?view=urgent")
    assert page.status_code == 200
    assert str(real.id) in page.content.decode()

    # One digest: nothing new, nothing sent; a later suppressed report, a new digest of 1.
    assert services.alerts_digest_send() == 0
    assert len(mail.outbox) == 21
    late = _urgent("another")
    assert services.report_alert_send(report_id=late.id) is False
    assert services.alerts_digest_send() == 1
    assert "1 more urgent reports" in mail.outbox[-1].subject
    assert AuditEvent.objects.filter(action="alert.digest_sent").count() == 2


def test_urgent_alert_mail_failure_is_retried_with_backoff_until_it_goes(
    on_call: User, flaky_mail: type[FlakyBackend], monkeypatch: pytest.MonkeyPatch
) -> None:
    report = _urgent("now")
    flaky_mail.failures = 3
    countdowns: list[int] = []
    retry = alert_urgent_report.retry

    def recording_retry(*args: Any, **kwargs: Any) -> Any:
        countdowns.append(kwargs["countdown"])
        return retry(*args, **kwargs)

    monkeypatch.setattr(alert_urgent_report, "retry", recording_retry)
    # Eagerly, each retry runs at once; a worker would wait out each countdown.
    result = alert_urgent_report.apply(kwargs={"report_id": str(report.id)})

    assert result.get() is True
    assert countdowns == [30, 60, 120]
    assert [m.to for m in mail.outbox] == [["oncall@example.org"]]
    assert AuditEvent.objects.filter(action="alert.sent", report_id=report.id).count() == 1
    assert [services.alert_backoff_s(n) for n in (0, 1, 4, 5, 9)] == [30, 60, 480, 900, 900]


def test_alert_mail_that_never_goes_is_recorded_and_logged_not_lost_silently(
    on_call: User,
    flaky_mail: type[FlakyBackend],
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.TESTIGO_ALERT_RETRIES = 2
    report = _urgent("now")
    flaky_mail.failures = 100
    with caplog.at_level(logging.ERROR, logger="reports.services.alerts"):
        alert_urgent_report.apply(kwargs={"report_id": str(report.id)})
    assert mail.outbox == []
    assert not AuditEvent.objects.filter(action="alert.sent").exists()
    failed = AuditEvent.objects.get(action="alert.failed")
    assert (failed.report_id, failed.data) == (report.id, {"alert": "alert_urgent_report"})
    assert "could not be sent after every retry" in caplog.text


def test_failed_media_alert_mail_is_retried_and_sent_once(
    flaky_mail: type[FlakyBackend], monkeypatch: pytest.MonkeyPatch
) -> None:
    moderator = staff_user("mod-mail", MODERATOR)
    moderator.email = "mod@example.org"
    moderator.save()
    item = quarantined_item(jpeg_with_gps())
    item.status = MediaStatus.FAILED
    item.save()
    flaky_mail.failures = 1
    countdowns: list[int] = []
    retry = alert_failed_media.retry

    def recording_retry(*args: Any, **kwargs: Any) -> Any:
        countdowns.append(kwargs["countdown"])
        return retry(*args, **kwargs)

    monkeypatch.setattr(alert_failed_media, "retry", recording_retry)
    assert alert_failed_media.apply(kwargs={"media_item_id": str(item.id)}).get() == 1
    assert alert_failed_media.apply(kwargs={"media_item_id": str(item.id)}).get() == 0
    assert countdowns == [30]
    assert [m.to for m in mail.outbox] == [["mod@example.org"]]


def test_digest_that_cannot_be_mailed_is_sent_by_the_next_run_counting_everything(
    on_call: User, flaky_mail: type[FlakyBackend], settings: Settings
) -> None:
    settings.TESTIGO_ALERTS_PER_HOUR = 1
    reports = [_urgent(f"r{n}") for n in range(3)]
    for report in reports:
        services.report_alert_send(report_id=report.id)
    flaky_mail.failures = 1
    assert send_alerts_digest.apply().get() == 0
    assert not AuditEvent.objects.filter(action="alert.digest_sent").exists()
    assert send_alerts_digest.apply().get() == 2
    assert "2 more urgent reports" in mail.outbox[-1].subject
