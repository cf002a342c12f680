"""Make a small preview of a sanitized file, run as a child process with resource limits.

Usage: python -m intake.preview KIND SRC DST   (KIND: image or video)

Runs apart from the worker so a decoder bug or a decompression bomb costs only this
process: address space and CPU time are capped by the parent (see intake.services), and
Pillow opens only an allowlist of formats. No Django here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageOps, features

PREVIEW_SIZE = (480, 480)
PILLOW_FORMATS = ["JPEG", "PNG", "GIF", "WEBP", "TIFF"]
MAX_PIXELS = 100_000_000
FFMPEG_TIMEOUT_S = 60


def image_preview(src: Path, dst: Path) -> None:
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    formats = list(PILLOW_FORMATS)
    if features.check_module("avif"):
        formats.append("AVIF")
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        formats.append("HEIF")
    except ImportError:  # HEIF previews are optional
        pass
    with Image.open(src, formats=formats) as image:
        image.seek(0)
        oriented = ImageOps.exif_transpose(image)
        oriented.thumbnail(PREVIEW_SIZE)
        oriented.convert("RGB").save(dst, "JPEG", quality=80)


def video_poster(src: Path, dst: Path) -> None:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("ffmpeg not installed")
    subprocess.run(
        [
            ffmpeg, "-nostdin", "-loglevel", "error", "-i", str(src),
            "-frames:v", "1", "-vf", "scale='min(480,iw)':-2",
            "-map_metadata", "-1", "-bitexact", "-f", "image2", "-c:v", "mjpeg", "-y", str(dst),
        ],
        check=True,
        timeout=FFMPEG_TIMEOUT_S,
    )  # fmt: skip


def main(argv: list[str]) -> int:
    kind, src, dst = argv
    if kind == "image":
        image_preview(Path(src), Path(dst))
    elif kind == "video":
        video_poster(Path(src), Path(dst))
    else:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
