"""WebP: keep the bitstream chunks (VP8, VP8L, ALPH, animation frames), ICC profile and
animation header; drop EXIF, XMP and unknown chunks, inside frames too. VP8X flags and the
RIFF size are rewritten; an Orientation-only EXIF chunk is added when the image needs turning.
"""

from __future__ import annotations

from typing import BinaryIO, NamedTuple

from . import errors
from ._exif import exif_facts, orientation_tiff
from ._icc import neutral_or_none
from ._io import copy_exact, file_size, read_exact
from .context import StripContext
from .errors import Rejected, malformed

MAX_PIXELS = 100_000_000
MAX_FRAMES = 2000

ICC_FLAG, ALPHA_FLAG, EXIF_FLAG, ANIMATION_FLAG = 0x20, 0x10, 0x08, 0x02
IMAGE_CHUNKS = frozenset((b"VP8 ", b"VP8L", b"ALPH"))
NAMES = {b"EXIF": "EXIF", b"XMP ": "XMP"}


class _Chunk(NamedTuple):
    fourcc: bytes
    offset: int  # of the chunk header
    size: int  # payload bytes, without the pad byte


def strip(src: BinaryIO, dst: BinaryIO, ctx: StripContext) -> None:
    file_bytes = file_size(src)
    ctx.media_kind = "image"
    src.seek(0)
    head = read_exact(src, 12)
    riff_end = 8 + int.from_bytes(head[4:8], "little")
    if head[:4] != b"RIFF" or head[8:12] != b"WEBP" or riff_end > file_bytes:
        raise malformed("bad RIFF header")
    chunks = _chunks(src, 12, riff_end)
    if not chunks:
        raise malformed("no chunks")

    dst.write(b"RIFF\x00\x00\x00\x00WEBP")
    first = chunks[0]
    if first.fourcc in (b"VP8 ", b"VP8L"):
        _simple(src, dst, ctx, first)
        for extra in chunks[1:]:
            _drop(ctx, extra)
    elif first.fourcc == b"VP8X":
        _extended(src, dst, ctx, chunks)
    else:
        raise malformed(f"unexpected first chunk {_name(first.fourcc)}")

    if riff_end < file_bytes:
        ctx.remove("data after RIFF", f"trailer@{riff_end}")
    total = dst.tell()
    dst.seek(4)
    dst.write((total - 8).to_bytes(4, "little"))
    dst.seek(total)
    ctx.lossless = True


def _chunks(src: BinaryIO, start: int, end: int) -> list[_Chunk]:
    """Chunk headers in ``[start, end)``, each checked to lie inside it."""
    chunks = []
    offset = start
    while offset < end:
        if offset + 8 > end:
            raise malformed(f"truncated chunk header at {offset}")
        src.seek(offset)
        header = read_exact(src, 8)
        size = int.from_bytes(header[4:], "little")
        # The pad byte of the very last chunk is sometimes left out; tolerate only that.
        if offset + 8 + size > end:
            raise malformed(f"chunk at {offset} runs past its container")
        chunks.append(_Chunk(header[:4], offset, size))
        offset += 8 + size + (size & 1)
        if len(chunks) > 4 * MAX_FRAMES + 16:
            raise malformed("too many chunks")
    return chunks


def _simple(src: BinaryIO, dst: BinaryIO, ctx: StripContext, chunk: _Chunk) -> None:
    src.seek(chunk.offset + 8)
    header = src.read(min(chunk.size, 10))
    if chunk.fourcc == b"VP8 ":
        if len(header) < 10 or header[3:6] != b"\x9d\x01\x2a":
            raise malformed("bad VP8 frame header")
        width = int.from_bytes(header[6:8], "little") & 0x3FFF
        height = int.from_bytes(header[8:10], "little") & 0x3FFF
    else:
        if len(header) < 5 or header[0] != 0x2F:
            raise malformed("bad VP8L header")
        bits = int.from_bytes(header[1:5], "little")
        width = (bits & 0x3FFF) + 1
        height = ((bits >> 14) & 0x3FFF) + 1
    _set_size(ctx, width, height)
    _copy(src, dst, chunk)


def _extended(src: BinaryIO, dst: BinaryIO, ctx: StripContext, chunks: list[_Chunk]) -> None:
    src.seek(chunks[0].offset + 8)
    vp8x = read_exact(src, 10) if chunks[0].size >= 10 else b""
    if len(vp8x) != 10:
        raise malformed("bad VP8X")
    width = int.from_bytes(vp8x[4:7], "little") + 1
    height = int.from_bytes(vp8x[7:10], "little") + 1
    _set_size(ctx, width, height)

    kept: list[_Chunk] = []
    frames = 0
    exif_seen = False
    for chunk in chunks[1:]:
        # ICCP and ANIM may appear once; a repeat is dropped like any unknown chunk.
        repeated = chunk.fourcc in (b"ICCP", b"ANIM") and any(
            c.fourcc == chunk.fourcc for c in kept
        )
        if (chunk.fourcc in IMAGE_CHUNKS or chunk.fourcc in (b"ICCP", b"ANIM")) and not repeated:
            kept.append(chunk)
        elif chunk.fourcc == b"ANMF":
            frames += 1
            if frames > MAX_FRAMES:
                raise Rejected(errors.TOO_LARGE, "too many frames")
            kept.append(chunk)
        else:
            if chunk.fourcc == b"EXIF" and not exif_seen:
                exif_seen = True
                _read_exif_facts(src, ctx, chunk)
            _drop(ctx, chunk)
    if not any(c.fourcc in (b"VP8 ", b"VP8L", b"ANMF") for c in kept):
        raise malformed("no image data")
    if chunks[0].size != 10:
        ctx.remove("VP8X padding", f"VP8X@{chunks[0].offset}")

    # Orientation 1 is the default: no EXIF is needed to say so.
    exif = orientation_tiff(ctx.orientation) if ctx.orientation not in (None, 1) else None
    flags = vp8x[0] & ALPHA_FLAG
    icc = _neutral_icc(src, ctx, kept)
    if icc is not None:
        flags |= ICC_FLAG
    if exif is not None:
        flags |= EXIF_FLAG
    if frames and vp8x[0] & ANIMATION_FLAG:
        flags |= ANIMATION_FLAG
    dst.write(b"VP8X" + (10).to_bytes(4, "little") + bytes((flags, 0, 0, 0)) + vp8x[4:10])
    for chunk in kept:
        if chunk.fourcc == b"ANMF":
            _copy_frame(src, dst, ctx, chunk)
        elif chunk.fourcc == b"ICCP" and icc is not None:
            dst.write(b"ICCP" + len(icc).to_bytes(4, "little") + icc + b"\x00" * (len(icc) & 1))
        else:
            _copy(src, dst, chunk)
    if exif is not None:
        dst.write(b"EXIF" + len(exif).to_bytes(4, "little") + exif + b"\x00" * (len(exif) & 1))


def _neutral_icc(src: BinaryIO, ctx: StripContext, kept: list[_Chunk]) -> bytes | None:
    """The ICC profile with its identifying text replaced; an unreadable one leaves ``kept``."""
    chunk = next((c for c in kept if c.fourcc == b"ICCP"), None)
    if chunk is None:
        return None
    src.seek(chunk.offset + 8)
    icc, changed = neutral_or_none(read_exact(src, chunk.size))
    for what in changed:
        ctx.remove(f"ICC {what}", "ICCP")
    if icc is None:
        kept.remove(chunk)
    return icc


def _read_exif_facts(src: BinaryIO, ctx: StripContext, chunk: _Chunk) -> None:
    # Some writers keep the JPEG-style "Exif\0\0" prefix inside the chunk.
    src.seek(chunk.offset + 8)
    skip = 6 if src.read(min(6, chunk.size)) == b"Exif\x00\x00" else 0
    facts = exif_facts(src, chunk.offset + 8 + skip, chunk.size - skip)
    ctx.orientation, ctx.capture_time = facts.orientation, facts.capture_time


def _copy_frame(src: BinaryIO, dst: BinaryIO, ctx: StripContext, frame: _Chunk) -> None:
    """Copy an ANMF chunk keeping only its bitstream sub-chunks; its size is recomputed."""
    if frame.size < 16:
        raise malformed("short ANMF")
    src.seek(frame.offset + 8)
    frame_header = read_exact(src, 16)
    width = int.from_bytes(frame_header[6:9], "little") + 1
    height = int.from_bytes(frame_header[9:12], "little") + 1
    if width * height > MAX_PIXELS:
        raise Rejected(errors.TOO_LARGE, f"frame {width}x{height}")
    parts = _chunks(src, frame.offset + 24, frame.offset + 8 + frame.size)
    kept = [c for c in parts if c.fourcc in IMAGE_CHUNKS]
    for part in parts:
        if part.fourcc not in IMAGE_CHUNKS:
            _drop(ctx, part)
    if not any(c.fourcc != b"ALPH" for c in kept):
        raise malformed("frame without bitstream")
    size = 16 + sum(8 + c.size + (c.size & 1) for c in kept)
    dst.write(b"ANMF" + size.to_bytes(4, "little") + frame_header)
    for part in kept:
        _copy(src, dst, part)


def _copy(src: BinaryIO, dst: BinaryIO, chunk: _Chunk) -> None:
    dst.write(chunk.fourcc + chunk.size.to_bytes(4, "little"))
    src.seek(chunk.offset + 8)
    copy_exact(src, dst, chunk.size)
    if chunk.size & 1:
        dst.write(b"\x00")


def _drop(ctx: StripContext, chunk: _Chunk) -> None:
    name = _name(chunk.fourcc)
    ctx.remove(NAMES.get(chunk.fourcc, f"chunk {name}"), f"{name}@{chunk.offset}")


def _name(fourcc: bytes) -> str:
    text = fourcc.decode("latin-1")
    return text.strip() if text.isprintable() and text.isascii() else fourcc.hex()


def _set_size(ctx: StripContext, width: int, height: int) -> None:
    if width == 0 or height == 0:
        raise malformed("zero image size")
    if width * height > MAX_PIXELS:
        raise Rejected(errors.TOO_LARGE, f"{width}x{height}")
    ctx.width, ctx.height = width, height
