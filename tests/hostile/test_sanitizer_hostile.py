"""The issue's hostile files straight through the sanitizer library: each ends clean or
rejected with a reason, never an exception; what comes out clean carries nothing hostile."""

from __future__ import annotations

import io
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from intake.sanitize import Manifest, sanitize, sanitize_stream
from intake.sanitize.exiftool import exiftool_findings
from tests.factories import hostile_files as files
from tests.factories.tools import require_shared_samples, require_tool
from tests.hostile.conftest import require_stripper

pytestmark = [pytest.mark.hostile]

# Each hostile file must be decided quickly: a parser that walks a claimed 10⁹ samples or
# inflates a claimed 400 megapixels would blow this.
DECIDE_WITHIN_S = 10.0


def _run(data: bytes) -> tuple[Manifest, bytes]:
    require_stripper(data)
    out = io.BytesIO()
    started = time.monotonic()
    manifest = sanitize_stream(io.BytesIO(data), out)
    assert time.monotonic() - started < DECIDE_WITHIN_S
    assert manifest.status in ("clean", "rejected")
    if manifest.status == "rejected":
        assert manifest.reason != ""
        assert out.getvalue() == b""
    return manifest, out.getvalue()


REJECTED: dict[str, Callable[[], bytes]] = {
    "png_48kb_declaring_400_megapixels": lambda: files.png_declaring(20_000, 20_000),
    "jpeg_declaring_65535x65535": lambda: files.jpeg_declaring(65535, 65535),
    "truncated_jpeg": files.truncated_jpeg,
    "mp4_without_moov": files.mp4_without_moov,
    "mp4_declaring_1e9_samples": files.mp4_declaring_samples,
    "heic_with_hostile_grid_and_overrun": files.heic_hostile,
}

DECIDED: dict[str, Callable[[], bytes]] = {
    "png_in_pillow_warning_range": lambda: files.png_declaring(10_000, 10_000),
    "jpeg_in_pillow_warning_range": lambda: files.jpeg_declaring(10_000, 10_000),
    "gif_with_10000_frames": files.gif_with_frames,
    "tiff_renamed_jpg": files.tiff_renamed,
    "wav_claiming_4gb": files.wav_claiming_4gb,
    "video_wider_than_4096": lambda: files.mp4_declaring_samples(count=1, width=8192),
    "video_longer_than_limit": lambda: files.mp4_declaring_samples(count=1, duration_s=86_400),
}


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_hostile_file_is_rejected_with_reason(name: str) -> None:
    manifest, _ = _run(REJECTED[name]())

    assert manifest.status == "rejected"


@pytest.mark.parametrize("name", sorted(DECIDED))
def test_hostile_file_is_decided_without_exception(name: str) -> None:
    _run(DECIDED[name]())


def test_jpeg_zip_polyglot_output_carries_no_archive() -> None:
    manifest, out = _run(files.jpeg_zip_polyglot())

    assert manifest.status == "clean"
    assert b"PK\x03\x04" not in out
    assert b"polyglot" not in out


def test_jpeg_html_comment_output_carries_no_html() -> None:
    manifest, out = _run(files.jpeg_with_html_comment())

    assert manifest.status == "clean"
    assert b"<script" not in out
    assert b"<html" not in out


def test_png_with_100_one_megabyte_text_chunks_is_decided(tmp_path: Path) -> None:
    source = files.png_with_text_chunks(tmp_path / "chunks.png")
    require_stripper(source.read_bytes()[:64])

    manifest = sanitize(source, tmp_path / "out.png")

    assert manifest.status in ("clean", "rejected")
    if manifest.status == "clean":
        assert (tmp_path / "out.png").stat().st_size < 10_000


def test_mp3_with_50_megabyte_picture_is_decided_without_reading_it_into_memory(
    tmp_path: Path,
) -> None:
    source = files.mp3_with_big_picture(tmp_path / "big-cover.mp3")
    require_stripper(source.read_bytes()[:64])

    manifest = sanitize(source, tmp_path / "out.mp3")

    assert manifest.status in ("clean", "rejected")
    if manifest.status == "clean":
        assert (tmp_path / "out.mp3").stat().st_size < 10_000


def test_gps_in_exif_thumbnail_and_main_image_leaves_no_gps(tmp_path: Path) -> None:
    sample = require_shared_samples() / "files" / "jpeg_thumbnail_has_gps.jpg"
    exiftool = require_tool("exiftool")

    manifest = sanitize(sample, tmp_path / "out.jpg")

    assert manifest.status == "clean"
    assert exiftool_findings(tmp_path / "out.jpg", exiftool) == []
    tags = subprocess.run(
        [exiftool, "-a", "-u", "-G1", "-ee", str(tmp_path / "out.jpg")],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert [line for line in tags.splitlines() if "GPS" in line or "Thumbnail" in line] == []
