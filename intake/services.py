"""The witness side's state changes: receiving a report and sanitizing its media."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import logging
import os
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages
from django.core.files.uploadedfile import UploadedFile
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import get_language

from intake import legal_hold, sanitize
from intake.limits import size_limit, upload_kind
from intake.quarantine import (
    ConcatenatedReader,
    DecryptingReader,
    EncryptedUpload,
    plaintext_size,
)
from intake.receipts import receipt_code_hash, receipt_code_new
from intake.sanitize import errors as sanitize_errors
from intake.sanitize.exiftool import exiftool_findings
from intake.sanitize.sniff import HEAD_SIZE
from intake.segments import upload_segments_receive
from reports import selectors
from reports.contact import Contact
from reports.models import MediaItem, MediaStatus, Report
from reports.services import (
    UploadConflict,
    media_item_claim,
    media_item_forget_quarantine,
    media_item_mark_clean,
    media_item_quarantine,
    media_item_reject,
    media_item_reject_on_receipt,
    media_item_release,
    media_item_upload_abandon,
    media_item_upload_start,
    report_create,
    report_settle_if_ready,
)

if TYPE_CHECKING:
    from intake.forms import Submission

logger = logging.getLogger(__name__)

# Reasons an upload is refused on arrival, before anything is stored.
REFUSED_EMPTY = "empty"
REFUSED_TOO_LARGE = sanitize_errors.TOO_LARGE
REFUSED_UNSUPPORTED = sanitize_errors.UNSUPPORTED_FORMAT
REFUSED_STORAGE = "storage_error"
REFUSED_TOO_MANY = "too_many_files"
REFUSED_CANCELLED = "cancelled"
REFUSED_EXPIRED = "upload_expired"

_EXTENSIONS = {
    "jpeg": ".jpg",
    "png": ".png",
    "apng": ".png",
    "gif": ".gif",
    "webp": ".webp",
    "tiff": ".tif",
    "heic": ".heic",
    "avif": ".avif",
    "mp4": ".mp4",
    "mov": ".mov",
    "3gp": ".3gp",
    "m4v": ".m4v",
    "m4a": ".m4a",
    "webm": ".webm",
    "mkv": ".mkv",
    "mp3": ".mp3",
    "ogg": ".ogg",
    "opus": ".opus",
    "flac": ".flac",
    "wav": ".wav",
    "amr": ".amr",
}


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
) -> SubmitResult:
    """Receive a witness's report. Files are checked and stored (encrypted) first, each on
    its own, so a bad or failed upload costs only itself; then the report and its media
    rows are committed together, and processing is queued only after that commit.

    ``resumable_uploads_follow``: the client sends its files next, with tus; the report
    waits for them instead of entering moderation at once (the sweeper moves it on if
    none ever starts)."""
    stored, refused = _uploads_store(uploads, start=0, room=settings.TESTIGO_MAX_FILES)
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


def submission_submit(sub: Submission, *, resumable_uploads_follow: bool = False) -> SubmitResult:
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
    )


def report_media_add(
    *, report: Report, uploads: Sequence[UploadedFile[bytes]]
) -> list[RefusedUpload]:
    """More files for an existing report (the follow-up page). Positions continue the
    report's numbering; the refusals are numbered from 0 within this batch."""
    start = selectors.report_next_position(report=report)
    room = min(
        settings.TESTIGO_MAX_FILES,
        settings.TESTIGO_MAX_FILES_PER_REPORT - selectors.report_media_count(report=report),
    )
    stored, refused = _uploads_store(uploads, start=start, room=room)
    try:
        with transaction.atomic():
            _media_rows_create(report, stored, refused)
    except Exception:
        _stored_delete(stored)
        raise
    return [RefusedUpload(r.position - start, r.reason) for r, _, _ in refused]


_Refusal = tuple[RefusedUpload, int, str]


def _uploads_store(
    uploads: Sequence[UploadedFile[bytes]], *, start: int, room: int
) -> tuple[list[_StoredUpload], list[_Refusal]]:
    stored: list[_StoredUpload] = []
    refused: list[_Refusal] = []
    for index, upload in enumerate(uploads):
        position = start + index
        reason = REFUSED_TOO_MANY if index >= room else upload_refusal(upload)
        if reason is None:
            assert isinstance(upload, EncryptedUpload)
            name = f"{uuid.uuid4().hex}.tq"
            try:
                name = storages["quarantine"].save(name, File(upload.file))
            except OSError as exc:
                logger.error("storing upload %s in quarantine failed: %s", position, exc)
                # A full disk leaves a partial file behind; it must not outlive the refusal.
                _quarantine_delete_quietly(name)
                reason = REFUSED_STORAGE
            else:
                stored.append(_StoredUpload(position, name, upload.size or 0, upload.sha256))
                continue
        refused.append(
            (RefusedUpload(position, reason), upload.size or 0, getattr(upload, "sha256", ""))
        )
    return stored, refused


def _media_rows_create(
    report: Report, stored: list[_StoredUpload], refused: list[_Refusal]
) -> None:
    """Inside the caller's transaction: one row per file, processing queued on commit."""
    for upload_stored in stored:
        item = media_item_quarantine(
            report=report,
            position=upload_stored.position,
            quarantine_name=upload_stored.name,
            size=upload_stored.size,
            sha256=upload_stored.sha256,
        )
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


def upload_refusal(upload: UploadedFile[bytes]) -> str | None:
    """Why an upload cannot be accepted, judged from its bytes; None when it can."""
    if not isinstance(upload, EncryptedUpload):
        # Only the encrypting handler may deliver files; anything else fails closed.
        return REFUSED_STORAGE
    if upload.too_large:
        return REFUSED_TOO_LARGE
    if not upload.size:
        return REFUSED_EMPTY
    if upload_kind(upload.head) is None:
        return REFUSED_UNSUPPORTED
    return None


# Monotonic time before which this process does not try to publish: set after a failed
# publish, so that during a broker outage each request pays the publish timeout at most
# once instead of once per file.
_publish_paused_until = 0.0


def media_item_enqueue(*, media_item_id: Any) -> bool:
    """Queue processing; True when published. A broker outage is logged, not raised: the
    item is committed and the sweeper re-queues it once the broker is back."""
    global _publish_paused_until
    from intake.tasks import process_media

    if time.monotonic() < _publish_paused_until:
        return False
    try:
        process_media.apply_async(kwargs={"media_item_id": str(media_item_id)})
    except Exception as exc:
        _publish_paused_until = time.monotonic() + settings.TESTIGO_PUBLISH_PAUSE_S
        logger.warning(
            "could not queue media item %s (%s); the sweeper will retry",
            media_item_id,
            type(exc).__name__,
        )
        return False
    return True


def worker_identity() -> str:
    """Who is processing: host, process id, process start time and thread. The start time
    tells a restarted process from an old one that had the same id."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_process_start(pid)}:{threading.get_ident()}"


def _process_start(pid: int) -> str:
    """The process's start time in clock ticks since boot ("" when unknown or the process
    is a zombie: killed, not yet reaped by its parent, so already gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # Fields after the command name (which may hold spaces): state is field 3, starttime 22.
    fields = stat.rsplit(")", 1)[1].split()
    return "" if fields[0] in ("Z", "X") else fields[19]


def claimant_is_gone(claimant: str, me: str) -> bool:
    """True only when the process holding a claim (``worker_identity()`` and a nonce)
    provably no longer works on it: it is this very thread (a worker runs one task per
    thread at a time, so an earlier task of ours is over), or it ran on this host and that
    process has ended. Elsewhere: unknown, False."""
    if claimant.rpartition(":")[0] == me:
        return True
    host, _, rest = claimant.partition(":")
    pid_text, _, rest = rest.partition(":")
    start = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # it exists, under another user
    current_start = _process_start(pid)
    if not current_start:
        # No start time: a zombie (gone), or a system without /proc (unknown).
        return Path(f"/proc/{pid}").exists()
    # Same id, another start time: the id now belongs to a newer process.
    return bool(start) and current_start != start


class ProcessOutcome:
    SKIPPED = "skipped"
    CLEAN = "clean"
    REJECTED = "rejected"
    RETRY = "retry"
    FAILED = "failed"


class ProcessingInterrupted(Exception):
    """The database went away mid-job. ``claims`` are the claims this task's tries may
    hold (whether the last one was written is unknown when the connection died): a retry
    may take them back (the tries that made them are over), and they do not count as
    failed attempts of the item."""

    def __init__(self, claims: list[str]) -> None:
        super().__init__(claims[-1])
        self.claims = claims


def media_item_process(*, media_item_id: Any, abandoned_claims: Sequence[str] = ()) -> str:
    """Sanitize one quarantined item. Safe to run twice: the claim lets one run work,
    outputs have fixed names, and every step after storing is idempotent.

    A claim left by a worker that died (killed mid-job: out of memory, a crash, a deploy)
    counts as a failed attempt; it is taken over at once when the death is provable, else
    once the claim is older than TESTIGO_CLAIM_STALE_S. ``abandoned_claims`` are the claims
    of this task's own earlier tries, interrupted by database errors (ProcessingInterrupted)."""
    me = worker_identity()
    # Each claim is unique, so a retry takes back its own claim and not a newer one.
    claim = f"{me}:{uuid.uuid4().hex[:12]}"
    try:
        return _media_item_process(
            media_item_id=media_item_id, me=me, claim=claim, abandoned_claims=abandoned_claims
        )
    except (OperationalError, InterfaceError) as exc:
        raise ProcessingInterrupted([*abandoned_claims, claim]) from exc


def _media_item_process(
    *, media_item_id: Any, me: str, claim: str, abandoned_claims: Sequence[str]
) -> str:
    stale_before = timezone.now() - timedelta(seconds=settings.TESTIGO_CLAIM_STALE_S)
    holder = selectors.media_item_claim_holder(media_item_id=media_item_id)
    take_over_from = ""
    if holder is not None and holder.claimed_by in abandoned_claims:
        take_over_from = holder.claimed_by
    elif holder is not None and (
        claimant_is_gone(holder.claimed_by, me)
        or (holder.claimed_at is not None and holder.claimed_at < stale_before)
    ):
        take_over_from = holder.claimed_by
        released = media_item_release(
            item=holder,
            error="worker_lost",
            max_attempts=settings.TESTIGO_MAX_ATTEMPTS,
            claimed_by=holder.claimed_by,
        )
        if released.status == MediaStatus.FAILED:
            return ProcessOutcome.FAILED
    item = media_item_claim(
        media_item_id=media_item_id,
        stale_before=stale_before,
        claimant=claim,
        take_over_from=take_over_from,
    )
    if item is None:
        return ProcessOutcome.SKIPPED
    try:
        outcome = _media_item_sanitize(item)
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        logger.exception("processing media item %s failed", item.id)
        released = media_item_release(
            item=item,
            error=type(exc).__name__,
            max_attempts=settings.TESTIGO_MAX_ATTEMPTS,
            claimed_by=claim,
        )
        return ProcessOutcome.FAILED if released.status == "failed" else ProcessOutcome.RETRY
    media_item_destroy_quarantine(item=item)
    return outcome


@contextlib.contextmanager
def quarantine_plaintext(item: MediaItem) -> Iterator[BinaryIO]:
    """The item's plaintext, decrypted on the fly: only the worker calls this. A
    resumable upload is read as the concatenation of its parts."""
    quarantine = storages["quarantine"]
    raw: io.RawIOBase
    with contextlib.ExitStack() as stack:
        if item.quarantine_parts:
            names = list(item.quarantine_parts)
            raw = ConcatenatedReader(
                [_opener(name) for name in names],
                [plaintext_size(quarantine.size(name)) for name in names],
                key=None,
            )
        else:
            sealed = stack.enter_context(quarantine.open(item.quarantine_name, "rb"))
            raw = DecryptingReader(sealed)  # type: ignore[arg-type]
        stack.callback(raw.close)
        yield io.BufferedReader(raw, buffer_size=1 << 20)


def _opener(name: str) -> Callable[[], BinaryIO]:
    def open_part() -> BinaryIO:
        return storages["quarantine"].open(name, "rb")  # type: ignore[return-value]

    return open_part


def _media_item_sanitize(item: MediaItem) -> str:
    with (
        quarantine_plaintext(item) as plaintext,
        tempfile.TemporaryDirectory(prefix="testigo-") as tmp,
    ):
        workdir = Path(tmp)
        sealed_original_name = _legal_hold_seal(item=item, plaintext=plaintext, workdir=workdir)
        plaintext.seek(0)
        output_path = workdir / "out"
        with output_path.open("w+b") as output:
            manifest = sanitize.sanitize_stream(plaintext, output)
        if manifest.status != "clean":
            media_item_reject(
                item=item,
                reason=manifest.reason,
                manifest=manifest.to_dict(),
                sealed_original_name=sealed_original_name,
            )
            return ProcessOutcome.REJECTED
        findings = exiftool_findings(output_path, settings.TESTIGO_EXIFTOOL)
        if findings:
            logger.error("exiftool found %s in sanitized media item %s", findings, item.id)
            media_item_reject(
                item=item,
                reason=sanitize_errors.VERIFY_FAILED,
                manifest=manifest.to_dict(),
                sealed_original_name=sealed_original_name,
            )
            return ProcessOutcome.REJECTED
        base = f"{item.report_id}/{item.id}"
        media = storages["media"]
        with output_path.open("rb") as output:
            media_name = media.save(base + _EXTENSIONS.get(manifest.format, ""), File(output))
        preview_name = ""
        preview_path = preview_make(
            kind=manifest.media_kind or "", source=output_path, workdir=workdir
        )
        if preview_path is not None:
            with preview_path.open("rb") as preview:
                preview_name = media.save(base + ".preview.jpg", File(preview))
    media_item_mark_clean(
        item=item,
        media_name=media_name,
        manifest=manifest.to_dict(),
        preview_name=preview_name,
        sealed_original_name=sealed_original_name,
    )
    return ProcessOutcome.CLEAN


def _legal_hold_seal(*, item: MediaItem, plaintext: BinaryIO, workdir: Path) -> str:
    """Seal the original to the legal-hold key, when the deployment has one. Fixed name,
    so a second run overwrites rather than duplicates."""
    public_key = settings.TESTIGO_LEGAL_HOLD_PUBLIC_KEY
    if not public_key:
        return ""
    sealed_path = workdir / "original.sealed"
    with sealed_path.open("w+b") as sink:
        legal_hold.seal(plaintext=plaintext, sink=sink, public_key_b64=public_key)
        sink.seek(0)
        return storages["legal_hold"].save(f"{item.report_id}/{item.id}.sealed", File(sink))


def _limit_child_resources() -> None:
    """Runs in the preview child before exec: cap its memory and CPU time."""
    memory = settings.TESTIGO_PREVIEW_MAX_MEMORY_MB * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = settings.TESTIGO_PREVIEW_MAX_CPU_S
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))


def preview_make(*, kind: str, source: Path, workdir: Path) -> Path | None:
    """A JPEG preview of a sanitized file, made in a resource-limited child process and
    itself sanitized and verified. None when there is none to make or making it failed:
    a preview never decides whether media is visible."""
    if kind not in ("image", "video"):
        return None
    raw = workdir / "preview.raw.jpg"
    try:
        subprocess.run(
            [sys.executable, "-m", "intake.preview", kind, str(source), str(raw)],
            preexec_fn=_limit_child_resources,  # workers are processes, not threads
            timeout=settings.TESTIGO_PREVIEW_MAX_CPU_S * 2,
            capture_output=True,
            check=True,
            cwd=settings.BASE_DIR,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        logger.warning("preview of %s failed: %s", source.name, type(exc).__name__)
        return None
    clean = workdir / "preview.jpg"
    with raw.open("rb") as src, clean.open("w+b") as dst:
        manifest = sanitize.sanitize_stream(src, dst)
    return clean if manifest.status == "clean" else None


def media_item_destroy_quarantine(*, item: MediaItem) -> None:
    if item.quarantine_parts:
        for name in item.quarantine_parts:
            storages["quarantine"].delete(name)
        media_item_forget_quarantine(item=item)
    elif item.quarantine_name:
        if not item.quarantine_name.endswith("/"):  # a parts prefix is not a file
            storages["quarantine"].delete(item.quarantine_name)
        media_item_forget_quarantine(item=item)


def quarantine_sweep() -> int:
    """Re-queue items whose task was lost and finish interrupted clean-ups. Returns how
    many items were re-queued (published to the broker)."""
    now = timezone.now()
    for expired in selectors.media_items_upload_expired(now=now):
        resumable_upload_abandon(item=expired, reason=REFUSED_EXPIRED, actor_label="system")
    for leftover in selectors.media_items_with_leftover_quarantine():
        media_item_destroy_quarantine(item=leftover)
    candidates = selectors.media_items_to_sweep(
        idle_before=now - timedelta(seconds=settings.TESTIGO_SWEEP_AFTER_S)
    )
    count = 0
    for media_item_id in candidates.values_list("id", flat=True):
        if media_item_enqueue(media_item_id=media_item_id):
            count += 1
    for report in selectors.reports_received_without_media_in_flight():
        report_settle_if_ready(report=report)
    return count


# --- Resumable uploads (tus 1.0): the protocol lives in intake/tus.py ---------------------


class UploadRefused(Exception):
    """The upload cannot go on; ``reason`` is a code intake.messages translates."""

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
