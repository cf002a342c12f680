from __future__ import annotations

import io
import subprocess
import time
import tracemalloc
from pathlib import Path
from typing import NamedTuple

import pytest

from intake.sanitize import errors, sanitize, sanitize_stream
from intake.sanitize.verify import matroska as verify_matroska
from tests.factories.tools import require_tool
from tests.unit.sanitize.av_fixtures import (
    CANARY,
    LOCATION,
    check_clean,
    cover_jpeg,
    decode_errors,
    ffmpeg,
    leaks,
    media_tools,
    packet_md5,
    sanitize_to,
    shared_sample,
    stream_types,
)

SEGMENT = b"\x18\x53\x80\x67"
CLUSTER = b"\x1f\x43\xb6\x75"
SEEKHEAD, CUES, TAGS = 0x114D9B74, 0x1C53BB6B, 0x1254C367


class _El(NamedTuple):
    id: int
    pos: int
    data: int
    end: int


def _elements(data: bytes, start: int, end: int) -> list[_El]:
    """A minimal EBML walk for the tests (known sizes only)."""
    out = []
    pos = start
    while pos < end:
        id_len = 9 - data[pos].bit_length()
        size_len = 9 - data[pos + id_len].bit_length()
        raw = int.from_bytes(data[pos + id_len : pos + id_len + size_len], "big")
        size = raw & ((1 << (7 * size_len)) - 1)
        head = id_len + size_len
        out.append(_El(int.from_bytes(data[pos : pos + id_len], "big"), pos, pos + head,
                       pos + head + size))  # fmt: skip
        pos += head + size
    return out


def _segment(data: bytes) -> _El:
    return _elements(data, 0, len(data))[1]


def _to_live(data: bytes) -> bytes:
    """Rewrite as MediaRecorder does: unknown-size Segment and Clusters, no SeekHead/Cues."""
    ebml, segment = _elements(data, 0, len(data))[:2]
    out = data[: ebml.end] + SEGMENT + b"\x01" + b"\xff" * 7
    for child in _elements(data, segment.data, segment.end):
        if child.id in (SEEKHEAD, CUES):
            continue
        if data[child.pos : child.pos + 4] == CLUSTER:
            out += CLUSTER + b"\xff" + data[child.data : child.end]
        else:
            out += data[child.pos : child.end]
    return out


def _full_mkv(directory: Path, audio: str = "libvorbis") -> Path:
    """H.264 + audio + a GPS subtitle track, cover-art attachment, chapters, tags, names."""
    cover = cover_jpeg(directory)
    srt = directory / "gps.srt"
    srt.write_text(
        "1\n00:00:00,000 --> 00:00:00,500\nGPS (42.2626, -71.8023) CANARY\n\n"
        "2\n00:00:00,500 --> 00:00:01,000\nGPS (42.2627, -71.8024)\n"
    )
    meta = directory / "meta.txt"
    meta.write_text(
        f";FFMETADATA1\ntitle={CANARY} title\n"
        f"[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=500\ntitle={CANARY} chapter\n"
    )
    out = directory / "in.mkv"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=1",
        "-f", "lavfi", "-i", "sine=duration=1", "-i", srt, "-i", meta,
        "-map", "0", "-map", "1", "-map", "2", "-map_metadata", "3", "-map_chapters", "3",
        "-attach", cover, "-metadata:s:t:0", "mimetype=image/jpeg",
        "-c:v", "libx264", "-preset", "ultrafast", "-c:a", audio, "-c:s", "srt",
        "-bsf:v", "filter_units=remove_types=6",  # no x264 SEI: packets compare byte for byte
        "-metadata", f"artist={CANARY} ARTIST", "-metadata", f"location={LOCATION}",
        "-metadata", "creation_time=2023-07-04T17:37:42Z",
        "-metadata:s:v:0", f"title={CANARY} track name",
        "-metadata:s:a:0", f"title={CANARY} audio name", out,
    )  # fmt: skip
    return out


def _webm(directory: Path, name: str = "in.webm") -> Path:
    out = directory / name
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=1",
        "-f", "lavfi", "-i", "sine=duration=1", "-c:v", "libvpx", "-b:v", "200k",
        "-c:a", "libopus", "-metadata", f"artist={CANARY} ARTIST",
        "-metadata", f"location={LOCATION}", "-metadata", "date_recorded=2023-07-04T13:37:42",
        "-metadata:s:v:0", f"title={CANARY} camera", out,
    )  # fmt: skip
    return out


@media_tools
def test_matroska_tags_attachments_chapters_subtitles_removed(tmp_path: Path) -> None:
    src = _full_mkv(tmp_path)
    assert leaks(src) != []
    assert stream_types(src) == ["video", "audio", "subtitle", "video"]  # the cover: attached pic

    manifest, out = sanitize_to(src, tmp_path)

    assert manifest.status == "clean"
    assert (manifest.format, manifest.media_kind, manifest.lossless) == ("mkv", "video", True)
    assert (manifest.width, manifest.height) == (160, 120)
    assert manifest.duration_s == pytest.approx(1.0, abs=0.05)
    assert manifest.capture_time == "2023-07-04T17:37:42Z"
    removed = {item.what for item in manifest.removed}
    assert {"Tags", "Attachments", "Chapters", "Title", "DateUTC", "track name"} <= removed
    assert "track 3 (subtitle)" in removed
    assert leaks(out) == []
    assert stream_types(out) == ["video", "audio"]
    assert packet_md5(out, "v:0") == packet_md5(src, "v:0")
    assert packet_md5(out, "a") == packet_md5(src, "a")
    assert decode_errors(out) == ""


@media_tools
def test_matroska_offsets_preserved_seekhead_targets_valid(tmp_path: Path) -> None:
    src = _full_mkv(tmp_path)

    _, out = sanitize_to(src, tmp_path)

    data = out.read_bytes()
    assert len(data) == src.stat().st_size
    segment = _segment(data)
    seekheads = [e for e in _elements(data, segment.data, segment.end) if e.id == SEEKHEAD]
    targets = []
    for seek in _elements(data, seekheads[0].data, seekheads[0].end):
        if seek.id != 0x4DBB:
            continue
        fields = {e.id: data[e.data : e.end] for e in _elements(data, seek.data, seek.end)}
        position = segment.data + int.from_bytes(fields[0x53AC], "big")
        targets.append(data[position : position + 4] == fields[0x53AB])
    assert targets != []
    assert all(targets)
    cut = subprocess.run(
        [require_tool("ffmpeg"), "-v", "error", "-ss", "0.5", "-i", str(out), "-f", "null", "-"],
        capture_output=True,
        check=False,
    )
    assert cut.returncode == 0


@media_tools
def test_matroska_vorbis_codec_private_comment_emptied(tmp_path: Path) -> None:
    src = _full_mkv(tmp_path, audio="libvorbis")
    assert b"Lavc" in src.read_bytes()  # libvorbis's comment header names the encoder

    manifest, out = sanitize_to(src, tmp_path)

    assert manifest.status == "clean"
    assert "codec comment header" in {item.what for item in manifest.removed}
    assert b"Lavc" not in out.read_bytes()
    assert packet_md5(out, "a") == packet_md5(src, "a")
    assert decode_errors(out) == ""


@media_tools
def test_matroska_flac_codec_private_vorbis_comment_dropped(tmp_path: Path) -> None:
    src = tmp_path / "in.mkv"
    # A quad layout makes ffmpeg add a VORBIS_COMMENT with the channel mask to the setup.
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-ac", "4", "-c:a", "flac", src)

    manifest, out = sanitize_to(src, tmp_path)

    assert manifest.status == "clean"
    assert "codec comment header" in {item.what for item in manifest.removed}
    assert packet_md5(out, "a") == packet_md5(src, "a")
    assert decode_errors(out) == ""


@media_tools
def test_webm_tags_removed_packets_identical(tmp_path: Path) -> None:
    src = _webm(tmp_path)

    manifest, out = sanitize_to(src, tmp_path)

    assert manifest.status == "clean"
    assert (manifest.format, manifest.media_kind) == ("webm", "video")
    assert manifest.capture_time == "2023-07-04T13:37:42"
    assert leaks(out) == []
    assert packet_md5(out, "v") == packet_md5(src, "v")
    assert packet_md5(out, "a") == packet_md5(src, "a")


@media_tools
def test_webm_live_unknown_size_segment_and_clusters(tmp_path: Path) -> None:
    recorded = _webm(tmp_path)
    live = tmp_path / "live.webm"
    live.write_bytes(_to_live(recorded.read_bytes()))
    assert decode_errors(live) == ""

    manifest, out = sanitize_to(live, tmp_path)

    assert manifest.status == "clean"
    assert leaks(out) == []
    assert packet_md5(out, "v") == packet_md5(recorded, "v")
    assert packet_md5(out, "a") == packet_md5(recorded, "a")


@media_tools
def test_matroska_audio_only_is_audio(tmp_path: Path) -> None:
    src = tmp_path / "in.mka"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-c:a", "libopus", src)

    manifest, _ = sanitize_to(src, tmp_path)

    assert (manifest.status, manifest.media_kind, manifest.width) == ("clean", "audio", None)


@media_tools
def test_matroska_mjpeg_rejected_as_unsafe(tmp_path: Path) -> None:
    src = tmp_path / "in.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=5:duration=1", "-c:v", "mjpeg", src)

    manifest, _ = sanitize_to(src, tmp_path)

    assert (manifest.status, manifest.reason) == ("rejected", errors.UNSAFE_CONTENT)


@media_tools
def test_matroska_truncated_file_rejected(tmp_path: Path) -> None:
    src = _webm(tmp_path)
    cut = tmp_path / "cut.webm"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size // 2])

    manifest, _ = sanitize_to(cut, tmp_path)

    assert (manifest.status, manifest.reason) == ("rejected", errors.MALFORMED)


@media_tools
def test_matroska_nonzero_void_zeroed_and_flagged_by_verifier(tmp_path: Path) -> None:
    _, out = sanitize_to(_full_mkv(tmp_path), tmp_path)
    data = bytearray(out.read_bytes())
    segment = _segment(bytes(data))
    void = next(e for e in _elements(bytes(data), segment.data, segment.end) if e.id == 0xEC)
    data[void.data : void.data + 6] = b"CANARY"
    dirty = tmp_path / "dirty.mkv"
    dirty.write_bytes(bytes(data))

    with dirty.open("rb") as f:
        findings = verify_matroska.verify(f)
    manifest, again = sanitize_to(dirty, tmp_path)

    assert findings == [f"Void element at {void.data} is not zeroed"]
    assert manifest.status == "clean"
    assert b"CANARY" not in again.read_bytes()


@media_tools
def test_matroska_verifier_flags_original_metadata(tmp_path: Path) -> None:
    src = _full_mkv(tmp_path)

    with src.open("rb") as f:
        findings = verify_matroska.verify(f)

    assert f"element 0x{TAGS:X} not allowed in 0x18538067" in findings
    assert "element 0x1941A469 not allowed in 0x18538067" in findings  # Attachments
    assert "track 3 is neither video nor audio" in findings


@media_tools
def test_matroska_large_attachment_voided_with_bounded_memory(tmp_path: Path) -> None:
    blob = tmp_path / "font.ttf"
    with blob.open("wb") as f:
        f.write(b"CANARY")
        f.seek(40 * 1024 * 1024, 1)
        f.write(b"CANARY")
    src = tmp_path / "in.mkv"
    ffmpeg(
        "-f", "lavfi", "-i", "sine=duration=1", "-attach", blob,
        "-metadata:s:t:0", "mimetype=application/x-truetype-font", "-c:a", "libopus", src,
    )  # fmt: skip

    tracemalloc.start()
    started = time.monotonic()
    manifest = sanitize(src, tmp_path / "out.mkv")
    elapsed = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert manifest.status == "clean"
    assert b"CANARY" not in (tmp_path / "out.mkv").read_bytes()
    assert peak < 16 * 1024 * 1024
    assert elapsed < 20


_EBML_WEBM = bytes.fromhex("1a45dfa3") + bytes((0x80 | 7,)) + bytes.fromhex("4282") + b"\x84webm"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x1a",
        b"\x1a\x45\xdf\xa3",
        _EBML_WEBM,
        _EBML_WEBM + SEGMENT + b"\x88" + b"\x00" * 3,  # segment size beyond the file
        _EBML_WEBM + SEGMENT + b"\x01" + b"\xff" * 7 + b"\x00\x00\x00\x00",  # garbage ids
        _EBML_WEBM + SEGMENT + b"\x01" + b"\xff" * 7 + CLUSTER + b"\xff" + b"\xa3\x85\x81",
    ],
)
def test_matroska_hostile_bytes_rejected(content: bytes) -> None:
    manifest = sanitize_stream(io.BytesIO(content), io.BytesIO())

    assert manifest.status == "rejected"


@media_tools
def test_matroska_shared_sample_clean_and_lossless(tmp_path: Path) -> None:
    src = shared_sample("webm_vp9_matroska_tags.webm")

    manifest, out = sanitize_to(src, tmp_path)
    verdict = check_clean(out, src, tmp_path)

    assert manifest.status == "clean"
    assert (verdict["clean"], verdict["lossless"]) == (True, True), verdict["findings"]
