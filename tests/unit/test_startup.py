"""Django's start-up loads no Celery: `manage.py` commands that queue nothing (sanitize_media
first) do not pay for importing it. Code that queues work still gets the project's app, in
every thread (reports.jobs.celery_app).

Each check runs in a fresh interpreter: this test session has imported Celery long ago.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SETUP = """
import json, os, sys, threading
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
"""


def _run(code: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", SETUP + code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_startup_sanitize_media_command_imports_no_celery() -> None:
    result = _run(
        """
from django.core.management import load_command_class
load_command_class("intake", "sanitize_media")
print(json.dumps({"loaded": sorted({m.split(".")[0] for m in sys.modules} & {"celery", "kombu"})}))
"""
    )
    assert result == {"loaded": []}


def test_startup_celery_app_is_current_in_every_thread() -> None:
    # Imported on first use, the app must still be what celery.current_app gives in a thread
    # other than the one that imported it (gunicorn's request threads), not a stand-in app.
    result = _run(
        """
from reports.jobs import celery_app
app = celery_app()
seen = []
def look():
    from celery import current_app
    seen.append(current_app._get_current_object() is app)
thread = threading.Thread(target=look)
thread.start()
thread.join()
queues = [q.name for q in app.conf.task_queues]
print(json.dumps({"main": app.main, "same_in_thread": seen, "queues": queues}))
"""
    )
    assert result == {
        "main": "testigo",
        "same_in_thread": [True],
        "queues": ["media_small", "media_large", "webhooks", "maintenance", "faces"],
    }
