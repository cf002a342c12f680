"""Sanitize files from the command line; one JSON manifest per input on stdout.

Stable interface for operators and outside checks: each clean output is written into
``--out`` under its input's file name; a rejected input produces no file. ``--jobs N``
sanitizes N files at a time in worker processes (default: one per CPU); the manifest lines
stay in input order.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from intake.sanitize.batch import sanitize_files


class Command(BaseCommand):
    help = "Strip location and identity metadata from media files (lossless)."
    # The sanitizer needs no database, URLs or models: the checks would only add start-up time.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--out", required=True, type=Path)
        parser.add_argument(
            "--jobs",
            type=int,
            default=os.cpu_count() or 1,
            help="files sanitized at a time, each in its own process (default: CPU count)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["jobs"] < 1:
            raise CommandError("--jobs must be at least 1")
        out_dir: Path = options["out"]
        out_dir.mkdir(parents=True, exist_ok=True)
        sources: list[Path] = options["files"]
        for source, manifest in zip(
            sources, sanitize_files(sources, out_dir, options["jobs"]), strict=True
        ):
            record = {"file": source.name, **manifest.to_dict()}
            self.stdout.write(json.dumps(record, sort_keys=True))
