from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from intake.sanitize import errors, sanitize_stream
from intake.sanitize.verify import flac as verify_flac
from tests.unit.sanitize.av_fixtures import (
    CANARY,
    LOCATION,
    ape_tag,
    check_clean,
    cover_jpeg,
    decode_errors,
    ffmpeg,
    id3v1_tag,
    id3v2_tag,
    leaks,
    media_tools,
    packet_md5,
    sanitize_to,
    shared_sample,
)


def _flac_with_cover(directory: Path) -> Path:
    cover = cover_jpeg(directory)
    out = directory / "in.flac"
    ffmpeg(
        "-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-i", cover,
        "-map", "0:a", "-map", "1:v", "-c:a", "flac", "-c:v", "copy",
        "-disposition:v", "attached_pic", "-metadata", f"artist={CANARY} ARTIST",
        "-metadata", f"location={LOCATION}", "-metadata", "date=2023-07-04T13:37:42", out,
    )  # fmt: skip
    return out


def _blocks(data: bytes) -> list[tuple[int, bool, int]]:
    """(type, last flag, length) of every metadata block."""
    assert data[:4] == b"fLaC"
    blocks = []
    pos = 4
    while True:
        kind, last = data[pos] & 0x7F, bool(data[pos] & 0x80)
        length = int.from_bytes(data[pos + 1 : pos + 4], "big")
        blocks.append((kind, last, length))
        pos += 4 + length
        if last:
            return blocks


def _insert_blocks(data: bytes, extra: bytes) -> bytes:
    """Put raw metadata blocks right after STREAMINFO (none of them marked last)."""
    first = bytes((data[4] & 0x7F,)) + data[5:42]
    return b"fLaC" + first + extra + data[42:]


@media_tools
def test_flac_comments_and_picture_removed_frames_identical(tmp_path: Path) -> None:
    src = _flac_with_cover(tmp_path)
    assert leaks(src) != []

    manifest, out = sanitize_to(src, tmp_path)

    assert manifest.status == "clean"
    assert (manifest.format, manifest.media_kind, manifest.lossless) == ("flac", "audio", True)
    assert manifest.duration_s == pytest.approx(2.0)
    assert manifest.capture_time == "2023-07-04T13:37:42"
    assert {"PICTURE", "VORBIS_COMMENT", "comment ARTIST"} <= {i.what for i in manifest.removed}
    assert leaks(out) == []
    assert _blocks(out.read_bytes()) == [(0, True, 34)]
    assert packet_md5(out, "a") == packet_md5(src, "a")
    assert decode_errors(out) == ""


@media_tools
def test_flac_application_cuesheet_seektable_handled(tmp_path: Path) -> None:
    base = tmp_path / "base.flac"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", base)
    application = bytes((2,)) + (12).to_bytes(3, "big") + b"CNRY" + b"CANARY42"
    seektable = bytes((3,)) + (18).to_bytes(3, "big") + b"\xff" * 8 + bytes(10)
    cuesheet = bytes((5,)) + (16).to_bytes(3, "big") + b"CANARY-CATALOG00"
    src = tmp_path / "in.flac"
    src.write_bytes(_insert_blocks(base.read_bytes(), application + seektable + cuesheet))

    manifest, out = sanitize_to(src, tmp_path)

    assert manifest.status == "clean"
    assert _blocks(out.read_bytes()) == [(0, False, 34), (3, True, 18)]
    assert b"CANARY" not in out.read_bytes()
    assert {"APPLICATION", "CUESHEET"} <= {item.what for item in manifest.removed}
    assert packet_md5(out, "a") == packet_md5(base, "a")


@media_tools
def test_flac_id3_prefix_and_appended_tags_removed(tmp_path: Path) -> None:
    base = tmp_path / "base.flac"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", base)
    src = tmp_path / "tagged.flac"
    src.write_bytes(id3v2_tag({b"TPE1": b"CANARY"}) + base.read_bytes() + ape_tag() + id3v1_tag())

    manifest, out = sanitize_to(src, tmp_path)

    assert (manifest.status, manifest.format) == ("clean", "flac")
    assert b"CANARY" not in out.read_bytes()
    assert packet_md5(out, "a") == packet_md5(base, "a")


@media_tools
def test_flac_unknown_bytes_after_frames_rejected_by_verifier(tmp_path: Path) -> None:
    base = tmp_path / "base.flac"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", base)
    src = tmp_path / "junk.flac"
    src.write_bytes(base.read_bytes() + b"CANARY appended by some tool")

    manifest, _ = sanitize_to(src, tmp_path)

    assert (manifest.status, manifest.reason) == ("rejected", errors.VERIFY_FAILED)


@media_tools
def test_flac_verifier_flags_original_metadata(tmp_path: Path) -> None:
    src = _flac_with_cover(tmp_path)

    with src.open("rb") as f:
        findings = verify_flac.verify(f)

    assert "metadata block type 4 not allowed" in findings
    assert "metadata block type 6 not allowed" in findings


def test_flac_block_beyond_file_rejected() -> None:
    data = b"fLaC" + bytes((0,)) + (34).to_bytes(3, "big") + bytes(34)
    data += bytes((0x84,)) + (0xFFFFFF).to_bytes(3, "big") + b"CANARY"

    manifest = sanitize_stream(io.BytesIO(data), io.BytesIO())

    assert (manifest.status, manifest.reason) == ("rejected", errors.MALFORMED)


def test_flac_without_streaminfo_rejected() -> None:
    data = b"fLaC" + bytes((0x84,)) + (8).to_bytes(3, "big") + b"\x00" * 8 + b"\xff\xf8" + bytes(9)

    manifest = sanitize_stream(io.BytesIO(data), io.BytesIO())

    assert (manifest.status, manifest.reason) == ("rejected", errors.MALFORMED)


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def test_flac_verifier_bounded_on_tail_of_fake_frame_headers() -> None:
    # 170,000 valid-looking frame headers (sync, mono 16-bit, 44.1 kHz, CRC-8 right), and a
    # STREAMINFO claiming 16 MB frames: the search for the last frame must stay cheap.
    header = b"\xff\xf8\x19\x08\x00"
    header += bytes((_crc8(header),))
    streaminfo = bytes(7) + b"\xff\xff\xff" + bytes(24)
    data = b"fLaC" + b"\x80" + (34).to_bytes(3, "big") + streaminfo + header * 170_000

    started = time.monotonic()
    findings = verify_flac.verify(io.BytesIO(data))

    assert findings == [
        "audio does not end with a complete frame (data appended after the frames?)"
    ]
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("content", [b"fLaC", b"fLaC\x80\x00\x00\x22", b"fLaC" + bytes(100)])
def test_flac_truncated_or_tiny_rejected(content: bytes) -> None:
    manifest = sanitize_stream(io.BytesIO(content), io.BytesIO())

    assert manifest.status == "rejected"


@media_tools
def test_flac_shared_sample_clean_and_lossless(tmp_path: Path) -> None:
    src = shared_sample("flac_vorbis_picture.flac")

    manifest, out = sanitize_to(src, tmp_path)
    verdict = check_clean(out, src, tmp_path)

    assert manifest.status == "clean"
    assert (verdict["clean"], verdict["lossless"]) == (True, True), verdict["findings"]
