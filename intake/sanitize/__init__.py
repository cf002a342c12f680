"""Testigo's media sanitizer: sniff → strip → verify. A pure library: no Django imports.

``sanitize(src, dst)`` reads one upload, writes a copy with every location and identity
trace removed at container level (coded pixels and streams copied byte for byte), then
re-reads the output with an independent verifier. Anything it cannot prove clean is
``rejected`` and leaves no output behind.

sniff.py names the container family; families.py maps each family to its stripper (one
module per family) and its verifier (verify/, one reader per family).
"""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path
from typing import BinaryIO

from . import errors
from ._io import background_sha256, file_size, sha256_of
from .context import HandOff, StripContext
from .errors import Rejected
from .families import FAMILIES, verify
from .manifest import Format, Manifest, RemovedItem
from .sniff import HEAD_SIZE, Family, sniff

__all__ = [
    "Format",
    "Manifest",
    "Rejected",
    "RemovedItem",
    "sanitize",
    "sanitize_stream",
    "sniff",
]


def sanitize(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Manifest:
    """Sanitize the file at ``src`` into ``dst``; on rejection no file is left at ``dst``."""
    dst_path = Path(dst)
    partial = dst_path.with_name(dst_path.name + ".partial")
    try:
        with open(src, "rb") as src_file, open(partial, "w+b") as dst_file:
            manifest = sanitize_stream(src_file, dst_file)
    except BaseException:
        # An unexpected error mid-strip must not leave a half-copied original on disk.
        partial.unlink(missing_ok=True)
        raise
    if manifest.status == "clean":
        partial.replace(dst_path)
    else:
        partial.unlink(missing_ok=True)
    return manifest


def sanitize_stream(src: BinaryIO, dst: BinaryIO) -> Manifest:
    """Sanitize between two seekable binary streams.

    ``dst`` must be readable too (``w+b``): the verifier re-reads it. When the result is
    rejected, ``dst`` is truncated to zero bytes and must not be published.
    """
    # The input is hashed on a second thread while this one strips, when a core is idle
    # (background_sha256); it is always waited for before returning, so no thread outlives
    # the streams.
    wait_sha_in = background_sha256(src)
    sha_in = sha256_of(src) if wait_sha_in is None else ""
    try:
        manifest = _sanitize(src, dst)
    finally:
        if wait_sha_in is not None:
            sha_in = wait_sha_in()
    manifest.sha256_in = sha_in
    if manifest.status == "rejected":
        dst.seek(0)
        dst.truncate()
    return manifest


def _sanitize(src: BinaryIO, dst: BinaryIO) -> Manifest:
    """Strip and verify; the manifest without sha256_in (the caller adds it)."""
    size_in = file_size(src)
    src.seek(0)
    family = sniff(src.read(HEAD_SIZE))
    src.seek(0)
    if family is None:
        return _rejected("unknown", errors.UNSUPPORTED_FORMAT, size_in)

    ctx = StripContext(format=family)
    try:
        family = _strip(family, src, dst, ctx)
        dst.flush()
        # The output is hashed on a second thread while the verifier reads it here, or else
        # by the verifier's marker scan in the same pass.
        wait_sha_out = background_sha256(dst)
        digest_out = hashlib.sha256()
        try:
            findings = verify(family, dst, digest_out if wait_sha_out is None else None)
        finally:
            sha_out = digest_out.hexdigest() if wait_sha_out is None else wait_sha_out()
    except Rejected as exc:
        return _rejected(ctx.format, exc.code, size_in)
    except (
        ValueError,
        IndexError,
        KeyError,
        ArithmeticError,
        EOFError,
        MemoryError,
        RecursionError,
        struct.error,
    ):
        # A parser tripping over hostile input is a malformed file, not a crash.
        return _rejected(ctx.format, errors.MALFORMED, size_in)
    if findings:
        return _rejected(ctx.format, errors.VERIFY_FAILED, size_in)

    return Manifest(
        format=ctx.format,
        status="clean",
        media_kind=ctx.media_kind,
        removed=ctx.removed,
        sha256_out=sha_out,
        size_in=size_in,
        size_out=file_size(dst),
        lossless=ctx.lossless,
        width=ctx.width,
        height=ctx.height,
        duration_s=ctx.duration_s,
        orientation=ctx.orientation,
        capture_time=ctx.capture_time,
    )


def _strip(family: Family, src: BinaryIO, dst: BinaryIO, ctx: StripContext) -> Family:
    """Run the family's stripper; return the family whose verifier judges the output."""
    try:
        FAMILIES[family].strip(src, dst, ctx)
    except HandOff as hand_off:
        FAMILIES[hand_off.family].strip(src, dst, ctx)
        return hand_off.family
    return family


def _rejected(fmt: Format, code: str, size_in: int) -> Manifest:
    return Manifest(format=fmt, status="rejected", reason=code, size_in=size_in)
