"""Reads for bench/load/run.py, run inside the bench stack's environment.

python -m bench.load.probe now
python -m bench.load.probe settle SINCE TIMEOUT   -> JSON: times, pending, received, split
python -m bench.load.probe drain SINCE TIMEOUT    -> JSON: items by status, first claim and
                                                 last clean (seconds since SINCE)
Also used by bench/worker_pipeline.py.

``split`` divides each pending report's submit→pending time, from the audit trail: "work"
is the time at least one of its media items was being processed (media.processing to
media.clean/rejected/failed), "wait" the rest (items queued with none of them running,
and the gaps between one item settling and the next starting); "items_wait" and
"items_work" are per item: quarantined → processing started, and processing itself.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from datetime import datetime
from typing import Any

import django

SETTLED = ("media.clean", "media.rejected", "media.failed")


def _busy_seconds(intervals: list[tuple[datetime, datetime]]) -> float:
    """Length of the union of ``intervals``."""
    total, end = 0.0, None
    for start, stop in sorted(intervals):
        if end is None or start > end:
            total += (stop - start).total_seconds()
            end = stop
        elif stop > end:
            total += (stop - end).total_seconds()
            end = stop
    return total


def _split(
    events: Any, queued: dict[Any, datetime], received: dict[Any, datetime]
) -> dict[str, list[float]]:
    rows = events.filter(
        action__in=("media.quarantined", "media.processing", *SETTLED), report_id__in=list(queued)
    ).values_list("report_id", "media_item_id", "action", "at")
    arrived: dict[Any, datetime] = {}
    started: dict[Any, datetime] = {}
    ended: dict[Any, datetime] = {}
    report_of: dict[Any, Any] = {}
    for report_id, item_id, action, at in rows.order_by("at"):
        report_of[item_id] = report_id
        if action == "media.quarantined":
            arrived[item_id] = at
        elif action == "media.processing":
            started.setdefault(item_id, at)  # the first try: a retry's wait counts as work
        else:
            ended[item_id] = at
    intervals: dict[Any, list[tuple[datetime, datetime]]] = defaultdict(list)
    items_wait, items_work = [], []
    for item_id, start in started.items():
        if item_id in ended:
            intervals[report_of[item_id]].append((start, ended[item_id]))
            items_work.append((ended[item_id] - start).total_seconds())
        if item_id in arrived:
            items_wait.append((start - arrived[item_id]).total_seconds())
    work, wait = [], []
    for report_id, at in queued.items():
        if report_id not in received:
            continue
        total = (at - received[report_id]).total_seconds()
        busy = _busy_seconds(intervals[report_id])
        work.append(busy)
        wait.append(total - busy)
    return {"work": work, "wait": wait, "items_wait": items_wait, "items_work": items_work}


def main() -> None:
    django.setup()
    from django.utils import timezone

    from reports.models import AuditEvent, Report

    if sys.argv[1] == "now":
        print(timezone.now().isoformat())
        return
    since, timeout = sys.argv[2], float(sys.argv[3])
    if sys.argv[1] == "drain":
        print(json.dumps(_drain(since, timeout)))
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Report.objects.filter(received_at__gte=since, moderation="received").exists():
            break
        time.sleep(1)
    events = AuditEvent.objects.filter(at__gte=since)
    received = dict(events.filter(action="report.received").values_list("report_id", "at"))
    queued = dict(events.filter(action="report.queued").values_list("report_id", "at"))
    times = [(queued[r] - received[r]).total_seconds() for r in queued if r in received]
    split = _split(events, queued, received)
    print(
        json.dumps(
            {"times": times, "pending": len(queued), "received": len(received), "split": split}
        )
    )


def _drain(since: str, timeout: float) -> dict[str, object]:
    """Once no media item of the reports received since ``since`` is waiting or being
    processed (or ``timeout``): how many ended in each state, and when (seconds after
    ``since``) the first claim and the last clean result were recorded."""
    from datetime import datetime

    from django.db.models import Count, Max, Min

    from reports.models import AuditEvent, MediaItem

    items = MediaItem.objects.filter(report__received_at__gte=since)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not items.filter(status__in=("quarantined", "processing")).exists():
            break
        time.sleep(0.5)
    events = AuditEvent.objects.filter(at__gte=since)
    first = events.filter(action="media.processing").aggregate(at=Min("at"))["at"]
    last = events.filter(action="media.clean").aggregate(at=Max("at"))["at"]
    claimed = dict(
        events.filter(action="media.processing").values_list("media_item_id").annotate(at=Max("at"))
    )
    cleaned = dict(events.filter(action="media.clean").values_list("media_item_id", "at"))
    origin = datetime.fromisoformat(since)
    return {
        "statuses": dict(items.values_list("status").annotate(n=Count("id"))),
        "first_claim": (first - origin).total_seconds() if first else None,
        "last_clean": (last - origin).total_seconds() if last else None,
        # Seconds from each item's (last) claim to its clean result, summed: the time spent
        # inside processing; the rest of the span is between tasks.
        "claim_to_clean": sum(
            (at - claimed[item]).total_seconds() for item, at in cleaned.items() if item in claimed
        ),
    }


if __name__ == "__main__":
    main()
