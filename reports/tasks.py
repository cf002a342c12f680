"""Celery tasks of the staff side: thin, take ids, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from reports.retention import retention_purge
from reports.services import report_alert_send


@shared_task(acks_late=True)
def alert_urgent_report(*, report_id: str) -> bool:
    return report_alert_send(report_id=report_id)


@shared_task
def purge_expired() -> int:
    return len(retention_purge(dry_run=False))
