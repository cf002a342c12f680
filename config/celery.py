"""The Celery application. Workers and beat start with ``celery -A config ...``."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import task_prerun, worker_init
from kombu import Exchange, Queue

from config.database import database_connections_check, database_pool_off

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("testigo")
app.config_from_object("django.conf:settings", namespace="CELERY")


def _queues() -> dict[str, Any]:
    """task_queues from settings.TESTIGO_QUEUES, each with its own direct exchange. Built
    here rather than in settings, which then need not import kombu (Django's start-up);
    read when the app is first configured, like the settings above."""
    from django.conf import settings

    names = settings.TESTIGO_QUEUES
    return {"task_queues": [Queue(name, Exchange(name), routing_key=name) for name in names]}


app.add_defaults(_queues)
app.autodiscover_tasks()
# Before the worker forks its children: they connect without a pool (config/database.py).
worker_init.connect(database_pool_off, weak=False)
# Each task checks the connection kept from the last one (config/database.py).
task_prerun.connect(database_connections_check, weak=False)
