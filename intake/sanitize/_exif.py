"""EXIF, shared by the image strippers: read it before it goes, and write the only EXIF kept.

EXIF is a TIFF structure, so the IFD reader here serves the TIFF stripper as well as the
JPEG, PNG and WebP strippers, which read Orientation and the capture time out of EXIF before
dropping it. Stripping EXIF would otherwise lose how a phone photo should be turned for
display, so ``orientation_tiff`` builds IFD0 holding the Orientation tag alone, once, and
those strippers emit identical bytes.
"""

from __future__ import annotations

import dataclasses
import re
import struct
from typing import BinaryIO, Literal

from .errors import Rejected, malformed

# Bytes per value of each TIFF field type (13 = IFD, stored like LONG).
TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
BYTE, ASCII, SHORT, LONG, RATIONAL, UNDEFINED, IFD = 1, 2, 3, 4, 5, 7, 13

TAG_ORIENTATION = 0x0112
TAG_EXIF_IFD = 0x8769
TAG_DATETIME_ORIGINAL = 0x9003
TAG_OFFSET_TIME_ORIGINAL = 0x9011

# More entries than any real IFD has; caps the work a hostile count can cause.
MAX_IFD_ENTRIES = 4096


@dataclasses.dataclass(frozen=True)
class IfdEntry:
    tag: int
    type: int
    count: int
    # The entry's raw 4-byte value-or-offset field.
    field: bytes


class TiffReader:
    """Reads a TIFF structure lying at ``[base, base + size)`` of a seekable stream.

    Offsets inside the structure are relative to ``base``, as in EXIF; every read is checked
    against ``size`` so hostile offsets and counts end as ``Rejected``.
    """

    def __init__(self, src: BinaryIO, base: int, size: int) -> None:
        self.src = src
        self.base = base
        self.size = size
        head = self.read_at(0, 8)
        self.byteorder: Literal["little", "big"]
        if head[:4] == b"II*\x00":
            self.byteorder = "little"
        elif head[:4] == b"MM\x00*":
            self.byteorder = "big"
        else:
            raise malformed("not a TIFF header")
        self.first_ifd = self.uint(head[4:8])

    def uint(self, raw: bytes) -> int:
        return int.from_bytes(raw, self.byteorder)

    def read_at(self, offset: int, n: int) -> bytes:
        if offset < 0 or n < 0 or offset + n > self.size:
            raise malformed("TIFF offset outside the structure")
        self.src.seek(self.base + offset)
        data = self.src.read(n)
        if len(data) != n:
            raise malformed("truncated TIFF structure")
        return data

    def read_ifd(self, offset: int) -> tuple[list[IfdEntry], int]:
        """Entries of the IFD at ``offset`` and the offset of the next IFD (0: none)."""
        count = self.uint(self.read_at(offset, 2))
        if count > MAX_IFD_ENTRIES:
            raise malformed("too many IFD entries")
        raw = self.read_at(offset + 2, 12 * count + 4)
        entries = []
        for i in range(0, 12 * count, 12):
            entries.append(
                IfdEntry(
                    tag=self.uint(raw[i : i + 2]),
                    type=self.uint(raw[i + 2 : i + 4]),
                    count=self.uint(raw[i + 4 : i + 8]),
                    field=raw[i + 8 : i + 12],
                )
            )
        return entries, self.uint(raw[-4:])

    def value_size(self, entry: IfdEntry) -> int:
        type_size = TYPE_SIZES.get(entry.type)
        if type_size is None:
            raise malformed(f"unknown TIFF type {entry.type}")
        return type_size * entry.count

    def value_offset(self, entry: IfdEntry) -> int | None:
        """Where an out-of-line value lies; None when it sits in the entry itself."""
        return None if self.value_size(entry) <= 4 else self.uint(entry.field)

    def value(self, entry: IfdEntry, limit: int) -> bytes:
        size = self.value_size(entry)
        if size > limit:
            raise malformed(f"TIFF value of tag {entry.tag} too large")
        offset = self.value_offset(entry)
        return entry.field[:size] if offset is None else self.read_at(offset, size)

    def integers(self, entry: IfdEntry, limit: int) -> list[int]:
        """Values of a BYTE, SHORT, LONG or IFD entry."""
        if entry.type not in (BYTE, SHORT, LONG, IFD):
            raise malformed(f"tag {entry.tag} is not an integer")
        width = TYPE_SIZES[entry.type]
        raw = self.value(entry, limit)
        return [self.uint(raw[i : i + width]) for i in range(0, len(raw), width)]

    def single_integer(self, entry: IfdEntry) -> int:
        values = self.integers(entry, 4)
        if len(values) != 1:
            raise malformed(f"tag {entry.tag} must hold one value")
        return values[0]

    def text(self, entry: IfdEntry, limit: int) -> str:
        if entry.type != ASCII:
            raise malformed(f"tag {entry.tag} is not ASCII")
        return self.value(entry, limit).split(b"\x00", 1)[0].decode("ascii", "replace")


@dataclasses.dataclass(frozen=True)
class ExifFacts:
    """What the manifest keeps from EXIF before it is dropped."""

    orientation: int | None = None
    capture_time: str | None = None


_EXIF_DATETIME = re.compile(r"(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET = re.compile(r"[+-]\d{2}:\d{2}")


def capture_time(datetime_original: str, offset_time: str | None) -> str | None:
    """ISO 8601 from EXIF ``YYYY:MM:DD HH:MM:SS`` plus an optional ``+HH:MM`` offset."""
    match = _EXIF_DATETIME.fullmatch(datetime_original.strip())
    if match is None or match.group(1) == "0000":
        return None
    year, month, day, hour, minute, second = match.groups()
    iso = f"{year}-{month}-{day}T{hour}:{minute}:{second}"
    if offset_time is not None and _EXIF_OFFSET.fullmatch(offset_time.strip()):
        iso += offset_time.strip()
    return iso


def orientation_of(reader: TiffReader, entries: list[IfdEntry]) -> int | None:
    for entry in entries:
        if entry.tag == TAG_ORIENTATION and entry.type == SHORT and entry.count == 1:
            value = reader.single_integer(entry)
            return value if 1 <= value <= 8 else None
    return None


def capture_time_of(reader: TiffReader, ifd0: list[IfdEntry]) -> str | None:
    """DateTimeOriginal (+ OffsetTimeOriginal) from the Exif sub-IFD IFD0 points to."""
    pointer = next((e for e in ifd0 if e.tag == TAG_EXIF_IFD), None)
    if pointer is None:
        return None
    exif_entries, _ = reader.read_ifd(reader.single_integer(pointer))
    taken = offset = None
    for entry in exif_entries:
        if entry.tag == TAG_DATETIME_ORIGINAL:
            taken = reader.text(entry, 64)
        elif entry.tag == TAG_OFFSET_TIME_ORIGINAL:
            offset = reader.text(entry, 64)
    return None if taken is None else capture_time(taken, offset)


def exif_facts(src: BinaryIO, base: int, size: int) -> ExifFacts:
    """Orientation and capture time of an EXIF block inside ``src``; the block is dropped
    anyway, so a damaged one yields no facts rather than a rejection."""
    try:
        reader = TiffReader(src, base, size)
        ifd0, _ = reader.read_ifd(reader.first_ifd)
        orientation = orientation_of(reader, ifd0)
        try:
            taken = capture_time_of(reader, ifd0)
        except Rejected:
            taken = None
        return ExifFacts(orientation=orientation, capture_time=taken)
    except Rejected:
        return ExifFacts()


# -- writing -------------------------------------------------------------------------------


def orientation_tiff(orientation: int) -> bytes:
    """A little-endian TIFF structure: header, IFD0 with one Orientation entry, no next IFD."""
    if not 1 <= orientation <= 8:
        raise ValueError(f"orientation out of range: {orientation}")
    return struct.pack(
        "<2sHIHHHIHHI",
        b"II",
        42,
        8,  # IFD0 follows the header directly
        1,  # one entry
        TAG_ORIENTATION,
        SHORT,
        1,
        orientation,
        0,  # value field padding
        0,  # no next IFD: no thumbnail
    )
