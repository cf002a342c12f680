"""Sealing of witnesses' contact details at rest (design promise 5).

The value and safe times are sealed together with AES-256-GCM under a key derived from
TESTIGO_CONTACT_KEY, bound to the report's id so a sealed blob cannot be moved to another
report. Only services.report_contact_reveal opens them, and it writes an audit event.

Format 2 (written today): version, the key's ID (reports/keyring.py), nonce, ciphertext;
it opens under whichever configured key has that ID. Format 1 (no ID, older rows) opens
under the first configured key that authenticates it. ``manage.py rotate_keys`` re-seals
both under the current key (reports/services/keys.py).
"""

from __future__ import annotations

import dataclasses
import json
import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from reports.keyring import KEY_ID_SIZE, Keyring, keyring_build

_VERSION_1 = b"\x01"
_VERSION = b"\x02"
_NONCE = 12


@dataclasses.dataclass(frozen=True)
class Contact:
    value: str
    safe_times: str = ""


def contact_keyring() -> Keyring:
    return keyring_build(
        current=settings.TESTIGO_CONTACT_KEY,
        fallbacks=list(settings.TESTIGO_CONTACT_KEY_FALLBACKS),
        info=b"testigo-contact",
    )


def contact_seal(*, report_id: uuid.UUID, contact: Contact) -> bytes:
    key = contact_keyring().current
    nonce = os.urandom(_NONCE)
    plain = json.dumps(dataclasses.asdict(contact)).encode()
    return _VERSION + key.id + nonce + AESGCM(key.secret).encrypt(nonce, plain, report_id.bytes)


def contact_key_id(sealed: bytes | memoryview) -> bytes | None:
    """The ID of the key ``sealed`` is under; None for format 1, which names none."""
    blob = bytes(sealed)
    return blob[1 : 1 + KEY_ID_SIZE] if blob.startswith(_VERSION) else None


def contact_open(*, report_id: uuid.UUID, sealed: bytes | memoryview) -> Contact:
    blob = bytes(sealed)  # PostgreSQL hands back a memoryview
    keyring = contact_keyring()
    if blob.startswith(_VERSION):
        key = keyring.find(blob[1 : 1 + KEY_ID_SIZE])
        body = blob[1 + KEY_ID_SIZE :]
        plain = AESGCM(key.secret).decrypt(body[:_NONCE], body[_NONCE:], report_id.bytes)
        return Contact(**json.loads(plain))
    if not blob.startswith(_VERSION_1):
        raise ValueError("unknown contact sealing version")
    nonce, ciphertext = blob[1 : 1 + _NONCE], blob[1 + _NONCE :]
    for candidate in keyring.all:
        try:
            plain = AESGCM(candidate.secret).decrypt(nonce, ciphertext, report_id.bytes)
        except InvalidTag:
            continue
        return Contact(**json.loads(plain))
    raise InvalidTag("no configured contact key opens this value")
