"""Small streaming helpers shared by the container modules."""

from __future__ import annotations

import hashlib
from typing import BinaryIO

from .errors import malformed

# 256 KiB: large enough for few system calls, small enough that the allocator reuses
# its pages instead of mapping and faulting fresh ones for every block.
CHUNK = 1 << 18


def read_exact(src: BinaryIO, n: int) -> bytes:
    """Read exactly ``n`` bytes or fail as malformed (truncated input)."""
    data = src.read(n)
    if len(data) != n:
        raise malformed(f"truncated: wanted {n} bytes, got {len(data)}")
    return data


def read_at(src: BinaryIO, pos: int, n: int) -> bytes:
    """Up to ``n`` bytes at ``pos``: fewer at the end of the stream, never an error."""
    src.seek(pos)
    return src.read(n)


def copy_exact(src: BinaryIO, dst: BinaryIO, n: int) -> None:
    """Copy ``n`` bytes from ``src`` to ``dst`` in bounded chunks."""
    while n > 0:
        block = src.read(min(CHUNK, n))
        if not block:
            raise malformed("truncated while copying")
        dst.write(block)
        n -= len(block)


def write_zeros(dst: BinaryIO, n: int) -> None:
    zeros = bytes(min(CHUNK, n))
    while n > 0:
        step = min(len(zeros), n)
        dst.write(zeros[:step])
        n -= step


def file_size(f: BinaryIO) -> int:
    pos = f.tell()
    size = f.seek(0, 2)
    f.seek(pos)
    return size


def sha256_of(f: BinaryIO) -> str:
    """SHA-256 of the whole stream, leaving the position at the start."""
    f.seek(0)
    digest = hashlib.sha256()
    while block := f.read(CHUNK):
        digest.update(block)
    f.seek(0)
    return digest.hexdigest()
