"""The Celery application. Workers and beat start with ``celery -A config ...``."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_init

from config.database import database_pool_off

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("testigo")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Before the worker forks its children: they connect without a pool (config/database.py).
worker_init.connect(database_pool_off, weak=False)
