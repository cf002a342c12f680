"""Reads for bench/load/run.py, run inside the bench stack's environment.

python -m bench.load.probe now
python -m bench.load.probe settle SINCE TIMEOUT   -> JSON: times, pending, received
python -m bench.load.probe drain SINCE TIMEOUT    -> JSON: items by status, first claim and
                                                 last clean (seconds since SINCE)
Also used by bench/worker_pipeline.py.
"""

from __future__ import annotations

import json
import sys
import time

import django


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
    print(json.dumps({"times": times, "pending": len(queued), "received": len(received)}))


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
