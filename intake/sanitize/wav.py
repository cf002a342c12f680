"""WAVE (RIFF, RF64, BW64): keep fmt, fact and data; drop every other chunk.

LIST/INFO (artist, comment, dates), bext (originator, origination date, description), iXML,
axml, id3/ID3, _PMX (XMP) and anything unknown are dropped, and so are bytes after the RIFF
body. The RIFF size (or the RF64 ds64 sizes) is rewritten; odd chunks keep their pad byte.
"""

from __future__ import annotations

import dataclasses
from typing import BinaryIO

from . import errors
from ._dates import iso_date
from ._io import copy_exact, file_size, read_exact
from .context import StripContext

_KEEP = (b"fmt ", b"fact", b"data")
_NAMES = {
    b"LIST": "LIST",
    b"bext": "bext (Broadcast Wave)",
    b"iXML": "iXML",
    b"axml": "axml",
    b"id3 ": "ID3",
    b"ID3 ": "ID3",
    b"_PMX": "XMP (_PMX)",
}
# PCM, ADPCM, float, A-law, mu-law, GSM, extensible. Not MPEG (0x0050/0x0055): an MP3 stream
# inside "data" can start with its own ID3 tag, which this module would copy unread.
_FORMAT_TAGS = frozenset((0x0001, 0x0002, 0x0003, 0x0006, 0x0007, 0x0011, 0x0031, 0xFFFE))
# WAVE_FORMAT_EXTENSIBLE sub-format GUIDs: a format code, then this fixed tail.
_GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")
_INFO_READ = 1 << 20
_SIZE_UNKNOWN = 0xFFFFFFFF


def _chunk_name(chunk_id: bytes) -> str:
    if chunk_id in _NAMES:
        return _NAMES[chunk_id]
    printable = all(0x20 <= b < 0x7F for b in chunk_id)
    return f"chunk {chunk_id.decode('ascii')!r}" if printable else f"chunk 0x{chunk_id.hex()}"


def _clean_fmt(body: bytes) -> bytes:
    """Validate a fmt chunk body; return it without bytes beyond its stated extension."""
    if len(body) < 16:
        raise errors.malformed("wav: fmt chunk too short")
    tag = int.from_bytes(body[0:2], "little")
    if tag not in _FORMAT_TAGS:
        raise errors.Rejected(errors.UNSUPPORTED_FORMAT, f"wav: format tag 0x{tag:04x}")
    channels = int.from_bytes(body[2:4], "little")
    rate = int.from_bytes(body[4:8], "little")
    if channels == 0 or rate == 0:
        raise errors.malformed("wav: fmt without channels or rate")
    if len(body) < 18:
        return body[:16]
    # Some writers leave slack after the extension; it is not codec data, so it goes.
    end = 18 + int.from_bytes(body[16:18], "little")
    if len(body) < end:
        raise errors.malformed("wav: fmt extension size")
    if tag == 0xFFFE:
        sub_format = body[24:40]
        code = int.from_bytes(sub_format[0:2], "little")
        if end < 40 or sub_format[2:] != _GUID_TAIL or code not in _FORMAT_TAGS - {0xFFFE}:
            raise errors.Rejected(errors.UNSUPPORTED_FORMAT, "wav: extensible sub-format")
    return body[:end]


def _info_date(body: bytes) -> str | None:
    """ICRD (creation date) from a LIST/INFO body, when plainly a date."""
    if body[:4] != b"INFO":
        return None
    pos = 4
    while pos + 8 <= len(body):
        sub_id = body[pos : pos + 4]
        length = int.from_bytes(body[pos + 4 : pos + 8], "little")
        if sub_id == b"ICRD":
            return iso_date(body[pos + 8 : pos + 8 + length].decode("latin-1"))
        pos += 8 + length + (length & 1)
    return None


def _bext_date(body: bytes) -> str | None:
    """OriginationDate and OriginationTime from a bext body."""
    if len(body) < 338:
        return None
    date = body[320:330].decode("latin-1").strip("\x00 ")
    time = body[330:338].decode("latin-1").strip("\x00 ")
    if not date:
        return None
    return iso_date(f"{date}T{time}" if time else date)


@dataclasses.dataclass
class _Riff:
    head: bytes  # the first 12 bytes: RIFF/RF64/BW64, size, WAVE
    wide: bool  # RF64 or BW64: 64-bit sizes in a ds64 chunk
    first_chunk: int
    riff_end: int
    data_size64: int | None
    sample_count: bytes


def strip(src: BinaryIO, dst: BinaryIO, ctx: StripContext) -> None:
    size = file_size(src)
    riff = _read_riff_header(src, size, ctx)
    kept, fmt = _survey(src, size, riff, ctx)
    data_length = _write(src, dst, riff, kept, fmt)
    ctx.format = "wav"
    ctx.media_kind = "audio"
    ctx.lossless = True
    byte_rate = int.from_bytes(fmt[8:12], "little")
    if byte_rate:
        ctx.duration_s = data_length / byte_rate


def _read_riff_header(src: BinaryIO, size: int, ctx: StripContext) -> _Riff:
    src.seek(0)
    head = read_exact(src, 12)
    magic = head[0:4]
    if head[8:12] != b"WAVE" or magic not in (b"RIFF", b"RF64", b"BW64"):
        raise errors.malformed("wav: not a RIFF WAVE file")
    riff = _Riff(
        head=head,
        wide=magic != b"RIFF",
        first_chunk=12,
        riff_end=min(size, 8 + int.from_bytes(head[4:8], "little")),
        data_size64=None,
        sample_count=bytes(8),
    )
    if riff.wide:
        ds64_head = read_exact(src, 8)
        ds64_len = int.from_bytes(ds64_head[4:8], "little")
        if ds64_head[0:4] != b"ds64" or ds64_len < 28 or 20 + ds64_len > size:
            raise errors.malformed("wav: RF64 without ds64")
        ds64 = read_exact(src, ds64_len)
        riff.riff_end = min(size, 8 + int.from_bytes(ds64[0:8], "little"))
        riff.data_size64 = int.from_bytes(ds64[8:16], "little")
        riff.sample_count = ds64[16:24]
        riff.first_chunk = 20 + ds64_len + (ds64_len & 1)
    if riff.riff_end < size:
        ctx.remove("data after the RIFF body", f"offset {riff.riff_end}")
    return riff


def _survey(
    src: BinaryIO, size: int, riff: _Riff, ctx: StripContext
) -> tuple[list[tuple[bytes, int, int]], bytes]:
    """The chunks to keep as (id, body offset, body length), and the cleaned fmt body."""
    kept: list[tuple[bytes, int, int]] = []
    fmt = b""
    seen: set[bytes] = set()
    pos = riff.first_chunk
    while pos + 8 <= riff.riff_end:
        src.seek(pos)
        chunk_head = read_exact(src, 8)
        chunk_id = chunk_head[0:4]
        length = int.from_bytes(chunk_head[4:8], "little")
        if riff.wide and chunk_id == b"data" and length == _SIZE_UNKNOWN:
            assert riff.data_size64 is not None
            length = riff.data_size64
        body = pos + 8
        if body + length > size:
            raise errors.malformed(f"wav: chunk {chunk_id!r} runs past end of file")
        where = f"offset {pos}"
        pos = body + length + (length & 1)
        if chunk_id not in _KEEP:
            if ctx.capture_time is None and length <= _INFO_READ:
                if chunk_id == b"bext":
                    ctx.capture_time = _bext_date(read_exact(src, length))
                elif chunk_id == b"LIST":
                    ctx.capture_time = _info_date(read_exact(src, length))
            ctx.remove(_chunk_name(chunk_id), where)
            continue
        if chunk_id in seen:
            raise errors.malformed(f"wav: second {chunk_id!r} chunk")
        seen.add(chunk_id)
        if chunk_id == b"fmt ":
            if length > 1024:
                raise errors.malformed("wav: fmt chunk too large")
            fmt = _clean_fmt(read_exact(src, length))
            if len(fmt) != length:
                ctx.remove("fmt slack bytes", where)
        elif chunk_id == b"data" and b"fmt " not in seen:
            raise errors.malformed("wav: data before fmt")
        elif chunk_id == b"fact" and length != 4:
            ctx.remove("fact chunk (non-standard)", where)
            continue
        kept.append((chunk_id, body, length))
    if pos < riff.riff_end:
        ctx.remove("stray bytes", f"offset {pos}")
    if b"data" not in seen or b"fmt " not in seen:
        raise errors.malformed("wav: no fmt or data chunk")
    return kept, fmt


def _write(
    src: BinaryIO, dst: BinaryIO, riff: _Riff, kept: list[tuple[bytes, int, int]], fmt: bytes
) -> int:
    """Write the kept chunks under a fresh header; return the data chunk's length."""
    wide = riff.wide
    dst.seek(0)
    dst.truncate()
    dst.write(riff.head[0:4] + b"\x00\x00\x00\x00WAVE")
    data_length = 0
    if wide:
        dst.write(b"ds64" + (28).to_bytes(4, "little") + bytes(28))
    for chunk_id, body, length in kept:
        if chunk_id == b"fmt ":
            dst.write(chunk_id + len(fmt).to_bytes(4, "little") + fmt + bytes(len(fmt) & 1))
            continue
        stated = _SIZE_UNKNOWN if wide and chunk_id == b"data" else length
        if stated > _SIZE_UNKNOWN:
            raise errors.malformed("wav: chunk too large for RIFF")
        dst.write(chunk_id + stated.to_bytes(4, "little"))
        src.seek(body)
        copy_exact(src, dst, length)
        if length & 1:
            dst.write(b"\x00")
        if chunk_id == b"data":
            data_length = length
    out_size = dst.tell()
    if wide:
        dst.seek(4)
        dst.write(b"\xff\xff\xff\xff")
        dst.seek(20)
        dst.write((out_size - 8).to_bytes(8, "little") + data_length.to_bytes(8, "little"))
        dst.write(riff.sample_count)
    else:
        if out_size - 8 > _SIZE_UNKNOWN:
            raise errors.malformed("wav: output too large for RIFF")
        dst.seek(4)
        dst.write((out_size - 8).to_bytes(4, "little"))
    dst.seek(out_size)
    return data_length
