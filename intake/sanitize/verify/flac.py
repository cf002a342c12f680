"""Independent re-read of a sanitized FLAC file.

Accepts "fLaC", a STREAMINFO block, then only SEEKTABLE or all-zero PADDING blocks, then
frames. The frames themselves carry no lengths, so the end of the file is proven instead: the
last frame (found by its header CRC-8) must run exactly to the last byte with a good CRC-16.
That rules out ID3v1/APE tags or any other bytes appended after the audio.
"""

from __future__ import annotations

from typing import BinaryIO

_ZERO_CHECK = 1 << 20
# The last frame is searched for in the file's tail. STREAMINFO's maximum frame size narrows
# the tail, but it is input, so both the tail and the CRC work over it are capped.
_MAX_WINDOW = 1 << 20
_CRC_BUDGET = 4 << 20


def _crc8_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        table.append(crc)
    return table


def _crc16_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
        table.append(crc)
    return table


_CRC8 = _crc8_table()
_CRC16 = _crc16_table()


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = _CRC8[crc ^ byte]
    return crc


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[(crc >> 8) ^ byte]
    return crc


def _header_length(data: bytes, at: int) -> int | None:
    """Length of a frame header at ``at`` (CRC-8 included) when it is valid, else None."""
    if len(data) < at + 6 or data[at] != 0xFF or data[at + 1] not in (0xF8, 0xF9):
        return None
    block_code = data[at + 2] >> 4
    rate_code = data[at + 2] & 0x0F
    channels = data[at + 3] >> 4
    depth = (data[at + 3] >> 1) & 0x07
    if block_code == 0 or rate_code == 0x0F or channels > 10 or depth == 3 or data[at + 3] & 1:
        return None
    lead = data[at + 4]
    extra = 0
    mask = 0x80
    while lead & mask and mask:
        extra += 1
        mask >>= 1
    if extra == 1 or extra > 7:
        return None
    number_len = 1 if extra == 0 else extra
    cursor = at + 4 + number_len
    cursor += {6: 1, 7: 2}.get(block_code, 0)
    cursor += {12: 1, 13: 2, 14: 2}.get(rate_code, 0)
    if cursor >= len(data) or _crc8(data[at:cursor]) != data[cursor]:
        return None
    return cursor + 1 - at


def verify(f: BinaryIO) -> list[str]:
    f.seek(0, 2)
    total = f.tell()
    f.seek(0)
    if f.read(4) != b"fLaC":
        return ["no fLaC marker at offset 0"]
    findings: list[str] = []
    offset = 4
    first = True
    max_frame = 0
    while True:
        head = f.read(4)
        if len(head) < 4:
            return ["metadata truncated"]
        kind = head[0] & 0x7F
        length = int.from_bytes(head[1:], "big")
        if offset + 4 + length > total:
            return ["metadata block runs past end of file"]
        if first:
            if kind != 0 or length != 34:
                return ["first metadata block is not STREAMINFO"]
            info = f.read(34)
            max_frame = int.from_bytes(info[7:10], "big")
            first = False
        elif kind == 3 and length % 18 == 0:
            f.seek(length, 1)
        elif kind == 1:
            remaining = length
            while remaining:
                piece = f.read(min(remaining, _ZERO_CHECK))
                if piece.count(0) != len(piece):
                    findings.append("PADDING block holds data")
                    f.seek(remaining - len(piece), 1)
                    break
                remaining -= len(piece)
        else:
            findings.append(f"metadata block type {kind} not allowed")
            f.seek(length, 1)
        offset += 4 + length
        if head[0] & 0x80:
            break
    audio_start = offset
    first_frame = f.read(32)
    if _header_length(first_frame, 0) is None:
        return [*findings, "no valid frame header after the metadata"]
    findings += _check_last_frame(f, audio_start, total, max_frame)
    return findings


def _check_last_frame(f: BinaryIO, audio_start: int, total: int, max_frame: int) -> list[str]:
    window = min(total - audio_start, max_frame + 64 if max_frame else _MAX_WINDOW, _MAX_WINDOW)
    f.seek(total - window)
    tail = f.read(window)
    budget = _CRC_BUDGET
    at = len(tail)
    while budget > 0:
        at = tail.rfind(b"\xff", 0, at)
        if at < 0:
            break
        header = _header_length(tail, at)
        if header is not None and len(tail) - at >= header + 2:
            budget -= len(tail) - at
            if _crc16(tail[at:]) == 0:
                return []
    return ["audio does not end with a complete frame (data appended after the frames?)"]
