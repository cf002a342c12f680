"""Alerts to people on call: an urgent report came in, or media failed for good.

Alerts carry ids and a link into the admin, never a witness's words or details.
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

from reports.jobs import ALERT_URGENT_REPORT, enqueue
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


def report_alert_enqueue(*, report_id: Any) -> None:
    """Queue the alert; a broker outage is logged, and the queue step retries it."""
    enqueue(ALERT_URGENT_REPORT, report_id=str(report_id))


def report_alert_send(*, report_id: Any) -> bool:
    """Tell the on-call group that an urgent report came in. The message carries only a
    link into the admin, never a witness's words or details. Sent once per report."""
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
        audit_record(action=AuditAction.ALERT_SUPPRESSED, actor_label="system", report_id=report.id)
        return False
    link = settings.TESTIGO_ADMIN_BASE_URL.rstrip("/") + reverse(
        "admin:reports_report_change", args=[report.id]
    )
    recipients = list(
        User.objects.filter(groups__name=settings.TESTIGO_ON_CALL_GROUP, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    channels = []
    if recipients:
        send_mail(
            subject="[Testigo] Urgent report waiting",
            message=f"An urgent report has come in. Open it in the admin:\n\n{link}\n",
            from_email=None,
            recipient_list=recipients,
        )
        channels.append("email")
    if settings.TESTIGO_ALERT_WEBHOOK_URL:
        # The same signed, SSRF-checked delivery the partner webhooks use.
        outcome = post(
            url=settings.TESTIGO_ALERT_WEBHOOK_URL,
            secret=settings.TESTIGO_ALERT_WEBHOOK_SECRET,
            body=json.dumps({"event": "report.urgent", "url": link}).encode(),
            event="report.urgent",
            delivery_id=str(report.id),
            timeout=10,
        )
        if outcome.ok:
            channels.append("webhook")
        else:
            logger.warning("alert webhook for report %s failed: %s", report.id, outcome.error)
    audit_record(
        action=AuditAction.ALERT_SENT,
        actor_label="system",
        report_id=report.id,
        data={"channels": channels, "recipients": len(recipients)},
    )
    return True


def moderators_alert_failed_media(*, item: MediaItem) -> int:
    """Mail the moderators that a media item failed for good; returns how many were mailed.
    Says nothing about the witness or the content: ids only. A mail failure is logged, never
    raised: the audit event already records the failure."""
    recipients = list(
        User.objects.filter(groups__name=MODERATOR, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if not recipients:
        return 0
    subject = f"Testigo: media item {item.id} failed processing"
    body = (
        f"Media item {item.id} of report {item.report_id} could not be processed after "
        f"{item.attempts} attempts. It is kept in quarantine and is not viewable; "
        "review the report in the moderation queue."
    )
    try:
        send_mail(subject, body, None, recipients)
    except Exception:
        logger.exception("alerting moderators about media item %s failed", item.id)
        return 0
    audit_record(
        action=AuditAction.ALERT_MEDIA_FAILED,
        actor_label="system",
        report_id=item.report_id,
        media_item_id=item.id,
        data={"recipients": len(recipients)},
    )
    return len(recipients)
