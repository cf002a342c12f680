"""The figures /metrics exposes: counts and ages by state, never a row's identity.

Every figure is an aggregate over a state or a queue, so no label or value can name or
single out a witness, a report or an item (promise 4): there is no per-item series.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from django.db.models import Count, Min, Sum
from django.utils import timezone

from reports.models import DeliveryStatus, MediaItem, MediaStatus, WebhookDelivery

# The states an item waits in; clean and rejected are settled and only ever grow.
WAITING_STATES = (MediaStatus.UPLOADING, MediaStatus.QUARANTINED, MediaStatus.PROCESSING)


@dataclasses.dataclass(frozen=True)
class PipelineFigures:
    items_by_state: dict[str, int]
    oldest_age_s_by_state: dict[str, float]
    failed_items: int
    webhook_deliveries_by_status: dict[str, int]
    upload_bytes_received: int
    upload_bytes_announced: int


def pipeline_figures(*, now: datetime | None = None) -> PipelineFigures:
    now = now or timezone.now()
    rows = (
        MediaItem.objects.filter(status__in=[*WAITING_STATES, MediaStatus.FAILED])
        .values("status")
        .annotate(n=Count("id"), oldest=Min("created_at"))
    )
    counts = {state.value: 0 for state in WAITING_STATES}
    oldest = {state.value: 0.0 for state in WAITING_STATES}
    failed = 0
    for row in rows:
        if row["status"] == MediaStatus.FAILED:
            failed = row["n"]
            continue
        counts[row["status"]] = row["n"]
        oldest[row["status"]] = max(0.0, (now - row["oldest"]).total_seconds())
    deliveries = {status.value: 0 for status in DeliveryStatus}
    for status, n in (
        WebhookDelivery.objects.exclude(status=DeliveryStatus.DELIVERED)
        .values_list("status")
        .annotate(n=Count("id"))
    ):
        deliveries[status] = n
    deliveries.pop(DeliveryStatus.DELIVERED.value)
    uploads = MediaItem.objects.filter(status=MediaStatus.UPLOADING).aggregate(
        received=Sum("upload_offset"), announced=Sum("upload_length")
    )
    return PipelineFigures(
        items_by_state=counts,
        oldest_age_s_by_state=oldest,
        failed_items=failed,
        webhook_deliveries_by_status=deliveries,
        upload_bytes_received=int(uploads["received"] or 0),
        upload_bytes_announced=int(uploads["announced"] or 0),
    )
