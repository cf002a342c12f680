"""Non-trivial reads of the domain."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.db.models import Count, Q, QuerySet

from reports.models import (
    SETTLED_MEDIA,
    MediaItem,
    MediaStatus,
    Moderation,
    Report,
    ReportMessage,
)


def moderation_queue() -> QuerySet[Report]:
    """Reports waiting for a moderator, oldest first, with their media counted."""
    return (
        Report.objects.filter(moderation=Moderation.PENDING)
        .annotate(
            media_count=Count("media_items"),
            clean_media_count=Count("media_items", filter=Q(media_items__status="clean")),
        )
        .order_by("received_at")
    )


def media_items_to_sweep(
    *, idle_before: datetime, claim_stale_before: datetime
) -> QuerySet[MediaItem]:
    """Items whose task may have been lost: quarantined and idle, or claimed by a worker
    that has not finished within the hard time limit."""
    return MediaItem.objects.filter(
        Q(status=MediaStatus.QUARANTINED, updated_at__lt=idle_before)
        | Q(status=MediaStatus.PROCESSING, claimed_at__lt=claim_stale_before)
    ).order_by("created_at")


def media_items_with_leftover_quarantine() -> QuerySet[MediaItem]:
    """Settled items whose quarantine copy was not destroyed (a crash in between)."""
    return MediaItem.objects.filter(status__in=[MediaStatus.CLEAN, MediaStatus.REJECTED]).exclude(
        quarantine_name=""
    )


def clean_media_item(*, media_item_id: UUID | str) -> MediaItem | None:
    """A media item that may be shown to staff: clean, with its sanitized file stored."""
    return (
        MediaItem.objects.filter(id=media_item_id, status=MediaStatus.CLEAN)
        .exclude(media_name="")
        .select_related("report")
        .first()
    )


def reports_received_without_media_in_flight() -> QuerySet[Report]:
    """Received reports none of whose media is still in the pipeline: a crash between
    the last item settling and the report moving on leaves these behind."""
    in_flight = MediaItem.objects.exclude(status__in=SETTLED_MEDIA).values("report_id")
    return Report.objects.filter(moderation=Moderation.RECEIVED).exclude(id__in=in_flight)


def reports_with_media_count() -> QuerySet[Report]:
    return Report.objects.annotate(media_count=Count("media_items")).order_by("-received_at")


def report_by_receipt(*, receipt_hash: str) -> Report | None:
    return Report.objects.filter(receipt_hash=receipt_hash).first()


def media_item_by_upload_key(*, key_hash: str) -> MediaItem | None:
    if not key_hash:
        return None
    return MediaItem.objects.filter(upload_key_hash=key_hash).first()


def media_items_upload_expired(*, now: datetime) -> QuerySet[MediaItem]:
    return MediaItem.objects.filter(status=MediaStatus.UPLOADING, upload_expires_at__lt=now)


def report_media_count(*, report: Report) -> int:
    return report.media_items.count()


def report_next_position(*, report: Report) -> int:
    last = report.media_items.order_by("-position").values_list("position", flat=True).first()
    return 0 if last is None else last + 1


def report_messages(*, report: Report) -> QuerySet[ReportMessage]:
    return report.messages.order_by("created_at", "id")


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
