"""Ogg Vorbis and Ogg Opus: empty the comment header, keep every audio packet.

The comment packet (Vorbis type 3, OpusTags) holds free text and embedded pictures. It is
replaced by an empty one, so the header pages are rebuilt; every later page keeps its payload
byte for byte and only gets a new sequence number and checksum. Only a single logical stream
is accepted: chained or multiplexed files are refused.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import BinaryIO

from . import errors
from ._io import file_size, read_exact
from ._vorbis import OPUS_TAGS, VORBIS_COMMENT, vorbis_comment_fields
from .context import StripContext

_CAPTURE = "OggS"
_VERSION = 0
_CONTINUED = 0x01
_BOS = 0x02
_EOS = 0x04
_MAX_SEGMENTS = 255
_NO_GRANULE = 0xFFFFFFFFFFFFFFFF
# The Vorbis setup header is kept in memory to repaginate it; real ones are a few KB.
_MAX_SETUP = 16 << 20
# Only this much of the dropped comment packet is kept, to read the names and the date.
_COMMENT_PREFIX = 1 << 20

_BIT_REVERSED = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def ogg_crc(data: bytes) -> int:
    """Ogg's CRC-32 (polynomial 0x04c11db7, MSB first, no pre/post inversion).

    zlib implements the bit-reflected form in C; reflecting every input byte and the result
    turns it into Ogg's, which keeps multi-gigabyte files fast without a Python byte loop.
    """
    reflected = zlib.crc32(data.translate(_BIT_REVERSED), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{reflected:032b}"[::-1], 2)


@dataclass
class _Page:
    flags: int
    granule: int
    serial: int
    sequence: int
    lacing: bytes
    payload: bytes


def _read_page(src: BinaryIO, remaining: int) -> _Page:
    if remaining < 27:
        raise errors.malformed("ogg: truncated page header")
    head = read_exact(src, 27)
    if head[0:4] != b"OggS" or head[4] != _VERSION:
        raise errors.malformed("ogg: page capture pattern or version")
    count = head[26]
    lacing = read_exact(src, count)
    length = sum(lacing)
    if 27 + count + length > remaining:
        raise errors.malformed("ogg: page runs past end of file")
    payload = read_exact(src, length)
    stated = int.from_bytes(head[22:26], "little")
    if ogg_crc(head[:22] + b"\x00\x00\x00\x00" + head[26:] + lacing + payload) != stated:
        raise errors.malformed("ogg: page checksum mismatch")
    return _Page(
        flags=head[5],
        granule=int.from_bytes(head[6:14], "little"),
        serial=int.from_bytes(head[14:18], "little"),
        sequence=int.from_bytes(head[18:22], "little"),
        lacing=lacing,
        payload=payload,
    )


def _page_bytes(page: _Page) -> bytes:
    head = (
        b"OggS"
        + bytes((_VERSION, page.flags))
        + page.granule.to_bytes(8, "little")
        + page.serial.to_bytes(4, "little")
        + page.sequence.to_bytes(4, "little")
        + b"\x00\x00\x00\x00"
        + bytes((len(page.lacing),))
    )
    crc = ogg_crc(head + page.lacing + page.payload)
    return head[:22] + crc.to_bytes(4, "little") + head[26:] + page.lacing + page.payload


def _paginate(packets: list[bytes], serial: int, first_sequence: int) -> list[_Page]:
    """Lay header packets out on fresh pages; the last page ends with the last packet."""
    segments: list[tuple[int, bytes, bool]] = []  # (lacing value, data, ends a packet)
    for packet in packets:
        pos = 0
        while True:
            step = min(255, len(packet) - pos)
            segments.append((step, packet[pos : pos + step], step < 255))
            pos += step
            if step < 255:
                break
    pages: list[_Page] = []
    continued = False
    for start in range(0, len(segments), _MAX_SEGMENTS):
        chunk = segments[start : start + _MAX_SEGMENTS]
        ends_packet = any(ends for _, _, ends in chunk)
        pages.append(
            _Page(
                flags=_CONTINUED if continued else 0,
                # Header pages carry granule 0; a page where no packet ends carries -1.
                granule=0 if ends_packet else _NO_GRANULE,
                serial=serial,
                sequence=first_sequence + len(pages),
                lacing=bytes(value for value, _, _ in chunk),
                payload=b"".join(data for _, data, _ in chunk),
            )
        )
        continued = not chunk[-1][2]
    return pages


@dataclass
class _Stream:
    """What the identification header says about the one logical stream."""

    codec: str  # "vorbis" or "opus"
    serial: int
    rate: int
    pre_skip: int
    header_packets: int  # header packets after the identification header


def strip(src: BinaryIO, dst: BinaryIO, ctx: StripContext) -> None:
    size = file_size(src)
    src.seek(0)
    first = _read_page(src, size)
    stream = _identify(first, ctx)
    ctx.media_kind = "audio"
    ctx.lossless = True

    comment_prefix, setup, sequence = _read_headers(src, size, stream)
    body, headers, where = _new_headers(stream.codec, comment_prefix, setup)
    names, date = vorbis_comment_fields(body)
    ctx.remove("vendor string", where)
    for name in names:
        ctx.remove(f"comment {name}", where)
    if date is not None:
        ctx.capture_time = date

    dst.seek(0)
    dst.truncate()
    dst.write(_page_bytes(first))
    out_sequence = 1
    for page in _paginate(headers, stream.serial, out_sequence):
        dst.write(_page_bytes(page))
        out_sequence += 1
    last_granule = _copy_audio_pages(src, dst, size, stream, sequence, out_sequence, ctx)
    if last_granule is not None and last_granule < (1 << 62):
        ctx.duration_s = max(0, last_granule - stream.pre_skip) / stream.rate


def _identify(first: _Page, ctx: StripContext) -> _Stream:
    """The codec and its parameters, from the first page; refines ``ctx.format``."""
    if first.flags != _BOS or first.sequence != 0 or len(first.lacing) != 1:
        raise errors.malformed("ogg: first page must hold the identification header alone")
    ident = first.payload
    if first.lacing[0] == 255:
        raise errors.malformed("ogg: identification header spans pages")
    if ident.startswith(b"\x01vorbis") and len(ident) == 30:
        channels = ident[11]
        # The comment and the setup header follow.
        stream = _Stream("vorbis", first.serial, int.from_bytes(ident[12:16], "little"), 0, 2)
        ctx.format = "ogg"
    elif ident.startswith(b"OpusHead") and len(ident) >= 19:
        family = ident[18]
        mapping_ok = len(ident) == 19 if family == 0 else len(ident) == 21 + ident[9]
        if ident[8] >> 4 or family not in (0, 1, 255) or not mapping_ok:
            raise errors.Rejected(errors.UNSUPPORTED_FORMAT, "ogg: OpusHead not understood")
        channels = ident[9]
        # Opus granule positions always count 48 kHz samples; only OpusTags follows.
        stream = _Stream("opus", first.serial, 48000, int.from_bytes(ident[10:12], "little"), 1)
        ctx.format = "opus"
    else:
        raise errors.Rejected(errors.UNSUPPORTED_FORMAT, "ogg: only Vorbis and Opus streams")
    if channels == 0 or stream.rate == 0:
        raise errors.malformed("ogg: identification header has no channels or rate")
    return stream


def _read_headers(src: BinaryIO, size: int, stream: _Stream) -> tuple[bytearray, bytearray, int]:
    """The header packets after the identification page: (start of the comment packet,
    setup packet, sequence number of the first audio page)."""
    comment_prefix = bytearray()
    setup = bytearray()
    done = 0
    in_packet = False
    sequence = 1
    while done < stream.header_packets:
        page = _read_page(src, size - src.tell())
        _check_page(page, stream.serial, sequence, "ogg: page sequence gap in headers")
        if bool(page.flags & _CONTINUED) != in_packet:
            raise errors.malformed("ogg: continuation flag disagrees with lacing")
        sequence += 1
        pos = 0
        for index, value in enumerate(page.lacing):
            data = page.payload[pos : pos + value]
            pos += value
            if done == 0:
                room = _COMMENT_PREFIX - len(comment_prefix)
                if room > 0:
                    comment_prefix += data[:room]
            else:
                setup += data
                if len(setup) > _MAX_SETUP:
                    raise errors.Rejected(errors.TOO_LARGE, "ogg: setup header too large")
            in_packet = value == 255
            if not in_packet:
                done += 1
            if done == stream.header_packets and index != len(page.lacing) - 1:
                raise errors.malformed("ogg: audio data shares a page with headers")
        if page.flags & _EOS:
            raise errors.malformed("ogg: stream ends inside its headers")
    return comment_prefix, setup, sequence


def _check_page(page: _Page, serial: int, sequence: int, gap: str) -> None:
    if page.serial != serial or page.flags & _BOS:
        raise errors.Rejected(errors.UNSUPPORTED_FORMAT, "ogg: more than one logical stream")
    if page.sequence != sequence:
        raise errors.malformed(gap)


def _new_headers(
    codec: str, comment_prefix: bytearray, setup: bytearray
) -> tuple[bytes, list[bytes], str]:
    """(the dropped comment's body, the header packets written instead, where it was)."""
    if codec == "vorbis":
        if not comment_prefix.startswith(b"\x03vorbis"):
            raise errors.malformed("ogg: second packet is not a Vorbis comment header")
        if not setup.startswith(b"\x05vorbis"):
            raise errors.malformed("ogg: third packet is not a Vorbis setup header")
        return bytes(comment_prefix[7:]), [VORBIS_COMMENT, bytes(setup)], "Vorbis comment header"
    if not comment_prefix.startswith(b"OpusTags"):
        raise errors.malformed("ogg: second packet is not OpusTags")
    return bytes(comment_prefix[8:]), [OPUS_TAGS], "OpusTags"


def _copy_audio_pages(
    src: BinaryIO,
    dst: BinaryIO,
    size: int,
    stream: _Stream,
    sequence: int,
    out_sequence: int,
    ctx: StripContext,
) -> int | None:
    """Copy the audio pages, payload and lacing unchanged: only the page number and checksum
    move. Returns the last granule position stated."""
    first_audio = out_sequence
    # Each page costs Python time; refuse absurd page densities (real pages are ~100 B+).
    pages_left = 1_000_000 + size // 256
    last_granule: int | None = None
    ended = False
    while src.tell() < size:
        pos = src.tell()
        if ended:
            if src.read(4) == b"OggS":
                raise errors.Rejected(errors.UNSUPPORTED_FORMAT, "ogg: chained streams")
            ctx.remove("trailing data", f"after end of stream @{pos}")
            break
        pages_left -= 1
        if pages_left < 0:
            raise errors.malformed("ogg: implausibly many pages for the file size")
        page = _read_page(src, size - pos)
        _check_page(page, stream.serial, sequence, "ogg: page sequence gap")
        if out_sequence == first_audio and page.flags & _CONTINUED:
            raise errors.malformed("ogg: first audio page continues a header packet")
        sequence += 1
        page.sequence = out_sequence
        out_sequence += 1
        if page.granule != _NO_GRANULE:
            last_granule = page.granule
        ended = bool(page.flags & _EOS)
        dst.write(_page_bytes(page))
    return last_granule
