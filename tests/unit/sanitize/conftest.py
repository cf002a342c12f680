"""Shared helpers for the image sanitizer tests: run the sanitizer on bytes, read tags back with
ExifTool, plant tags with ExifTool, decode pixels with Pillow, and run the shared checker."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from intake.sanitize import Manifest, sanitize
from tests.factories.tools import require_shared_samples, require_tool
from tests.unit.sanitize.isobmff_checks import ffmpeg_clip

# The planted canaries: 42.2626 N, 71.8023 W and strings containing CANARY.
GPS_ARGS = (
    "-GPSLatitude=42.2626",
    "-GPSLatitudeRef=N",
    "-GPSLongitude=71.8023",
    "-GPSLongitudeRef=W",
    "-GPSAltitude=150",
)
IDENTITY_ARGS = (
    "-Make=CANARY make",
    "-Model=CANARY model",
    "-Software=CANARY software",
    "-Artist=CANARY artist",
    "-Copyright=CANARY copyright",
    "-SerialNumber=CANARY-SN-1",
    "-OwnerName=CANARY owner",
    "-ImageUniqueID=CANARY0123456789abcdef0123456789",
    "-DateTimeOriginal=2023:07:04 13:37:42",
    "-OffsetTimeOriginal=-04:00",
)
XMP_ARGS = (
    "-XMP-photoshop:City=CANARY city",
    "-XMP-photoshop:Country=CANARY country",
    "-XMP-exif:GPSLatitude=42.2626 N",
    "-XMP-exif:GPSLongitude=71.8023 W",
    "-XMP-dc:Creator=CANARY creator",
)

Sanitized = tuple[Manifest, bytes]
# Types of the fixtures below, for the tests' annotations.
Sanitize = Callable[[bytes], Sanitized]
ReadTags = Callable[[bytes], dict[str, Any]]
Plant = Callable[..., bytes]


def image_bytes(image: Image.Image, fmt: str, **params: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def gradient(mode: str = "RGB", size: tuple[int, int] = (64, 48)) -> Image.Image:
    """A deterministic test picture with detail in every channel."""
    width, height = size
    image = Image.new("RGB", size)
    image.putdata(
        [
            ((x * 255) // width, (y * 255) // height, ((x + y) * 7) % 256)
            for y in range(height)
            for x in range(width)
        ]
    )
    return image.convert(mode)


def pixels(data: bytes) -> tuple[str, tuple[int, int], list[bytes]]:
    """Mode, size and raw pixels of every frame, as Pillow decodes them (no EXIF transpose)."""
    frames = []
    with Image.open(io.BytesIO(data)) as image:
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            frames.append(image.tobytes())
        return image.mode, image.size, frames


@pytest.fixture
def sanitized(tmp_path: Path) -> Callable[[bytes], Sanitized]:
    """Run ``sanitize()`` over files; return the manifest and the output bytes (b"" if none)."""
    counter = iter(range(1_000_000))

    def run(data: bytes) -> Sanitized:
        n = next(counter)
        src, dst = tmp_path / f"in{n}", tmp_path / f"out{n}"
        src.write_bytes(data)
        manifest = sanitize(src, dst)
        return manifest, dst.read_bytes() if dst.exists() else b""

    return run


@pytest.fixture
def exiftool(tmp_path: Path) -> Callable[..., bytes]:
    """Write tags with ExifTool: ``exiftool(data, *args)`` returns the rewritten bytes."""
    tool = require_tool("exiftool")
    counter = iter(range(1_000_000))

    def write(data: bytes, *args: str, suffix: str = ".jpg") -> bytes:
        path = tmp_path / f"planted{next(counter)}{suffix}"
        path.write_bytes(data)
        subprocess.run(
            [tool, "-q", "-q", "-overwrite_original", "-m", *args, str(path)],
            check=True,
            capture_output=True,
        )
        return path.read_bytes()

    return write


@pytest.fixture
def read_tags(tmp_path: Path) -> Callable[[bytes], dict[str, Any]]:
    """Every tag ExifTool finds (``-a -u -ee -G1``, numeric values), keyed ``Group:Name``."""
    tool = require_tool("exiftool")
    counter = iter(range(1_000_000))

    def read(data: bytes) -> dict[str, Any]:
        path = tmp_path / f"read{next(counter)}"
        path.write_bytes(data)
        out = subprocess.run(
            [tool, "-j", "-a", "-u", "-ee", "-G1", "-n", str(path)],
            check=True,
            capture_output=True,
        )
        tags: dict[str, Any] = json.loads(out.stdout)[0]
        skipped = ("SourceFile", "System:", "File:", "ExifTool:", "Composite:")
        return {k: v for k, v in tags.items() if not k.startswith(skipped)}

    return read


def metadata_groups(tags: dict[str, Any]) -> set[str]:
    return {key.split(":", 1)[0] for key in tags if ":" in key}


CHECK_CLEAN = "check_clean.py"


def check_clean(out: Path, orig: Path) -> dict[str, Any]:
    """Run the shared independent checker on one output; its JSON record for the file."""
    samples = require_shared_samples()
    for tool in ("exiftool", "ffmpeg"):
        require_tool(tool)
    report = out.with_suffix(out.suffix + ".json")
    subprocess.run(
        [
            sys.executable,
            str(samples / CHECK_CLEAN),
            str(out),
            "--orig",
            str(orig),
            "--json",
            str(report),
        ],
        check=True,
        capture_output=True,
    )
    result: dict[str, Any] = json.loads(report.read_text())["results"][0]
    return result


def shared_samples(*suffixes: str) -> list[Path]:
    """Shared sample files with these suffixes (empty when the samples are not installed)."""
    from tests.factories.tools import SHARED_SAMPLES

    files = SHARED_SAMPLES / "files"
    if not files.is_dir():
        return []
    found = [*files.iterdir(), *(files / "real").iterdir()]
    return sorted(p for p in found if p.suffix.lower() in suffixes)


# --- ISO BMFF (test_isobmff.py, test_heif.py) ----------------------------------------


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("isobmff")


@pytest.fixture(scope="module")
def plain_mp4(media_dir: Path) -> bytes:
    """A small clean ffmpeg MP4 (moov last): the base for hand-built fixtures."""
    return ffmpeg_clip(media_dir / "plain.mp4").read_bytes()
