"""Small streaming helpers shared by the container modules."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO

from .errors import malformed

# Reads for the background hash: 4 MiB, so a photo takes one or two GIL hand-overs
# between the threads, into buffers kept for reuse (fresh ones would be page-faulted in).
HASH_CHUNK = 4 << 20
_hash_buffers: list[bytearray] = []
# Copies at least this long go through copy_file_range: the kernel copies page cache to
# page cache, without two copies through Python and a system call per block.
COPY_RANGE_MIN = 1 << 16

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
    if n >= COPY_RANGE_MIN and _copy_range(src, dst, n):
        return
    while n > 0:
        block = src.read(min(CHUNK, n))
        if not block:
            raise malformed("truncated while copying")
        dst.write(block)
        n -= len(block)


def _copy_range(src: BinaryIO, dst: BinaryIO, n: int) -> bool:
    """copy_file_range between two real files; False (nothing copied) where it cannot."""
    src_raw, dst_raw = getattr(src, "raw", src), getattr(dst, "raw", dst)
    if not (isinstance(src_raw, io.FileIO) and isinstance(dst_raw, io.FileIO)):
        return False
    dst.flush()
    src_pos, dst_pos = src.tell(), dst.tell()
    end = src_pos + n
    try:
        while src_pos < end:
            done = os.copy_file_range(
                src_raw.fileno(), dst_raw.fileno(), end - src_pos, src_pos, dst_pos
            )
            if done == 0:
                raise malformed("truncated while copying")
            src_pos += done
            dst_pos += done
    except OSError:
        if src_pos != end - n:
            raise  # part copied: the streams no longer agree with the files
        return False  # not supported here (another file system, old kernel)
    src.seek(src_pos)
    dst.seek(dst_pos)
    return True


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


# Whether a hash may run on a second thread: None decides per file from the load average;
# the workers of batch.sanitize_files set False (their processes already fill the cores).
background_hashing: bool | None = None


def background_sha256(f: BinaryIO) -> Callable[[], str] | None:
    """Start the SHA-256 of the whole of ``f`` on another thread; the returned function
    waits for its hex digest. None when ``f`` is not a real file or no core is idle: the
    caller then hashes the bytes as it reads them.

    The bytes are read with os.preadv, so the stream's position is not touched; hashlib
    and preadv release the GIL, so the hash runs on another core while the caller strips
    or verifies. The caller must wait before it writes to or closes ``f``.
    """
    raw = getattr(f, "raw", f)
    if not isinstance(raw, io.FileIO):
        return None
    if background_hashing is False or (background_hashing is None and not _core_idle()):
        return None
    if f.writable():
        f.flush()  # the bytes still in the stream's buffer must be in the file
    return _hash_pool().submit(_sha256_fd, raw.fileno()).result


def _core_idle() -> bool:
    """True when the last minute's load leaves a core for a second thread. On a saturated
    machine the thread gains nothing and the hand-overs of the GIL between the two threads
    cost more than they save (measured in docs/sanitizer.md)."""
    return os.getloadavg()[0] < len(os.sched_getaffinity(0))


def _hash_pool() -> ThreadPoolExecutor:
    """Two threads kept for the input and output hashes: starting a thread per hash makes
    the caller wait until the new thread first runs, milliseconds on a busy machine."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sanitize-sha256")
    return _pool


def _forget_pool() -> None:
    # A forked child (Celery prefork, sanitize_media --jobs) has none of the parent's
    # threads: a pool inherited from the parent would take work and never do it.
    global _pool
    _pool = None


_pool: ThreadPoolExecutor | None = None
os.register_at_fork(after_in_child=_forget_pool)


def _sha256_fd(fd: int) -> str:
    digest = hashlib.sha256()
    try:
        buffer = _hash_buffers.pop()
    except IndexError:
        buffer = bytearray(HASH_CHUNK)
    try:
        with memoryview(buffer) as view:
            offset = 0
            while n := os.preadv(fd, [buffer], offset):
                digest.update(view[:n])
                offset += n
    finally:
        # At most two are in use at once (input and output); keep no more than that.
        if len(_hash_buffers) < 2:
            _hash_buffers.append(buffer)
    return digest.hexdigest()
