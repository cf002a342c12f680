from __future__ import annotations

import io
import os

import pytest
from cryptography.exceptions import InvalidTag

from intake.legal_hold import keypair_new, seal, unseal
from intake.quarantine import QuarantineDecryptError


def _sealed(plain: bytes, public: str) -> io.BytesIO:
    sink = io.BytesIO()
    seal(plaintext=io.BytesIO(plain), sink=sink, public_key_b64=public)
    sink.seek(0)
    return sink


def test_legal_hold_round_trip_with_private_key() -> None:
    private, public = keypair_new()
    plain = os.urandom(300_000)
    assert unseal(sealed=_sealed(plain, public), private_key_b64=private).read() == plain


def test_legal_hold_file_does_not_contain_original_bytes() -> None:
    _, public = keypair_new()
    assert b"CANARY" not in _sealed(b"GPS CANARY " * 5000, public).getvalue()


def test_legal_hold_other_private_key_cannot_open() -> None:
    _, public = keypair_new()
    other_private, _ = keypair_new()
    with pytest.raises((QuarantineDecryptError, InvalidTag)):
        unseal(sealed=_sealed(b"original", public), private_key_b64=other_private).read()
