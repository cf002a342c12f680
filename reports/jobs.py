"""Queuing the staff side's Celery tasks by name.

Services queue work without importing reports/tasks.py, which imports the services: the
names below are the tasks' own (reports/tasks.py registers each under its constant).
Services queue only once their transaction commits (``transaction.on_commit``), so a
worker never looks for a row that is not there yet.
"""

from __future__ import annotations

import logging

from celery import current_app

logger = logging.getLogger(__name__)

ALERT_FAILED_MEDIA = "reports.tasks.alert_failed_media"
ALERT_URGENT_REPORT = "reports.tasks.alert_urgent_report"
DELIVER_WEBHOOK = "reports.tasks.deliver_webhook"
PURGE_EXPIRED = "reports.tasks.purge_expired"
SEND_ALERTS_DIGEST = "reports.tasks.send_alerts_digest"
SWEEP_WEBHOOKS = "reports.tasks.sweep_webhooks"
# Publishable copies: worker tasks in intake/tasks.py, on the "faces" queue.
FACES_DETECT = "intake.tasks.faces_detect"
FACES_RENDER = "intake.tasks.faces_render"


def enqueue(task: str, *, countdown: float = 0, **kwargs: str) -> bool:
    """Publish ``task`` with ``kwargs`` (ids, as strings); False when it could not be. A
    broker outage is logged, never raised: the rows are committed, and a sweeper or a
    later step queues the work again."""
    try:
        current_app.send_task(task, kwargs=kwargs, countdown=countdown or None)
    except Exception:
        logger.warning("could not queue %s %s", task, kwargs)
        return False
    return True
