"""Independent check of H.264/HEVC NAL units in a sanitized file: no SEI user data.

Written apart from the stripper's _sei module. A length-prefixed NAL stream (a chunk, a
fragment run or a Matroska frame) must parse exactly; every SEI NAL unit in it is read
message by message, and a message that is not on this reader's own list of timing, random
access and display messages is a finding (user_data_unregistered always; T.35 user data
unless it is HDR10+ or Dolby Vision display metadata). avcC may hold only parameter sets;
hvcC/lhvC SEI NAL units are checked the same way.
"""

from __future__ import annotations

from collections.abc import Callable

# Messages that can stay (see the stripper's list; kept apart on purpose).
_AVC_OK = frozenset(range(0, 24)) - {4, 5} | {45, 47, 137, 144, 147, 148}
_HEVC_OK = (
    frozenset((0, 1, 2, 3, 6, 9, 15, 16, 17, 19, 22, 23, 45, 47, 56))
    | frozenset(range(128, 133))
    | frozenset(range(134, 136))
    | frozenset(range(137, 152))
    | frozenset((154, 155, 156))
    | frozenset(range(176, 182))
)
T35_DISPLAY = (b"\xb5\x00\x3c\x00\x01\x04", b"\xb5\x00\x3b\x00\x00\x08\x00")

Read = Callable[[int, int], bytes]


def _type(hevc: bool, first: int) -> int:
    return (first >> 1) & 0x3F if hevc else first & 0x1F


def _hidden(hevc: bool, first: int) -> bool:
    """Reserved or unspecified NAL types (HEVC 62/63, Dolby Vision, excepted)."""
    kind = _type(hevc, first)
    if first & 0x80:  # forbidden_zero_bit
        return True
    return 41 <= kind <= 61 if hevc else kind in (0, 16, 17, 18) or kind >= 21


def _is_sei(hevc: bool, first: int) -> bool:
    return _type(hevc, first) in ((39, 40) if hevc else (6,))


def sei_findings(hevc: bool, nal: bytes) -> list[str]:
    """Findings for one SEI NAL unit."""
    raw = nal[2 if hevc else 1 :]
    rbsp = bytearray()
    run = 0
    for b in raw:
        if run >= 2 and b == 3:
            run = 0
            continue
        rbsp.append(b)
        run = run + 1 if b == 0 else 0
    allowed = _HEVC_OK if hevc else _AVC_OK
    out: list[str] = []
    i = 0
    while i < len(rbsp) and not (rbsp[i] == 0x80 and not any(rbsp[i + 1 :])):
        fields = []
        for _ in (0, 1):
            v = 0
            while i < len(rbsp) and rbsp[i] == 0xFF:
                v, i = v + 255, i + 1
            if i >= len(rbsp):
                return [*out, "SEI message header cut short"]
            fields.append(v + rbsp[i])
            i += 1
        kind, length = fields
        body = bytes(rbsp[i : i + length])
        if len(body) != length:
            return [*out, "SEI payload cut short"]
        i += length
        if kind == 4 and body.startswith(T35_DISPLAY):
            continue
        if kind not in allowed:
            out.append(f"SEI message of type {kind} (user data or unknown) kept")
    if i >= len(rbsp):
        out.append("SEI without trailing bits")
    return out


def stream_findings(hevc: bool, length_size: int, read: Read, start: int, size: int) -> list[str]:
    """Findings for the length-prefixed NAL units filling [start, start + size)."""
    pos, end = start, start + size
    out: list[str] = []
    while pos < end:
        head = read(pos, length_size + 1)
        if len(head) != length_size + 1 or pos + length_size >= end:
            return [*out, f"NAL unit header cut short at {pos}"]
        length = int.from_bytes(head[:length_size], "big")
        body_at = pos + length_size
        if length == 0 or body_at + length > end:
            return [*out, f"NAL unit at {pos} overruns its sample data"]
        if _is_sei(hevc, head[length_size]):
            out += sei_findings(hevc, read(body_at, length))
        elif _hidden(hevc, head[length_size]):
            out.append(f"reserved NAL unit type {_type(hevc, head[length_size])} kept")
        pos = body_at + length
    return out


def avcc_findings(record: bytes) -> tuple[int, list[str]]:
    """(NAL length size, findings) of an avcC record."""
    if len(record) < 7:
        return 4, ["avcC too short"]
    at, out = 5, []
    for mask in (0x1F, 0xFF):
        if at >= len(record):
            return 4, ["avcC cut short"]
        n, at = record[at] & mask, at + 1
        for _ in range(n):
            size = int.from_bytes(record[at : at + 2], "big")
            nal = record[at + 2 : at + 2 + size]
            if not nal or nal[0] & 0x1F not in (7, 8, 13):
                out.append("avcC holds a NAL unit that is not a parameter set")
            at += 2 + size
    if at + 4 <= len(record) and record[1] not in (66, 77, 88):
        n, at = record[at + 3], at + 4
        for _ in range(n):
            size = int.from_bytes(record[at : at + 2], "big")
            nal = record[at + 2 : at + 2 + size]
            if not nal or nal[0] & 0x1F != 13:
                out.append("avcC extension holds a NAL unit that is not an SPS extension")
            at += 2 + size
    if any(record[at:]):
        out.append("avcC carries trailing data")
    return (record[4] & 3) + 1, out


def hvcc_findings(record: bytes, layered: bool) -> tuple[int, list[str]]:
    """(NAL length size, findings) of an hvcC or lhvC record."""
    count_at = 5 if layered else 22
    if len(record) <= count_at:
        return 4, ["hvcC too short"]
    out: list[str] = []
    at = count_at + 1
    for _ in range(record[count_at]):
        n = int.from_bytes(record[at + 1 : at + 3], "big")
        at += 3
        for _ in range(n):
            size = int.from_bytes(record[at : at + 2], "big")
            nal = record[at + 2 : at + 2 + size]
            if len(nal) != size or size < 2:
                return 4, [*out, "hvcC NAL unit cut short"]
            if _is_sei(True, nal[0]):
                out += sei_findings(True, nal)
            elif _type(True, nal[0]) not in (32, 33, 34):
                out.append("hvcC holds a NAL unit that is not a parameter set or SEI")
            at += 2 + size
    if any(record[at:]):
        out.append("hvcC carries trailing data")
    return (record[count_at - 1] & 3) + 1, out
