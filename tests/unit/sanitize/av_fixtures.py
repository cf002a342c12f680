"""Fixtures and probes shared by the audio/video sanitizer tests.

Media are made on the fly with ffmpeg (lavfi sources) and ExifTool, or built byte by byte;
nothing is read from the project's shared sample directory except by the sample tests.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from intake.sanitize import Manifest, sanitize
from tests.factories.tools import require_shared_samples, require_tool

# Tests that need exiftool and ffmpeg.
media_tools = pytest.mark.media_tools

CANARY = "CANARY"
LOCATION = "+42.2626-071.8023/"
# Byte patterns that must never survive: canaries, the coordinate, the planted date.
_RAW = (b"canary", b"42.2626", b"71.8023", b"42.262", b"2023-07-04", b"2023:07:04")
_SUSPECT_NAME = re.compile(
    r"GPS|Location|Artist|Author|Title|Comment|Description|Chapter|Attached|Originator|"
    r"Picture|Cover|DateTimeOriginal|DateCreated|Year|Encoded|Lyrics|Subtitle|Text",
    re.I,
)
_SKIP_GROUPS = {"System", "File", "ExifTool"}


def ffmpeg(*args: str | Path) -> None:
    subprocess.run(
        [require_tool("ffmpeg"), "-nostdin", "-v", "error", "-y", *map(str, args)], check=True
    )


def cover_jpeg(directory: Path, name: str = "cover.jpg", size: str = "64x48") -> Path:
    """A small JPEG whose EXIF carries the GPS canary and a serial number."""
    path = directory / name
    ffmpeg("-f", "lavfi", "-i", f"testsrc=size={size}:rate=1", "-frames:v", "1", path)
    subprocess.run(
        [
            require_tool("exiftool"),
            "-q",
            "-overwrite_original",
            "-GPSLatitude=42.2626",
            "-GPSLatitudeRef=N",
            "-GPSLongitude=71.8023",
            "-GPSLongitudeRef=W",
            "-SerialNumber=CANARY-SN-4242",
            str(path),
        ],
        check=True,
    )
    return path


def exif_tags(path: Path) -> dict[str, Any]:
    completed = subprocess.run(
        [require_tool("exiftool"), "-a", "-u", "-ee3", "-j", "-G1", str(path)],
        capture_output=True,
        check=False,
    )
    result: list[dict[str, Any]] = json.loads(completed.stdout or b"[{}]")
    return result[0]


def leaks(path: Path) -> list[str]:
    """What ExifTool and a raw byte scan still find: canaries, coordinates, names, dates."""
    found = []
    for key, value in exif_tags(path).items():
        group, _, name = key.rpartition(":")
        if group in _SKIP_GROUPS or key == "SourceFile":
            continue
        text = str(value)
        planted = CANARY.lower() in text.lower() or "42.2626" in text or "71.8023" in text
        if planted or (_SUSPECT_NAME.search(name) and text.strip()):
            found.append(f"{key}={text[:60]}")
    data = path.read_bytes().lower()
    for pattern in _RAW:
        if pattern in data:
            found.append(f"raw {pattern!r}")
    if "canary".encode("utf-16-le") in data:
        found.append("raw utf-16 canary")
    return found


def packet_md5(path: Path, stream: str) -> str:
    """MD5 over every packet of the selected streams (e.g. "a", "v"), copied, not decoded."""
    completed = subprocess.run(
        [
            require_tool("ffmpeg"),
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(path),
            "-map",
            f"0:{stream}",
            "-c",
            "copy",
            "-f",
            "hash",
            "-hash",
            "md5",
            "-",
        ],
        capture_output=True,
        check=True,
    )
    return completed.stdout.decode().strip()


def stream_types(path: Path) -> list[str]:
    completed = subprocess.run(
        [
            require_tool("ffprobe"),
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type",
            "-of",
            "csv=p=0",
            str(path),
        ],
        capture_output=True,
        check=True,
    )
    return completed.stdout.decode().split()


def decode_errors(path: Path) -> str:
    """ffmpeg's complaints while decoding every stream fully (empty when it decodes cleanly)."""
    completed = subprocess.run(
        [require_tool("ffmpeg"), "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        check=False,
    )
    return completed.stderr.decode(errors="replace") + (
        f"exit {completed.returncode}" if completed.returncode else ""
    )


def sanitize_to(src: Path, directory: Path) -> tuple[Manifest, Path]:
    out = directory / f"out-{src.name}"
    return sanitize(src, out), out


def check_clean(out: Path, orig: Path, directory: Path) -> dict[str, Any]:
    """The shared samples' independent checker on one output; returns its JSON verdict."""
    samples = require_shared_samples()
    require_tool("exiftool")
    require_tool("ffprobe")
    report = directory / "check.json"
    subprocess.run(
        [
            sys.executable,
            str(samples / "check_clean.py"),
            str(out),
            "--orig",
            str(orig),
            "--json",
            str(report),
            "--quiet",
        ],
        capture_output=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(report.read_text())["results"][0]
    return result


def shared_sample(name: str) -> Path:
    return require_shared_samples() / "files" / name


# -- hand-built bytes ---------------------------------------------------------------------


def synchsafe(value: int) -> bytes:
    return bytes(((value >> 21) & 0x7F, (value >> 14) & 0x7F, (value >> 7) & 0x7F, value & 0x7F))


def id3v2_tag(frames: dict[bytes, bytes], version: int = 3, footer: bool = False) -> bytes:
    """An ID3v2.3/2.4 tag of text frames (latin-1), optionally with a v2.4 footer."""
    body = b""
    for frame_id, text in frames.items():
        payload = b"\x00" + text
        size = synchsafe(len(payload)) if version == 4 else len(payload).to_bytes(4, "big")
        body += frame_id + size + b"\x00\x00" + payload
    flags = 0x10 if footer else 0
    header = b"ID3" + bytes((version, 0, flags)) + synchsafe(len(body))
    tail = b"3DI" + bytes((version, 0, flags)) + synchsafe(len(body)) if footer else b""
    return header + body + tail


def id3v1_tag(artist: bytes = b"CANARY ARTIST") -> bytes:
    return (
        b"TAG" + bytes(30) + artist.ljust(30, b"\x00") + bytes(30) + b"2023" + bytes(30) + b"\xff"
    )


def ape_tag(key: bytes = b"Artist", value: bytes = b"CANARY ARTIST") -> bytes:
    """An APEv2 tag with header and footer and one text item."""
    item = len(value).to_bytes(4, "little") + bytes(4) + key + b"\x00" + value
    size = len(item) + 32

    def frame(flags: int) -> bytes:
        return (
            b"APETAGEX"
            + (2000).to_bytes(4, "little")
            + size.to_bytes(4, "little")
            + (1).to_bytes(4, "little")
            + flags.to_bytes(4, "little")
            + bytes(8)
        )

    return frame(0xA0000000) + item + frame(0x80000000)


def lyrics3v2(text: bytes = b"CANARY lyrics") -> bytes:
    body = b"LYRICSBEGIN" + b"LYR" + f"{len(text):05d}".encode() + text
    return body + f"{len(body):06d}".encode() + b"LYRICS200"
