"""The record of one sanitizer run: what came in, what went out, what was removed."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from .sniff import Family

Status = Literal["clean", "rejected"]
MediaKind = Literal["image", "video", "audio"]
# What a manifest calls the file: its sniffed family, refined by the stripper where a family
# holds several formats, or "unknown" when no family matched. The one list of them.
Format = Literal[
    Family,
    "apng",  # png
    "heic",  # isobmff
    "avif",
    "mp4",
    "mov",
    "3gp",
    "m4v",
    "m4a",
    "webm",  # matroska
    "mkv",
    "opus",  # ogg
    "unknown",
]


@dataclasses.dataclass(frozen=True)
class RemovedItem:
    """One piece of metadata taken out of the file.

    ``what`` names the kind of item (``"EXIF"``, ``"XMP"``, ``"udta"``, ``"ID3v2"``);
    ``where`` says where it sat (``"APP1@2"``, ``"moov/udta"``, ``"track 3 (gpmd)"``).
    Values are never recorded: the manifest itself must not carry location.
    """

    what: str
    where: str


@dataclasses.dataclass
class Manifest:
    format: Format
    status: Status
    reason: str = ""
    media_kind: MediaKind | None = None
    removed: list[RemovedItem] = dataclasses.field(default_factory=list)
    sha256_in: str = ""
    sha256_out: str = ""
    size_in: int = 0
    size_out: int = 0
    lossless: bool = False
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    orientation: int | None = None
    # ISO 8601 text as the file stated it; evidence kept here, removed from the file.
    capture_time: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
