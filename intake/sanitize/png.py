"""PNG and APNG: keep the chunks that define pixels, colour and animation; drop text, EXIF,
time and every other ancillary chunk. iCCP keeps its colour data under a neutral name, the
profile's identifying text replaced (see _icc). IDAT and fdAT are copied unchanged (CRC checked).
An Orientation-only eXIf is written before the first IDAT when the image needs turning.
"""

from __future__ import annotations

import zlib
from typing import BinaryIO

from . import errors
from ._exif import exif_facts, orientation_tiff
from ._icc import neutral_or_none
from ._io import file_size, read_exact
from .context import StripContext
from .errors import Rejected, malformed

SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PIXELS = 100_000_000
MAX_FRAMES = 2000
MAX_CHUNK_LENGTH = 2**31 - 1
# Image data is read in 256 KiB blocks: with 1 MiB blocks the allocator returns and re-faults
# the pages of every block, which costs about as much as reading them.
READ_SIZE = 256 << 10

KEEP = frozenset(
    (
        b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"iCCP", b"sRGB", b"gAMA", b"cHRM",
        b"sBIT", b"cICP", b"mDCv", b"cLLi", b"pHYs", b"acTL", b"fcTL", b"fdAT",
    )
)  # fmt: skip
# Kept chunks whose size the specification fixes; any other size is not a real one.
FIXED_LENGTHS = {
    b"IHDR": 13, b"IEND": 0, b"sRGB": 1, b"gAMA": 4, b"cHRM": 32, b"cICP": 4,
    b"mDCv": 24, b"cLLi": 8, b"pHYs": 9, b"acTL": 8, b"fcTL": 26,
}  # fmt: skip
NAMES = {
    b"tEXt": "text",
    b"zTXt": "compressed text",
    b"iTXt": "international text",
    b"eXIf": "EXIF",
    b"tIME": "modification time",
    b"caBX": "C2PA manifest",
}


def strip(src: BinaryIO, dst: BinaryIO, ctx: StripContext) -> None:
    size = file_size(src)
    ctx.media_kind = "image"
    src.seek(0)
    if read_exact(src, 8) != SIGNATURE:
        raise malformed("no PNG signature")
    _survey(src, size, ctx)
    src.seek(8)
    dst.write(SIGNATURE)
    _copy_chunks(src, dst, size, ctx)
    ctx.lossless = True


def _chunk_header(src: BinaryIO, size: int) -> tuple[int, bytes, int]:
    """Length, type and offset of the next chunk; checked against the file size."""
    offset = src.tell()
    header = read_exact(src, 8)
    length = int.from_bytes(header[:4], "big")
    kind = header[4:]
    if length > MAX_CHUNK_LENGTH or offset + 12 + length > size:
        raise malformed(f"chunk at {offset} runs past the end")
    if not kind.isalpha():
        raise malformed(f"bad chunk type at {offset}")
    return length, kind, offset


def _survey(src: BinaryIO, size: int, ctx: StripContext) -> None:
    """First pass over chunk headers only: dimensions, limits, orientation and capture time,
    which must be known before the first IDAT is written."""
    exif_seen = False
    frames = 0
    while True:
        length, kind, offset = _chunk_header(src, size)
        if offset == 8:
            if kind != b"IHDR" or length != 13:
                raise malformed("IHDR is not the first chunk")
            header = read_exact(src, 13)
            width = int.from_bytes(header[0:4], "big")
            height = int.from_bytes(header[4:8], "big")
            if not 0 < width <= MAX_CHUNK_LENGTH or not 0 < height <= MAX_CHUNK_LENGTH:
                raise malformed("bad dimensions")
            if width * height > MAX_PIXELS:
                raise Rejected(errors.TOO_LARGE, f"{width}x{height}")
            ctx.width, ctx.height = width, height
        elif kind == b"IHDR":
            raise malformed("second IHDR")
        elif kind == b"eXIf" and not exif_seen:
            exif_seen = True
            # Some writers keep the JPEG-style "Exif\0\0" prefix inside eXIf.
            skip = 6 if read_exact(src, min(6, length)) == b"Exif\x00\x00" else 0
            facts = exif_facts(src, offset + 8 + skip, length - skip)
            ctx.orientation, ctx.capture_time = facts.orientation, facts.capture_time
        elif kind == b"acTL" and length == 8:
            declared = int.from_bytes(read_exact(src, 4), "big")
            if declared > MAX_FRAMES:
                raise Rejected(errors.TOO_LARGE, f"{declared} frames")
            ctx.format = "apng"
        elif kind == b"fcTL":
            frames += 1
            if frames > MAX_FRAMES:
                raise Rejected(errors.TOO_LARGE, "too many frames")
        elif kind == b"IEND":
            return
        src.seek(offset + 12 + length)


def _copy_chunks(src: BinaryIO, dst: BinaryIO, size: int, ctx: StripContext) -> None:
    idat_seen = False
    plte_seen = False
    while True:
        length, kind, offset = _chunk_header(src, size)
        if kind == b"IDAT" and not idat_seen:
            idat_seen = True
            if ctx.orientation is not None and ctx.orientation != 1:
                dst.write(_chunk(b"eXIf", orientation_tiff(ctx.orientation)))
        if kind == b"PLTE":
            if plte_seen or idat_seen or length % 3 or not 3 <= length <= 768:
                raise malformed("bad PLTE")
            plte_seen = True
        if kind not in KEEP:
            if kind[0] & 0x20 == 0:  # upper-case first letter: a critical chunk
                raise Rejected(errors.UNSUPPORTED_FORMAT, f"unknown critical chunk {kind!r}")
            ctx.remove(NAMES.get(kind, kind.decode("ascii")), f"{kind.decode('ascii')}@{offset}")
            src.seek(offset + 12 + length)
            continue
        if kind in FIXED_LENGTHS and length != FIXED_LENGTHS[kind]:
            if kind in (b"IHDR", b"IEND", b"acTL", b"fcTL"):
                raise malformed(f"{kind!r} of {length} bytes")
            ctx.remove(f"malformed {kind.decode('ascii')}", f"{kind.decode('ascii')}@{offset}")
            src.seek(offset + 12 + length)
            continue
        if kind == b"fdAT" and not idat_seen:
            raise malformed("fdAT before IDAT")
        if kind == b"iCCP":
            dst.write(_neutral_iccp(read_exact(src, length + 4), kind, ctx))
            continue
        _copy_checked(src, dst, length, kind)
        if kind == b"IEND":
            break
    if not idat_seen:
        raise malformed("no IDAT")
    end = src.tell()
    if end < size:
        ctx.remove("data after IEND", f"trailer@{end}")


def _copy_checked(src: BinaryIO, dst: BinaryIO, length: int, kind: bytes) -> None:
    """Copy one chunk's length, type, data and CRC, refusing it when the CRC is wrong."""
    dst.write(length.to_bytes(4, "big") + kind)
    crc = zlib.crc32(kind)
    remaining = length
    while remaining:
        block = read_exact(src, min(READ_SIZE, remaining))
        crc = zlib.crc32(block, crc)
        dst.write(block)
        remaining -= len(block)
    stored = read_exact(src, 4)
    if int.from_bytes(stored, "big") != crc:
        raise malformed(f"CRC mismatch in {kind!r}")
    dst.write(stored)


# iCCP: the profile is named (1-79 Latin-1 bytes); the name can say whose it is.
ICC_NAME = b"ICC Profile"  # as Pillow and libpng name it
MAX_ICC_BYTES = 16 << 20


def _neutral_iccp(data_and_crc: bytes, kind: bytes, ctx: StripContext) -> bytes:
    data, crc = data_and_crc[:-4], data_and_crc[-4:]
    if zlib.crc32(kind + data) != int.from_bytes(crc, "big"):
        raise malformed("CRC mismatch in iCCP")
    name, sep, rest = data.partition(b"\x00")
    if not sep or not rest or rest[0] != 0 or not 1 <= len(name) <= 79:
        raise malformed("bad iCCP")
    inflater = zlib.decompressobj()
    try:
        profile = inflater.decompress(rest[1:], MAX_ICC_BYTES)
    except zlib.error:
        profile = b""  # does not parse: dropped below
    if inflater.unconsumed_tail:
        raise Rejected(errors.TOO_LARGE, "ICC profile too large")
    neutral, changed = neutral_or_none(profile)
    if name != ICC_NAME and neutral is not None:
        changed.append("profile name")
    for what in changed:
        ctx.remove(f"ICC {what}", "iCCP")
    if neutral is None:
        return b""
    if neutral == profile and name == ICC_NAME:
        return _chunk(kind, data)  # nothing to replace: the stored bytes stay as they were
    return _chunk(b"iCCP", ICC_NAME + b"\x00\x00" + zlib.compress(neutral, 9))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
