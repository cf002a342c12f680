"""Which independent reader checks a coded video run: H.264/HEVC (_nal), AV1 (_obu) or
MPEG-4 Part 2 (_m4v)."""

from __future__ import annotations

from collections.abc import Callable

from . import _m4v, _nal, _obu

# (codec: "avc", "hevc", "av1" or "mp4v"; NAL length size, 0 when there is none)
Framing = tuple[str, int]


def run_findings(
    framing: Framing, read: Callable[[int, int], bytes], start: int, size: int
) -> list[str]:
    """Findings for the samples filling [start, start + size)."""
    codec, length_size = framing
    if codec == "av1":
        return _obu.obu_findings(read, start, size)
    if codec == "mp4v":
        return _m4v.mpeg4_findings(read(start, size))
    return _nal.stream_findings(codec == "hevc", length_size, read, start, size)
