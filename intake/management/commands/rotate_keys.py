"""Re-seal quarantine files and contact details under the current keys, with no downtime.

Run after every process has been restarted with the new key current and the old one in
TESTIGO_QUARANTINE_KEY_FALLBACKS / TESTIGO_CONTACT_KEY_FALLBACKS (docs/operations.md, "Key
rotation"). Safe to run while the service works and to run again: what is already under
the current key is skipped, and a value changed meanwhile is left for the next run.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from intake.key_rotation import quarantine_keys_rotate
from reports.services import contact_keys_rotate


class Command(BaseCommand):
    help = "Re-seal quarantine files and contact details under the current keys."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--only", choices=["quarantine", "contact"], help="rotate one kind of key only"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        left_total = 0
        if options["only"] in (None, "quarantine"):
            resealed, left = quarantine_keys_rotate()
            left_total += left
            self.stdout.write(f"quarantine: {resealed} items re-sealed, {left} left")
        if options["only"] in (None, "contact"):
            resealed, left = contact_keys_rotate()
            left_total += left
            self.stdout.write(f"contact: {resealed} reports re-sealed, {left} left")
        if left_total:
            # Keep the fallbacks: something is still sealed under an old key.
            raise CommandError(f"{left_total} changed during the run: run rotate_keys again")
        self.stdout.write("done: the fallback keys may now be removed")
