"""Sanitize files from the command line; one JSON manifest per input on stdout.

Stable interface for operators and outside checks: each clean output is written into
``--out`` under its input's file name; a rejected input produces no file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from intake.sanitize import sanitize


class Command(BaseCommand):
    help = "Strip location and identity metadata from media files (lossless)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--out", required=True, type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        out_dir: Path = options["out"]
        out_dir.mkdir(parents=True, exist_ok=True)
        for source in options["files"]:
            manifest = sanitize(source, out_dir / source.name)
            record = {"file": source.name, **manifest.to_dict()}
            self.stdout.write(json.dumps(record, sort_keys=True))
