"""Independent GIF reader for sanitized output.

Accepts only: the header and logical screen, colour tables, image descriptors with their data,
graphic control extensions, and a NETSCAPE2.0/ANIMEXTS1.0 extension holding just the loop
count; the trailer must end the file. Comments, plain text and other applications are findings.
"""

from __future__ import annotations

from typing import BinaryIO

_LOOP_IDS = (b"NETSCAPE2.0", b"ANIMEXTS1.0")
# 256 KiB reads: larger blocks make the allocator re-fault fresh pages for each one.
_WINDOW = 256 << 10


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


def _take(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise _Truncated(f"wanted {n} bytes")
    return data


def _skip_table(f: BinaryIO, flags: int) -> None:
    if flags & 0x80:
        _take(f, 3 * (2 << (flags & 7)))


def _skip_sub_blocks(f: BinaryIO) -> None:
    """Move past data sub-blocks and their terminator, reading large windows."""
    while True:
        base = f.tell()
        window = f.read(_WINDOW)
        if not window:
            raise _Truncated("data sub-blocks")
        pos = 0
        while pos < len(window):
            if window[pos] == 0:
                f.seek(base + pos + 1)
                return
            pos += window[pos] + 1
        f.seek(base + pos)


def _loop_extension_ok(f: BinaryIO) -> bool:
    """True when the sub-blocks are exactly one loop count: 03 01 <count:2> 00."""
    start = f.tell()
    blocks = f.read(5)
    if len(blocks) == 5 and blocks[:2] == b"\x03\x01" and blocks[4] == 0:
        return True
    f.seek(start)
    _skip_sub_blocks(f)
    return False


def _walk(f: BinaryIO, size: int, findings: list[str]) -> None:
    head = _take(f, 13)
    if head[:6] not in (b"GIF87a", b"GIF89a"):
        findings.append("no GIF signature")
        return
    _skip_table(f, head[10])
    images = 0
    while True:
        at = f.tell()
        block = _take(f, 1)[0]
        if block == 0x3B:
            if f.tell() != size:
                findings.append(f"{size - f.tell()} bytes after the trailer")
            break
        if block == 0x2C:
            images += 1
            _skip_table(f, _take(f, 9)[8])
            _take(f, 1)
            _skip_sub_blocks(f)
        elif block == 0x21:
            label = _take(f, 1)[0]
            if label == 0xF9:
                control = _take(f, 6)
                if control[0] != 4 or control[5] != 0:
                    findings.append(f"graphic control extension at {at} is not 4 bytes")
            elif label == 0xFF:
                ident = _take(f, _take(f, 1)[0])
                if ident not in _LOOP_IDS:
                    _skip_sub_blocks(f)
                    findings.append(f"application extension {ident!r} at {at}")
                elif not _loop_extension_ok(f):
                    findings.append(f"{ident!r} at {at} holds more than a loop count")
            else:
                _skip_sub_blocks(f)
                findings.append(f"extension 0x{label:02X} at {at}")
        else:
            findings.append(f"unknown block 0x{block:02X} at {at}")
            return
    if images == 0:
        findings.append("no image")
