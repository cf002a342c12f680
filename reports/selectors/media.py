"""The media pipeline's and the witness side's reads: what to sweep, claim and settle;
uploads and their budgets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import (
    Count,
    F,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Coalesce, Greatest

from reports.models import (
    SETTLED_MEDIA,
    CopyStatus,
    MediaItem,
    MediaStatus,
    Moderation,
    PublishableCopy,
    Report,
    ReportMessage,
)


def media_items_to_sweep(*, idle_before: datetime) -> QuerySet[MediaItem]:
    """Items whose task may have been lost: quarantined and idle, or claimed that long ago
    (the task then decides whether the claim is abandoned; a live one is left alone)."""
    return MediaItem.objects.filter(
        Q(status=MediaStatus.QUARANTINED, updated_at__lt=idle_before)
        | Q(status=MediaStatus.PROCESSING, claimed_at__lt=idle_before)
    ).order_by("created_at")


def publishable_copies_to_sweep(
    *, idle_before: datetime, stale_before: datetime
) -> QuerySet[PublishableCopy]:
    """Copies whose detection or rendering task may have been lost: never claimed and idle
    (the broker was down when it was queued), or claimed by a worker that has not reported
    progress since ``stale_before`` (it died; the claim lets another take over)."""
    return PublishableCopy.objects.filter(
        Q(claimed_at__isnull=True, updated_at__lt=idle_before) | Q(claimed_at__lt=stale_before),
        status__in=(CopyStatus.DETECTING, CopyStatus.RENDERING),
    ).order_by("created_at")


_IN_PIPELINE = (MediaStatus.QUARANTINED, MediaStatus.PROCESSING)


def media_item_in_turn(*, media_item_id: UUID | str, in_flight: int) -> MediaItem | None:
    """The item if it may be queued for processing now: claimed already (its task decides),
    or among the first ``in_flight`` of its report's items in the pipeline, in report
    order. Else None: it waits for its turn (or is settled, or gone)."""
    # One query, written out: it runs once per file of every submit, and building it with
    # the ORM took 1-2 ms of CPU each time (docs/operations.md, "Capacity (measured)").
    item = next(
        iter(
            MediaItem.objects.raw(
                _IN_TURN_SQL,
                [*_PIPELINE_VALUES, _uuid_for_db(media_item_id), *_PIPELINE_VALUES],
            )
        ),
        None,
    )
    if item is None or item.status == MediaStatus.PROCESSING:
        return item
    ahead: int = item.ahead  # type: ignore[attr-defined]  # a column of the query
    return item if ahead < in_flight else None


_MEDIA_TABLE = MediaItem._meta.db_table
_PIPELINE_VALUES = [status.value for status in _IN_PIPELINE]
_PIPELINE_PLACEHOLDERS = ", ".join(["%s"] * len(_PIPELINE_VALUES))
# The item, and how many items of its report are in the pipeline ahead of it.
_IN_TURN_SQL = f"""
    SELECT i.id, i.report_id, i.position, i.status, i.size_received, i.upload_length,
        (SELECT COUNT(*) FROM {_MEDIA_TABLE} a
         WHERE a.report_id = i.report_id AND a.status IN ({_PIPELINE_PLACEHOLDERS})
           AND (a.position < i.position OR (a.position = i.position AND a.id < i.id))
        ) AS ahead
    FROM {_MEDIA_TABLE} i
    WHERE i.id = %s AND i.status IN ({_PIPELINE_PLACEHOLDERS})
"""  # noqa: S608  # nosec B608 (names from the model, values as parameters)


def _uuid_for_db(value: UUID | str) -> Any:
    """An ID as the database stores it (a native UUID, or its hex on SQLite), by the
    model's own field."""
    return MediaItem._meta.pk.get_db_prep_value(value, connection)


def report_media_in_turn(*, report_id: UUID | str, in_flight: int) -> list[UUID]:
    """The report's quarantined items now in their turn (see media_item_in_turn)."""
    window = MediaItem.objects.filter(report_id=report_id, status__in=_IN_PIPELINE).order_by(
        "position", "id"
    )[:in_flight]
    return [item.id for item in window.only("id", "status") if item.status == "quarantined"]


def media_item_claim_holder(*, media_item_id: UUID | str) -> MediaItem | None:
    """The item if a worker holds it in processing (status, claimant and attempts only)."""
    return (
        MediaItem.objects.filter(id=media_item_id, status=MediaStatus.PROCESSING)
        .only("id", "report_id", "status", "claimed_by", "claimed_at", "attempts")
        .first()
    )


def media_items_with_leftover_quarantine() -> QuerySet[MediaItem]:
    """Settled items whose quarantine copy was not destroyed (a crash in between)."""
    return MediaItem.objects.filter(status__in=[MediaStatus.CLEAN, MediaStatus.REJECTED]).exclude(
        quarantine_name=""
    )


def media_items_to_reseal() -> QuerySet[MediaItem]:
    """Items whose quarantine copy exists and no worker holds right now (a claimed item is
    left for the next key rotation run: its worker may be reading the file)."""
    return (
        MediaItem.objects.exclude(status=MediaStatus.PROCESSING)
        .exclude(quarantine_name="", quarantine_parts=[])
        .order_by("created_at")
    )


def reports_received_without_media_in_flight() -> QuerySet[Report]:
    """Received reports none of whose media is still in the pipeline: a crash between
    the last item settling and the report moving on leaves these behind."""
    in_flight = MediaItem.objects.exclude(status__in=SETTLED_MEDIA).values("report_id")
    return Report.objects.filter(moderation=Moderation.RECEIVED).exclude(id__in=in_flight)


def report_by_receipt(*, receipt_hash: str) -> Report | None:
    return Report.objects.filter(receipt_hash=receipt_hash).first()


def report_by_reference(reference: str) -> Report | None:
    """A report by its full id or the 8-character short id staff see in lists."""
    reference = reference.strip().lower()
    try:
        return Report.objects.filter(id=UUID(reference)).first()
    except ValueError:
        pass
    if len(reference) == 8 and all(c in "0123456789abcdef" for c in reference):
        matches = list(Report.objects.filter(id__startswith=reference)[:2])
        if len(matches) == 1:
            return matches[0]
    return None


def media_item_by_upload_key(*, key_hash: str) -> MediaItem | None:
    if not key_hash:
        return None
    return MediaItem.objects.filter(upload_key_hash=key_hash).first()


def media_items_upload_expired(*, now: datetime, stalled_before: datetime) -> QuerySet[MediaItem]:
    """Resumable uploads past their expiry, or with no bytes recorded since
    ``stalled_before`` (every stored part updates the row)."""
    return MediaItem.objects.filter(
        Q(upload_expires_at__lt=now) | Q(updated_at__lt=stalled_before),
        status=MediaStatus.UPLOADING,
    )


def report_media_bytes(*, report: Report) -> int:
    """Bytes the report's files take or have reserved (a resumable upload counts its
    declared length from the start); refused and abandoned files, whose bytes are gone,
    do not count."""
    size = Greatest(F("size_received"), Coalesce(F("upload_length"), 0))
    total = (
        report.media_items.exclude(status=MediaStatus.REJECTED)
        .aggregate(total=Sum(size))
        .get("total")
    )
    return int(total or 0)


def uploads_outstanding_bytes() -> int:
    """Bytes announced by resumable uploads in progress and not yet received."""
    total = MediaItem.objects.filter(status=MediaStatus.UPLOADING).aggregate(
        total=Sum(Coalesce(F("upload_length"), 0) - F("upload_offset"))
    )["total"]
    return int(total or 0)


def report_media_count(*, report: Report) -> int:
    return report.media_items.count()


@dataclass(frozen=True)
class MediaTally:
    next_position: int
    count: int
    # As report_media_bytes.
    bytes: int
    # As uploads_outstanding_bytes (every report's).
    outstanding: int


def report_media_tally(*, report: Report) -> MediaTally:
    """report_next_position, report_media_count, report_media_bytes and
    uploads_outstanding_bytes in one query (each file of a streamed post asks for all
    four: its budgets and the disk floor)."""
    # Written out, as media_item_in_turn: the ORM took 1-2 ms of CPU per file to build it.
    report_id = _uuid_for_db(report.pk)
    uploading = MediaStatus.UPLOADING.value
    with connection.cursor() as cursor:
        cursor.execute(
            _TALLY_SQL,
            [
                report_id,
                report_id,
                report_id,
                MediaStatus.REJECTED.value,
                uploading,
                report_id,
                uploading,
            ],
        )
        last, count, size, outstanding = cursor.fetchone()
    return MediaTally(
        next_position=0 if last is None else last + 1,
        count=int(count),
        bytes=int(size or 0),
        outstanding=int(outstanding or 0),
    )


# The report's last position, count and bytes (as report_media_bytes: the larger of the
# bytes received and those announced), and every report's bytes announced by resumable
# uploads and not yet received (as uploads_outstanding_bytes). FILTER, as the ORM writes
# it: PostgreSQL and SQLite both have it.
_TALLY_SQL = f"""
    SELECT
        MAX(position) FILTER (WHERE report_id = %s),
        COUNT(*) FILTER (WHERE report_id = %s),
        SUM(CASE WHEN size_received > COALESCE(upload_length, 0)
                 THEN size_received ELSE COALESCE(upload_length, 0) END)
            FILTER (WHERE report_id = %s AND status <> %s),
        SUM(COALESCE(upload_length, 0) - upload_offset) FILTER (WHERE status = %s)
    FROM {_MEDIA_TABLE}
    WHERE report_id = %s OR status = %s
"""  # noqa: S608  # nosec B608 (the name from the model, values as parameters)


def report_media_in_flight(*, report: Report) -> bool:
    """True while any of the report's media is not settled (uploading, quarantined or
    processing)."""
    return report.media_items.exclude(status__in=SETTLED_MEDIA).exists()


def report_next_position(*, report: Report) -> int:
    last = report.media_items.order_by("-position").values_list("position", flat=True).first()
    return 0 if last is None else last + 1


def report_messages(*, report: Report) -> QuerySet[ReportMessage]:
    """The conversation with the witness, oldest first, with who asked."""
    return report.messages.select_related("author").order_by("created_at", "id")


def report_media_summary(*, report: Report) -> dict[str, int]:
    """How many of the report's files are ready, in progress, or could not be used."""
    counts = dict(
        report.media_items.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    in_progress = (MediaStatus.UPLOADING, MediaStatus.QUARANTINED, MediaStatus.PROCESSING)
    return {
        "ready": counts.get(MediaStatus.CLEAN, 0),
        "in_progress": sum(counts.get(s, 0) for s in in_progress),
        "refused": counts.get(MediaStatus.REJECTED, 0) + counts.get(MediaStatus.FAILED, 0),
    }
