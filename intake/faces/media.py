"""Reading and writing the copies: photos with Pillow, video and audio with ffmpeg.

Sized for the web: photos at most PHOTO_MAX_SIDE on their longer side, JPEG; videos at
most VIDEO_MAX_SIDE, H.264 (yuv420p) and AAC in MP4 with +faststart so a browser plays
while it downloads. Nothing from the source's metadata is copied (-map_metadata -1); the
Django side still runs the result through the sanitizer before storing it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import subprocess
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

RGB = npt.NDArray[np.uint8]

PHOTO_MAX_SIDE = 2048
VIDEO_MAX_SIDE = 1280
JPEG_QUALITY = 88
X264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"]
AAC = ["-c:a", "aac", "-b:a", "128k"]
# Pitch and formants lowered together (rubberband), then a swept delay (flanger), so a
# voice is neither the witness's own nor a plain pitch shift one inverse shift would
# undo. Not vibrato: in ffmpeg 5.1 it emits NaN samples on some tracks and the AAC
# encoder stops ("Input contains (near) NaN/+-Inf").
VOICE_FILTER = "rubberband=pitch=0.78:formant=shifted,flanger"
VOICE_FILTER_FALLBACK = "aresample=44100,asetrate=44100*0.78,aresample=44100,atempo=1.282,flanger"
PROBE_TIMEOUT_S = 30


class MediaError(Exception):
    """The file cannot be read as a photo, video or audio file."""


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise MediaError(f"{name} is not installed")
    return found


def load_photo(src: Path, *, max_pixels: int = 100_000_000) -> RGB:
    """The photo, upright, RGB, reduced to PHOTO_MAX_SIDE."""
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with Image.open(src, formats=["JPEG", "PNG", "GIF", "WEBP", "TIFF"]) as image:
            image.seek(0)
            image.draft("RGB", (PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
            upright = ImageOps.exif_transpose(image).convert("RGB")
    except (OSError, Image.DecompressionBombError) as error:
        raise MediaError(str(error)) from error
    upright.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE), Image.Resampling.LANCZOS)
    return np.asarray(upright, dtype=np.uint8).copy()


def save_jpeg(rgb: RGB, dst: Path | IO[bytes], quality: int = JPEG_QUALITY) -> None:
    Image.fromarray(rgb).save(dst, "JPEG", quality=quality, optimize=True)


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    width: int  # after rotation and web sizing
    height: int
    fps: Fraction
    frame_count: int
    has_audio: bool
    has_video: bool


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def probe(src: Path) -> VideoInfo:
    result = subprocess.run(
        [
            tool("ffprobe"), "-v", "error", "-print_format", "json",
            "-show_streams", "-show_format", str(src),
        ],
        capture_output=True, check=False, timeout=PROBE_TIMEOUT_S,
    )  # fmt: skip
    if result.returncode != 0:
        raise MediaError(result.stderr.decode(errors="replace")[-300:])
    data = json.loads(result.stdout)
    streams = data.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    has_audio = any(s.get("codec_type") == "audio" for s in streams)
    if video is None:
        return VideoInfo(0, 0, Fraction(0), 0, has_audio, False)
    width, height = int(video["width"]), int(video["height"])
    rotation = 0
    for side in video.get("side_data_list", []):
        rotation = int(side.get("rotation", rotation))
    rotation = int(video.get("tags", {}).get("rotate", rotation))
    if abs(rotation) % 180 == 90:
        width, height = height, width
    fps = Fraction(video.get("avg_frame_rate") or video.get("r_frame_rate") or "30/1")
    if fps <= 0 or fps > 120:
        fps = Fraction(30)
    duration = float(video.get("duration") or data.get("format", {}).get("duration") or 0)
    scale = min(1.0, VIDEO_MAX_SIDE / max(width, height))
    return VideoInfo(
        width=_even(width * scale),
        height=_even(height * scale),
        fps=fps.limit_denominator(1001),
        frame_count=max(1, math.ceil(duration * fps)),
        has_audio=has_audio,
        has_video=True,
    )


def read_frames(src: Path, info: VideoInfo) -> Iterator[RGB]:
    """Every frame, upright, at the web size, at a constant rate: the same frames, in the
    same order, each time it is called (detection and rendering count frames alike)."""
    command = [
        tool("ffmpeg"), "-nostdin", "-loglevel", "error", "-i", str(src), "-map", "0:v:0",
        "-vf", f"fps={info.fps},scale={info.width}:{info.height}:flags=area",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:",
    ]  # fmt: skip
    frame_bytes = info.width * info.height * 3
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as decoder:
        assert decoder.stdout is not None
        try:
            while True:
                chunk = decoder.stdout.read(frame_bytes)
                if len(chunk) < frame_bytes:
                    break
                yield np.frombuffer(chunk, dtype=np.uint8).reshape(info.height, info.width, 3)
        finally:
            decoder.kill()
            decoder.wait()


def voice_filter() -> str:
    result = subprocess.run(
        [tool("ffmpeg"), "-hide_banner", "-filters"], capture_output=True, check=False
    )
    return VOICE_FILTER if b" rubberband " in result.stdout else VOICE_FILTER_FALLBACK


def start_encoder(src: Path, dst: Path, info: VideoInfo, *, voice: bool) -> subprocess.Popen[bytes]:
    """An ffmpeg reading raw RGB frames on stdin and the audio from ``src``."""
    audio: list[str] = []
    if info.has_audio:
        audio = ["-map", "1:a:0", *AAC, *(["-af", voice_filter()] if voice else [])]
    command = [
        tool("ffmpeg"), "-nostdin", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{info.width}x{info.height}",
        "-r", str(info.fps), "-i", "pipe:", "-i", str(src),
        "-map", "0:v:0", *X264, *audio,
        "-map_metadata", "-1", "-map_chapters", "-1", "-movflags", "+faststart",
        "-f", "mp4", str(dst),
    ]  # fmt: skip
    return subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)


def render_audio(src: Path, dst: Path, *, voice: bool, timeout_s: float = 600) -> None:
    """An audio-only copy, AAC in MP4 (.m4a), voices distorted when asked."""
    command = [
        tool("ffmpeg"), "-nostdin", "-loglevel", "error", "-y", "-i", str(src),
        "-map", "0:a:0", "-vn", *AAC, *(["-af", voice_filter()] if voice else []),
        "-map_metadata", "-1", "-movflags", "+faststart", "-f", "mp4", str(dst),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, check=False, timeout=timeout_s)
    if result.returncode != 0:
        raise MediaError(result.stderr.decode(errors="replace")[-300:])
