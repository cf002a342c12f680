"""The overview page's figures."""

from __future__ import annotations

import dataclasses
import statistics
from collections import Counter
from datetime import date, datetime, timedelta

from django.db.models import (
    Count,
    F,
    TextField,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from reports.models import (
    Agency,
    Moderation,
    Report,
    Warrant,
)

# --- Overview --------------------------------------------------------------------------


@dataclasses.dataclass
class Overview:
    per_day: list[tuple[date, int]]
    by_town: list[tuple[str, int]]
    by_agency: list[tuple[str, int]]
    warrant: list[tuple[str, int]]
    no_or_administrative_warrant_share: float | None
    backlog_pending: int
    backlog_received: int
    oldest_pending_hours: float | None
    median_first_review_hours: float | None


def overview(*, days: int = 90, now: datetime | None = None) -> Overview:
    now = now or timezone.now()
    since = now - timedelta(days=days)
    recent = Report.objects.filter(received_at__gte=since).exclude(moderation=Moderation.REJECTED)
    counts = dict(
        recent.annotate(day=TruncDate("received_at"))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    first_day = timezone.localdate(since)
    per_day = [
        (first_day + timedelta(days=i), counts.get(first_day + timedelta(days=i), 0))
        for i in range(days + 1)
    ]
    # The town as everyone after moderation sees it (a moderator may have redacted it).
    shown_town = Coalesce(F("town_redacted"), F("town"), output_field=TextField())
    by_town = [
        (town, n)
        for town, n in recent.annotate(shown_town=shown_town)
        .exclude(shown_town="")
        .values("shown_town")
        .annotate(n=Count("id"))
        .order_by("-n", "shown_town")
        .values_list("shown_town", "n")[:12]
    ]
    agency_counts: Counter[str] = Counter()
    for agencies in recent.values_list("agencies", flat=True).iterator(chunk_size=2000):
        agency_counts.update(set(agencies or []))
    labels = dict(Agency.choices)
    by_agency = [(str(labels.get(a, a)), n) for a, n in agency_counts.most_common()]
    warrant_counts = dict(
        recent.exclude(warrant="")
        .values("warrant")
        .annotate(n=Count("id"))
        .values_list("warrant", "n")
    )
    warrant = [(str(label), warrant_counts.get(value, 0)) for value, label in Warrant.choices]
    answered = sum(warrant_counts.values())
    weak = warrant_counts.get(Warrant.NOT_SHOWN, 0) + warrant_counts.get(Warrant.ADMINISTRATIVE, 0)
    pending = Report.objects.filter(moderation=Moderation.PENDING)
    oldest = pending.order_by("received_at").values_list("received_at", flat=True).first()
    waits = sorted(
        (reviewed - received).total_seconds() / 3600
        for received, reviewed in Report.objects.filter(
            reviewed_at__gte=since, reviewed_at__isnull=False
        ).values_list("received_at", "reviewed_at")
        if reviewed is not None
    )
    return Overview(
        per_day=per_day,
        by_town=by_town,
        by_agency=by_agency,
        warrant=warrant,
        no_or_administrative_warrant_share=(weak / answered) if answered else None,
        backlog_pending=pending.count(),
        backlog_received=Report.objects.filter(moderation=Moderation.RECEIVED).count(),
        oldest_pending_hours=((now - oldest).total_seconds() / 3600) if oldest else None,
        median_first_review_hours=statistics.median(waits) if waits else None,
    )
