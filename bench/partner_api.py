"""Latency of the partner report list with 1,000,000 reports, 10% shared with the caller.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/testigo_bench \\
        .venv/bin/python bench/partner_api.py [--reports 1000000] [--loads 50]

Runs in a throwaway test database (created and dropped here; PostgreSQL only: the rows
are made with generate_series in SQL). Prints the median and p95 of
GET /api/v1/reports/?page_size=100&town=...&warrant=... through Django's test client
(full request handling: key check, throttle, filters, cursor page, serialization).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, models  # noqa: E402
from django.test.utils import setup_databases, setup_test_environment, teardown_databases  # noqa: E402

SPECIAL = {
    "id": "gen_random_uuid()",
    "receipt_hash": "md5(i::text) || md5((i + 7)::text)",
    "description": "'Report number ' || i || ': agents at the corner.'",
    "town": "'Town ' || (i % 50)",
    "agencies": """(CASE WHEN i % 3 = 0 THEN '["ice", "local_police"]'
                 ELSE '["ice"]' END)::jsonb""",
    "warrant": "(ARRAY['not_shown', 'administrative', 'judicial', 'unknown'])[(i / 7) % 4 + 1]",
    "children_present": "(CASE WHEN i % 7 = 0 THEN 'yes' ELSE 'no' END)",
    "moderation": "'approved'",
    "case_status": "'new'",
    "priority": "'normal'",
    "language": "'en'",
    "consent_share_partners": "true",
    "received_at": "now() - make_interval(secs => i * 30)",
    "occurred_at": "now() - make_interval(secs => i * 30 + 3600)",
    "reviewed_at": "now() - make_interval(secs => i * 30 - 600)",
    "updated_at": "now() - make_interval(secs => i * 30 - 600)",
}


def _insert_reports(total: int) -> None:
    from reports.models import Report

    columns, values = [], []
    for field in Report._meta.concrete_fields:
        columns.append(str(field.column))
        if field.name in SPECIAL:
            values.append(SPECIAL[field.name])
        elif field.null:
            values.append("NULL")
        elif isinstance(field, models.BooleanField):
            values.append("false")
        elif isinstance(field, models.JSONField):
            values.append("'[]'::jsonb")
        else:
            values.append("''")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO reports_report ({', '.join(columns)}) "
            f"SELECT {', '.join(values)} FROM generate_series(1, {int(total)}) AS i"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--loads", type=int, default=50)
    args = parser.parse_args()
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        sys.exit("PostgreSQL only: set DATABASE_URL")

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.TESTIGO_PARTNER_RATE = "100000/min"
    old = setup_databases(verbosity=0, interactive=False)
    try:
        from rest_framework.test import APIClient

        from reports.services import partner_create

        started = time.monotonic()
        caller, key = partner_create(
            name="Bench caller",
            shared_fields=["received_at", "town", "warrant", "agencies", "description"],
        )
        other, _ = partner_create(name="Bench other", shared_fields=["town"])
        _insert_reports(args.reports)
        with connection.cursor() as cursor:
            # 10% to the caller, another 10% (overlapping at random) to someone else.
            cursor.execute(
                "INSERT INTO reports_reportshare (report_id, organisation_id, shared_at) "
                "SELECT id, %s, now() FROM reports_report "
                "WHERE ('x' || substr(receipt_hash, 1, 8))::bit(32)::int %% 10 = 0",
                [caller.id],
            )
            cursor.execute(
                "INSERT INTO reports_reportshare (report_id, organisation_id, shared_at) "
                "SELECT id, %s, now() FROM reports_report "
                "WHERE ('x' || substr(receipt_hash, 1, 8))::bit(32)::int %% 10 = 1",
                [other.id],
            )
            cursor.execute("ANALYZE")
            cursor.execute(
                "SELECT count(*) FROM reports_reportshare WHERE organisation_id = %s",
                [caller.id],
            )
            shared = cursor.fetchone()[0]
        print(
            f"{args.reports:,} reports, {shared:,} shared with the caller "
            f"(made in {time.monotonic() - started:.0f} s)"
        )

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        url = "/api/v1/reports/"
        params: dict[str, Any] = {"page_size": 100, "town": "Town 7", "warrant": "not_shown"}
        first = client.get(url, params)
        assert first.status_code == 200, first.content[:500]
        rows = len(first.json()["results"])
        for _ in range(5):
            client.get(url, params)
        timings = []
        for _ in range(args.loads):
            t0 = time.perf_counter()
            response = client.get(url, params)
            timings.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200
        # The next page, through the cursor, too.
        nxt = first.json()["next"]
        page2 = []
        for _ in range(args.loads // 2):
            t0 = time.perf_counter()
            client.get(nxt)
            page2.append((time.perf_counter() - t0) * 1000)
        timings.sort()
        page2.sort()
        p95 = timings[int(len(timings) * 0.95) - 1]
        print(
            f"GET {url}?page_size=100&town=Town 7&warrant=not_shown ({rows} rows/page), "
            f"{args.loads} loads: median {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms"
        )
        print(
            f"second page via cursor: median {statistics.median(page2):.1f} ms, "
            f"p95 {page2[int(len(page2) * 0.95) - 1]:.1f} ms"
        )
        with connection.cursor() as cursor:
            from reports.selectors import partner_reports

            qs = (
                partner_reports(organisation=caller)
                .filter(town__iexact="Town 7", warrant="not_shown")
                .order_by("-received_at", "-id")[:101]
            )
            sql, sql_params = qs.query.sql_with_params()
            cursor.execute("EXPLAIN ANALYZE " + sql, sql_params)
            print("\n".join(row[0] for row in cursor.fetchall()))
    finally:
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main()
