"""Independent WebP reader for sanitized output.

Accepts a simple file (one VP8 or VP8L chunk and nothing else) or an extended one: VP8X whose
flags match the chunks present (never XMP), then ICCP, ANIM, ANMF frames holding only ALPH/VP8/
VP8L, ALPH, VP8, VP8L, and at most one EXIF holding Orientation alone. The RIFF size must be
the file size; pad bytes must be zero.
"""

from __future__ import annotations

from typing import BinaryIO

from ._exif import minimal_orientation_exif_findings
from ._icc import icc_findings

_BITSTREAM = (b"VP8 ", b"VP8L", b"ALPH")
_TOP_LEVEL = (b"ICCP", b"ANIM", b"ANMF", b"EXIF", *_BITSTREAM)


def verify(f: BinaryIO) -> list[str]:
    f.seek(0, 2)
    size = f.tell()
    f.seek(0)
    head = f.read(12)
    if len(head) != 12 or head[:4] != b"RIFF" or head[8:] != b"WEBP":
        return ["no RIFF/WEBP header"]
    findings: list[str] = []
    if int.from_bytes(head[4:8], "little") + 8 != size:
        findings.append("RIFF size is not the file size")
    chunks = _list_chunks(f, 12, size, findings)
    if not chunks:
        return [*findings, "no chunks"]
    kinds = [kind for kind, _, _ in chunks]
    if kinds[0] in (b"VP8 ", b"VP8L"):
        if len(kinds) > 1:
            findings.append(f"simple WebP carries extra chunks {kinds[1:]!r}")
        return findings
    if kinds[0] != b"VP8X" or chunks[0][2] != 10:
        return [*findings, "first chunk is neither an image nor a 10-byte VP8X"]
    f.seek(chunks[0][1])
    flags = f.read(4)
    if flags[0] & 0xC1 or flags[1:] != b"\x00\x00\x00":
        findings.append("VP8X reserved bits set")
    if flags[0] & 0x04:
        findings.append("VP8X announces XMP")
    for bit, kind in ((0x20, b"ICCP"), (0x08, b"EXIF"), (0x02, b"ANIM")):
        if bool(flags[0] & bit) != (kind in kinds):
            findings.append(f"VP8X flag for {kind!r} does not match the chunks")
    if kinds.count(b"EXIF") > 1 or kinds.count(b"ICCP") > 1 or kinds.count(b"VP8X") > 1:
        findings.append("repeated EXIF, ICCP or VP8X")
    for kind, start, length in chunks[1:]:
        if kind not in _TOP_LEVEL:
            findings.append(f"chunk {kind!r} not allowed at {start - 8}")
        elif kind == b"ICCP":
            f.seek(start)
            findings += [f"ICCP chunk: {x}" for x in icc_findings(f.read(min(length, 16 << 20)))]
        elif kind == b"EXIF":
            f.seek(start)
            blob = f.read(min(length, 64))
            findings += [f"EXIF chunk: {x}" for x in minimal_orientation_exif_findings(blob)]
        elif kind == b"ANMF":
            if length < 16:
                findings.append(f"short ANMF at {start - 8}")
                continue
            for inner, at, _ in _list_chunks(f, start + 16, start + length, findings):
                if inner not in _BITSTREAM:
                    findings.append(f"chunk {inner!r} inside ANMF at {at - 8}")
    return findings


def _list_chunks(
    f: BinaryIO, start: int, end: int, findings: list[str]
) -> list[tuple[bytes, int, int]]:
    """(fourcc, payload offset, payload length) of the chunks filling ``[start, end)`` exactly."""
    found = []
    position = start
    while position < end:
        f.seek(position)
        header = f.read(8)
        if len(header) != 8 or position + 8 > end:
            findings.append(f"truncated chunk header at {position}")
            break
        length = int.from_bytes(header[4:], "little")
        padded = length + (length & 1)
        if position + 8 + padded > end:
            findings.append(f"chunk at {position} runs past its container")
            break
        if length & 1:
            f.seek(position + 8 + length)
            if f.read(1) != b"\x00":
                findings.append(f"non-zero pad byte after chunk at {position}")
        found.append((header[:4], position + 8, length))
        position += 8 + padded
    return found
