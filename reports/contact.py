"""Sealing of witnesses' contact details at rest (design promise 5).

The value and safe times are sealed together with AES-256-GCM under a key derived from
TESTIGO_CONTACT_KEY, bound to the report's id so a sealed blob cannot be moved to another
report. Only services.report_contact_reveal opens them, and it writes an audit event.
"""

from __future__ import annotations

import dataclasses
import json
import os
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_VERSION = b"\x01"
_NONCE = 12


@dataclasses.dataclass(frozen=True)
class Contact:
    value: str
    safe_times: str = ""


def _key() -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"testigo-contact").derive(
        settings.TESTIGO_CONTACT_KEY.encode()
    )


def contact_seal(*, report_id: uuid.UUID, contact: Contact) -> bytes:
    nonce = os.urandom(_NONCE)
    plain = json.dumps(dataclasses.asdict(contact)).encode()
    return _VERSION + nonce + AESGCM(_key()).encrypt(nonce, plain, report_id.bytes)


def contact_open(*, report_id: uuid.UUID, sealed: bytes | memoryview) -> Contact:
    blob = bytes(sealed)  # PostgreSQL hands back a memoryview
    if not blob.startswith(_VERSION):
        raise ValueError("unknown contact sealing version")
    nonce = blob[1 : 1 + _NONCE]
    plain = AESGCM(_key()).decrypt(nonce, blob[1 + _NONCE :], report_id.bytes)
    return Contact(**json.loads(plain))
