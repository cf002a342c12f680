"""Quarantine files re-sealed under the current quarantine key (``manage.py rotate_keys``).

Each file is decrypted and encrypted again as a stream (plaintext never touches disk,
promise 2), stored under a new name, and the item is pointed at it by a conditional update
(reports.services.media_item_quarantine_resealed); then the old file is deleted. An item
that a worker claimed or that received a part meanwhile keeps its old file, readable under
the fallback key, and is counted as left for the next run. A legal-hold file is sealed to
the offline public key, not to this key, and is not touched.
"""

from __future__ import annotations

import contextlib
import tempfile
import uuid

from django.core.files import File
from django.core.files.storage import storages

from intake.quarantine import (
    CHUNK_PLAIN,
    HEADER_SIZE,
    SPOOL_MAX,
    DecryptingReader,
    EncryptingWriter,
    quarantine_keyring,
    sealed_key_id,
)
from reports import selectors, services


def quarantine_keys_rotate(*, actor_label: str = "rotate_keys") -> tuple[int, int]:
    """Re-seal every quarantine file not under the current key. Returns (items re-sealed,
    items left for a next run)."""
    current = quarantine_keyring().current.id
    resealed = left = 0
    for item in selectors.media_items_to_reseal().iterator(chunk_size=200):
        names = list(item.quarantine_parts) or [item.quarantine_name]
        if not any(_key_id_of(name) != current for name in names):
            continue
        try:
            fresh = [_reseal(name) for name in names]
        except FileNotFoundError:
            left += 1  # destroyed meanwhile: the item settled
            continue
        parts = fresh if item.quarantine_parts else []
        name = item.quarantine_name if item.quarantine_parts else fresh[0]
        if services.media_item_quarantine_resealed(item=item, name=name, parts=parts):
            _delete_quietly(names)
            resealed += 1
        else:
            _delete_quietly(fresh)
            left += 1
    services.quarantine_keys_rotated_record(resealed=resealed, left=left, actor_label=actor_label)
    return resealed, left


def _key_id_of(name: str) -> bytes | None:
    with storages["quarantine"].open(name, "rb") as sealed:
        return sealed_key_id(sealed.read(HEADER_SIZE))


def _reseal(name: str) -> str:
    """Store ``name``'s plaintext sealed under the current key, under a new name."""
    quarantine = storages["quarantine"]
    with (
        quarantine.open(name, "rb") as sealed,
        tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX) as out,
    ):
        reader = DecryptingReader(sealed)  # type: ignore[arg-type]
        writer = EncryptingWriter(out)
        while block := reader.read(CHUNK_PLAIN):
            writer.write(block)
        writer.close()
        out.seek(0)
        stem = name.removesuffix(".tq")
        return quarantine.save(f"{stem}-{uuid.uuid4().hex[:8]}.tq", File(out))


def _delete_quietly(names: list[str]) -> None:
    for name in names:
        with contextlib.suppress(OSError):
            storages["quarantine"].delete(name)
