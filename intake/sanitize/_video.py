"""Which reader cleans a coded video sample: H.264/HEVC SEI (_sei), AV1 OBUs (_obu),
MPEG-4 Part 2 user data (_m4v). Every one rewrites a sample at its own size, so the
containers (isobmff/sei.py, matroska.py) only write the replacement where the sample was."""

from __future__ import annotations

from typing import Literal

from . import _m4v, _obu, _sei

Codec = Literal["avc", "hevc", "av1", "mp4v"]


def scan_sample(
    codec: Codec, length_size: int, read: _sei.ReadAt, start: int, size: int
) -> tuple[bytes | None, list[str]]:
    """(same-size replacement of the sample at ``start``, or None; names of what went).

    ``length_size`` is the NAL length size of H.264/HEVC; other codecs ignore it."""
    if codec == "av1":
        return _obu.scan_sample(read, start, size)
    if codec == "mp4v":
        return _m4v.scan_sample(read, start, size)
    replacement, types = _sei.scan_sample(codec, length_size, read, start, size)
    return replacement, [_sei.removed_label([t]) for t in types]


def label(names: list[str] | set[str]) -> str:
    return ", ".join(sorted(set(names)))
