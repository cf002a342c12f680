"""Queuing the staff side's Celery tasks by name.

Services queue work without importing reports/tasks.py, which imports the services: the
names below are the tasks' own (reports/tasks.py registers each under its constant).
Services queue only once their transaction commits (``transaction.on_commit``), so a
worker never looks for a row that is not there yet.
"""

from __future__ import annotations

import logging
import typing

from django.conf import settings

# typing.TYPE_CHECKING, not the bare name: the module's upper-case names are its job names.
if typing.TYPE_CHECKING:
    from celery import Celery

logger = logging.getLogger(__name__)

ALERT_FAILED_MEDIA = "reports.tasks.alert_failed_media"
ALERT_URGENT_REPORT = "reports.tasks.alert_urgent_report"
DELIVER_WEBHOOK = "reports.tasks.deliver_webhook"
# The worker's (intake/tasks.py): staff re-running a failed item queue it by name too.
PROCESS_MEDIA = "intake.tasks.process_media"
PURGE_EXPIRED = "reports.tasks.purge_expired"
SEND_ALERTS_DIGEST = "reports.tasks.send_alerts_digest"
SWEEP_WEBHOOKS = "reports.tasks.sweep_webhooks"
# Publishable copies: worker tasks in intake/tasks.py, on the "faces" queue.
FACES_DETECT = "intake.tasks.faces_detect"
FACES_RENDER = "intake.tasks.faces_render"


def media_queue(size: int) -> str:
    """The queue of a media item's processing: long videos on their own, so they never
    hold up photos (promise 12)."""
    return "media_large" if size > settings.TESTIGO_MEDIA_LARGE_BYTES else "media_small"


def celery_app() -> Celery:
    """The project's Celery app, imported on first use rather than when Django starts (see
    config/__init__.py). Importing config.celery creates the app and makes it the default
    of every thread (Celery's Django fix-up), so it must come before anything reads
    ``celery.current_app``: read first, that would create a stand-in app with the wrong
    broker."""
    from config.celery import app

    return app


def enqueue(task: str, *, countdown: float = 0, queue: str | None = None, **kwargs: str) -> bool:
    """Publish ``task`` with ``kwargs`` (ids, as strings), on ``queue`` or its routed one;
    False when it could not be. A broker outage is logged, never raised: the rows are
    committed, and a sweeper or a later step queues the work again."""
    try:
        if queue:
            celery_app().send_task(task, kwargs=kwargs, countdown=countdown or None, queue=queue)
        else:
            celery_app().send_task(task, kwargs=kwargs, countdown=countdown or None)
    except Exception:
        logger.warning("could not queue %s %s", task, kwargs)
        return False
    return True
