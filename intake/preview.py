"""Decode a sanitized file once, in a child process with resource limits: its preview, and
for an image its near-duplicate hash.

Usage: python -m intake.preview KIND SRC DST MAX_PIXELS   (KIND: image or video)
Writes the preview JPEG to DST and prints {"dhash": "..."} (empty for video) on stdout.
Exit status 3: more pixels to decode than MAX_PIXELS, nothing decoded.

   or: python -m intake.preview serve CPU_S
Serves many files, one after the other (intake/preview_child.py starts and feeds it): one
JSON request a line on stdin, {"kind", "src", "dst", "max_pixels"}, one JSON answer a
line on stdout, {"dhash": "..."} or {"error": "too_many_pixels" | an exception's name}.
Ends at EOF. Each file may use CPU_S seconds of CPU time (see serve()).

Every pixel decode of the pipeline happens here, apart from the worker, so a decoder bug,
a decompression bomb or a small file declaring 9999 x 9999 pixels costs only this process:
address space and CPU time are capped by the parent (intake/pipeline.py preview_make),
Pillow opens only an allowlist of formats, and the pixel count is checked from the header
before anything is decoded. No Django here.
"""

from __future__ import annotations

import functools
import json
import math
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, TextIO

from PIL import Image, ImageOps, features

from reports.dhash import dhash_image

PREVIEW_SIZE = (480, 480)
PILLOW_FORMATS = ["JPEG", "PNG", "GIF", "WEBP", "TIFF"]
FFMPEG_TIMEOUT_S = 60
EXIT_TOO_MANY_PIXELS = 3


class TooManyPixels(Exception):
    pass


@functools.cache
def _formats() -> list[str]:
    """The formats Pillow may open here (registered once per process)."""
    formats = list(PILLOW_FORMATS)
    if features.check_module("avif"):
        formats.append("AVIF")
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        formats.append("HEIF")
    except ImportError:  # HEIF previews are optional
        pass
    return formats


def image_preview(src: Path, dst: Path, max_pixels: int) -> str:
    """Write the preview of image ``src`` to ``dst``; return its dhash."""
    # Pillow's own bomb check, a second line behind the one below.
    Image.MAX_IMAGE_PIXELS = max_pixels
    with Image.open(src, formats=_formats()) as image:
        image.seek(0)
        preview_draft(image)
        width, height = image.size
        if width * height > max_pixels:
            raise TooManyPixels(f"{width} x {height}")
        image.thumbnail(PREVIEW_SIZE)  # the one decode, then reduced
        # From the stored orientation, as photos of one scene compare best unturned.
        image_hash = dhash_image(image)
        oriented = ImageOps.exif_transpose(image)
        oriented.convert("RGB").save(dst, "JPEG", quality=80)
    return image_hash


def preview_draft(image: Image.Image) -> None:
    """Ask a JPEG to decode at the smallest of 1/2 to 1/8 of its size that still covers the
    preview (other formats decode whole, the header saying how much; HEIF's draft may pick
    an embedded thumbnail, and none survives the sanitizer). Asked for the size
    the preview will have, not the square box it fits in: for a 4032 x 3024 photo that is
    480 x 360, which 1/8 (504 x 378) covers, where 480 x 480 needs 1/4 (1008 x 756)."""
    image.draft("RGB", _fit_covering(image.size, PREVIEW_SIZE))


def _fit_covering(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """``size`` scaled to fit ``box`` with its aspect kept, rounded up, so that no smaller
    than what Image.thumbnail(box) makes (it rounds either way)."""
    width, height = size
    box_width, box_height = box
    if width <= box_width and height <= box_height:
        return size
    if width * box_height >= height * box_width:  # wider than the box: its width binds
        return box_width, -(-height * box_width // width)
    return -(-width * box_height // height), box_height


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
        stdout=subprocess.DEVNULL,  # the served answers go there
    )  # fmt: skip


def serve(cpu_per_file: int, requests: TextIO, answers: TextIO) -> None:
    """Answer each request line until EOF.

    CPU time: RLIMIT_CPU counts a process's whole life, so a long-lived child under the
    one-file cap would be killed by the sum of ordinary files. Before each file its soft
    limit is set to the time used so far plus ``cpu_per_file``: each file gets the same
    cap as when every file had a child of its own (SIGXCPU kills the child past it). The
    hard limit, set by the parent and out of reach here, bounds the child's whole life;
    the parent also recycles the child after a number of files and kills it when one
    file takes longer than its wall-time limit (which holds even if a decoder exploit
    raised the soft limit)."""
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    for line in iter(requests.readline, ""):
        used = resource.getrusage(resource.RUSAGE_SELF)
        soft = math.ceil(used.ru_utime + used.ru_stime) + cpu_per_file
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
        answer: dict[str, Any]
        try:
            request = json.loads(line)
            answer = {"dhash": _serve_one(request)}
        except TooManyPixels:
            answer = {"error": "too_many_pixels"}
        except MemoryError:
            # Past the address-space cap: answer, then leave, so the next file gets a
            # fresh process rather than one whose heap may be left in disorder.
            answers.write(json.dumps({"error": "MemoryError"}) + "\n")
            answers.flush()
            raise SystemExit(1) from None
        except Exception as exc:  # a bad file costs this file only
            answer = {"error": type(exc).__name__}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


def _serve_one(request: dict[str, Any]) -> str:
    src, dst = Path(request["src"]), Path(request["dst"])
    if request["kind"] == "image":
        return image_preview(src, dst, int(request["max_pixels"]))
    if request["kind"] == "video":
        video_poster(src, dst)
        return ""
    raise ValueError(request["kind"])


def main(argv: list[str]) -> int:
    if argv[0] == "serve":
        # Answers get a descriptor of their own; anything else printing (a library, a
        # tool started from here) goes to stderr instead of into the protocol.
        answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
        os.dup2(2, 1)
        serve(int(argv[1]), sys.stdin, answers)
        return 0
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
