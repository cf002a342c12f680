"""Independent re-read of a sanitized WAVE file (RIFF, RF64 or BW64).

Allowed: the RIFF header with an exact size, for RF64/BW64 a 28-byte ds64 with no table, then
only fmt, fact and data chunks (fmt once and before data, data once), zero pad bytes, and
nothing after the last chunk.
"""

from __future__ import annotations

from typing import BinaryIO

_ALLOWED = {b"fmt ", b"fact", b"data"}
_CODECS = {1, 2, 3, 6, 7, 0x11, 0x31, 0xFFFE}  # no MPEG: its stream may carry ID3
# WAVE_FORMAT_EXTENSIBLE sub-format GUIDs end with this (the KSDATAFORMAT base GUID).
_GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")


def _le(data: bytes) -> int:
    return int.from_bytes(data, "little")


def _fmt_findings(body: bytes) -> list[str]:
    plain = len(body) == 16
    extended = len(body) >= 18 and len(body) == 18 + _le(body[16:18])
    if not (plain or extended):
        return ["fmt chunk size does not match its contents"]
    codec = _le(body[0:2])
    if codec not in _CODECS:
        return [f"fmt codec 0x{codec:04x} not allowed"]
    if codec == 0xFFFE:
        if len(body) != 40 or body[26:40] != _GUID_TAIL:
            return ["WAVE_FORMAT_EXTENSIBLE with an unknown sub-format"]
        if _le(body[24:26]) not in _CODECS - {0xFFFE}:
            return ["WAVE_FORMAT_EXTENSIBLE with an unknown sub-format"]
    return []


def verify(f: BinaryIO) -> list[str]:
    f.seek(0, 2)
    total = f.tell()
    f.seek(0)
    head = f.read(12)
    if len(head) < 12 or head[8:12] != b"WAVE":
        return ["not a WAVE file"]
    findings: list[str] = []
    offset = 12
    data_size64 = None
    if head[:4] == b"RIFF":
        if _le(head[4:8]) != total - 8:
            findings.append("RIFF size does not match the file")
    elif head[:4] in (b"RF64", b"BW64"):
        ds64 = f.read(36)
        if len(ds64) < 36 or ds64[:4] != b"ds64" or _le(ds64[4:8]) != 28:
            return ["RF64 without a plain ds64 chunk"]
        if _le(ds64[8:16]) != total - 8:
            findings.append("ds64 RIFF size does not match the file")
        if _le(ds64[32:36]) != 0:
            findings.append("ds64 carries a chunk table")
        data_size64 = _le(ds64[16:24])
        offset = 48
    else:
        return ["not a RIFF/RF64 file"]
    seen: list[bytes] = []
    while offset < total:
        f.seek(offset)
        chunk = f.read(8)
        if len(chunk) < 8:
            return [*findings, f"stray bytes at {offset}"]
        chunk_id, length = chunk[:4], _le(chunk[4:8])
        if data_size64 is not None and chunk_id == b"data" and length == 0xFFFFFFFF:
            length = data_size64
        if chunk_id not in _ALLOWED:
            findings.append(f"chunk {chunk_id!r} not allowed")
        if chunk_id in seen:
            findings.append(f"chunk {chunk_id!r} repeated")
        seen.append(chunk_id)
        end = offset + 8 + length
        if end > total:
            return [*findings, f"chunk {chunk_id!r} runs past end of file"]
        if chunk_id == b"fmt ":
            findings += _fmt_findings(f.read(length) if length <= 64 else b"")
        elif chunk_id == b"fact" and length != 4:
            findings.append("fact chunk is not 4 bytes")
        if length & 1:
            f.seek(end)
            if f.read(1) != b"\x00":
                findings.append(f"pad byte after {chunk_id!r} missing or not zero")
            end += 1
        offset = end
    if b"fmt " not in seen or b"data" not in seen:
        findings.append("fmt or data chunk missing")
    elif seen.index(b"data") < seen.index(b"fmt "):
        findings.append("data before fmt")
    return findings
