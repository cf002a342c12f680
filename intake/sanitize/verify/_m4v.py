"""Independent check of MPEG-4 Part 2 video in a sanitized file: no user data but encoder
tags, no start code outside the visual object, VOL, GOV and VOP headers.

Written apart from the stripper's _m4v module (it does not import it). A run (a chunk, a
fragment run, a Matroska frame, a DecoderSpecificInfo) must begin with a start code; each
user data payload must be spaces (blanked) or exactly one encoder tag that decoders read to
pick their bug workarounds (XviD, DivX, libavcodec builds).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_CODES_OK = {*range(0x30), 0xB0, 0xB1, 0xB2, 0xB3, 0xB5, 0xB6}
_TAGS = (
    re.compile(rb"XviD[0-9]{1,6}"),
    re.compile(rb"DivX[0-9]{1,4}(Build|b)[0-9]{1,6}p?"),
    re.compile(rb"Lavc[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}"),
    re.compile(rb"FFmpeg v[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3} / libavcodec build: [0-9]{1,7}"),
    re.compile(rb"FFmpeg([0-9]{1,3}\.[0-9]{1,3}(\.[0-9]{1,3})?(-pre[0-9])?|CVS)b[0-9]{1,7}"),
    re.compile(rb"ffmpeg"),
)


def mpeg4_findings(data: bytes) -> list[str]:
    """Findings for an MPEG-4 Part 2 run (samples or decoder configuration)."""
    if not data:
        return []
    if data[:3] != b"\x00\x00\x01":
        return ["MPEG-4 video data does not begin with a start code"]
    out: list[str] = []
    starts = [m.start() for m in re.finditer(b"\x00\x00\x01", data)]
    for here, after in zip(starts, [*starts[1:], len(data)], strict=True):
        code = data[here + 3] if here + 3 < len(data) else -1
        if code not in _CODES_OK:
            out.append(f"MPEG-4 start code {code:#x} kept")
        elif code == 0xB2:
            text = data[here + 4 : after].rstrip(b"\x00")
            if text.strip(b" ") and not any(tag.fullmatch(text) for tag in _TAGS):
                out.append("MPEG-4 user data that is not an encoder tag kept")
    return out


def _descriptors(body: bytes, at: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(tag, data start, data end) of the MPEG-4 descriptors in body[at:end]."""
    while at + 2 <= end:
        tag, size, at = body[at], 0, at + 1
        for _ in range(4):
            byte, at = body[at], at + 1
            size = size << 7 | (byte & 0x7F)
            if byte < 0x80 or at >= end:
                break
        yield tag, at, min(at + size, end)
        at += size


def esds_findings(body: bytes) -> list[str]:
    """Findings for an mp4v sample entry's esds box body (version and flags first)."""
    out: list[str] = []
    seen = False
    for tag, lo, hi in _descriptors(body, 4, len(body)):
        if tag != 3 or lo + 3 > hi:
            continue
        flags = body[lo + 2]
        if flags & 0x40:
            out.append("esds ES descriptor carries a URL")
        inner = lo + 3 + (2 if flags & 0x80 else 0) + (2 if flags & 0x20 else 0)
        for tag2, lo2, hi2 in _descriptors(body, inner, hi):
            if tag2 != 4 or lo2 + 13 > hi2:
                continue
            seen = True
            if body[lo2] != 0x20:
                out.append("mp4v esds object type is not MPEG-4 Visual")
            for tag3, lo3, hi3 in _descriptors(body, lo2 + 13, hi2):
                if tag3 == 5:
                    out += mpeg4_findings(body[lo3:hi3])
    return out if seen else [*out, "esds without a decoder configuration"]
