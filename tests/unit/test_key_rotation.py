"""Key IDs on sealed data and `manage.py rotate_keys`, with real files in the quarantine
storage and real rows: a new key becomes current with the old one as a fallback, every
value stays readable throughout (no downtime), the command re-seals everything under the
new key, and then the old key can go (promises 2 and 5)."""

from __future__ import annotations

import io
import os
import uuid
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.files import File
from django.core.files.storage import storages
from django.core.management import call_command
from django.utils import timezone

from intake.pipeline import quarantine_plaintext
from intake.quarantine import (
    HEADER_SIZE,
    MAGIC_V1,
    EncryptingWriter,
    QuarantineDecryptError,
    master_key,
    quarantine_keyring,
    sealed_key_id,
)
from reports.contact import Contact, contact_key_id, contact_keyring, contact_open
from reports.models import AuditAction, AuditEvent, MediaItem, Report
from reports.services import (
    media_item_quarantine_resealed,
    media_item_upload_append,
    media_item_upload_start,
    report_create,
)
from tests.factories import quarantined_item

pytestmark = pytest.mark.django_db
OLD, NEW = "the-old-key-material-0123456789", "the-new-key-material-9876543210"


@pytest.fixture
def old_keys(settings: Any) -> Any:
    settings.TESTIGO_QUARANTINE_KEY = OLD
    settings.TESTIGO_CONTACT_KEY = OLD
    settings.TESTIGO_QUARANTINE_KEY_FALLBACKS = []
    settings.TESTIGO_CONTACT_KEY_FALLBACKS = []
    return settings


def _rotate_to_new(settings: Any) -> None:
    """What the operator does first: the new key current, the old one a fallback."""
    settings.TESTIGO_QUARANTINE_KEY = NEW
    settings.TESTIGO_CONTACT_KEY = NEW
    settings.TESTIGO_QUARANTINE_KEY_FALLBACKS = [OLD]
    settings.TESTIGO_CONTACT_KEY_FALLBACKS = [OLD]


def _seal(data: bytes) -> io.BytesIO:
    sealed = io.BytesIO()
    writer = EncryptingWriter(sealed)
    writer.write(data)
    writer.close()
    sealed.seek(0)
    return sealed


def _seal_v1(data: bytes) -> io.BytesIO:
    """A file in the format written before key IDs (TQv1): one segment, random prefix."""
    file_key = AESGCM.generate_key(bit_length=256)
    prefix, wrap_nonce = os.urandom(7), os.urandom(12)
    wrapped = AESGCM(master_key()).encrypt(wrap_nonce, file_key, MAGIC_V1)
    header = MAGIC_V1 + prefix + wrap_nonce + wrapped
    nonce = prefix + (0).to_bytes(4, "big") + b"\x01"
    return io.BytesIO(header + AESGCM(file_key).encrypt(nonce, data, header))


def _parts_item(chunks: list[bytes]) -> MediaItem:
    report = report_create(receipt_hash=uuid.uuid4().hex * 2, description="Parts.")
    item = media_item_upload_start(
        report=report,
        position=0,
        key_hash=uuid.uuid4().hex,
        length=sum(map(len, chunks)),
        expires_at=timezone.now() + timedelta(hours=1),
    )
    offset = 0
    for chunk in chunks:
        name = storages["quarantine"].save(
            f"{item.quarantine_name}{offset:013d}-{uuid.uuid4().hex[:8]}.tq", File(_seal(chunk))
        )
        item = media_item_upload_append(
            item_id=item.id, offset=offset, part_name=name, size=len(chunk)
        )
        offset += len(chunk)
    return item


def _plaintext(item: MediaItem) -> bytes:
    item.refresh_from_db()
    with quarantine_plaintext(item) as plain:
        return plain.read()


def _key_ids(item: MediaItem) -> list[bytes | None]:
    item.refresh_from_db()
    ids = []
    for name in item.quarantine_parts or [item.quarantine_name]:
        with storages["quarantine"].open(name, "rb") as sealed:
            ids.append(sealed_key_id(sealed.read(HEADER_SIZE)))
    return ids


def _contact_report(text: str) -> Report:
    return report_create(
        receipt_hash=uuid.uuid4().hex * 2,
        description="Contact me.",
        facts={"consent_contact": True, "contact_channel": "signal"},
        contact=Contact(value=text, safe_times="evenings"),
    )


def test_rotate_keys_reseals_files_and_contacts_under_the_new_key_without_downtime(
    old_keys: Any,
) -> None:
    single = quarantined_item(b"single file " * 5000)
    parts = _parts_item([b"first part " * 100, b"second part " * 100])
    legacy_name = storages["quarantine"].save(f"{uuid.uuid4().hex}.tq", File(_seal_v1(b"v1")))
    legacy = quarantined_item(b"placeholder")
    MediaItem.objects.filter(id=legacy.id).update(quarantine_name=legacy_name)
    report = _contact_report("+1 555 0100")
    old_id = contact_keyring().current.id
    old_files = {*parts.quarantine_parts, single.quarantine_name, legacy_name}

    _rotate_to_new(old_keys)
    new_id = contact_keyring().current.id
    assert new_id != old_id
    # Before the run: everything still reads, through the fallback.
    assert _plaintext(single) == b"single file " * 5000
    assert _plaintext(parts) == b"first part " * 100 + b"second part " * 100
    assert _plaintext(legacy) == b"v1"
    report.refresh_from_db()
    assert contact_key_id(report.contact_sealed) == old_id  # type: ignore[arg-type]
    # What is sealed now is under the new key.
    assert _key_ids(quarantined_item(b"fresh")) == [new_id_quarantine()]

    call_command("rotate_keys", stdout=io.StringIO())

    assert _key_ids(single) == [new_id_quarantine()]
    assert _key_ids(parts) == [new_id_quarantine(), new_id_quarantine()]
    assert _key_ids(legacy) == [new_id_quarantine()]
    report.refresh_from_db()
    assert contact_key_id(report.contact_sealed) == new_id  # type: ignore[arg-type]
    assert all(not storages["quarantine"].exists(name) for name in old_files)
    # The old key can go: everything opens under the new key alone.
    old_keys.TESTIGO_QUARANTINE_KEY_FALLBACKS = []
    old_keys.TESTIGO_CONTACT_KEY_FALLBACKS = []
    assert _plaintext(single) == b"single file " * 5000
    assert _plaintext(parts) == b"first part " * 100 + b"second part " * 100
    assert _plaintext(legacy) == b"v1"
    assert contact_open(report_id=report.id, sealed=report.contact_sealed) == Contact(  # type: ignore[arg-type]
        value="+1 555 0100", safe_times="evenings"
    )
    assert sorted(
        (event.data["key"], event.data["resealed"], event.data["left"])
        for event in AuditEvent.objects.filter(action=AuditAction.KEYS_ROTATED)
    ) == [("contact", 1, 0), ("quarantine", 3, 0)]


def new_id_quarantine() -> bytes:
    return quarantine_keyring().current.id


def test_rotate_keys_twice_reseals_nothing_the_second_time(old_keys: Any) -> None:
    quarantined_item(b"once")
    _contact_report("someone@example.org")
    _rotate_to_new(old_keys)
    call_command("rotate_keys", stdout=io.StringIO())
    out = io.StringIO()
    call_command("rotate_keys", stdout=out)
    assert out.getvalue().splitlines() == [
        "quarantine: 0 items re-sealed, 0 left",
        "contact: 0 reports re-sealed, 0 left",
        "done: the fallback keys may now be removed",
    ]


def test_a_key_neither_current_nor_fallback_is_named_not_guessed(old_keys: Any) -> None:
    item = quarantined_item(b"sealed under the old key")
    report = _contact_report("+1 555 0199")
    old_keys.TESTIGO_QUARANTINE_KEY = NEW
    old_keys.TESTIGO_CONTACT_KEY = NEW
    with pytest.raises(QuarantineDecryptError, match="neither the current key nor a fallback"):
        _plaintext(item)
    report.refresh_from_db()
    with pytest.raises(ValueError, match="neither the current key nor a fallback"):
        contact_open(report_id=report.id, sealed=report.contact_sealed)  # type: ignore[arg-type]


def test_rotate_keys_leaves_an_item_claimed_meanwhile_and_says_so(old_keys: Any) -> None:
    item = quarantined_item(b"being processed")
    MediaItem.objects.filter(id=item.id).update(status="processing")
    _rotate_to_new(old_keys)
    out = io.StringIO()
    call_command("rotate_keys", "--only", "quarantine", stdout=out)
    # A claimed item is skipped, not counted as done; its file stays, readable.
    assert out.getvalue().splitlines()[0] == "quarantine: 0 items re-sealed, 0 left"
    assert _plaintext(item) == b"being processed"
    MediaItem.objects.filter(id=item.id).update(status="quarantined")
    call_command("rotate_keys", "--only", "quarantine", stdout=io.StringIO())
    assert _key_ids(item) == [new_id_quarantine()]


def test_reseal_is_refused_when_the_item_changed_meanwhile(old_keys: Any) -> None:
    """The conditional update never overwrites a concurrent change (here a new part)."""
    item = _parts_item([b"one part"])
    stale = MediaItem.objects.get(id=item.id)
    MediaItem.objects.filter(id=item.id).update(quarantine_parts=[*item.quarantine_parts, "x"])
    assert media_item_quarantine_resealed(item=stale, name=stale.quarantine_name, parts=[]) is False
    item.refresh_from_db()
    assert item.quarantine_parts[-1] == "x"
