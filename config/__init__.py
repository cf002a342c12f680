"""The project package: settings, URLs, the Celery app (config/celery.py).

The Celery app is not imported here, though Celery's Django guide does: importing Celery is
about a fifth of every `manage.py` command's start-up (measured in docs/operations.md,
"Capacity"), and most commands, `sanitize_media` among them, queue nothing. It is imported
where it is used instead: `celery -A config` finds config/celery.py itself, the task modules
import it, and code that queues work or checks the broker gets it from
``reports.jobs.celery_app()``, which imports it before anything reads ``current_app``.
"""
