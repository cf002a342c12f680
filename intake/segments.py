"""A resumable upload's bytes, stored as they stream in (promise 9).

A PATCH may take minutes on a phone's uplink. Its body is cut into segments of at most
``SEGMENT_BYTES`` of plaintext; each is sealed (intake.quarantine: encrypted and
authenticated, plaintext never on disk), stored as a part of the upload and recorded
(``upload_offset`` moves) as soon as it is complete. So:

- a killed web process loses at most the segment it was receiving;
- a cut connection loses nothing that reached us: what arrived is stored as a last,
  shorter segment (the proxy may have held back at most its 64 KiB buffer);
- ``HEAD`` reads the recorded offset, which counts only stored segments.

Reads never cross a segment boundary, so the bytes held in memory (ours and the server's
read buffer) never exceed one segment either.
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable

from django.core.files import File
from django.core.files.storage import storages
from django.db import connection

from intake.quarantine import EncryptingWriter
from reports.models import MediaItem
from reports.services import media_item_upload_append

SEGMENT_BYTES = 256 * 1024
READ_BYTES = 64 * 1024
# A segment that took longer than this to arrive means a slow client: the request gives
# its database connection back until the next segment instead of holding it idle.
SLOW_SEGMENT_S = 1.0


def upload_segments_receive(
    *,
    item: MediaItem,
    offset: int,
    length: int,
    read: Callable[[int], bytes],
    head_needed: int,
    check_head: Callable[[bytes], None],
) -> MediaItem:
    """Read up to ``length`` bytes with ``read`` and store them at ``offset`` segment by
    segment; returns the item as last recorded. The first ``head_needed`` bytes go to
    ``check_head`` (which raises to refuse the file) before anything is stored; an upload
    cut before its head arrived keeps nothing, and the client sends it again.

    Raises UploadConflict when another request moved the upload on meanwhile: the
    segments this one stored stay, the client asks HEAD and resumes."""
    received = 0
    stored = offset
    pending = bytearray()
    head = b""
    started = time.monotonic()
    while received < length:
        want = min(READ_BYTES, SEGMENT_BYTES - len(pending), length - received)
        try:
            chunk = read(want)
        except OSError:
            break  # the client went away (or went silent past the idle limit)
        if not chunk:
            break
        received += len(chunk)
        pending += chunk
        if len(head) < head_needed:
            head += chunk[: head_needed - len(head)]
            if len(head) == head_needed:
                check_head(head)
        if len(pending) == SEGMENT_BYTES and len(head) == head_needed:
            item = _segment_store(item=item, offset=stored, plaintext=bytes(pending))
            stored += len(pending)
            pending.clear()
            if time.monotonic() - started > SLOW_SEGMENT_S:
                database_connection_release()
            started = time.monotonic()
    if pending and len(head) == head_needed:
        item = _segment_store(item=item, offset=stored, plaintext=bytes(pending))
    return item


def _segment_store(*, item: MediaItem, offset: int, plaintext: bytes) -> MediaItem:
    """Seal ``plaintext``, store it as a part, then record it: never the other way round,
    so the recorded offset counts only stored bytes."""
    sealed = io.BytesIO()
    writer = EncryptingWriter(sealed)
    writer.write(plaintext)
    writer.close()
    sealed.seek(0)
    quarantine = storages["quarantine"]
    name = quarantine.save(
        f"{item.quarantine_name}{offset:013d}-{uuid.uuid4().hex[:8]}.tq", File(sealed)
    )
    try:
        return media_item_upload_append(
            item_id=item.id, offset=offset, part_name=name, size=len(plaintext)
        )
    except Exception:
        quarantine.delete(name)
        raise


def database_connection_release() -> None:
    """Give the database connection back while a request waits on a slow client; the
    next query opens one again. Outside a transaction only."""
    if not connection.in_atomic_block:
        connection.close()
