"""What a killed process leaves behind, found and removed: resumable-upload parts stored
but never recorded on their row (killed between ``storage.save`` and the row update),
multipart files sealed into quarantine with no row (killed while one streamed in), and
the worker's private work folders (sanitized output, sealed original) of a worker that
was SIGKILLed inside ``TemporaryDirectory``. The sweeper and each worker at start call in.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.storage import storages
from django.utils import timezone

from reports.models import MediaItem

TUS_PREFIX = "tus/"


def quarantine_orphans_sweep(*, now: datetime | None = None) -> int:
    """Delete files under ``tus/<item id>/`` that the item's row does not list (or whose
    item is gone), once older than TESTIGO_ORPHAN_GRACE_S: a part being recorded right now
    is younger and stays. The row is the authority, in every state. Returns how many."""
    quarantine = storages["quarantine"]
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.TESTIGO_ORPHAN_GRACE_S)
    try:
        item_folders, _ = quarantine.listdir(TUS_PREFIX)
    except FileNotFoundError:
        return 0
    removed = 0
    for folder in item_folders:
        prefix = f"{TUS_PREFIX}{folder}/"
        item = _media_item_by_folder(folder)
        known = {*item.quarantine_parts, item.quarantine_name} if item else set()
        try:
            _, files = quarantine.listdir(prefix)
        except FileNotFoundError:
            continue
        for name in (prefix + file for file in files):
            if name not in known and _delete_if_idle(name, cutoff):
                removed += 1
        # An emptied folder nothing points at goes too, so the listing stays short.
        if not any(name.startswith(prefix) for name in known):
            _folder_remove_if_empty(prefix)
    return removed


def quarantine_unrecorded_sweep(*, now: datetime | None = None) -> int:
    """Delete top-level quarantine files (multipart uploads, sealed as they stream in)
    that no row names, once untouched for TESTIGO_ORPHAN_GRACE_S or
    TESTIGO_UPLOAD_STALL_S, whichever is longer: a process killed while a file streamed in,
    or between storing it and committing its row. A file still arriving is written to at
    least every megabyte, so it stays. Returns how many."""
    quarantine = storages["quarantine"]
    idle_s = max(settings.TESTIGO_ORPHAN_GRACE_S, settings.TESTIGO_UPLOAD_STALL_S)
    cutoff = (now or timezone.now()) - timedelta(seconds=idle_s)
    try:
        _, files = quarantine.listdir("")
    except FileNotFoundError:
        return 0
    removed = 0
    for start in range(0, len(files), 500):
        names = files[start : start + 500]
        known = set(
            MediaItem.objects.filter(quarantine_name__in=names).values_list(
                "quarantine_name", flat=True
            )
        )
        for name in names:
            if name not in known and _delete_if_idle(name, cutoff):
                removed += 1
    return removed


def _delete_if_idle(name: str, cutoff: datetime) -> bool:
    """Delete quarantine file ``name`` if untouched since ``cutoff``; True when deleted.
    A file gone meanwhile (its item finished and removed it) is not counted."""
    quarantine = storages["quarantine"]
    try:
        if quarantine.get_modified_time(name) >= cutoff:
            return False
        quarantine.delete(name)
    except FileNotFoundError:
        return False
    return True


def _media_item_by_folder(folder: str) -> MediaItem | None:
    try:
        item_id = uuid.UUID(folder)
    except ValueError:  # not an item id: a stray folder, its files are swept
        return None
    return MediaItem.objects.filter(id=item_id).first()


def _folder_remove_if_empty(prefix: str) -> None:
    """Local storage keeps the emptied folder; object stores have none."""
    quarantine = storages["quarantine"]
    with contextlib.suppress(OSError):
        dirs, files = quarantine.listdir(prefix)
        if not dirs and not files and quarantine.exists(prefix.rstrip("/")):
            quarantine.delete(prefix.rstrip("/"))


def work_root() -> Path:
    """The parent of every work folder on this host, private to the service's user."""
    root = Path(settings.TESTIGO_WORK_DIR)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


def _owner_prefix() -> str:
    # The host is in the name: hosts (containers) sharing the folder never judge each
    # other's process ids.
    return f"{socket.gethostname()}_"


@contextlib.contextmanager
def work_folder() -> Iterator[Path]:
    """A private temporary folder named after this host and process, so that
    ``work_folders_sweep`` can tell whether its owner still lives."""
    with tempfile.TemporaryDirectory(
        prefix=f"{_owner_prefix()}{os.getpid()}_", dir=work_root()
    ) as tmp:
        yield Path(tmp)


def work_folders_sweep() -> int:
    """Remove this host's work folders whose process is gone. Returns how many."""
    try:
        entries = list(work_root().iterdir())
    except OSError:
        return 0
    owner = _owner_prefix()
    removed = 0
    for entry in entries:
        if not entry.name.startswith(owner) or not entry.is_dir():
            continue
        pid_text = entry.name[len(owner) :].split("_", 1)[0]
        if not pid_text.isdigit() or _process_alive(int(pid_text)):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed += 1
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
