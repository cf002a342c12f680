"""Celery tasks: thin wrappers that take ids and call a service."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from intake.services import ProcessOutcome, media_item_process, quarantine_sweep


@shared_task(bind=True, max_retries=None, acks_late=True)
def process_media(self: Any, *, media_item_id: str) -> str:
    outcome = media_item_process(media_item_id=media_item_id)
    if outcome == ProcessOutcome.RETRY:
        # Exponential backoff; the attempt count lives in the database, not the message.
        countdown = min(2 ** max(self.request.retries, 1), 300)
        if self.request.retries < settings.TESTIGO_MAX_ATTEMPTS:
            raise self.retry(countdown=countdown)
    return outcome


@shared_task
def sweep_quarantine() -> int:
    return quarantine_sweep()
