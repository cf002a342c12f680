"""Checks shared by the ISO BMFF tests (MP4, MOV, HEIF): run the sanitizer, read what
ExifTool and ffprobe see, search raw bytes for the planted canaries, make clips."""

from __future__ import annotations

import io
import json
import re
import struct
import subprocess
from pathlib import Path

from intake.sanitize import isobmff, sanitize, sanitize_stream
from intake.sanitize.context import StripContext
from intake.sanitize.manifest import Manifest
from tests.factories.tools import require_tool
from tests.unit.sanitize import isobmff_fixtures as fx


def run(*cmd: str) -> bytes:
    return subprocess.run(cmd, check=True, capture_output=True).stdout


def sanitize_bytes(data: bytes) -> tuple[Manifest, bytes]:
    dst = io.BytesIO()
    manifest = sanitize_stream(io.BytesIO(data), dst)
    return manifest, dst.getvalue()


def sanitize_path(src: Path, tmp_path: Path) -> tuple[Manifest, Path]:
    out = tmp_path / ("clean-" + src.name)
    return sanitize(src, out), out


def strip_bytes(data: bytes) -> tuple[StripContext, bytes]:
    ctx = StripContext(format="isobmff")
    dst = io.BytesIO()
    isobmff.strip(io.BytesIO(data), dst, ctx)
    return ctx, dst.getvalue()


LEAK_NAMES = re.compile(
    r"GPS|Location|Coordinates|Serial|^Make$|^Model$|Author|Artist|Creator|^Title$|Comment|"
    r"ContentIdentifier|Software|Owner|Copyright|^Text$|Encoder|DateTimeOriginal",
    re.I,
)


def exif_leaks(path: Path) -> list[str]:
    """Tags ExifTool still finds (embedded and timed metadata too) that say where or who."""
    exiftool = require_tool("exiftool")
    out = run(exiftool, "-a", "-u", "-ee3", "-j", "-G1", "-api", "LargeFileSupport=1", str(path))
    leaks = []
    for key, value in json.loads(out)[0].items():
        group, _, name = key.rpartition(":")
        if key == "SourceFile" or group in ("System", "File", "ExifTool"):
            continue
        text = str(value)
        planted = any(c in text.lower() for c in ("canary", "42.26", "71.80", "2023"))
        if planted or LEAK_NAMES.search(name):
            leaks.append(f"{key}={text[:60]}")
    return leaks


def raw_canaries(data: bytes) -> list[str]:
    found = []
    for label, pattern in [
        ("CANARY", b"CANARY"),
        ("iso6709", b"42.2626"),
        ("gpmf lat", fx.GPMF_LAT),
        ("gpmf lon", fx.GPMF_LON),
        ("loci lat", fx.LOCI_LAT),
        ("loci lon", fx.LOCI_LON),
        ("date", b"2023-07-04"),
        ("exif date", b"2023:07:04"),
        ("qt time", struct.pack(">I", fx.CANARY_TIME)),
    ]:
        if pattern in data:
            found.append(label)
    return found


def packet_hashes(path: Path, streams: tuple[str, ...] = ("0:v?", "0:a?")) -> list[str]:
    """SHA-256 of the packets of each audio and video stream, in stream order."""
    ffmpeg = require_tool("ffmpeg")
    maps = [arg for s in streams for arg in ("-map", s)]
    out = run(
        ffmpeg, "-v", "error", "-i", str(path), *maps,
        "-c", "copy", "-f", "streamhash", "-hash", "sha256", "-",
    )  # fmt: skip
    return out.decode().split()


def stream_kinds(path: Path) -> list[str]:
    ffprobe = require_tool("ffprobe")
    out = run(
        ffprobe, "-v", "error", "-show_entries", "stream=codec_type", "-of", "json", str(path)
    )
    return [s["codec_type"] for s in json.loads(out)["streams"]]


def rotation(path: Path) -> int:
    ffprobe = require_tool("ffprobe")
    out = run(ffprobe, "-v", "error", "-show_streams", "-of", "json", str(path))
    for stream in json.loads(out)["streams"]:
        if stream["codec_type"] == "video":
            for side in stream.get("side_data_list", []):
                if "rotation" in side:
                    return int(side["rotation"]) % 360
            return 0
    raise AssertionError("no video stream")


def box_times(data: bytes) -> list[int]:
    """Creation and modification times of every mvhd/tkhd/mdhd in the file."""
    times: list[int] = []
    for kind in (b"mvhd", b"tkhd", b"mdhd"):
        for match in re.finditer(re.escape(kind), data):
            at = match.end()
            version = data[at]
            fmt = ">QQ" if version == 1 else ">II"
            times += struct.unpack_from(fmt, data, at + 4)
    return times


def ffmpeg_clip(
    out: Path, *extra: str, subtitles: Path | None = None, audio: bool = True, video: bool = True
) -> Path:
    """A 2 s test clip (H.264 160x120, AAC), optionally with a tx3g subtitle track."""
    ffmpeg = require_tool("ffmpeg")
    args = [ffmpeg, "-v", "error", "-y"]
    if video:
        args += ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=15:duration=2"]
    if audio:
        args += ["-f", "lavfi", "-i", "sine=frequency=440:duration=2"]
    if subtitles is not None:
        args += ["-i", str(subtitles), "-map", "0", "-map", "1", "-map", "2", "-c:s", "mov_text"]
    if video:
        # x264 writes its settings as SEI user data, which the sanitizer removes; without it
        # these tests can hold every coded packet byte for byte (SEI removal: test_sei.py).
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-g", "15"]
        args += ["-bsf:v", "filter_units=remove_types=6"]
    if audio:
        args += ["-c:a", "aac", "-b:a", "32k"]
    run(*args, *extra, str(out))
    return out
