"""Independent TIFF reader for sanitized output."""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO, Literal

from ._icc import icc_findings

# Tag -> accepted field types. Anything else in IFD0 is a finding.
_ALLOWED_TAGS: dict[int, tuple[int, ...]] = {
    256: (3, 4), 257: (3, 4), 258: (3,), 259: (3,), 262: (3,), 266: (3,), 273: (3, 4),
    274: (3,), 277: (3,), 278: (3, 4), 279: (3, 4), 282: (5,), 283: (5,), 284: (3,),
    292: (4,), 293: (4,), 296: (3,), 317: (3,), 320: (3,), 322: (3, 4), 323: (3, 4),
    324: (3, 4), 325: (3, 4), 338: (3,), 339: (3,), 347: (7,), 529: (5,), 530: (3,),
    531: (3,), 532: (5,), 34675: (1, 7),
}  # fmt: skip
_FIELD_BYTES = {1: 1, 3: 2, 4: 4, 5: 8, 7: 1}
_CODED_COMPRESSIONS = (1, 2, 3, 4, 5, 7, 8, 32773, 32946)
_JPEG_HEADER_CODES = frozenset((0xC0, 0xC1, 0xC2, 0xC3, 0xC9, 0xCA, 0xCB, 0xC4, 0xDB, 0xDD, 0xCC))


def verify(f: BinaryIO) -> list[str]:
    """Findings for a TIFF that is not exactly: header, one IFD of image-structure tags, their
    values and the image data, with no byte of the file left unaccounted for."""
    f.seek(0, 2)
    size = f.tell()
    f.seek(0)
    head = f.read(8)
    order: Literal["little", "big"]
    if head[:4] == b"II*\x00":
        order = "little"
    elif head[:4] == b"MM\x00*":
        order = "big"
    else:
        return ["no TIFF header"]

    def read(offset: int, n: int) -> bytes:
        f.seek(offset)
        return f.read(n)

    def number(raw: bytes) -> int:
        return int.from_bytes(raw, order)

    findings: list[str] = []
    ifd = number(head[4:8])
    entry_count = number(read(ifd, 2))
    directory = read(ifd + 2, 12 * entry_count + 4)
    if len(directory) != 12 * entry_count + 4 or ifd + len(directory) + 2 > size:
        return ["IFD0 runs past the end"]
    if number(directory[-4:]) != 0:
        findings.append("a second IFD follows IFD0")
    used: list[tuple[int, int, str]] = [(0, 8, "header"), (ifd, ifd + 2 + len(directory), "IFD0")]
    values: dict[int, list[int]] = {}
    raw_values: dict[int, bytes] = {}
    previous_tag = -1
    for i in range(0, 12 * entry_count, 12):
        tag, kind, count = (
            number(directory[i : i + 2]),
            number(directory[i + 2 : i + 4]),
            number(directory[i + 4 : i + 8]),
        )
        field = directory[i + 8 : i + 12]
        if tag <= previous_tag:
            findings.append(f"tag {tag} out of order")
        previous_tag = tag
        if tag not in _ALLOWED_TAGS or kind not in _ALLOWED_TAGS[tag]:
            findings.append(f"tag {tag} (type {kind}) not allowed")
            continue
        length = _FIELD_BYTES[kind] * count
        if length > 4:
            start = number(field)
            if start + length > size:
                findings.append(f"tag {tag} value past the end")
                continue
            raw = (
                read(start, min(length, 1 << 16))
                if tag not in (273, 279, 324, 325, 34675)
                else read(start, length)
            )
            used.append((start, start + length, f"tag {tag}"))
        else:
            raw = field[:length]
            if field[length:].strip(b"\x00"):
                findings.append(f"tag {tag} has bytes after its value")
        raw_values[tag] = raw
        if kind in (3, 4):
            width = _FIELD_BYTES[kind]
            values[tag] = [number(raw[j : j + width]) for j in range(0, len(raw), width)]

    findings += _value_findings(values, raw_values)
    if 34675 in raw_values:
        findings += [f"ICC profile: {x}" for x in icc_findings(raw_values[34675])]
    compression = values.get(259, [1])[0]
    offsets = values.get(273, values.get(324, []))
    counts = values.get(279, values.get(325, []))
    if not offsets or len(offsets) != len(counts) or (273 in values and 324 in values):
        findings.append("strip or tile arrays missing or inconsistent")
    for start, count in zip(offsets, counts, strict=False):
        if count == 0:
            continue
        if start + count > size:
            findings.append(f"image data at {start} past the end")
            continue
        used.append((start, start + count, "image data"))
        if compression == 7 and not _jpeg_block_header_ok(read(start, min(count, 1 << 16))):
            findings.append(f"JPEG strip at {start} holds more than tables and frame")
    findings += _coverage_findings(used, size, read)
    return findings


def _value_findings(values: dict[int, list[int]], raw_values: dict[int, bytes]) -> list[str]:
    findings = []
    if 256 not in values or 257 not in values:
        findings.append("image size missing")
    if values.get(274, [1])[0] not in range(1, 9):
        findings.append("Orientation out of range")
    compression = values.get(259, [1])[0]
    if compression not in _CODED_COMPRESSIONS:
        findings.append(f"compression {compression} not allowed")
    if 347 in raw_values and not _is_table_stream(raw_values[347]):
        findings.append("JPEGTables holds more than tables")
    return findings


def _coverage_findings(
    used: list[tuple[int, int, str]], size: int, read: Callable[[int, int], bytes]
) -> list[str]:
    """Every byte must belong to a structure; only single zero pad bytes may sit between."""
    findings = []
    end = 0
    for start, stop, what in sorted(used):
        if start < end:
            findings.append(f"{what} overlaps what precedes it")
        elif start - end > 1 or read(end, start - end).strip(b"\x00"):
            findings.append(f"{start - end} unaccounted bytes at {end}")
        end = max(end, stop)
    if size - end > 1 or read(end, size - end).strip(b"\x00"):
        findings.append(f"{size - end} unaccounted bytes at the end")
    return findings


def _is_table_stream(tables: bytes) -> bool:
    if tables[:2] != b"\xff\xd8" or tables[-2:] != b"\xff\xd9":
        return False
    at = 2
    while at < len(tables) - 2:
        if tables[at] != 0xFF or tables[at + 1] not in (0xC4, 0xDB, 0xDD, 0xCC):
            return False
        at += 2 + int.from_bytes(tables[at + 2 : at + 4], "big")
    return at == len(tables) - 2


def _jpeg_block_header_ok(block: bytes) -> bool:
    """A JPEG strip may hold only tables and a frame header before its first scan."""
    if block[:2] != b"\xff\xd8":
        return False
    at = 2
    while at + 4 <= len(block):
        if block[at] != 0xFF:
            return False
        if block[at + 1] == 0xDA:
            return True
        if block[at + 1] not in _JPEG_HEADER_CODES:
            return False
        at += 2 + int.from_bytes(block[at + 2 : at + 4], "big")
    return False
