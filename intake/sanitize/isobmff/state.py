"""What one ISO base media strip run collects: tracks, kept and removed byte ranges, times."""

from __future__ import annotations

import heapq
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field

from .. import errors
from .._video import Codec
from ..context import StripContext
from ..errors import Rejected

# Sample ranges kept in memory (16 bytes each) before a file counts as too large; a track
# whose chunks are out of file order is sorted, which costs far more per range.
MAX_RANGES = 2_000_000

MAX_UNSORTED_RANGES = 250_000


class Ranges:
    """Byte ranges [start, end) of kept media, one sorted-or-not source at a time."""

    def __init__(self) -> None:
        self.sources: list[tuple[array[int], array[int]]] = []
        self.count = 0

    def new_source(self) -> tuple[array[int], array[int]]:
        pair = (array("q"), array("q"))
        self.sources.append(pair)
        return pair

    def add(self, pair: tuple[array[int], array[int]], start: int, end: int) -> None:
        if end <= start:
            return
        starts, ends = pair
        if starts and ends[-1] == start:
            ends[-1] = end  # contiguous with the previous range: merge
            return
        self.count += 1
        if self.count > MAX_RANGES:
            raise Rejected(errors.TOO_LARGE, "too many sample ranges")
        starts.append(start)
        ends.append(end)

    def merged(self) -> tuple[array[int], array[int]]:
        """All ranges sorted with overlaps and neighbours merged."""
        iterators: list[Iterator[tuple[int, int]]] = []
        for starts, ends in self.sources:
            if any(starts[i] > starts[i + 1] for i in range(len(starts) - 1)):
                if len(starts) > MAX_UNSORTED_RANGES:
                    raise Rejected(errors.TOO_LARGE, "too many chunks out of order")
                order = sorted(range(len(starts)), key=starts.__getitem__)
                iterators.append(iter([(starts[i], ends[i]) for i in order]))
            else:
                iterators.append(zip(starts, ends, strict=True))
        out_s: array[int] = array("q")
        out_e: array[int] = array("q")
        for start, end in heapq.merge(*iterators):
            if out_s and start <= out_e[-1]:
                out_e[-1] = max(out_e[-1], end)
            else:
                out_s.append(start)
                out_e.append(end)
        return out_s, out_e


@dataclass
class Track:
    track_id: int
    handler: bytes
    kept: bool


@dataclass(slots=True)
class TopBox:
    type: bytes
    start: int
    hdr: int
    end: int
    action: str  # "copy", "zero", "mdat", "moov", "moof", "mfra", "meta"


@dataclass
class State:
    ctx: StripContext
    size: int
    major: bytes = b""
    image_brand: bool = False
    tracks: dict[int, Track] = field(default_factory=dict)
    trex_sample_size: dict[int, int] = field(default_factory=dict)
    dropped_media: bool = False
    had_video: bool = False
    ranges: Ranges = field(default_factory=Ranges)
    # Bytes of removed tracks and items; kept media must not overlap them.
    removed_ranges: Ranges = field(default_factory=Ranges)
    header_times: list[int] = field(default_factory=list)
    stated_time: str | None = None
    stated_priority: int = 0
    removed_seen: set[tuple[str, str]] = field(default_factory=set)
    has_heif_meta: bool = False
    primary_type: bytes = b""
    track_width: int | None = None
    track_height: int | None = None
    track_orientation: int | None = None
    # H.264/HEVC/AV1/MPEG-4 Part 2 tracks: (codec, NAL length size, 0 for AV1 and MPEG-4)
    # and every sample's (starts, sizes).
    nal_tracks: dict[int, tuple[Codec, int]] = field(default_factory=dict)
    nal_samples: dict[int, tuple[array[int], array[int]]] = field(default_factory=dict)
    # Kept AV1 image items in mdat: (start, size), cleaned like AV1 samples.
    av1_items: list[tuple[int, int]] = field(default_factory=list)
    moof_ranges: tuple[array[int], array[int]] | None = None
    moof_removed: tuple[array[int], array[int]] | None = None

    def remove(self, what: str, where: str) -> None:
        if (what, where) not in self.removed_seen:
            self.removed_seen.add((what, where))
            self.ctx.remove(what, where)

    def kept_ids(self) -> set[int]:
        return {t.track_id for t in self.tracks.values() if t.kept}
