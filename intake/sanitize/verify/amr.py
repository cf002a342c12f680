"""Independent re-read of a sanitized AMR / AMR-WB file: magic, then whole frames to EOF."""

from __future__ import annotations

import re
from typing import BinaryIO

# Payload bits per frame type (3GPP TS 26.101 / 26.201); -1 = type not allowed here.
_NB_BITS = [95, 103, 118, 134, 148, 159, 204, 244, 39, -1, -1, -1, -1, -1, -1, 0]
_WB_BITS = [132, 177, 253, 285, 317, 365, 397, 461, 477, 40, -1, -1, -1, -1, 0, 0]
_READ = 1 << 20
# One-byte frames have no payload; long runs of them are passed over with a regex.
_ONE_BYTE = {
    "nb": re.compile(rb"[\x78\x7c]+"),
    "wb": re.compile(rb"[\x70\x74\x78\x7c]+"),
}


def verify(f: BinaryIO) -> list[str]:
    head = f.read(9)
    if head == b"#!AMR-WB\n":
        bits, one_byte = _WB_BITS, _ONE_BYTE["wb"]
    elif head[:6] == b"#!AMR\n":
        bits, one_byte = _NB_BITS, _ONE_BYTE["nb"]
        f.seek(6)
    else:
        return ["not an AMR file"]
    offset = f.tell()
    pending = b""
    frames = 0
    while True:
        data = f.read(_READ)
        if not data:
            break
        pending += data
        i = 0
        while i < len(pending):
            skip = one_byte.match(pending, i)
            if skip:
                frames += skip.end() - i
                i = skip.end()
                continue
            toc = pending[i]
            payload_bits = bits[(toc >> 3) & 15]
            if toc & 0x80 or toc & 0x03 or payload_bits < 0:
                return [f"invalid AMR frame header at {offset + i}"]
            frame = 1 + (payload_bits + 7) // 8
            if i + frame > len(pending):
                break
            i += frame
            frames += 1
        offset += i
        pending = pending[i:]
    if pending:
        return [f"partial AMR frame at {offset}"]
    if frames == 0:
        return ["no AMR frames"]
    return []
