"""AMR and AMR-WB storage format (RFC 4867 section 5): no metadata exists in it.

The file is a magic line followed by frames, each a one-byte header and a payload whose
length the header fixes. Every frame is checked so that anything else (appended tags, junk,
another format behind an AMR magic) is refused; the file is then copied unchanged.
"""

from __future__ import annotations

import re
from typing import BinaryIO

from . import errors
from ._io import CHUNK, file_size, read_exact
from .context import StripContext

_MAGIC_NB = b"#!AMR\n"
_MAGIC_WB = b"#!AMR-WB\n"
# Total frame length (header byte included) by frame type; None marks reserved types.
_NB_LENGTHS: tuple[int | None, ...] = (
    13,
    14,
    16,
    18,
    20,
    21,
    27,
    32,
    6,
    None,
    None,
    None,
    None,
    None,
    None,
    1,
)
_WB_LENGTHS: tuple[int | None, ...] = (
    18,
    24,
    33,
    37,
    41,
    47,
    51,
    59,
    61,
    6,
    None,
    None,
    None,
    None,
    1,
    1,
)
_FRAME_SECONDS = 0.02
# Headers of one-byte frames (NO_DATA, and SPEECH_LOST in AMR-WB), with and without the Q bit.
# Runs of them are skipped with a regex: a byte-per-frame Python loop would be slow.
_NB_EMPTY = re.compile(rb"[\x78\x7c]+")
_WB_EMPTY = re.compile(rb"[\x70\x74\x78\x7c]+")


def strip(src: BinaryIO, dst: BinaryIO, ctx: StripContext) -> None:
    size = file_size(src)
    src.seek(0)
    head = src.read(len(_MAGIC_WB))
    if head.startswith(_MAGIC_WB):
        lengths, start, empty = _WB_LENGTHS, len(_MAGIC_WB), _WB_EMPTY
    elif head.startswith(_MAGIC_NB):
        lengths, start, empty = _NB_LENGTHS, len(_MAGIC_NB), _NB_EMPTY
    else:
        # Includes the multichannel variants (#!AMR_MC1.0, #!AMR-WB_MC1.0): not supported.
        raise errors.Rejected(errors.UNSUPPORTED_FORMAT, "amr: unknown magic")

    dst.seek(0)
    dst.truncate()
    src.seek(0)
    dst.write(read_exact(src, start))
    frames = 0
    carry = b""  # a frame split across two reads
    pos = start
    while pos < size:
        block = carry + read_exact(src, min(CHUNK, size - pos))
        pos += len(block) - len(carry)
        at = 0
        while at < len(block):
            run = empty.match(block, at)
            if run is not None:
                frames += run.end() - at
                at = run.end()
                continue
            header = block[at]
            length = lengths[(header >> 3) & 0x0F]
            if header & 0x83 or length is None:
                raise errors.malformed(f"amr: invalid frame header at {pos - len(block) + at}")
            if at + length > len(block):
                break
            at += length
            frames += 1
        dst.write(block[:at])
        carry = block[at:]
    if carry:
        raise errors.malformed("amr: truncated last frame")
    if frames == 0:
        raise errors.malformed("amr: no frames")
    ctx.format = "amr"
    ctx.media_kind = "audio"
    ctx.lossless = True
    ctx.duration_s = round(frames * _FRAME_SECONDS, 3)
