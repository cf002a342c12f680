"""The witness side's state changes: receiving a report and its files.

Files are checked and stored encrypted in quarantine here; intake/pipeline.py makes them
safe, and intake/resumable.py receives the large ones in parts (tus)."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import get_language

from intake.budgets import upload_budget_check
from intake.limits import upload_kind
from intake.pipeline import media_item_enqueue
from intake.quarantine import EncryptedUpload
from intake.receipts import receipt_code_hash, receipt_code_new
from reports import selectors
from reports.contact import Contact
from reports.models import RefusalReason, Report
from reports.services import (
    media_item_reject_on_receipt,
    media_items_quarantine,
    report_create,
    report_settle_if_ready,
)

if TYPE_CHECKING:
    from intake.forms import Submission

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class RefusedUpload:
    position: int
    reason: str


@dataclasses.dataclass(frozen=True)
class SubmitResult:
    report: Report
    receipt_code: str
    refused: list[RefusedUpload]


@dataclasses.dataclass(frozen=True)
class _StoredUpload:
    position: int
    name: str
    size: int
    sha256: str


def report_submit(
    *,
    description: str,
    occurred_text: str = "",
    location_text: str = "",
    language: str = "en",
    facts: dict[str, Any] | None = None,
    contact: Contact | None = None,
    uploads: Sequence[UploadedFile[bytes]] = (),
    resumable_uploads_follow: bool = False,
    client: str = "",
) -> SubmitResult:
    """Receive a witness's report. Files are checked and stored (encrypted) first, each on
    its own, so a bad or failed upload costs only itself; then the report and its media
    rows are committed together, and processing is queued only after that commit.

    ``resumable_uploads_follow``: the client sends its files next, with tus; the report
    waits for them instead of entering moderation at once (the sweeper moves it on if
    none ever starts). ``client``: the throttle's client token, for the byte budgets."""
    stored, refused = _uploads_store(
        uploads, start=0, room=settings.TESTIGO_MAX_FILES, report=None, client=client
    )
    code = receipt_code_new()
    try:
        with transaction.atomic():
            report = report_create(
                receipt_hash=receipt_code_hash(code),
                description=description,
                occurred_text=occurred_text,
                location_text=location_text,
                language=language,
                facts=facts,
                contact=contact,
            )
            _media_rows_create(report, stored, refused)
            if not stored and not resumable_uploads_follow:
                report_settle_if_ready(report=report)
    except Exception:
        # Nothing was committed: leave no orphan ciphertext behind.
        _stored_delete(stored)
        raise
    return SubmitResult(
        report=report, receipt_code=code, refused=[refusal for refusal, _, _ in refused]
    )


def submission_submit(
    sub: Submission, *, resumable_uploads_follow: bool = False, client: str = ""
) -> SubmitResult:
    """``report_submit`` for a validated report form (the web form or the intake API), in
    the language of the current request."""
    return report_submit(
        description=sub.description,
        occurred_text=sub.occurred_text,
        location_text=sub.location_text,
        language=get_language() or "en",
        facts=sub.facts,
        contact=sub.contact,
        uploads=sub.uploads,
        resumable_uploads_follow=resumable_uploads_follow,
        client=client,
    )


def report_media_add(
    *, report: Report, uploads: Sequence[UploadedFile[bytes]], client: str = ""
) -> list[RefusedUpload]:
    """More files for an existing report (the follow-up page). Positions continue the
    report's numbering; the refusals are numbered from 0 within this batch."""
    tally = selectors.report_media_tally(report=report)
    start = tally.next_position
    room = min(settings.TESTIGO_MAX_FILES, settings.TESTIGO_MAX_FILES_PER_REPORT - tally.count)
    stored, refused = _uploads_store(
        uploads,
        start=start,
        room=room,
        report=report,
        client=client,
        report_bytes=tally.bytes,
        outstanding=tally.outstanding,
    )
    try:
        with transaction.atomic():
            _media_rows_create(report, stored, refused)
    except Exception:
        _stored_delete(stored)
        raise
    return [RefusedUpload(r.position - start, r.reason) for r, _, _ in refused]


_Refusal = tuple[RefusedUpload, int, str]


def _uploads_store(
    uploads: Sequence[UploadedFile[bytes]],
    *,
    start: int,
    room: int,
    report: Report | None,
    client: str,
    report_bytes: int | None = None,
    outstanding: int | None = None,
) -> tuple[list[_StoredUpload], list[_Refusal]]:
    stored: list[_StoredUpload] = []
    refused: list[_Refusal] = []
    for index, upload in enumerate(uploads):
        position = start + index
        reason = RefusalReason.TOO_MANY_FILES if index >= room else upload_refusal(upload)
        if reason is None:
            taken = sum(s.size for s in stored)
            size = upload.size or 0
            reason = upload_budget_check(
                client=client,
                report=report,
                length=size,
                pending=taken,
                report_bytes=report_bytes,
                # Read once for the batch; a file the batch took counts in ``taken``.
                outstanding=outstanding,
            )
        if reason is None:
            assert isinstance(upload, EncryptedUpload)
            if upload.stored_name:
                # Sealed into quarantine as it arrived: recorded, never copied again.
                stored.append(
                    _StoredUpload(position, upload.stored_take(), upload.size or 0, upload.sha256)
                )
                continue
            name = f"{uuid.uuid4().hex}.tq"
            try:
                name = storages["quarantine"].save(name, File(upload.file))
            except OSError as exc:
                logger.error("storing upload %s in quarantine failed: %s", position, exc)
                # A full disk leaves a partial file behind; it must not outlive the refusal.
                _quarantine_delete_quietly(name)
                reason = RefusalReason.STORAGE_ERROR
            else:
                stored.append(_StoredUpload(position, name, upload.size or 0, upload.sha256))
                continue
        if isinstance(upload, EncryptedUpload):
            upload.discard()  # a refused file keeps nothing in quarantine
        refused.append(
            (RefusedUpload(position, reason), upload.size or 0, getattr(upload, "sha256", ""))
        )
    return stored, refused


def _media_rows_create(
    report: Report, stored: list[_StoredUpload], refused: list[_Refusal]
) -> None:
    """Inside the caller's transaction: one row per file, processing queued on commit."""
    items = media_items_quarantine(
        report=report, files=[(s.position, s.name, s.size, s.sha256) for s in stored]
    )
    for item in items:
        transaction.on_commit(partial(media_item_enqueue, media_item_id=item.id))
    for refusal, size, sha256 in refused:
        media_item_reject_on_receipt(
            report=report,
            position=refusal.position,
            size=size,
            sha256=sha256,
            reason=refusal.reason,
        )


def _stored_delete(stored: list[_StoredUpload]) -> None:
    for upload_stored in stored:
        storages["quarantine"].delete(upload_stored.name)


def _quarantine_delete_quietly(name: str) -> None:
    try:
        storages["quarantine"].delete(name)
    except OSError:
        logger.exception("removing a partial quarantine file failed")


def upload_refusal(upload: UploadedFile[bytes]) -> RefusalReason | None:
    """Why an upload cannot be accepted, judged from its bytes; None when it can."""
    if not isinstance(upload, EncryptedUpload):
        # Only the encrypting handler may deliver files; anything else fails closed.
        return RefusalReason.STORAGE_ERROR
    if upload.storage_failed:
        # A full disk is told as such: the witness may send the file again later.
        return RefusalReason.STORAGE_FULL if upload.disk_full else RefusalReason.STORAGE_ERROR
    if upload.too_large:
        return RefusalReason.TOO_LARGE
    if not upload.size:
        return RefusalReason.EMPTY
    if upload_kind(upload.head) is None:
        return RefusalReason.UNSUPPORTED_FORMAT
    return None
