"""Decode a sanitized file once, in a child process with resource limits: its preview, and
for an image its near-duplicate hash.

Usage: python -m intake.preview KIND SRC DST MAX_PIXELS   (KIND: image or video)
Writes the preview JPEG to DST and prints {"dhash": "..."} (empty for video) on stdout.
Exit status 3: more pixels to decode than MAX_PIXELS, nothing decoded.

Every pixel decode of the pipeline happens here, apart from the worker, so a decoder bug,
a decompression bomb or a small file declaring 9999 x 9999 pixels costs only this process:
address space and CPU time are capped by the parent (intake/pipeline.py preview_make),
Pillow opens only an allowlist of formats, and the pixel count is checked from the header
before anything is decoded. No Django here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageOps, features

from reports.dhash import dhash_image

PREVIEW_SIZE = (480, 480)
PILLOW_FORMATS = ["JPEG", "PNG", "GIF", "WEBP", "TIFF"]
FFMPEG_TIMEOUT_S = 60
EXIT_TOO_MANY_PIXELS = 3


class TooManyPixels(Exception):
    pass


def image_preview(src: Path, dst: Path, max_pixels: int) -> str:
    """Write the preview of image ``src`` to ``dst``; return its dhash."""
    # Pillow's own bomb check, a second line behind the one below.
    Image.MAX_IMAGE_PIXELS = max_pixels
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
        # A JPEG decodes at 1/2 to 1/8 of its size when asked, so only what the preview
        # needs is decoded; other formats decode whole, and the header says how much.
        image.draft("RGB", PREVIEW_SIZE)
        width, height = image.size
        if width * height > max_pixels:
            raise TooManyPixels(f"{width} x {height}")
        image.thumbnail(PREVIEW_SIZE)  # the one decode, then reduced
        # From the stored orientation, as photos of one scene compare best unturned.
        image_hash = dhash_image(image)
        oriented = ImageOps.exif_transpose(image)
        oriented.convert("RGB").save(dst, "JPEG", quality=80)
    return image_hash


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
    kind, src, dst, max_pixels = argv
    image_hash = ""
    if kind == "image":
        try:
            image_hash = image_preview(Path(src), Path(dst), int(max_pixels))
        except TooManyPixels as refused:
            print(f"too many pixels: {refused}", file=sys.stderr)
            return EXIT_TOO_MANY_PIXELS
    elif kind == "video":
        video_poster(Path(src), Path(dst))
    else:
        return 2
    print(json.dumps({"dhash": image_hash}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
