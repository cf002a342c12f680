"""The folders of the embedded default under VAR_DIR, made by the processes that use them.

Importing the settings creates nothing; ``manage.py serve`` (before it starts the web
server, worker and beat) and the test session call ``var_dirs_ensure`` instead.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

# The filesystem broker's options that name a folder (kombu creates none of them).
_BROKER_FOLDER_OPTIONS = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")


def var_dirs_ensure() -> None:
    """Create VAR_DIR (the SQLite database and beat's schedule live in it) and, with the
    filesystem broker, the broker's folders: publishers and workers expect them."""
    folders = [Path(settings.VAR_DIR)]
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        folders += [Path(str(options[key])) for key in _BROKER_FOLDER_OPTIONS]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
