"""What a container module reports while it strips one file."""

from __future__ import annotations

import dataclasses

from .manifest import Format, MediaKind, RemovedItem
from .sniff import Family


@dataclasses.dataclass
class StripContext:
    # The sniffed family ("jpeg", "isobmff", ...); a module may refine it ("mov", "heic").
    format: Format
    media_kind: MediaKind | None = None
    removed: list[RemovedItem] = dataclasses.field(default_factory=list)
    # True only when every coded byte (pixels, frames, samples) was copied unchanged.
    lossless: bool = False
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    orientation: int | None = None
    capture_time: str | None = None

    def remove(self, what: str, where: str) -> None:
        self.removed.append(RemovedItem(what=what, where=where))


class HandOff(Exception):
    """Raised by a stripper, before it writes anything, when the file is another family's.

    An ID3 tag in front of FLAC makes the file sniff as MP3; the MP3 stripper hands it to the
    FLAC stripper, which runs on the same context, and the FLAC verifier judges the output.
    """

    def __init__(self, family: Family) -> None:
        super().__init__(family)
        self.family: Family = family
