"""Legal hold: originals sealed to an offline X25519 public key before quarantine is wiped.

The server holds only the public key, so a breach or a seizure of the server reveals
nothing; legal aid opens a sealed original on its own machine with the private key
(``manage.py unseal_original``). Format: MAGIC, the ephemeral public key, then the same
segmented AES-256-GCM stream as the quarantine, under a key derived from X25519.
"""

from __future__ import annotations

import base64
from typing import BinaryIO

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from intake.quarantine import CHUNK_PLAIN, DecryptingReader, EncryptingWriter

MAGIC = b"TLHv1"
_PUBLIC = 32
OFFSET = len(MAGIC) + _PUBLIC


def _raw(public: X25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _derive(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=ephemeral + recipient, info=b"testigo-legal-hold"
    ).derive(shared)


def keypair_new() -> tuple[str, str]:
    """A new (private, public) key pair, each as base64 text."""
    private = X25519PrivateKey.generate()
    private_raw = private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return base64.b64encode(private_raw).decode(), base64.b64encode(
        _raw(private.public_key())
    ).decode()


def seal(*, plaintext: BinaryIO, sink: BinaryIO, public_key_b64: str) -> None:
    """Stream ``plaintext`` into ``sink`` sealed to the recipient's public key."""
    recipient = X25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
    ephemeral = X25519PrivateKey.generate()
    ephemeral_raw = _raw(ephemeral.public_key())
    key = _derive(ephemeral.exchange(recipient), ephemeral_raw, _raw(recipient))
    sink.write(MAGIC + ephemeral_raw)
    writer = EncryptingWriter(sink, key)
    while block := plaintext.read(CHUNK_PLAIN):
        writer.write(block)
    writer.close()


def unseal(*, sealed: BinaryIO, private_key_b64: str) -> DecryptingReader:
    """A reader of the original inside a sealed file."""
    sealed.seek(0)
    head = sealed.read(OFFSET)
    if len(head) != OFFSET or not head.startswith(MAGIC):
        raise ValueError("not a Testigo legal-hold file")
    private = X25519PrivateKey.from_private_bytes(base64.b64decode(private_key_b64))
    ephemeral_raw = head[len(MAGIC) :]
    shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_raw))
    key = _derive(shared, ephemeral_raw, _raw(private.public_key()))
    return DecryptingReader(sealed, key=key, offset=OFFSET)
