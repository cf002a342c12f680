"""Celery tasks of the staff side: thin, take ids, safe to run twice. Each is registered
under its name in reports/jobs.py, by which services queue it."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

# config/__init__.py does not import the Celery app: import it before the shared tasks
# below are first used, so they bind to it and not to a stand-in app (reports.jobs).
import config.celery  # noqa: F401
from reports import jobs
from reports.services import (
    AlertNotSent,
    alert_backoff_s,
    alert_give_up,
    alerts_digest_send,
    idempotency_records_purge,
    moderators_alert_failed_media,
    report_alert_send,
    retention_purge,
    webhook_deliver,
    webhooks_sweep,
)

logger = logging.getLogger(__name__)


def _alert_retry(task: Any, exc: AlertNotSent, **ids: Any) -> None:
    """Retry a mail that did not go, with backoff; after the last retry, record that
    on-call was not told."""
    if task.request.retries >= settings.TESTIGO_ALERT_RETRIES:
        alert_give_up(what=task.name.rsplit(".", 1)[-1], **ids)
        return
    raise task.retry(countdown=alert_backoff_s(task.request.retries), exc=exc)


@shared_task(name=jobs.ALERT_URGENT_REPORT, bind=True, max_retries=None, acks_late=True)
def alert_urgent_report(self: Any, *, report_id: str) -> bool:
    try:
        return report_alert_send(report_id=report_id)
    except AlertNotSent as exc:
        _alert_retry(self, exc, report_id=report_id)
        return False


@shared_task(name=jobs.ALERT_FAILED_MEDIA, bind=True, max_retries=None, acks_late=True)
def alert_failed_media(self: Any, *, media_item_id: str) -> int:
    try:
        return moderators_alert_failed_media(media_item_id=media_item_id)
    except AlertNotSent as exc:
        _alert_retry(self, exc, media_item_id=media_item_id)
        return 0


@shared_task(name=jobs.SEND_ALERTS_DIGEST)
def send_alerts_digest() -> int:
    try:
        return alerts_digest_send()
    except AlertNotSent as exc:
        # Not retried here: the next run, an interval later, counts everything since.
        logger.warning("the alerts digest could not be sent (%s); the next run retries", exc)
        return 0


@shared_task(name=jobs.PURGE_EXPIRED)
def purge_expired() -> int:
    # Replays of partner writes are only promised for TESTIGO_IDEMPOTENCY_DAYS.
    idempotency_records_purge(
        older_than=timezone.now() - timedelta(days=settings.TESTIGO_IDEMPOTENCY_DAYS)
    )
    return len(retention_purge(dry_run=False))


@shared_task(name=jobs.DELIVER_WEBHOOK, bind=True, max_retries=None, acks_late=True)
def deliver_webhook(self: Any, *, delivery_id: str) -> None:
    retry_in = webhook_deliver(delivery_id=delivery_id)
    if retry_in is not None:
        # The attempt count and the schedule live in the database, not the message.
        raise self.retry(countdown=retry_in)


@shared_task(name=jobs.SWEEP_WEBHOOKS)
def sweep_webhooks() -> int:
    return webhooks_sweep()
