"""Make a legal-hold key pair. Run on legal aid's own machine, never on the server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from intake.legal_hold import keypair_new


class Command(BaseCommand):
    help = "Write a new private key to PRIVATE_KEY_FILE (0600) and print the public key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("private_key_file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["private_key_file"]
        private, public = keypair_new()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise CommandError(f"{path} exists; not overwriting a private key") from exc
        with os.fdopen(fd, "w") as out:
            out.write(private + "\n")
        self.stdout.write(f"TESTIGO_LEGAL_HOLD_PUBLIC_KEY={public}")
