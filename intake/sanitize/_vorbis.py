"""Vorbis comments, shared by the Ogg, FLAC and Matroska strippers.

The same comment structure (vendor string, then NAME=value fields) sits in Ogg Vorbis and
Opus headers, in a FLAC VORBIS_COMMENT block and in Matroska's Vorbis CodecPrivate. The
strippers read its field names and stated date for the manifest, then replace or drop it.
"""

from __future__ import annotations

import re

from ._dates import iso_date

# Empty comment packets: empty vendor string, no fields.
VORBIS_COMMENT = b"\x03vorbis" + bytes(8) + b"\x01"  # framing bit
OPUS_TAGS = b"OpusTags" + bytes(8)

_DATE_FIELDS = ("DATE", "CREATION_TIME", "DATE_RECORDED")
_FIELD_NAME = re.compile(r"[\x20-\x3c\x3e-\x7d]{1,64}")


def vorbis_comment_fields(body: bytes) -> tuple[list[str], str | None]:
    """Field names and the stated date from a Vorbis comment body (vendor length onward).

    ``body`` may be a truncated prefix; parsing stops quietly at the first short field.
    """
    names: list[str] = []
    date: str | None = None
    if len(body) < 8:
        return names, date
    pos = 4 + int.from_bytes(body[0:4], "little")
    if pos + 4 > len(body):
        return names, date
    count = int.from_bytes(body[pos : pos + 4], "little")
    pos += 4
    for _ in range(count):
        if pos + 4 > len(body):
            break
        length = int.from_bytes(body[pos : pos + 4], "little")
        field = body[pos + 4 : pos + 4 + min(length, 4096)]
        pos += 4 + length
        key, sep, value = field.partition(b"=")
        name = key.decode("ascii", "replace").upper()
        if not sep or not _FIELD_NAME.fullmatch(name):
            name = "(unnamed field)"
        if name not in names:
            names.append(name)
        if date is None and name in _DATE_FIELDS and pos <= len(body):
            date = iso_date(value.decode("utf-8", "replace"))
    return names, date
