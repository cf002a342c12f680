"""TIFF: rewrite as a fresh single-IFD TIFF holding only image-structure tags.

Strip and tile bytes are copied as they are, so a strip or tile that points into the file's
own metadata (an IFD, a tag's value such as a description, EXIF or GPS IFD, a thumbnail or
another page) would publish that metadata as pixels: such a file is refused (promise: no
location or identity leaves with the media).
"""

from __future__ import annotations

import bisect
from typing import BinaryIO

from . import errors
from ._exif import (
    BYTE,
    IFD,
    LONG,
    RATIONAL,
    SHORT,
    TAG_ORIENTATION,
    UNDEFINED,
    IfdEntry,
    TiffReader,
    capture_time_of,
    orientation_of,
)
from ._icc import neutral_or_none
from ._io import copy_exact, file_size
from .context import StripContext
from .errors import Rejected, malformed

MAX_PIXELS = 100_000_000
# Strips or tiles per image; more is hostile (and each offset costs memory here).
MAX_BLOCKS = 1 << 18
MAX_VALUE_BYTES = 1 << 20
MAX_ICC_BYTES = 16 << 20

# Image-structure tags kept in the fresh IFD0, with the field types accepted for each.
KEEP_TAGS: dict[int, frozenset[int]] = {
    256: frozenset((SHORT, LONG)),  # ImageWidth
    257: frozenset((SHORT, LONG)),  # ImageLength
    258: frozenset((SHORT,)),  # BitsPerSample
    259: frozenset((SHORT,)),  # Compression
    262: frozenset((SHORT,)),  # PhotometricInterpretation
    266: frozenset((SHORT,)),  # FillOrder
    273: frozenset((SHORT, LONG)),  # StripOffsets
    274: frozenset((SHORT,)),  # Orientation
    277: frozenset((SHORT,)),  # SamplesPerPixel
    278: frozenset((SHORT, LONG)),  # RowsPerStrip
    279: frozenset((SHORT, LONG)),  # StripByteCounts
    282: frozenset((RATIONAL,)),  # XResolution
    283: frozenset((RATIONAL,)),  # YResolution
    284: frozenset((SHORT,)),  # PlanarConfiguration
    292: frozenset((LONG,)),  # T4Options
    293: frozenset((LONG,)),  # T6Options
    296: frozenset((SHORT,)),  # ResolutionUnit
    317: frozenset((SHORT,)),  # Predictor
    320: frozenset((SHORT,)),  # ColorMap
    322: frozenset((SHORT, LONG)),  # TileWidth
    323: frozenset((SHORT, LONG)),  # TileLength
    324: frozenset((SHORT, LONG)),  # TileOffsets
    325: frozenset((SHORT, LONG)),  # TileByteCounts
    338: frozenset((SHORT,)),  # ExtraSamples
    339: frozenset((SHORT,)),  # SampleFormat
    347: frozenset((UNDEFINED,)),  # JPEGTables
    529: frozenset((RATIONAL,)),  # YCbCrCoefficients
    530: frozenset((SHORT,)),  # YCbCrSubSampling
    531: frozenset((SHORT,)),  # YCbCrPositioning
    532: frozenset((RATIONAL,)),  # ReferenceBlackWhite
    34675: frozenset((UNDEFINED, BYTE)),  # ICC profile
}
STRIP_OFFSETS, STRIP_COUNTS, TILE_OFFSETS, TILE_COUNTS = 273, 279, 324, 325
ICC_PROFILE, JPEG_TABLES = 34675, 347
# Compressions whose strips are opaque coded data. JPEG (7) strips are JPEG streams and are
# checked for APPn/COM; old-style JPEG (6), JPEG 2000 and WebP can carry metadata boxes.
COMPRESSIONS = frozenset((1, 2, 3, 4, 5, 7, 8, 32773, 32946))
DROPPED_NAMES = {
    254: "NewSubfileType",
    269: "DocumentName",
    270: "ImageDescription",
    271: "Make",
    272: "Model",
    285: "PageName",
    305: "Software",
    306: "DateTime",
    315: "Artist",
    316: "HostComputer",
    330: "SubIFDs",
    700: "XMP",
    33432: "Copyright",
    33723: "IPTC",
    34377: "Photoshop",
    34665: "EXIF IFD",
    34853: "GPS IFD",
    37724: "ImageSourceData",
    40965: "Interoperability IFD",
    42016: "ImageUniqueID",
    50341: "PrintIM",
}


def strip(src: BinaryIO, dst: BinaryIO, ctx: StripContext) -> None:
    reader = TiffReader(src, 0, file_size(src))
    ctx.media_kind = "image"
    ifd0, next_ifd = reader.read_ifd(reader.first_ifd)
    try:
        ctx.capture_time = capture_time_of(reader, ifd0)
    except Rejected:
        ctx.capture_time = None  # a damaged EXIF IFD is dropped anyway

    kept: dict[int, IfdEntry] = {}
    for entry in ifd0:
        if entry.tag in KEEP_TAGS and entry.type in KEEP_TAGS[entry.tag] and entry.tag not in kept:
            kept[entry.tag] = entry
        else:
            ctx.remove(DROPPED_NAMES.get(entry.tag, f"tag {entry.tag}"), "IFD0")
    if next_ifd:
        ctx.remove("further IFDs (thumbnail, pages)", "IFD1")

    orientation = kept.get(TAG_ORIENTATION)
    if orientation is not None:
        ctx.orientation = orientation_of(reader, [orientation])
        if ctx.orientation is None:
            del kept[TAG_ORIENTATION]
            ctx.remove("invalid Orientation", "IFD0")

    layout = _Layout(reader, kept, ctx)
    _refuse_overlap(layout, _metadata_ranges(reader, ifd0, next_ifd))
    _write(reader, dst, kept, layout, ctx)
    ctx.lossless = True


class _Layout:
    """The image geometry and where its strips or tiles lie, all checked."""

    def __init__(self, reader: TiffReader, kept: dict[int, IfdEntry], ctx: StripContext) -> None:
        def number(tag: int, default: int | None = None) -> int:
            entry = kept.get(tag)
            if entry is None:
                if default is None:
                    raise malformed(f"missing tag {tag}")
                return default
            return reader.single_integer(entry)

        width, height = number(256), number(257)
        if width == 0 or height == 0:
            raise malformed("zero image size")
        if width * height > MAX_PIXELS:
            raise Rejected(errors.TOO_LARGE, f"{width}x{height}")
        ctx.width, ctx.height = width, height
        self.compression = number(259, 1)
        if self.compression not in COMPRESSIONS:
            raise Rejected(errors.UNSUPPORTED_FORMAT, f"TIFF compression {self.compression}")
        planes = number(277, 1) if number(284, 1) == 2 else 1

        if STRIP_OFFSETS in kept and TILE_OFFSETS not in kept:
            self.offsets_tag, self.counts_tag = STRIP_OFFSETS, STRIP_COUNTS
            rows = min(number(278, 2**32 - 1), height) or height
            expected = -(-height // rows) * planes
            for tag in (322, 323, 324, 325):
                kept.pop(tag, None)
        elif TILE_OFFSETS in kept and STRIP_OFFSETS not in kept:
            self.offsets_tag, self.counts_tag = TILE_OFFSETS, TILE_COUNTS
            tile_width, tile_height = number(322), number(323)
            if tile_width == 0 or tile_height == 0:
                raise malformed("zero tile size")
            expected = -(-width // tile_width) * -(-height // tile_height) * planes
            for tag in (273, 278, 279):
                kept.pop(tag, None)
        else:
            raise malformed("needs exactly one of strips or tiles")
        if expected > MAX_BLOCKS:
            raise Rejected(errors.TOO_LARGE, f"{expected} strips or tiles")
        if self.counts_tag not in kept:
            raise malformed("missing byte counts")
        limit = 4 * MAX_BLOCKS
        self.offsets = reader.integers(kept[self.offsets_tag], limit)
        self.counts = reader.integers(kept[self.counts_tag], limit)
        if len(self.offsets) != expected or len(self.counts) != expected:
            raise malformed(f"{len(self.offsets)} strips or tiles where {expected} are needed")
        for offset, count in zip(self.offsets, self.counts, strict=True):
            if count and offset + count > reader.size:
                raise malformed("image data beyond the end of the file")
        if self.compression == 7:
            self._check_jpeg(reader, kept)
        else:
            kept.pop(JPEG_TABLES, None)

    def _check_jpeg(self, reader: TiffReader, kept: dict[int, IfdEntry]) -> None:
        if JPEG_TABLES in kept:
            _check_jpeg_tables(reader.value(kept[JPEG_TABLES], MAX_VALUE_BYTES))
        for offset, count in zip(self.offsets, self.counts, strict=True):
            if count:
                _check_jpeg_block(reader, offset, count)


def _write(
    reader: TiffReader,
    dst: BinaryIO,
    kept: dict[int, IfdEntry],
    layout: _Layout,
    ctx: StripContext,
) -> None:
    order = reader.byteorder
    block_count = len(layout.offsets)
    # Every kept value, in file byte order (unchanged, so raw bytes stay valid).
    values: dict[int, tuple[int, int, bytes]] = {}
    for tag, entry in kept.items():
        if tag in (layout.offsets_tag, layout.counts_tag):
            continue
        limit = MAX_ICC_BYTES if tag == ICC_PROFILE else MAX_VALUE_BYTES
        values[tag] = (entry.type, entry.count, reader.value(entry, limit))
    if ICC_PROFILE in values:
        # One byte per value (BYTE or UNDEFINED), so the count is the new length.
        kind, _count, raw = values[ICC_PROFILE]
        neutral, changed = neutral_or_none(raw)
        if neutral is None:
            del values[ICC_PROFILE]
        else:
            values[ICC_PROFILE] = (kind, len(neutral), neutral)
        for what in changed:
            ctx.remove(f"ICC {what}", "IFD0")
    counts_raw = b"".join(c.to_bytes(4, order) for c in layout.counts)
    values[layout.counts_tag] = (LONG, block_count, counts_raw)
    values[layout.offsets_tag] = (LONG, block_count, bytes(4 * block_count))  # placeholder

    tags = sorted(values)
    cursor = 8 + 2 + 12 * len(tags) + 4
    placed: dict[int, int] = {}
    for tag in tags:
        size = len(values[tag][2])
        if size > 4:
            cursor += cursor & 1  # values start on a word boundary
            placed[tag] = cursor
            cursor += size
    data_offsets = []
    for count in layout.counts:
        data_offsets.append(cursor)
        cursor += count
    if cursor >= 2**32:
        raise Rejected(errors.TOO_LARGE, "output beyond 4 GiB")
    offsets_raw = b"".join(o.to_bytes(4, order) for o in data_offsets)
    values[layout.offsets_tag] = (LONG, block_count, offsets_raw)

    header = (b"II*\x00" if order == "little" else b"MM\x00*") + (8).to_bytes(4, order)
    directory = [len(tags).to_bytes(2, order)]
    for tag in tags:
        kind, count, raw = values[tag]
        field = placed[tag].to_bytes(4, order) if tag in placed else raw.ljust(4, b"\x00")
        directory.append(
            tag.to_bytes(2, order) + kind.to_bytes(2, order) + count.to_bytes(4, order) + field
        )
    directory.append(bytes(4))  # no next IFD
    dst.write(header + b"".join(directory))
    for tag in tags:
        if tag in placed:
            dst.write(bytes(placed[tag] - dst.tell()))
            dst.write(values[tag][2])
    for offset, count in zip(layout.offsets, layout.counts, strict=True):
        reader.src.seek(offset)
        copy_exact(reader.src, dst, count)


# Tags whose values point at further IFDs: SubIFDs, EXIF, GPS, Interoperability.
IFD_POINTERS = frozenset((330, 34665, 34853, 40965))
# (offsets, byte counts) pairs of image data in any IFD, and the old JPEG thumbnail.
DATA_TAGS = ((273, 279), (324, 325), (513, 514))
MAX_IFDS = 64


def _metadata_ranges(
    reader: TiffReader, ifd0: list[IfdEntry], next_ifd: int
) -> list[tuple[int, int]]:
    """[start, end) of every byte the output does not keep as IFD0 pixels: the header, every
    IFD reachable from IFD0 (next IFDs, SubIFDs, EXIF, GPS, Interoperability), every value
    they point at, and the image data of every other IFD. An IFD that cannot be read
    cannot be ruled out, so it fails the file."""
    ranges = [(0, 8)]
    todo = [(reader.first_ifd, ifd0, next_ifd)]
    seen = {reader.first_ifd}
    while todo:
        offset, entries, following = todo.pop()
        ranges.append((offset, offset + 2 + 12 * len(entries) + 4))
        pointers = [following] if following else []
        by_tag = {e.tag: e for e in entries}
        for entry in entries:
            at = reader.value_offset(entry)
            if at is not None:
                ranges.append((at, at + reader.value_size(entry)))
            if entry.tag in IFD_POINTERS and entry.type in (LONG, IFD):
                pointers += reader.integers(entry, 4 * MAX_IFDS)
        if offset != reader.first_ifd:
            for offsets_tag, counts_tag in DATA_TAGS:
                if offsets_tag in by_tag and counts_tag in by_tag:
                    starts = reader.integers(by_tag[offsets_tag], 4 * MAX_BLOCKS)
                    counts = reader.integers(by_tag[counts_tag], 4 * MAX_BLOCKS)
                    ranges += [(a, a + n) for a, n in zip(starts, counts, strict=False)]
        for pointer in pointers:
            if pointer in seen:
                continue
            if len(seen) >= MAX_IFDS:
                raise Rejected(errors.UNSAFE_CONTENT, "too many IFDs to account for")
            seen.add(pointer)
            entries_next, following_next = reader.read_ifd(pointer)
            todo.append((pointer, entries_next, following_next))
    return ranges


def _refuse_overlap(layout: _Layout, ranges: list[tuple[int, int]]) -> None:
    merged: list[list[int]] = []
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    starts = [m[0] for m in merged]
    for offset, count in zip(layout.offsets, layout.counts, strict=True):
        if not count:
            continue
        i = bisect.bisect_right(starts, offset + count - 1) - 1
        if i >= 0 and merged[i][1] > offset:
            raise Rejected(errors.UNSAFE_CONTENT, "strip or tile data overlaps metadata")


JPEG_TABLE_MARKERS = frozenset((0xC4, 0xDB, 0xDD, 0xCC))
JPEG_FRAME_MARKERS = frozenset((0xC0, 0xC1, 0xC2, 0xC3, 0xC9, 0xCA, 0xCB))


def _check_jpeg_tables(tables: bytes) -> None:
    """JPEGTables must be an abbreviated stream: SOI, tables only, EOI."""
    if tables[:2] != b"\xff\xd8" or tables[-2:] != b"\xff\xd9":
        raise malformed("JPEGTables is not a JPEG stream")
    i = 2
    while i < len(tables) - 2:
        if tables[i] != 0xFF or tables[i + 1] not in JPEG_TABLE_MARKERS:
            raise Rejected(errors.UNSAFE_CONTENT, "JPEGTables holds more than tables")
        i += 2 + int.from_bytes(tables[i + 2 : i + 4], "big")
    if i != len(tables) - 2:
        raise malformed("JPEGTables lengths do not add up")


def _check_jpeg_block(reader: TiffReader, offset: int, count: int) -> None:
    """A JPEG-compressed strip or tile may hold tables and a frame before its scan, but no
    APPn or COM: those carry metadata and would be copied along with the coded data."""
    end = offset + count
    position = offset + 2
    if reader.read_at(offset, 2) != b"\xff\xd8":
        raise malformed("JPEG strip without SOI")
    while True:
        if position + 4 > end:
            raise malformed("JPEG strip ends before its scan")
        head = reader.read_at(position, 4)
        if head[0] != 0xFF:
            raise malformed("JPEG strip without marker")
        if head[1] == 0xDA:
            return
        if head[1] not in JPEG_TABLE_MARKERS and head[1] not in JPEG_FRAME_MARKERS:
            raise Rejected(errors.UNSAFE_CONTENT, f"JPEG strip holds marker 0x{head[1]:02X}")
        position += 2 + int.from_bytes(head[2:4], "big")
