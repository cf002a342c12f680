"""Resumable uploads (tus 1.0), the service side: create an upload, append its bytes as
encrypted parts, end one that will not complete. The protocol lives in intake/tus.py; the
finished upload enters the worker pipeline (intake/pipeline.py) like any other file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from intake.limits import size_limit, upload_kind
from intake.pipeline import media_item_destroy_quarantine, media_item_enqueue
from intake.sanitize.sniff import HEAD_SIZE
from intake.segments import upload_segments_receive
from reports import selectors
from reports.models import MediaItem, MediaStatus, RefusalReason, Report
from reports.services import (
    ServiceError,
    UploadConflict,
    media_item_upload_abandon,
    media_item_upload_start,
)

# The refusals this module's functions raise, by the names they use (RefusalReason values;
# intake/tus.py maps REFUSED_TOO_LARGE to 413).
REFUSED_EMPTY = RefusalReason.EMPTY
REFUSED_EXPIRED = RefusalReason.UPLOAD_EXPIRED
REFUSED_TOO_LARGE = RefusalReason.TOO_LARGE
REFUSED_TOO_MANY = RefusalReason.TOO_MANY_FILES
REFUSED_UNSUPPORTED = RefusalReason.UNSUPPORTED_FORMAT


class UploadRefused(ServiceError):
    """The upload cannot go on; ``reason`` is a code intake.messages translates. The tus
    view answers with the status that fits the reason (413, 415, 410); 403 is the rest."""

    code = "upload_refused"
    status = 403

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class ResumableUpload:
    item: MediaItem
    key: str


def upload_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def resumable_upload_create(*, report: Report, length: int) -> ResumableUpload:
    """Start a resumable upload of ``length`` bytes for ``report``. The returned key goes
    in the upload's URL and is the only way to add to it."""
    if length > settings.TESTIGO_MAX_UPLOAD_BYTES:
        raise UploadRefused(REFUSED_TOO_LARGE)
    if length == 0:
        raise UploadRefused(REFUSED_EMPTY)
    if selectors.report_media_count(report=report) >= settings.TESTIGO_MAX_FILES_PER_REPORT:
        raise UploadRefused(REFUSED_TOO_MANY)
    key = secrets.token_urlsafe(32)
    item = media_item_upload_start(
        report=report,
        position=selectors.report_next_position(report=report),
        key_hash=upload_key_hash(key),
        length=length,
        expires_at=timezone.now() + timedelta(seconds=settings.TESTIGO_UPLOAD_EXPIRY_S),
    )
    return ResumableUpload(item=item, key=key)


def resumable_upload_append(
    *, item: MediaItem, offset: int, length: int, read: Callable[[int], bytes]
) -> MediaItem:
    """Append ``length`` bytes read from ``read`` at ``offset``. The bytes are encrypted and
    stored segment by segment as they arrive (intake.segments): when the connection drops
    or the process dies midway, what was stored is kept, so the client resumes from there.
    Raises UploadConflict on an offset mismatch and UploadRefused when the file cannot be
    accepted (the upload then ends)."""
    if item.status != MediaStatus.UPLOADING:
        raise UploadRefused(REFUSED_EXPIRED)
    if item.upload_expires_at is not None and item.upload_expires_at < timezone.now():
        raise UploadRefused(REFUSED_EXPIRED)
    if offset != item.upload_offset:
        raise UploadConflict
    total = item.upload_length or 0
    if offset + length > total:
        raise UploadRefused(REFUSED_TOO_LARGE)
    updated = upload_segments_receive(
        item=item,
        offset=offset,
        length=length,
        read=read,
        head_needed=min(HEAD_SIZE, total) if offset == 0 else 0,
        check_head=lambda head: _upload_check_head(item=item, head=head, total=total),
    )
    if updated.status == MediaStatus.QUARANTINED:
        transaction.on_commit(partial(media_item_enqueue, media_item_id=updated.id))
    return updated


def _upload_check_head(*, item: MediaItem, head: bytes, total: int) -> None:
    kind = upload_kind(head)
    reason = None
    if kind is None:
        reason = REFUSED_UNSUPPORTED
    elif total > size_limit(kind):
        reason = REFUSED_TOO_LARGE
    if reason is not None:
        resumable_upload_abandon(item=item, reason=reason, actor_label="witness")
        raise UploadRefused(reason)


def resumable_upload_abandon(*, item: MediaItem, reason: str, actor_label: str) -> bool:
    """End an upload that will not complete and destroy its parts. False when it was no
    longer uploading (finished, or already ended)."""
    ended = media_item_upload_abandon(item_id=item.id, reason=reason, actor_label=actor_label)
    if ended is None:
        return False
    media_item_destroy_quarantine(item=ended)
    return True
