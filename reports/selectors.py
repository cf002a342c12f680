"""Non-trivial reads of the domain."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.db.models import Count, Q, QuerySet

from reports.models import SETTLED_MEDIA, MediaItem, MediaStatus, Moderation, Report


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


def media_items_to_sweep(*, idle_before: datetime) -> QuerySet[MediaItem]:
    """Items whose task may have been lost: quarantined and idle, or claimed that long ago
    (the task then decides whether the claim is abandoned; a live one is left alone)."""
    return MediaItem.objects.filter(
        Q(status=MediaStatus.QUARANTINED, updated_at__lt=idle_before)
        | Q(status=MediaStatus.PROCESSING, claimed_at__lt=idle_before)
    ).order_by("created_at")


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
