"""The Celery application. Workers and beat start with ``celery -A config ...``."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("testigo")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
