"""Alerts to people on call: an urgent report came in, or media failed for good.

Alerts carry ids and a link into the admin, never a witness's words or details. Nothing is
dropped silently (promise 12): past the hourly cap, urgent reports are counted and one
digest at a time tells on-call how many more arrived; a mail that cannot be sent raises
AlertNotSent, and the task (reports/tasks.py) retries it with backoff.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone

from reports.jobs import ALERT_FAILED_MEDIA, ALERT_URGENT_REPORT, enqueue
from reports.models import Answer, AuditAction, AuditEvent, MediaItem, Report
from reports.roles import MODERATOR
from reports.services.audit import audit_record
from reports.webhooks import post

logger = logging.getLogger(__name__)


def report_is_urgent(report: Report) -> bool:
    return (
        report.happening_now
        or report.children_present == Answer.YES
        or report.injuries == Answer.YES
    )


class AlertNotSent(Exception):
    """The mail server refused or could not be reached; the caller retries later."""


def alert_backoff_s(retries: int) -> int:
    """Seconds before retry number ``retries + 1`` of an alert: doubling, at most 15 min."""
    return int(min(settings.TESTIGO_ALERT_BACKOFF_S * 2**retries, 900))


def _on_call_recipients() -> list[str]:
    return list(
        User.objects.filter(groups__name=settings.TESTIGO_ON_CALL_GROUP, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )


def _mail(*, subject: str, body: str, recipients: list[str]) -> None:
    try:
        send_mail(subject=subject, message=body, from_email=None, recipient_list=recipients)
    except Exception as exc:
        raise AlertNotSent(type(exc).__name__) from exc


def _alert_webhook(*, event: str, delivery_id: str, data: dict[str, Any]) -> bool:
    """The alert webhook, when configured: the same signed, SSRF-checked delivery the
    partner webhooks use. A failure is logged; mail is the channel that is retried."""
    if not settings.TESTIGO_ALERT_WEBHOOK_URL:
        return False
    outcome = post(
        url=settings.TESTIGO_ALERT_WEBHOOK_URL,
        secret=settings.TESTIGO_ALERT_WEBHOOK_SECRET,
        body=json.dumps({"event": event, **data}).encode(),
        event=event,
        delivery_id=delivery_id,
        timeout=10,
    )
    if not outcome.ok:
        logger.warning("alert webhook %s %s failed: %s", event, delivery_id, outcome.error)
    return outcome.ok


def report_alert_enqueue(*, report_id: Any) -> None:
    """Queue the alert; a broker outage is logged, and the queue step retries it."""
    enqueue(ALERT_URGENT_REPORT, report_id=str(report_id))


def report_alert_send(*, report_id: Any) -> bool:
    """Tell the on-call group that an urgent report came in. The message carries only a
    link into the admin, never a witness's words or details. Sent once per report; past
    TESTIGO_ALERTS_PER_HOUR the report is recorded as suppressed and counted in the next
    digest (alerts_digest_send). Raises AlertNotSent when the mail could not go."""
    report = Report.objects.filter(id=report_id).first()
    if report is None or not report_is_urgent(report):
        return False
    if AuditEvent.objects.filter(action=AuditAction.ALERT_SENT, report_id=report.id).exists():
        return False
    hour_ago = timezone.now() - timedelta(hours=1)
    if (
        AuditEvent.objects.filter(action=AuditAction.ALERT_SENT, at__gte=hour_ago).count()
        >= settings.TESTIGO_ALERTS_PER_HOUR
    ):
        if not AuditEvent.objects.filter(
            action=AuditAction.ALERT_SUPPRESSED, report_id=report.id
        ).exists():
            audit_record(
                action=AuditAction.ALERT_SUPPRESSED, actor_label="system", report_id=report.id
            )
        return False
    link = settings.TESTIGO_ADMIN_BASE_URL.rstrip("/") + reverse(
        "admin:reports_report_change", args=[report.id]
    )
    recipients = _on_call_recipients()
    channels = []
    if recipients:
        _mail(
            subject="[Testigo] Urgent report waiting",
            body=f"An urgent report has come in. Open it in the admin:\n\n{link}\n",
            recipients=recipients,
        )
        channels.append("email")
    if _alert_webhook(event="report.urgent", delivery_id=str(report.id), data={"url": link}):
        channels.append("webhook")
    audit_record(
        action=AuditAction.ALERT_SENT,
        actor_label="system",
        report_id=report.id,
        data={"channels": channels, "recipients": len(recipients)},
    )
    return True


def alerts_digest_send() -> int:
    """One message to on-call counting the urgent reports whose alert was suppressed since
    the last digest, with a link to the admin's urgent view (which lists every one).
    Returns how many it counted (0: nothing to tell, nothing sent). Raises AlertNotSent;
    a digest that did not go is sent by the next run, counting everything since."""
    last = (
        AuditEvent.objects.filter(action=AuditAction.ALERT_DIGEST_SENT)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    suppressed = AuditEvent.objects.filter(action=AuditAction.ALERT_SUPPRESSED)
    if last is not None:
        suppressed = suppressed.filter(at__gt=last)
    count = suppressed.count()
    if not count:
        return 0
    since = suppressed.order_by("at").values_list("at", flat=True).first()
    link = (
        settings.TESTIGO_ADMIN_BASE_URL.rstrip("/")
        + reverse("admin:reports_report_changelist")
        + "?view=urgent"
    )
    recipients = _on_call_recipients()
    if recipients:
        _mail(
            subject=f"[Testigo] {count} more urgent reports (alerts paused)",
            body=(
                f"{count} more urgent reports came in since {since:%Y-%m-%d %H:%M} UTC while "
                f"alerts were at their limit of {settings.TESTIGO_ALERTS_PER_HOUR} an hour. "
                "No alert was sent for them. The urgent view in the admin lists every "
                f"one:\n\n{link}\n"
            ),
            recipients=recipients,
        )
    _alert_webhook(
        event="report.urgent_digest",
        delivery_id=f"digest-{timezone.now():%Y%m%d%H%M%S}",
        data={"count": count, "url": link},
    )
    audit_record(
        action=AuditAction.ALERT_DIGEST_SENT,
        actor_label="system",
        data={"suppressed": count, "recipients": len(recipients)},
    )
    return count


def alert_give_up(*, what: str, report_id: Any = None, media_item_id: Any = None) -> None:
    """An alert that could not be sent after every retry: recorded and logged loudly, so
    an operator sees that on-call was not told."""
    logger.error("alert %s could not be sent after every retry", what)
    audit_record(
        action=AuditAction.ALERT_FAILED,
        actor_label="system",
        report_id=report_id,
        media_item_id=media_item_id,
        data={"alert": what},
    )


def moderators_alert_failed_media_enqueue(*, media_item_id: Any) -> None:
    """Queue the failed-media alert; a broker outage is logged (the audit trail has the
    failure either way)."""
    enqueue(ALERT_FAILED_MEDIA, media_item_id=str(media_item_id))


def moderators_alert_failed_media(*, media_item_id: Any) -> int:
    """Mail the moderators that a media item failed for good; returns how many were mailed.
    Says nothing about the witness or the content: ids only. Sent once per item; raises
    AlertNotSent when the mail could not go."""
    item = MediaItem.objects.filter(id=media_item_id).first()
    if (
        item is None
        or AuditEvent.objects.filter(
            action=AuditAction.ALERT_MEDIA_FAILED, media_item_id=item.id
        ).exists()
    ):
        return 0
    recipients = list(
        User.objects.filter(groups__name=MODERATOR, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if not recipients:
        return 0
    _mail(
        subject=f"Testigo: media item {item.id} failed processing",
        body=(
            f"Media item {item.id} of report {item.report_id} could not be processed after "
            f"{item.attempts} attempts. It is kept in quarantine and is not viewable; "
            "review the report in the moderation queue."
        ),
        recipients=recipients,
    )
    audit_record(
        action=AuditAction.ALERT_MEDIA_FAILED,
        actor_label="system",
        report_id=item.report_id,
        media_item_id=item.id,
        data={"recipients": len(recipients)},
    )
    return len(recipients)
