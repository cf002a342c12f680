"""Byte budgets and the free-space floor: how much one report, one client and the disk may
take, so that one anonymous script cannot fill the service (promise 12).

Decided when a file is announced (a tus creation's Upload-Length, reserved whole at once)
or has arrived (a multipart part), before anything of it is stored:

- per report, over its whole life: TESTIGO_REPORT_MAX_BYTES (files refused or abandoned
  do not count, their bytes are gone);
- per client and hour: TESTIGO_CLIENT_MAX_BYTES_PER_HOUR, counted in the cache under the
  throttle's daily HMAC of the address (intake/throttle.py), never the address itself;
- the disk: a new file is refused when it would leave less than TESTIGO_DISK_FLOOR_BYTES
  free where uploads, sanitized media, spooled request bodies and the SQLite database are
  kept, after what resumable uploads in progress have announced. The text of a report
  needs a few kilobytes of that floor, so it still lands when files no longer do.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages

from config.cache import counter_add
from intake.throttle import WINDOW_S
from reports import selectors
from reports.models import RefusalReason, Report

logger = logging.getLogger(__name__)

# The answer a tus creation gets for each refusal: the disk may have room later (5xx, so
# clients retry), the hour's budget comes back (429), the report's does not (413).
TUS_STATUS = {
    RefusalReason.STORAGE_FULL: 507,
    RefusalReason.CLIENT_BUDGET: 429,
    RefusalReason.REPORT_BUDGET: 413,
}


def upload_budget_check(
    *,
    client: str,
    report: Report | None,
    length: int,
    pending: int = 0,
    report_bytes: int | None = None,
    outstanding: int | None = None,
) -> RefusalReason | None:
    """Why a new file of ``length`` bytes cannot be taken, or None, in which case it is
    counted against the client's hour. ``client``: the throttle's client token ("" counts
    no client); ``report``: None while the report is still being received; ``pending``:
    bytes of the same submission already taken but not yet recorded in rows;
    ``report_bytes``: the report's ``selectors.report_media_bytes`` when the caller has just
    read it; ``outstanding``: ``selectors.uploads_outstanding_bytes``, likewise. A
    multipart file sealed into quarantine as it arrived is already on the disk when judged,
    so near the floor it is counted twice: refused a little early, never late."""
    if not disk_has_room(length + pending, outstanding=outstanding):
        logger.warning("a file was refused: free disk space is at the floor")
        return RefusalReason.STORAGE_FULL
    if report_bytes is None and report is not None:
        report_bytes = selectors.report_media_bytes(report=report)
    used = pending + (report_bytes or 0)
    if used + length > settings.TESTIGO_REPORT_MAX_BYTES:
        return RefusalReason.REPORT_BUDGET
    if client and not _client_reserve(client=client, length=length):
        return RefusalReason.CLIENT_BUDGET
    return None


def disk_has_room(length: int, *, outstanding: int | None = None) -> bool:
    """True when ``length`` more bytes leave at least the floor free everywhere they and
    the database go, once announced uploads have arrived (``outstanding`` bytes, read
    here unless the caller has just read them)."""
    free = min(_free_bytes(path) for path in _local_dirs())
    reserved = selectors.uploads_outstanding_bytes() if outstanding is None else outstanding
    return free - reserved - length >= settings.TESTIGO_DISK_FLOOR_BYTES


def _local_dirs() -> set[Path]:
    dirs = {Path(tempfile.gettempdir())}
    for alias in ("quarantine", "media"):
        storage = storages[alias]
        if isinstance(storage, FileSystemStorage):
            dirs.add(Path(storage.location))
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        dirs.add(Path(str(database["NAME"])).parent)
    return dirs


def _free_bytes(path: Path) -> int:
    while not path.exists() and path != path.parent:
        path = path.parent  # a storage folder is made on first use
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def _client_reserve(*, client: str, length: int) -> bool:
    """Count ``length`` bytes in the client's hour; False (counting nothing) when that
    would go over the budget. With the cache unreachable the file is let through, as the
    throttle does: a witness's report matters more than abuse control during an outage."""
    key = f"budget:bytes:{client}:{int(time.time()) // WINDOW_S}"
    limit = settings.TESTIGO_CLIENT_MAX_BYTES_PER_HOUR
    try:
        # One atomic step: counted, or over the budget and taken back at once.
        if counter_add(key, amount=length, timeout=WINDOW_S + 60, undo_over=limit) > limit:
            return False
    except Exception:
        logger.warning("byte budget cache unavailable; a file was let through")
    return True
