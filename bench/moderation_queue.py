"""Server time of the moderation queue page with 10,000 pending reports.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/testigo_w5 \\
        .venv/bin/python bench/moderation_queue.py [--reports 10000] [--loads 15]

Runs in a throwaway test database (created and dropped here); prints the median and p95
of full request handling through Django's test client (no network, no browser): the
queue as opened (most urgent first), searched by text and by short id, and filtered.
Without DATABASE_URL it runs on SQLite, the embedded default.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, setup_test_environment, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--loads", type=int, default=15)
    args = parser.parse_args()

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]
    old = setup_databases(verbosity=0, interactive=False)
    try:
        from reports.models import MediaItem, Moderation, Report
        from tests.factories.staff import staff_user, verified_client

        moderator = staff_user("bench-moderator", "moderator")
        now = timezone.now()
        reports = [
            Report(
                receipt_hash=f"{i:064x}",
                description=f"Report number {i}: agents at the corner.",
                moderation=Moderation.PENDING,
                town=f"Town {i % 50}",
                agencies=["ice", "local_police"],
                warrant="not_shown",
                children_present="yes" if i % 7 == 0 else "no",
                received_at=now - timedelta(minutes=i),
            )
            for i in range(args.reports)
        ]
        Report.objects.bulk_create(reports, batch_size=2000)
        MediaItem.objects.bulk_create(
            (MediaItem(report=r, status="clean") for r in reports[::2]), batch_size=2000
        )
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("ANALYZE")
        client = verified_client(moderator)
        base = "/admin/reports/moderationqueue/"
        # The queue as opened, then searched (by text, by short id) and filtered.
        pages = {
            "queue": base,
            "search text": base + "?q=corner",
            "search short id": base + f"?q={str(reports[1234].id)[:8]}",
            "children filter": base + "?children=yes",
        }
        for name, url in pages.items():
            assert client.get(url).status_code == 200  # warm up
            timings = []
            for _ in range(args.loads):
                start = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200
            timings.sort()
            p95 = timings[max(0, round(0.95 * len(timings)) - 1)]
            print(
                f"moderation {name}, {args.reports} pending reports on {connection.vendor}: "
                f"median {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms "
                f"over {args.loads} loads (server time, 50 rows per page)"
            )
    finally:
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main()
