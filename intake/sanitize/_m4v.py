"""MPEG-4 Part 2 video user data, neutralised without changing a decoded frame (promise: no
location or identity leaves with the media).

An MPEG-4 Part 2 sample (ISOBMFF ``mp4v``, Matroska ``V_MPEG4/ISO/SP|ASP|AP``) and its
decoder configuration (the esds DecoderSpecificInfo, Matroska CodecPrivate) are start-code
delimited: ``00 00 01`` and a code byte. ``user_data`` (code B2) runs to the next start code
and can carry any text. ffmpeg's decoder reads some of it to work around encoder bugs (DivX
version, build and packed-bitstream flag, XviD build, libavcodec build: it changes the IDCT
and other decoding choices), so blanking those tags changes decoded frames (measured: an
XviD-encoded MP4 with its "XviD0069" tag blanked decodes 20 of 30 frames differently).

So: user data that is exactly one of those encoder tags stays as it is (it names an encoder
version, nothing about the witness); every other user data payload is overwritten with
spaces, at its own length. Spaces match none of the tags the decoder looks for and can
never form a start code, so decoding is unchanged and no size or offset moves. Zero bytes
before the next start code are stuffing and stay.

Refused (fail closed): a sample that does not begin with a start code, and start codes
other than visual object sequence (B0, B1), visual object (B5), video object (00-1F),
video object layer (20-2F), group of VOPs (B3), VOP (B6) and user data (B2): reserved and
other codes are skipped by decoders and could hide data.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from . import errors
from .errors import Rejected, malformed

ReadAt = Callable[[int, int], bytes]

START: Final = b"\x00\x00\x01"
USER_DATA: Final = 0xB2
_ALLOWED: Final = frozenset((*range(0x00, 0x30), 0xB0, 0xB1, 0xB2, 0xB3, 0xB5, 0xB6))
# Encoder tags that ffmpeg's MPEG-4 decoder parses (mpeg4videodec.c decode_user_data), in
# the exact forms encoders write them; anything more (a suffix) is not a tag.
KNOWN_TAG: Final = re.compile(
    rb"XviD\d{1,6}"
    rb"|DivX\d{1,4}(?:Build|b)\d{1,6}p?"
    rb"|Lavc\d{1,3}\.\d{1,3}\.\d{1,3}"
    rb"|FFmpeg v\d{1,3}\.\d{1,3}\.\d{1,3} / libavcodec build: \d{1,7}"
    rb"|FFmpeg(?:\d{1,3}\.\d{1,3}(?:\.\d{1,3})?(?:-pre\d)?|CVS)b\d{1,7}"
    rb"|ffmpeg"
)
NEUTRAL: Final = 0x20
# Visual object type indication of MPEG-4 Part 2 in an ES descriptor (ISO/IEC 14496-1).
MPEG4_VISUAL: Final = 0x20

USER_DATA_NAME: Final = "MPEG-4 user data"


def neutralise(data: bytes) -> tuple[bytes | None, int]:
    """(``data`` with every user data payload that is not an encoder tag blanked, or None
    when nothing changes; how many were blanked). ``data`` must start with a start code
    (an empty sample, a dropped frame, has nothing to clean)."""
    if not data:
        return None, 0
    if not data.startswith(START):
        raise malformed("MPEG-4 video sample does not begin with a start code")
    out: bytearray | None = None
    count = 0
    pos = 0
    while pos < len(data):
        if pos + 4 > len(data):
            raise malformed("MPEG-4 start code cut short")
        code = data[pos + 3]
        if code not in _ALLOWED:
            raise Rejected(errors.UNSAFE_CONTENT, f"MPEG-4 video start code {code:02X}")
        nxt = data.find(START, pos + 4)
        end = len(data) if nxt < 0 else nxt
        if code == USER_DATA:
            payload = data[pos + 4 : end].rstrip(b"\x00")
            blank = payload.count(NEUTRAL) == len(payload)  # empty, or blanked before
            if not blank and not KNOWN_TAG.fullmatch(payload):
                if out is None:
                    out = bytearray(data)
                out[pos + 4 : pos + 4 + len(payload)] = bytes((NEUTRAL,)) * len(payload)
                count += 1
        pos = end
    return (None if out is None else bytes(out)), count


def scan_sample(read: ReadAt, start: int, size: int) -> tuple[bytes | None, list[str]]:
    """neutralise for the sample at ``start``; (replacement or None, removed names)."""
    cleaned, count = neutralise(read(start, size))
    return cleaned, [USER_DATA_NAME] * count


def esds_dsi(body: bytes) -> tuple[int, int, int]:
    """(object type indication, offset, length) of the DecoderSpecificInfo in an esds box
    body (version and flags first); length 0 when there is none."""
    pos = 4
    object_type = -1
    for tag in (3, 4, 5):
        if pos >= len(body) or body[pos] != tag:
            if tag == 5:
                return object_type, pos, 0
            raise malformed(f"esds: descriptor {tag} missing")
        pos, size = _descriptor_size(body, pos + 1)
        if pos + size > len(body):
            raise malformed("esds: descriptor runs past its box")
        if tag == 3:
            if pos + 3 > len(body):
                raise malformed("esds: ES descriptor cut short")
            flags = body[pos + 2]
            pos += 3 + (2 if flags & 0x80 else 0) + (2 if flags & 0x20 else 0)
            if flags & 0x40:
                raise Rejected(errors.UNSAFE_CONTENT, "esds: ES descriptor with a URL")
        elif tag == 4:
            if pos + 13 > len(body):
                raise malformed("esds: decoder config descriptor cut short")
            object_type = body[pos]
            pos += 13
        else:
            return object_type, pos, size
    raise AssertionError("unreachable")


def _descriptor_size(body: bytes, pos: int) -> tuple[int, int]:
    size = 0
    for _ in range(4):
        if pos >= len(body):
            raise malformed("esds: descriptor size cut short")
        byte = body[pos]
        pos += 1
        size = size << 7 | (byte & 0x7F)
        if not byte & 0x80:
            return pos, size
    raise malformed("esds: descriptor size longer than 4 bytes")


def clean_config(data: bytes) -> tuple[bytes | None, int]:
    """DecoderSpecificInfo / CodecPrivate (VOS, VO and VOL headers; may be empty when the
    headers are in the stream): like a sample."""
    return neutralise(data)
