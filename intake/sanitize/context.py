"""What a container module reports while it strips one file."""

from __future__ import annotations

import dataclasses

from .manifest import MediaKind, RemovedItem


@dataclasses.dataclass
class StripContext:
    # The sniffed family ("jpeg", "isobmff", ...); a module may refine it ("mov", "heic").
    format: str
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
