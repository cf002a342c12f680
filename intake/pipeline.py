"""The worker pipeline: from a committed upload to media staff may look at.

A media item's states (reports.models.MEDIA_TRANSITIONS) and what moves it; the row
changes are services in reports/services/media.py, each checked against the table and
audited, and this module drives them:

  (new)        → uploading     resumable.resumable_upload_create → media_item_upload_start
  (new)        → quarantined   services.report_submit / report_media_add
                               → media_items_quarantine; processing queued on commit
                               (media_item_enqueue)
  (new)        → rejected      the same, for an upload refused on arrival
                               → media_item_reject_on_receipt
  uploading    → quarantined   resumable.resumable_upload_append, last part
                               → media_item_upload_append; processing queued
  uploading    → rejected      resumable.resumable_upload_abandon (cancelled, refused,
                               or expired by sweeper.quarantine_sweep: past its expiry, or no
                               bytes for TESTIGO_UPLOAD_STALL_S) → media_item_upload_abandon
  quarantined  → processing    media_item_process → media_item_claim
  processing   → processing    media_item_process taking back its own interrupted try's
                               claim (abandoned_claims) or a stale one → media_item_claim
  processing   → clean         _media_item_sanitize → media_item_mark_clean
                               (which forgets the quarantine copy in the same commit)
  processing   → rejected      _media_item_sanitize (sanitizer or ExifTool refused it)
                               → media_item_reject
  processing   → quarantined   media_item_process: the attempt crashed, or the claimant
               | failed        died → media_item_release (failed once attempts are used up)
  processing   → quarantined   media_item_process: the object store was unreachable
                               (StorageUnavailable) → media_item_wait, the attempt given
                               back: an outage is not the file's fault; the task tries
                               again every TESTIGO_STORAGE_RETRY_S (intake/tasks.py)
  failed       → quarantined   staff re-run it from the admin → media_item_retry
                               (reports/services/media.py), queued on commit

Settled items (clean, rejected, failed) never move again by themselves (only staff re-run
a failed one). Each settling change above also moves the report from received to pending
once none of its media is in flight (reports.services.media._report_settle);
sweeper.quarantine_sweep catches any left behind, and re-queues items whose task was
lost. A clean or rejected result forgets the quarantine copy in its own commit, and the
worker deletes the files after it (a crash in between leaves unnamed files, which
intake/leftovers.py deletes); a failed item keeps its copy, never viewable.

Processing is queued a few items per report at a time (media_item_enqueue), the next as
one settles, on media_small or media_large by size: one report's many files cannot hold
up the next witness's (promise 12). Pixels are decoded only in the resource-limited child
that makes previews and image hashes (preview_make: intake/preview_child.py runs
intake/preview.py, one long-lived child per worker process).

Celery tasks in intake/tasks.py take ids and call media_item_process and the sweeper
(intake/sweeper.py, quarantine_sweep).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from intake import legal_hold, sanitize
from intake.leftovers import work_folder
from intake.preview_child import preview_child
from intake.quarantine import ConcatenatedReader, DecryptingReader, plaintext_size
from intake.sanitize.exiftool import exiftool_findings
from reports import selectors
from reports.formats import EXTENSIONS
from reports.jobs import PROCESS_MEDIA, celery_app, media_queue
from reports.models import MediaItem, MediaStatus, RefusalReason
from reports.services import (
    media_item_claim,
    media_item_forget_quarantine,
    media_item_mark_clean,
    media_item_reject,
    media_item_release,
    media_item_wait,
)
from reports.storage import StorageUnavailable

logger = logging.getLogger(__name__)

# Monotonic time before which this process does not try to publish: set after a failed
# publish, so that during a broker outage each request pays the publish timeout at most
# once instead of once per file.
_publish_paused_until = 0.0


def media_item_enqueue(*, media_item_id: Any) -> bool:
    """Queue processing when it is the item's turn; True when published. A broker outage
    is logged, not raised: the item is committed and the sweeper re-queues it once the
    broker is back.

    Fair across reports (promise 12): only TESTIGO_MEDIA_IN_FLIGHT_PER_REPORT items of a
    report are queued at a time, and the next as one settles (report_media_enqueue_next),
    so forty files of one report wait behind each other, not in front of the next
    witness's report. Files over TESTIGO_MEDIA_LARGE_BYTES go to their own queue, so a
    long video does not hold up photos."""
    global _publish_paused_until
    if time.monotonic() < _publish_paused_until:
        return False
    item = selectors.media_item_in_turn(
        media_item_id=media_item_id, in_flight=settings.TESTIGO_MEDIA_IN_FLIGHT_PER_REPORT
    )
    if item is None:
        return False  # not its turn yet: queued when an item ahead of it settles
    queue = media_queue(max(item.size_received, item.upload_length or 0))
    try:
        celery_app().send_task(
            PROCESS_MEDIA, kwargs={"media_item_id": str(media_item_id)}, queue=queue
        )
    except Exception as exc:
        _publish_paused_until = time.monotonic() + settings.TESTIGO_PUBLISH_PAUSE_S
        logger.warning(
            "could not queue media item %s (%s); the sweeper will retry",
            media_item_id,
            type(exc).__name__,
        )
        return False
    return True


def report_media_enqueue_next(*, report_id: Any) -> None:
    """One of the report's items settled: queue the ones whose turn has come. One may
    already be queued (a duplicate task finds it claimed or settled and does nothing)."""
    for media_item_id in selectors.report_media_in_turn(
        report_id=report_id, in_flight=settings.TESTIGO_MEDIA_IN_FLIGHT_PER_REPORT
    ):
        media_item_enqueue(media_item_id=media_item_id)


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
    WAIT = "wait"
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
            report_media_enqueue_next(report_id=released.report_id)
            return ProcessOutcome.FAILED
    item = media_item_claim(
        media_item_id=media_item_id,
        stale_before=stale_before,
        claimant=claim,
        take_over_from=take_over_from,
    )
    if item is None:
        # An item settled while its row still named the quarantine copy (by a release
        # before the settling commit forgot it): finish the clean-up now rather than
        # leave it to the sweeper.
        leftover = selectors.media_items_with_leftover_quarantine().filter(id=media_item_id)
        for settled in leftover:
            media_item_destroy_quarantine(item=settled)
            report_media_enqueue_next(report_id=settled.report_id)
        return ProcessOutcome.SKIPPED
    # The settling commit forgets the quarantine copy (reports/services/media.py). Its
    # files are deleted as soon as that commit succeeds, before any other statement
    # (the settling service re-reads the row before its commit), and only if the row
    # no longer names them (had another claimant put the item back in quarantine, they
    # are its only copy). A crash right at the commit leaves files no row names, which
    # intake/leftovers.py deletes.
    quarantine_files = _quarantine_files(item)
    try:
        outcome = _media_item_sanitize(item)
    except (OperationalError, InterfaceError):
        raise
    except StorageUnavailable as exc:
        # Nothing is wrong with the file: wait for the store without using an attempt.
        logger.warning("object store unavailable processing media item %s: %s", item.id, exc)
        media_item_wait(item=item, error=str(exc), claimed_by=claim)
        return ProcessOutcome.WAIT
    except Exception as exc:
        logger.exception("processing media item %s failed", item.id)
        released = media_item_release(
            item=item,
            error=type(exc).__name__,
            max_attempts=settings.TESTIGO_MAX_ATTEMPTS,
            claimed_by=claim,
        )
        if released.status != MediaStatus.FAILED:
            return ProcessOutcome.RETRY
        report_media_enqueue_next(report_id=item.report_id)
        return ProcessOutcome.FAILED
    if not item.quarantine_name and not item.quarantine_parts:
        _quarantine_files_delete(quarantine_files)
    report_media_enqueue_next(report_id=item.report_id)
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
        work_folder() as workdir,
    ):
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
        # The preview child decodes while ExifTool reads: two processes, two cores.
        with preview_begin(
            kind=manifest.media_kind or "", source=output_path, workdir=workdir
        ) as preview_answer:
            findings = exiftool_findings(output_path, settings.TESTIGO_EXIFTOOL)
            preview = preview_answer()
        if findings:
            logger.error("exiftool found %s in sanitized media item %s", findings, item.id)
            media_item_reject(
                item=item,
                reason=RefusalReason.VERIFY_FAILED,
                manifest=manifest.to_dict(),
                sealed_original_name=sealed_original_name,
            )
            return ProcessOutcome.REJECTED
        base = f"{item.report_id}/{item.id}"
        media = storages["media"]
        with output_path.open("rb") as output:
            media_name = media.save(base + EXTENSIONS.get(manifest.format, ""), File(output))
        preview_name = ""
        if preview.path is not None:
            with preview.path.open("rb") as preview_file:
                preview_name = media.save(base + ".preview.jpg", File(preview_file))
    media_item_mark_clean(
        item=item,
        media_name=media_name,
        manifest=manifest.to_dict(),
        preview_name=preview_name,
        sealed_original_name=sealed_original_name,
        image_hash=preview.dhash,
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


@dataclasses.dataclass(frozen=True)
class Preview:
    """What the preview child made of a sanitized file: the preview (None when there is
    none) and, for an image, its near-duplicate hash ("" when there is none)."""

    path: Path | None
    dhash: str = ""


def preview_make(*, kind: str, source: Path, workdir: Path) -> Preview:
    """The preview and hash of a sanitized file (see preview_begin)."""
    with preview_begin(kind=kind, source=source, workdir=workdir) as preview:
        return preview()


@contextlib.contextmanager
def preview_begin(*, kind: str, source: Path, workdir: Path) -> Iterator[Callable[[], Preview]]:
    """Start decoding a sanitized file once, in the worker's resource-limited child process
    (intake/preview_child.py), and yield a function that waits for the result: a JPEG
    preview, itself sanitized and verified, and an image's dhash. A file with more pixels
    to decode than TESTIGO_PREVIEW_MAX_PIXELS is not decoded at all. Neither a preview
    nor a hash ever decides whether media is visible: a failure here only leaves them
    out."""
    if kind not in ("image", "video"):
        yield lambda: Preview(None)
        return
    raw = workdir / "preview.raw.jpg"
    child = preview_child(
        memory_mb=settings.TESTIGO_PREVIEW_MAX_MEMORY_MB,
        cpu_s=settings.TESTIGO_PREVIEW_MAX_CPU_S,
        files_per_child=settings.TESTIGO_PREVIEW_CHILD_FILES,
        cwd=settings.BASE_DIR,
    )
    with contextlib.ExitStack() as stack:
        try:
            answer = stack.enter_context(
                child.begin(
                    kind=kind, src=source, dst=raw, max_pixels=settings.TESTIGO_PREVIEW_MAX_PIXELS
                )
            )
        except OSError as exc:  # could not start the child
            failed = {"error": type(exc).__name__}
            answer = lambda: failed  # noqa: E731
        yield lambda: _preview_from(answer(), source=source, raw=raw, workdir=workdir)


def _preview_from(answer: dict[str, Any], *, source: Path, raw: Path, workdir: Path) -> Preview:
    if "error" in answer:
        logger.warning("preview of %s failed: %s", source.name, _child_failure(answer["error"]))
        return Preview(None)
    clean = workdir / "preview.jpg"
    with raw.open("rb") as src, clean.open("w+b") as dst:
        manifest = sanitize.sanitize_stream(src, dst)
    return Preview(clean if manifest.status == "clean" else None, str(answer["dhash"]))


def _child_failure(error: str) -> str:
    if error == "too_many_pixels":
        return "more pixels than TESTIGO_PREVIEW_MAX_PIXELS"
    return error


def media_item_destroy_quarantine(*, item: MediaItem) -> None:
    """Delete a quarantine copy the row still names, then forget it: an item settled
    before its settling commit forgot the copy, or an abandoned upload."""
    if item.quarantine_parts or item.quarantine_name:
        _quarantine_files_delete(_quarantine_files(item))
        media_item_forget_quarantine(item=item)


def _quarantine_files(item: MediaItem) -> list[str]:
    if item.quarantine_parts:
        return list(item.quarantine_parts)
    if item.quarantine_name and not item.quarantine_name.endswith("/"):
        return [item.quarantine_name]  # a parts prefix ("tus/<id>/") is not a file
    return []


def _quarantine_files_delete(names: Sequence[str]) -> None:
    for name in names:
        storages["quarantine"].delete(name)
