from __future__ import annotations

import io
import time
import tracemalloc
from pathlib import Path

import pytest

from intake.sanitize import errors, sanitize, sanitize_stream
from intake.sanitize.verify import mp3 as verify_mp3
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
    lyrics3v2,
    media_tools,
    packet_md5,
    sanitize_to,
    shared_sample,
    synchsafe,
)

# One MPEG-1 Layer III frame header: 128 kbit/s, 44.1 kHz, no padding -> 417 bytes.
_FRAME = b"\xff\xfb\x90\x64" + bytes(413)


def _frames(count: int) -> bytes:
    return _FRAME * count


def _mp3_with_cover(directory: Path, version: str = "3") -> Path:
    cover = cover_jpeg(directory)
    out = directory / "in.mp3"
    ffmpeg(
        "-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-i", cover,
        "-map", "0:a", "-map", "1:v", "-c:a", "libmp3lame", "-c:v", "copy",
        "-disposition:v", "attached_pic", "-id3v2_version", version, "-write_id3v1", "1",
        "-metadata", f"artist={CANARY} ARTIST", "-metadata", f"comment={LOCATION}",
        "-metadata", "date=2023-07-04", "-metadata:s:v", f"title={CANARY} cover", out,
    )  # fmt: skip
    return out


def _sanitize_bytes(data: bytes) -> tuple[str, str, bytes]:
    dst = io.BytesIO()
    manifest = sanitize_stream(io.BytesIO(data), dst)
    return manifest.status, manifest.reason, dst.getvalue()


@media_tools
@pytest.mark.parametrize("version", ["3", "4"])
def test_mp3_id3_cover_and_v1_removed_packets_identical(tmp_path: Path, version: str) -> None:
    src = _mp3_with_cover(tmp_path, version)
    assert leaks(src) != []

    manifest, out = sanitize_to(src, tmp_path)

    assert manifest.status == "clean"
    assert (manifest.format, manifest.media_kind, manifest.lossless) == ("mp3", "audio", True)
    assert manifest.capture_time == "2023-07-04"
    assert {"ID3v2", "ID3v2 frame APIC", "ID3v1"} <= {item.what for item in manifest.removed}
    assert leaks(out) == []
    assert packet_md5(out, "a") == packet_md5(src, "a")
    assert decode_errors(out) == ""


def test_mp3_v24_footer_extended_header_and_appended_tags_removed() -> None:
    # v2.4 with footer in front; APE, Lyrics3v2, an appended v2.4 tag and ID3v1 behind.
    front = id3v2_tag({b"TPE1": b"CANARY ARTIST"}, version=4, footer=True)
    back = ape_tag() + lyrics3v2() + id3v2_tag({b"TIT2": b"CANARY"}, 4, footer=True)
    data = front + _frames(20) + back + id3v1_tag()

    status, _, out = _sanitize_bytes(data)

    assert status == "clean"
    assert out == _frames(20)


def test_mp3_extended_header_v23_skipped() -> None:
    body = id3v2_tag({b"TPE1": b"CANARY"})[10:]
    extended = (6).to_bytes(4, "big") + bytes(6)  # v2.3: the size excludes its own 4 bytes
    data = b"ID3\x03\x00\x40" + synchsafe(len(extended) + len(body)) + extended + body

    status, _, out = _sanitize_bytes(data + _frames(5))

    assert (status, out) == ("clean", _frames(5))


def test_mp3_two_leading_id3_tags_and_mid_stream_tag_removed() -> None:
    tag = id3v2_tag({b"TPE1": b"CANARY ARTIST"})
    data = tag + tag + _frames(10) + tag + _frames(10)

    status, _, out = _sanitize_bytes(data)

    assert (status, out) == ("clean", _frames(20))


def test_mp3_junk_between_frames_dropped() -> None:
    data = _frames(30) + b"CANARY junk 42.2626" + _frames(30)

    dst = io.BytesIO()
    manifest = sanitize_stream(io.BytesIO(data), dst)

    assert manifest.status == "clean"
    assert dst.getvalue() == _frames(60)
    assert [item.what for item in manifest.removed] == ["non-audio data"]


def test_mp3_truncated_last_frame_dropped() -> None:
    status, _, out = _sanitize_bytes(_frames(10) + _FRAME[:200])

    assert (status, out) == ("clean", _frames(10))


def test_mp3_id3_size_beyond_file_rejected() -> None:
    data = b"ID3\x03\x00\x00" + synchsafe(10_000_000) + b"TPE1" + _frames(2)

    assert _sanitize_bytes(data)[:2] == ("rejected", errors.MALFORMED)


def test_mp3_id3_followed_by_garbage_rejected() -> None:
    data = id3v2_tag({b"TPE1": b"CANARY"}) + bytes(range(256)) * 20

    assert _sanitize_bytes(data)[:2] == ("rejected", errors.MALFORMED)


def test_mp3_mostly_garbage_rejected() -> None:
    data = _frames(3) + b"\x00\x01CANARY" * 10_000

    assert _sanitize_bytes(data)[:2] == ("rejected", errors.MALFORMED)


@pytest.mark.parametrize("content", [b"", b"\xff", b"ID3", b"ID3\x03\x00\x00\x00\x00", b"\xff\xfb"])
def test_mp3_tiny_input_rejected(content: bytes) -> None:
    assert _sanitize_bytes(content)[0] == "rejected"


def test_mp3_huge_apic_skipped_fast_with_bounded_memory(tmp_path: Path) -> None:
    # A 50 MB APIC frame, written sparsely so the fixture costs no time.
    picture = 50 * 1024 * 1024
    frame = b"APIC" + (picture).to_bytes(4, "big") + b"\x00\x00"
    src = tmp_path / "big.mp3"
    with src.open("wb") as f:
        f.write(b"ID3\x03\x00\x00" + synchsafe(len(frame) + picture) + frame)
        f.seek(picture, 1)
        f.write(_frames(50))

    tracemalloc.start()
    started = time.monotonic()
    manifest = sanitize(src, tmp_path / "out.mp3")
    elapsed = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert manifest.status == "clean"
    assert (tmp_path / "out.mp3").read_bytes() == _frames(50)
    assert peak < 16 * 1024 * 1024
    assert elapsed < 10


def test_mp3_id3_prefixed_flac_sanitized_as_flac() -> None:
    streaminfo = bytes((0x80,)) + (34).to_bytes(3, "big") + bytes(34)
    # A minimal FLAC frame sync is enough for the stripper; verification needs a real frame.
    data = id3v2_tag({b"TPE1": b"CANARY"}) + b"fLaC" + streaminfo + b"\xff\xf8" + bytes(20)

    dst = io.BytesIO()
    manifest = sanitize_stream(io.BytesIO(data), dst)

    assert manifest.format == "flac"
    assert manifest.status == "rejected"  # a fake frame cannot pass the FLAC verifier


@media_tools
def test_mp3_id3_prefixed_real_flac_clean(tmp_path: Path) -> None:
    flac = tmp_path / "in.flac"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-metadata", f"artist={CANARY}", flac)
    src = tmp_path / "id3.flac"
    src.write_bytes(id3v2_tag({b"TPE1": b"CANARY ARTIST"}) + flac.read_bytes() + id3v1_tag())

    manifest, out = sanitize_to(src, tmp_path)

    assert (manifest.status, manifest.format) == ("clean", "flac")
    assert out.read_bytes()[:4] == b"fLaC"
    assert leaks(out) == []
    assert packet_md5(out, "a") == packet_md5(flac, "a")


def test_mp3_verifier_flags_leftover_tags() -> None:
    assert verify_mp3.verify(io.BytesIO(_frames(5))) == []
    assert verify_mp3.verify(io.BytesIO(_frames(5) + id3v1_tag())) == [
        "byte 2085 is not the start of an MPEG audio frame"
    ]
    assert verify_mp3.verify(io.BytesIO(id3v2_tag({b"TPE1": b"x"}) + _frames(5))) == [
        "byte 0 is not the start of an MPEG audio frame"
    ]


@media_tools
def test_mp3_shared_sample_clean_and_lossless(tmp_path: Path) -> None:
    src = shared_sample("mp3_id3v23_utf16_apic.mp3")

    manifest, out = sanitize_to(src, tmp_path)
    verdict = check_clean(out, src, tmp_path)

    assert manifest.status == "clean"
    assert (verdict["clean"], verdict["lossless"]) == (True, True), verdict["findings"]
