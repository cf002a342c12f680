"""Independent JPEG reader for sanitized output.

Walks every segment and accepts only: SOI; a JFIF APP0 without thumbnail; an EXIF APP1 that
holds nothing but Orientation; ICC profile APP2; a 12-byte Adobe APP14; quantisation, Huffman,
arithmetic-conditioning and restart tables; one supported frame header; scans; EOI at the very
end of the file. Everything else is a finding.
"""

from __future__ import annotations

import dataclasses
import re
from typing import BinaryIO

from ._exif import minimal_orientation_exif_findings
from ._icc import icc_findings

# 256 KiB reads: larger blocks make the allocator re-fault fresh pages for each one.
_READ_SIZE = 256 << 10
_MAX_FILL = 1 << 16

_TABLE_NAMES = {0xDB: "DQT", 0xC4: "DHT", 0xCC: "DAC", 0xDD: "DRI"}
_FRAME_CODES = frozenset((0xC0, 0xC1, 0xC2, 0xC3, 0xC9, 0xCA, 0xCB))

# Start of the marker that ends entropy-coded data: 0xFF (possibly repeated) followed by any
# code other than 0x00 (stuffing), 0xD0-0xD7 (restart) or 0xFF.
_MARKER_START = re.compile(rb"\xff(?:\xff)*(?=[\x01-\xcf\xd8-\xfe])")


class _Truncated(Exception):
    pass


def verify(f: BinaryIO) -> list[str]:
    findings: list[str] = []
    f.seek(0, 2)
    size = f.tell()
    f.seek(0)
    try:
        _walk(f, size, findings)
    except _Truncated as exc:
        findings.append(f"truncated: {exc}")
    return findings


def _read(f: BinaryIO, n: int, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise _Truncated(what)
    return data


@dataclasses.dataclass
class _Seen:
    """What the walk has met so far, for the rules on order and repetition."""

    previous: str = "SOI"  # what the last segment was, for the EXIF placement rule
    frame: bool = False
    adobe: bool = False
    exif: bool = False
    in_scans: bool = False
    icc_numbers: list[tuple[int, int]] = dataclasses.field(default_factory=list)
    icc_data: list[bytes] = dataclasses.field(default_factory=list)


def _walk(f: BinaryIO, size: int, findings: list[str]) -> None:
    if _read(f, 2, "SOI") != b"\xff\xd8":
        findings.append("does not start with SOI")
        return
    seen = _Seen()
    while True:
        at = f.tell()
        pair = _read(f, 2, f"marker at {at}")
        if pair[0] != 0xFF or pair[1] in (0x00, 0xFF):
            findings.append(f"no marker where one must be, at {at}")
            return
        code = pair[1]
        if code == 0xD9:
            if f.tell() != size:
                findings.append(f"{size - f.tell()} bytes after EOI")
            if not seen.in_scans:
                findings.append("EOI before any scan")
            break
        if 0xD0 <= code <= 0xD7 or code in (0x01, 0xD8):
            findings.append(f"stand-alone marker 0x{code:02X} at {at}")
            return
        length = int.from_bytes(_read(f, 2, f"length at {at}"), "big")
        if length < 2 or at + 2 + length > size:
            findings.append(f"segment 0x{code:02X} at {at} runs past the end")
            return
        payload = _read(f, length - 2, f"segment at {at}")
        name = _segment(f, code, payload, at, seen, findings)
        if seen.in_scans and name not in ("SOS", "DQT", "DHT", "DAC", "DRI"):
            findings.append(f"segment {name} between scans at {at}")
        seen.previous = name
    if seen.icc_numbers:
        total = seen.icc_numbers[0][1]
        if [n for n, _ in seen.icc_numbers] != list(range(1, total + 1)) or any(
            t != total for _, t in seen.icc_numbers
        ):
            findings.append("ICC profile chunks out of sequence")
        else:
            findings += icc_findings(b"".join(seen.icc_data))


def _segment(
    f: BinaryIO, code: int, payload: bytes, at: int, seen: _Seen, findings: list[str]
) -> str:
    """Check one segment (after a scan header, skip its coded data); return its name."""
    if code in _TABLE_NAMES:
        if not _table_is_well_formed(code, payload):
            findings.append(f"{_TABLE_NAMES[code]} at {at} does not hold exactly its tables")
        return _TABLE_NAMES[code]
    if code in _FRAME_CODES:
        if seen.frame or seen.in_scans:
            findings.append(f"extra frame header at {at}")
        seen.frame = True
        if len(payload) < 6 or len(payload) != 6 + 3 * payload[5]:
            findings.append(f"frame header at {at} has the wrong length")
        elif payload[1:3] == b"\x00\x00" or payload[3:5] == b"\x00\x00":
            findings.append(f"frame header without dimensions at {at}")
        return "SOF"
    if code == 0xDA:
        if not payload or len(payload) != 4 + 2 * payload[0]:
            findings.append(f"scan header at {at} has the wrong length")
        if not seen.frame:
            findings.append(f"scan before frame header at {at}")
        seen.in_scans = True
        f.seek(_skip_entropy_coded(f))
        return "SOS"
    if code == 0xE0 and seen.previous == "SOI" and not seen.in_scans:
        if len(payload) != 14 or payload[:5] != b"JFIF\x00" or payload[12:14] != b"\x00\x00":
            findings.append(f"APP0 at {at} is not a bare JFIF header")
        return "JFIF"
    if code == 0xE1 and seen.previous in ("SOI", "JFIF") and not seen.exif:
        seen.exif = True
        if payload[:6] != b"Exif\x00\x00":
            findings.append(f"APP1 at {at} is not EXIF")
        else:
            exif = minimal_orientation_exif_findings(payload[6:])
            findings.extend(f"EXIF at {at}: {x}" for x in exif)
        return "EXIF"
    if code == 0xE2 and payload[:12] == b"ICC_PROFILE\x00" and not seen.in_scans:
        if len(payload) < 15:
            findings.append(f"empty ICC chunk at {at}")
        else:
            seen.icc_numbers.append((payload[12], payload[13]))
            seen.icc_data.append(payload[14:])
        return "ICC"
    if code == 0xEE and not seen.adobe and not seen.in_scans:
        seen.adobe = True
        if len(payload) != 12 or payload[:5] != b"Adobe":
            findings.append(f"APP14 at {at} is not a bare Adobe header")
        return "Adobe"
    findings.append(f"segment 0x{code:02X} not allowed at {at}")
    return f"0x{code:02X}"


def _skip_entropy_coded(f: BinaryIO) -> int:
    """Offset of the first marker after entropy-coded data starting at the current position."""
    offset = f.tell()
    held = b""
    while True:
        block = f.read(_READ_SIZE)
        if not block:
            raise _Truncated("entropy-coded data without end marker")
        window = held + block
        found = _MARKER_START.search(window)
        if found is not None:
            return offset + found.start()
        # Keep a trailing 0xFF run: the byte after it decides whether it starts a marker.
        keep_from = len(window)
        while keep_from > 0 and window[keep_from - 1] == 0xFF:
            keep_from -= 1
        offset += keep_from
        held = window[keep_from:]
        if len(held) > _MAX_FILL:
            raise _Truncated("fill bytes without end")


def _table_is_well_formed(code: int, payload: bytes) -> bool:
    """True when a table segment is exactly a sequence of complete tables, no spare bytes."""
    if code == 0xDD:  # DRI: the restart interval alone
        return len(payload) == 2
    if code == 0xCC:  # DAC: pairs of class/destination and value
        return len(payload) > 0 and len(payload) % 2 == 0
    i = 0
    while i < len(payload):
        if code == 0xDB:  # DQT: precision nibble selects 8- or 16-bit entries
            i += 1 + (128 if payload[i] >> 4 else 64)
        else:  # DHT: 16 code-length counts, then that many symbols
            counts = payload[i + 1 : i + 17]
            if len(counts) != 16:
                return False
            i += 17 + sum(counts)
    return i == len(payload) and len(payload) > 0
