"""The manifest's hashes are exact SHA-256 of the bytes in and out, whether they are
computed on the second thread (a core idle) or in the same pass as the reads."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from intake.sanitize import _io, sanitize, sanitize_stream
from tests.factories.tools import require_shared_samples

SAMPLES = ("jpeg_phone_full_4032x3024.jpg", "mp4_rotated90_xyz.mp4", "webp_lossy_exif_xmp.webp")


@pytest.mark.parametrize("background", [True, False])
@pytest.mark.parametrize("name", SAMPLES)
def test_sanitize_hashes_exact_with_and_without_hash_thread(
    name: str, background: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = require_shared_samples() / "files" / name
    monkeypatch.setattr(_io, "background_hashing", background)

    manifest = sanitize(source, tmp_path / name)

    output = (tmp_path / name).read_bytes()
    assert (manifest.status, manifest.sha256_in, manifest.sha256_out) == (
        "clean",
        hashlib.sha256(source.read_bytes()).hexdigest(),
        hashlib.sha256(output).hexdigest(),
    )


def test_background_sha256_of_file_larger_than_a_read_leaves_position(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_io, "background_hashing", True)
    data = hashlib.shake_256(b"hash").digest(2 * _io.HASH_CHUNK + 12345)
    path = tmp_path / "data"
    path.write_bytes(data)
    with path.open("rb") as f:
        f.seek(77)
        wait = _io.background_sha256(f)
        assert wait is not None
        digest = wait()
        position = f.tell()

    assert (digest, position) == (hashlib.sha256(data).hexdigest(), 77)


def test_background_sha256_of_unflushed_output_sees_every_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_io, "background_hashing", True)
    with (tmp_path / "out").open("w+b") as f:
        f.write(b"written but still in the buffer")
        wait = _io.background_sha256(f)
        assert wait is not None
        digest = wait()

    assert digest == hashlib.sha256(b"written but still in the buffer").hexdigest()


def test_background_sha256_of_memory_stream_is_left_to_the_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_io, "background_hashing", True)

    assert _io.background_sha256(io.BytesIO(b"in memory")) is None


def test_sanitize_stream_rejected_output_is_empty_with_input_hash(tmp_path: Path) -> None:
    data = b"not media at all " * 1000
    with (tmp_path / "in").open("w+b") as src, (tmp_path / "out").open("w+b") as dst:
        src.write(data)
        src.seek(0)
        dst.write(b"left from before")
        manifest = sanitize_stream(src, dst)
        dst.seek(0, 2)
        size = dst.tell()

    assert (manifest.status, manifest.sha256_in, size) == (
        "rejected",
        hashlib.sha256(data).hexdigest(),
        0,
    )
