"""Hide every face the detector finds in a local photo, video or audio file.

The same engine as publishable copies (intake/faces/), without the review: for operators
and partners preparing footage outside Testigo. Prints one JSON line: what was found.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from intake.faces import Method
from intake.faces.engine import hide_file
from intake.faces.media import MediaError


class Command(BaseCommand):
    help = "Write a copy of IN with every detected face hidden (JPEG photo, MP4 video)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", type=Path)
        parser.add_argument("--out", required=True, type=Path)
        parser.add_argument("--method", choices=[m.value for m in Method], default="fill")
        parser.add_argument("--voice", action="store_true", help="distort voices")

    def handle(self, *args: Any, **options: Any) -> None:
        source: Path = options["source"]
        out: Path = options["out"]
        if not source.is_file():
            raise CommandError(f"no such file: {source}")
        try:
            found = hide_file(source, out, method=Method(options["method"]), voice=options["voice"])
        except MediaError as error:
            raise CommandError(f"cannot read {source}: {error}") from error
        record = {
            "file": source.name,
            "out": str(out),
            "kind": found.kind.value,
            "faces": len(found.tracks),
            "frames": found.frame_count,
        }
        self.stdout.write(json.dumps(record, sort_keys=True))
