"""Celery tasks: thin wrappers that take ids and call a service."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import worker_process_init, worker_process_shutdown, worker_ready
from django.conf import settings
from django.db import connection

# config/__init__.py does not import the Celery app: import it before the shared tasks
# below are first used, so they bind to it and not to a stand-in app (reports.jobs).
import config.celery  # noqa: F401
from intake.followup import sessions_expired_clear
from intake.leftovers import work_folders_sweep
from intake.pipeline import ProcessingInterrupted, ProcessOutcome, media_item_process
from intake.preview_child import preview_child_close
from intake.publication import publishable_copy_detect_run, publishable_copy_render_run
from intake.sanitize.exiftool import exiftool_close
from intake.sweeper import quarantine_sweep
from reports import jobs
from reports.jobs import PROCESS_MEDIA

# Retries of a task that lost its database connection; beyond them the sweeper takes over.
DATABASE_RETRIES = 8
# Retries of a task that found the object store down (a day at the default interval);
# beyond them the sweeper re-queues the item, which is back in quarantine.
STORAGE_RETRIES = 2880


def _backoff(retries: int) -> int:
    return int(min(2 ** max(retries, 1), 300))


@shared_task(name=PROCESS_MEDIA, bind=True, max_retries=None, acks_late=True)
def process_media(
    self: Any, *, media_item_id: str, abandoned_claims: list[str] | None = None
) -> str:
    try:
        outcome = media_item_process(
            media_item_id=media_item_id, abandoned_claims=abandoned_claims or []
        )
    except ProcessingInterrupted as exc:
        # The database went away mid-job (restart, failover, killed connection). Drop the
        # broken connection and try again later, taking back the claims our tries held.
        connection.close()
        if self.request.retries >= DATABASE_RETRIES:
            raise
        raise self.retry(
            kwargs={"media_item_id": media_item_id, "abandoned_claims": exc.claims},
            countdown=_backoff(self.request.retries),
            exc=exc,
        ) from exc
    if outcome == ProcessOutcome.WAIT and self.request.retries < STORAGE_RETRIES:
        raise self.retry(countdown=settings.TESTIGO_STORAGE_RETRY_S)
    # Exponential backoff; the attempt count lives in the database, not the message.
    if outcome == ProcessOutcome.RETRY and self.request.retries < settings.TESTIGO_MAX_ATTEMPTS:
        raise self.retry(countdown=_backoff(self.request.retries))
    return outcome


@shared_task(name=jobs.FACES_DETECT, acks_late=True)
def faces_detect(*, copy_id: str) -> bool:
    return publishable_copy_detect_run(copy_id=copy_id)


@shared_task(name=jobs.FACES_RENDER, acks_late=True)
def faces_render(*, copy_id: str) -> bool:
    return publishable_copy_render_run(copy_id=copy_id)


@shared_task
def sweep_quarantine() -> int:
    return quarantine_sweep()


@shared_task
def clear_expired_sessions() -> None:
    sessions_expired_clear()


@worker_ready.connect
@worker_process_init.connect
def _work_folders_clean(**_: Any) -> None:
    # Beat sweeps on one host only: each worker (and each replacement pool child, after
    # a sibling was killed) clears the work folders its host's dead processes left.
    work_folders_sweep()


@worker_process_shutdown.connect
def _helpers_close(**_: Any) -> None:
    # Both would also end with the process (the preview child at EOF, ExifTool by the
    # kernel's parent-death signal); this stops them in order.
    exiftool_close()
    preview_child_close()
