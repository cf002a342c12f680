"""Independent check of AV1 OBUs in a sanitized file: no metadata OBU but display metadata,
no reserved OBU, no padding that is not zero.

Written apart from the stripper's _obu module (it does not import it). An AV1 run
(a chunk, a fragment run or a Matroska frame) must be OBUs with size fields filling it
exactly; metadata OBUs may only be HDR content light level (1), mastering display (2),
scalability (3) or T.35 display metadata (HDR10+, Dolby Vision: the same list as the SEI
reader); reserved OBU types (0, 9-14) and tile lists (8) must be gone and padding OBUs must
be zero. av1C may hold a sequence header and those metadata OBUs only.
"""

from __future__ import annotations

from collections.abc import Callable

from ._nal import T35_DISPLAY

Read = Callable[[int, int], bytes]

_DISPLAY_METADATA = (1, 2, 3)
_T35 = 4
_PADDING = 15
_GONE = (0, 8, 9, 10, 11, 12, 13, 14)  # reserved types and tile lists


def _leb(raw: bytes, at: int) -> tuple[int, int] | None:
    value = 0
    for shift in range(8):
        if at + shift >= len(raw):
            return None
        value += (raw[at + shift] & 0x7F) << (7 * shift)
        if raw[at + shift] < 0x80:
            return value, at + shift + 1
    return None


def obu_findings(read: Read, start: int, size: int) -> list[str]:
    """Findings for the OBUs filling [start, start + size)."""
    pos, end = start, start + size
    out: list[str] = []
    while pos < end:
        head = read(pos, min(10, end - pos))
        if not head:
            return [*out, f"AV1 OBU header cut short at {pos}"]
        first = head[0]
        kind = first >> 3 & 0xF
        if first & 0x80:
            out.append(f"AV1 OBU at {pos} has the forbidden bit set")
        if not first & 0x02:
            return [*out, f"AV1 OBU at {pos} has no size field"]
        parsed = _leb(head, 2 if first & 0x04 else 1)
        if parsed is None:
            return [*out, f"AV1 OBU size at {pos} cut short"]
        length, body_at = parsed
        body_at += pos
        if body_at + length > end:
            return [*out, f"AV1 OBU at {pos} overruns its sample data"]
        if kind in _GONE:
            out.append(f"reserved AV1 OBU type {kind} kept")
        elif kind == 5:
            out += metadata_findings(read(body_at, length))
        elif kind == _PADDING and any(read(body_at, length)):
            out.append(f"AV1 padding OBU at {pos} is not zero")
        pos = body_at + length
    return out


def metadata_findings(body: bytes) -> list[str]:
    parsed = _leb(body, 0)
    if parsed is None:
        return ["AV1 metadata OBU without a type kept"]
    kind, at = parsed
    if kind in _DISPLAY_METADATA or (kind == _T35 and body[at:].startswith(T35_DISPLAY)):
        return []
    return [f"AV1 metadata OBU of type {kind} (user data or unknown) kept"]


def av1c_findings(record: bytes) -> list[str]:
    if len(record) < 4 or record[0] != 0x81:
        return ["av1C marker or version is wrong"]
    out = obu_findings(lambda p, n: record[p : p + n], 4, len(record) - 4)
    at = 4
    while at < len(record):
        parsed = _leb(record, at + (2 if record[at] & 0x04 else 1))
        if parsed is None:
            break
        if record[at] >> 3 & 0xF not in (1, 5):
            out.append("av1C holds an OBU that is neither a sequence header nor metadata")
        at = parsed[1] + parsed[0]
    return out
