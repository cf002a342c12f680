"""Apply the retention policy now; --dry-run only lists what would go."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from reports.services import retention_purge


class Command(BaseCommand):
    help = "Purge reports past the retention policy (legal hold wins). --dry-run lists them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = bool(options["dry_run"])
        entries = retention_purge(dry_run=dry_run)
        verb = "would purge" if dry_run else "purged"
        for entry in entries:
            self.stdout.write(f"{verb} report {entry.report_id} ({entry.reason})")
        self.stdout.write(f"{len(entries)} report(s) {verb}.")
