"""The media formats Testigo keeps, by the name the sanitizer gives them: the stored
file's extension, the content type it is served with, and the kind of media that type
names. The worker names stored files from it; staff views and the partner API serve
from it. (A given file's own kind is the sanitizer's finding, e.g. a WebM with only
sound is audio; here, kind is what the content type says.)
"""

from __future__ import annotations

import dataclasses
from typing import Literal

MediaKind = Literal["image", "video", "audio"]


@dataclasses.dataclass(frozen=True)
class MediaFormat:
    extension: str
    content_type: str
    kind: MediaKind


FORMATS: dict[str, MediaFormat] = {
    "jpeg": MediaFormat(".jpg", "image/jpeg", "image"),
    "png": MediaFormat(".png", "image/png", "image"),
    "apng": MediaFormat(".png", "image/apng", "image"),
    "gif": MediaFormat(".gif", "image/gif", "image"),
    "webp": MediaFormat(".webp", "image/webp", "image"),
    "tiff": MediaFormat(".tif", "image/tiff", "image"),
    "heic": MediaFormat(".heic", "image/heic", "image"),
    "avif": MediaFormat(".avif", "image/avif", "image"),
    "mp4": MediaFormat(".mp4", "video/mp4", "video"),
    "m4v": MediaFormat(".m4v", "video/mp4", "video"),
    "mov": MediaFormat(".mov", "video/quicktime", "video"),
    "3gp": MediaFormat(".3gp", "video/3gpp", "video"),
    "webm": MediaFormat(".webm", "video/webm", "video"),
    "mkv": MediaFormat(".mkv", "video/x-matroska", "video"),
    "m4a": MediaFormat(".m4a", "audio/mp4", "audio"),
    "mp3": MediaFormat(".mp3", "audio/mpeg", "audio"),
    "ogg": MediaFormat(".ogg", "audio/ogg", "audio"),
    "opus": MediaFormat(".opus", "audio/ogg", "audio"),
    "flac": MediaFormat(".flac", "audio/flac", "audio"),
    "wav": MediaFormat(".wav", "audio/wav", "audio"),
    "amr": MediaFormat(".amr", "audio/amr", "audio"),
}

# Views of the table for lookups with a default: a format not in it is stored without
# an extension and served as plain bytes (application/octet-stream).
EXTENSIONS: dict[str, str] = {name: fmt.extension for name, fmt in FORMATS.items()}
CONTENT_TYPES: dict[str, str] = {name: fmt.content_type for name, fmt in FORMATS.items()}
