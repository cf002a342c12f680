"""Independent PNG reader for sanitized output.

Accepts only the chunks that define pixels, colour and animation, each with a valid CRC and
the size its specification fixes; an eXIf only when it holds Orientation alone and comes
before the image data; IEND at the very end of the file.
"""

from __future__ import annotations

import zlib
from typing import BinaryIO

from ._exif import minimal_orientation_exif_findings
from ._icc import icc_findings

# 256 KiB reads: larger blocks make the allocator re-fault fresh pages for each one.
_READ_SIZE = 256 << 10
_ALLOWED = {
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"iCCP", b"sRGB", b"gAMA", b"cHRM",
    b"sBIT", b"cICP", b"mDCv", b"cLLi", b"pHYs", b"acTL", b"fcTL", b"fdAT", b"eXIf",
}  # fmt: skip
_SIZES = {
    b"IHDR": 13, b"IEND": 0, b"sRGB": 1, b"gAMA": 4, b"cHRM": 32, b"cICP": 4,
    b"mDCv": 24, b"cLLi": 8, b"pHYs": 9, b"acTL": 8, b"fcTL": 26,
}  # fmt: skip
# Chunks are read whole to check their content, except image data and anything this big.
_STREAMED = {b"IDAT", b"fdAT"}
_READ_WHOLE_LIMIT = 16 << 20


def verify(f: BinaryIO) -> list[str]:
    findings: list[str] = []
    f.seek(0, 2)
    size = f.tell()
    f.seek(0)
    if f.read(8) != b"\x89PNG\r\n\x1a\n":
        return ["no PNG signature"]
    position = 8
    order: list[bytes] = []
    while True:
        head = f.read(8)
        if len(head) != 8:
            findings.append("truncated before IEND")
            break
        length = int.from_bytes(head[:4], "big")
        kind = head[4:]
        if position + 12 + length > size:
            findings.append(f"chunk at {position} runs past the end")
            break
        if kind not in _ALLOWED:
            findings.append(f"chunk {kind!r} not allowed at {position}")
        if kind in _SIZES and length != _SIZES[kind]:
            findings.append(f"chunk {kind!r} has {length} bytes")
        crc = zlib.crc32(kind)
        if kind in _STREAMED or length > _READ_WHOLE_LIMIT:
            if kind not in _STREAMED:
                findings.append(f"chunk {kind!r} of {length} bytes at {position}")
            left = length
            while left:
                block = f.read(min(_READ_SIZE, left))
                if not block:
                    return [*findings, "truncated image data"]
                crc = zlib.crc32(block, crc)
                left -= len(block)
        else:
            body = f.read(length)
            crc = zlib.crc32(body, crc)
            findings += _content_findings(kind, body, order, position)
        if int.from_bytes(f.read(4), "big") != crc:
            findings.append(f"bad CRC in {kind!r} at {position}")
        order.append(kind)
        position += 12 + length
        if kind == b"IEND":
            break
    if position < size:
        findings.append(f"{size - position} bytes after IEND")
    if not order or order[0] != b"IHDR":
        findings.append("IHDR is not first")
    if b"IDAT" not in order:
        findings.append("no IDAT")
    if order.count(b"eXIf") > 1 or order.count(b"IHDR") > 1:
        findings.append("repeated eXIf or IHDR")
    return findings


def _content_findings(kind: bytes, body: bytes, before: list[bytes], at: int) -> list[str]:
    if kind == b"eXIf":
        if b"IDAT" in before:
            return [f"eXIf after image data at {at}"]
        return [f"eXIf at {at}: {x}" for x in minimal_orientation_exif_findings(body)]
    if kind == b"iCCP":
        name, _, rest = body.partition(b"\x00")
        printable = all(0x20 <= c <= 0x7E or c >= 0xA1 for c in name)
        if not 1 <= len(name) <= 79 or not printable or rest[:1] != b"\x00":
            return [f"iCCP at {at} has a bad name or method"]
        inflater = zlib.decompressobj()
        try:
            profile = inflater.decompress(rest[1:], 16 << 20)
        except zlib.error:
            return [f"iCCP at {at} does not inflate"]
        named = [] if name == b"ICC Profile" else [f"iCCP at {at} has a profile name"]
        return named + [f"iCCP at {at}: {x}" for x in icc_findings(profile)]
    if kind == b"PLTE" and (len(body) % 3 or len(body) > 768):
        return [f"PLTE at {at} has {len(body)} bytes"]
    if kind == b"tRNS" and len(body) > 256:
        return [f"tRNS at {at} has {len(body)} bytes"]
    return []
