from __future__ import annotations

import hashlib
import io
import os
import signal

import pytest

from intake.quarantine import (
    HEADER_SIZE,
    SEGMENT,
    TAG,
    DecryptingReader,
    EncryptingUploadHandler,
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


def _upload_through_handler(plain: bytes, chunk: int) -> tuple[bytes, str]:
    """(plaintext read back, SHA-256) of ``plain`` received by the upload handler in
    ``chunk``-byte parts, as Django's parser hands them over."""
    handler = EncryptingUploadHandler(None)
    handler.new_file("media", "photo.jpg", "image/jpeg", len(plain))
    for start in range(0, len(plain), chunk):
        handler.receive_data_chunk(plain[start : start + chunk], start)
    upload = handler.file_complete(len(plain))
    assert upload is not None
    assert upload.file is not None
    return DecryptingReader(io.BytesIO(upload.file.read())).read(), upload.sha256


@pytest.mark.parametrize("chunk", [1000, SEGMENT + 1, 1024 * 1024])
def test_upload_handler_seals_and_hashes_every_chunk_in_order(chunk: int) -> None:
    plain = b"\xff\xd8\xff\xe0" + os.urandom(3 * 1024 * 1024)
    assert _upload_through_handler(plain, chunk) == (plain, hashlib.sha256(plain).hexdigest())


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_upload_handler_seals_in_a_process_forked_after_it_sealed() -> None:
    # The sealing pool's threads exist in this process now; a forked child has none.
    plain = b"\xff\xd8\xff\xe0" + os.urandom(200_000)
    _upload_through_handler(plain, 65536)
    pid = os.fork()
    if pid == 0:  # the child: exits 0 when the upload round-trips, is killed if it hangs
        signal.alarm(20)
        ok = False
        try:
            ok = _upload_through_handler(plain, 65536)[0] == plain
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
