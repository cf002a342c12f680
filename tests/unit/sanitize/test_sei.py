"""H.264/HEVC SEI user data (dashcam GPS, serial numbers, encoder settings) is removed from
samples and decoder configuration records in MP4, MOV, fragmented MP4 and Matroska, and the
decoded frames stay identical (ffmpeg -f framemd5)."""

from __future__ import annotations

import io
import re
from functools import cache
from pathlib import Path

import pytest

from intake.sanitize import errors, sanitize, sanitize_stream
from intake.sanitize.families import verify
from tests.unit.sanitize.av_fixtures import ffmpeg, media_tools
from tests.unit.sanitize.sei_fixtures import GPS_TEXT, HDR10_T35, framemd5, sei_video

pytestmark = [media_tools]

CASES = [(codec, c) for codec in ("h264", "hevc") for c in ("mp4", "mov", "fmp4", "mkv")]


@cache
def _video(codec: str, container: str, root: str) -> Path:
    directory = Path(root) / f"{codec}-{container}"
    directory.mkdir(parents=True, exist_ok=True)
    return sei_video(directory, codec, container)


@pytest.fixture(scope="module")
def video_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("sei"))


def _family(path: Path) -> str:
    return "matroska" if path.suffix == ".mkv" else "isobmff"


@pytest.mark.parametrize(("codec", "container"), CASES)
def test_sei_user_data_removed_frames_identical(
    codec: str, container: str, video_root: str, tmp_path: Path
) -> None:
    src = _video(codec, container, video_root)
    assert src.read_bytes().count(GPS_TEXT) >= 10
    out = tmp_path / ("clean" + src.suffix)

    manifest = sanitize(src, out)

    assert (manifest.status, manifest.reason) == ("clean", "")
    data = out.read_bytes()
    assert (data.count(GPS_TEXT), data.count(b"CANARY"), data.count(b"x26")) == (0, 0, 0)
    assert len(data) == src.stat().st_size
    assert framemd5(out) == framemd5(src)
    assert manifest.lossless is True


@pytest.mark.parametrize(("codec", "container"), CASES)
def test_sei_display_metadata_kept(
    codec: str, container: str, video_root: str, tmp_path: Path
) -> None:
    src = _video(codec, container, video_root)
    out = tmp_path / ("clean" + src.suffix)
    sanitize(src, out)
    assert out.read_bytes().count(HDR10_T35) == src.read_bytes().count(HDR10_T35)


@pytest.mark.parametrize(("codec", "container"), CASES)
def test_sei_removal_listed_in_manifest(
    codec: str, container: str, video_root: str, tmp_path: Path
) -> None:
    manifest = sanitize(_video(codec, container, video_root), tmp_path / "out")
    listed = sorted({r.what.split(" (")[0] for r in manifest.removed if "user data" in r.what})
    assert listed[-1] == "T.35 user data, unregistered user data"


@pytest.mark.parametrize(("codec", "container"), CASES)
def test_verifier_flags_sei_user_data_in_original(
    codec: str, container: str, video_root: str
) -> None:
    src = _video(codec, container, video_root)
    with src.open("rb") as f:
        findings = [x for x in verify(_family(src), f) if "SEI message of type" in x]
    assert findings[0].endswith("SEI message of type 5 (user data or unknown) kept")


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_hevc_decoder_config_sei_removed(suffix: str, tmp_path: Path) -> None:
    # x265 writes its settings as SEI inside the hvcC record (CodecPrivate in Matroska);
    # the record is rewritten shorter, padding after it keeps every offset.
    src = tmp_path / f"x265{suffix}"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=160x120:rate=10",
        "-t",
        "1",
        "-c:v",
        "libx265",
        "-x265-params",
        "log-level=error",
        src,
    )
    assert src.read_bytes().count(b"x265 (build") == 1
    out = tmp_path / f"out{suffix}"
    manifest = sanitize(src, out)
    where = [r.where.rsplit("/", 1)[-1] for r in manifest.removed if "user data" in r.what]
    assert (where, out.read_bytes().count(b"x265")) == ([_CONFIG[suffix]], 0)
    assert framemd5(out) == framemd5(src)


_CONFIG = {".mp4": "hvcC", ".mkv": "CodecPrivate"}


def test_sei_nal_length_past_sample_rejected(video_root: str) -> None:
    data = bytearray(_video("h264", "mp4", video_root).read_bytes())
    at = data.index(b"\x06\x05")  # first SEI NAL (type 6, first message user data)
    data[at - 4 : at] = (0x7FFFFF).to_bytes(4, "big")
    manifest = sanitize_stream(io.BytesIO(bytes(data)), io.BytesIO())
    assert (manifest.status, manifest.reason) == ("rejected", errors.MALFORMED)


def test_sei_payload_size_past_nal_rejected(video_root: str) -> None:
    data = bytearray(_video("h264", "mkv", video_root).read_bytes())
    at = data.index(b"\x06\x05")
    data[at + 2] = 0xF0  # payload size larger than the NAL unit
    manifest = sanitize_stream(io.BytesIO(bytes(data)), io.BytesIO())
    assert (manifest.status, manifest.reason) == ("rejected", errors.MALFORMED)


def test_laced_h264_matroska_block_rejected(video_root: str) -> None:
    # Lacing would put several frames in one block; our NAL scan reads one frame per block.
    data = bytearray(_video("h264", "mkv", video_root).read_bytes())
    cluster = data.index(b"\x1f\x43\xb6\x75")
    block = re.compile(rb"\xa3(?:[\x80-\xff]|[\x40-\x7f].|[\x20-\x3f]..)\x81..", re.DOTALL)
    found = block.search(bytes(data), cluster)
    assert found is not None
    data[found.end()] |= 0x02  # Xiph lacing
    manifest = sanitize_stream(io.BytesIO(bytes(data)), io.BytesIO())
    assert (manifest.status, manifest.reason) == ("rejected", errors.UNSUPPORTED_FORMAT)


def test_avc_sample_entry_without_config_rejected(video_root: str) -> None:
    data = _video("h264", "mp4", video_root).read_bytes().replace(b"avcC", b"xvcC", 1)
    manifest = sanitize_stream(io.BytesIO(data), io.BytesIO())
    assert (manifest.status, manifest.reason) == ("rejected", errors.MALFORMED)
