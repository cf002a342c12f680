"""Open a legal-hold original with the private key, on legal aid's own machine."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, BinaryIO, cast

from django.core.files.storage import storages
from django.core.management.base import BaseCommand, CommandError, CommandParser

from intake.legal_hold import unseal
from intake.quarantine import CHUNK_PLAIN
from reports.models import MediaItem


class Command(BaseCommand):
    help = "Decrypt the sealed original of media item ITEM_ID into OUT and check its SHA-256."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--key", required=True, type=Path, help="private key file")
        parser.add_argument("item_id")
        parser.add_argument("out", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        item = MediaItem.objects.filter(id=options["item_id"]).first()
        if item is None or not item.sealed_original_name:
            raise CommandError("no sealed original for that item")
        private_key = options["key"].read_text().strip()
        digest = hashlib.sha256()
        with storages["legal_hold"].open(item.sealed_original_name, "rb") as sealed:
            try:
                original = unseal(sealed=cast(BinaryIO, sealed), private_key_b64=private_key)
            except Exception as exc:
                raise CommandError(f"cannot open the sealed original: {exc}") from exc
            with options["out"].open("wb") as out:
                while block := original.read(CHUNK_PLAIN):
                    digest.update(block)
                    out.write(block)
        if item.sha256_received and digest.hexdigest() != item.sha256_received:
            raise CommandError("SHA-256 does not match the file received")
        self.stdout.write(f"wrote {options['out']} sha256={digest.hexdigest()} (matches receipt)")
