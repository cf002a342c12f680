"""The folders of the embedded default under VAR_DIR, made by the processes that use them,
and private to the user who runs the service.

Importing the settings creates nothing; ``manage.py serve`` (before it starts the web
server, worker and beat) and the test session call ``var_dirs_ensure`` instead. VAR_DIR holds
the database, the secrets, the quarantine and the media: nothing in it may be readable by
another account on the machine.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from django.conf import settings

# The filesystem broker's options that name a folder (kombu creates none of them).
_BROKER_FOLDER_OPTIONS = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")
# Files 0600 and folders 0700 from now on, in this process and every process it starts.
PRIVATE_UMASK = 0o077


def var_dirs_ensure() -> None:
    """Create VAR_DIR (the SQLite database and beat's schedule live in it) and, with the
    filesystem broker, the broker's folders: publishers and workers expect them. Sets this
    process's umask so that whatever it and its children create is private, and takes
    group and other access off anything already under VAR_DIR (an older install)."""
    os.umask(PRIVATE_UMASK)
    var_dir = Path(settings.VAR_DIR)
    folders = [var_dir]
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        folders += [Path(str(options[key])) for key in _BROKER_FOLDER_OPTIONS]
    for folder in folders:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    var_private(var_dir)


def var_private(root: Path) -> None:
    """0700 on every folder and owner-only access on every file under ``root``."""
    for path in [root, *root.rglob("*")]:
        try:
            info = path.lstat()
        except FileNotFoundError:  # removed meanwhile (a broker message, a temp file)
            continue
        if stat.S_ISLNK(info.st_mode) or not info.st_mode & 0o077:
            continue
        mode = 0o700 if stat.S_ISDIR(info.st_mode) else stat.S_IMODE(info.st_mode) & 0o700
        try:
            path.chmod(mode)
        except FileNotFoundError:
            continue
