from __future__ import annotations

import io
import os

import pytest

from intake.quarantine import (
    HEADER_SIZE,
    SEGMENT,
    TAG,
    DecryptingReader,
    EncryptingWriter,
    QuarantineDecryptError,
)


def _seal(plain: bytes, key: bytes | None = None, step: int = 7919) -> bytes:
    sink = io.BytesIO()
    writer = EncryptingWriter(sink, key)
    for start in range(0, len(plain), step):
        writer.write(plain[start : start + step])
    writer.close()
    return sink.getvalue()


@pytest.mark.parametrize("size", [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT + 5])
def test_quarantine_round_trip_preserves_bytes(size: int) -> None:
    plain = os.urandom(size)
    reader = DecryptingReader(io.BytesIO(_seal(plain)))
    assert reader.size == size
    assert reader.read() == plain


def test_quarantine_reader_seeks_anywhere() -> None:
    plain = os.urandom(3 * SEGMENT + 100)
    reader = DecryptingReader(io.BytesIO(_seal(plain)))
    for offset in (0, 5, SEGMENT - 3, 2 * SEGMENT, len(plain) - 10):
        reader.seek(offset)
        assert reader.read(20) == plain[offset : offset + 20]


def test_quarantine_ciphertext_does_not_contain_plaintext() -> None:
    plain = b"GPS 42.2626 N CANARY " * 1000
    sealed = _seal(plain)
    assert b"CANARY" not in sealed
    assert len(sealed) == HEADER_SIZE + len(plain) + TAG


def test_quarantine_tampered_segment_is_refused() -> None:
    sealed = bytearray(_seal(os.urandom(2 * SEGMENT)))
    sealed[HEADER_SIZE + 10] ^= 1
    reader = DecryptingReader(io.BytesIO(bytes(sealed)))
    with pytest.raises(QuarantineDecryptError):
        reader.read()


def test_quarantine_truncated_file_is_refused() -> None:
    sealed = _seal(os.urandom(2 * SEGMENT + 10))
    # Dropping the final segment leaves a full segment last, which is not flagged final.
    reader = DecryptingReader(io.BytesIO(sealed[: HEADER_SIZE + SEGMENT + TAG]))
    with pytest.raises(QuarantineDecryptError):
        reader.read()


def test_quarantine_other_key_is_refused() -> None:
    sealed = _seal(b"hello", key=bytes(32))
    with pytest.raises(QuarantineDecryptError):
        DecryptingReader(io.BytesIO(sealed), key=bytes([1]) * 32)
