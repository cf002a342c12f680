"""Reads for bench/load/run.py, run inside the bench stack's environment.

python -m bench.load.probe now
python -m bench.load.probe settle SINCE TIMEOUT   -> JSON: times, pending, received
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


if __name__ == "__main__":
    main()
