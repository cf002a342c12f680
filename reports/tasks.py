"""Celery tasks of the staff side: thin, take ids, safe to run twice. Each is registered
under its name in reports/jobs.py, by which services queue it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from reports import jobs
from reports.services import (
    idempotency_records_purge,
    report_alert_send,
    retention_purge,
    webhook_deliver,
    webhooks_sweep,
)


@shared_task(name=jobs.ALERT_URGENT_REPORT, acks_late=True)
def alert_urgent_report(*, report_id: str) -> bool:
    return report_alert_send(report_id=report_id)


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
