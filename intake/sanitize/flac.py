"""FLAC: keep STREAMINFO, SEEKTABLE and the audio frames; drop every other metadata block.

VORBIS_COMMENT (free text), PICTURE (cover art, often a phone photo with EXIF), APPLICATION,
CUESHEET and PADDING go, as do ID3v2 tags in front of "fLaC" and ID3v1/APE tags appended after
the frames. The last kept block gets the last-block flag.
"""

from __future__ import annotations

from typing import BinaryIO

from . import errors
from ._id3 import skip_leading_id3, trailing_tags_start
from ._io import copy_exact, file_size, read_exact
from ._vorbis import vorbis_comment_fields
from .context import StripContext

STREAMINFO = 0
PADDING = 1
APPLICATION = 2
SEEKTABLE = 3
VORBIS_COMMENT = 4
CUESHEET = 5
PICTURE = 6
_NAMES = {
    PADDING: "PADDING",
    APPLICATION: "APPLICATION",
    VORBIS_COMMENT: "VORBIS_COMMENT",
    CUESHEET: "CUESHEET",
    PICTURE: "PICTURE",
}
# Only this much of a VORBIS_COMMENT block is read, for its field names and date.
_COMMENT_READ = 1 << 20


def strip(src: BinaryIO, dst: BinaryIO, ctx: StripContext) -> None:
    size = file_size(src)
    pos = skip_leading_id3(src, size, ctx)
    src.seek(pos)
    if read_exact(src, 4) != b"fLaC":
        raise errors.malformed("flac: no fLaC marker")
    pos += 4

    kept: list[tuple[int, int, int]] = []  # (type, offset of body, length)
    last = False
    index = 0
    while not last:
        src.seek(pos)
        header = read_exact(src, 4)
        last = bool(header[0] & 0x80)
        kind = header[0] & 0x7F
        length = int.from_bytes(header[1:4], "big")
        body = pos + 4
        if body + length > size:
            raise errors.malformed("flac: metadata block runs past end of file")
        where = f"metadata block {index}"
        if index == 0:
            if kind != STREAMINFO or length != 34:
                raise errors.malformed("flac: first block is not STREAMINFO")
            info = read_exact(src, 34)
            rate = int.from_bytes(info[10:13], "big") >> 4
            total = int.from_bytes(info[13:18], "big") & 0xFFFFFFFFF
            if rate and total:
                ctx.duration_s = total / rate
            kept.append((kind, body, length))
        elif kind == STREAMINFO:
            raise errors.malformed("flac: second STREAMINFO")
        elif kind == SEEKTABLE:
            if length % 18:
                raise errors.malformed("flac: SEEKTABLE length")
            kept.append((kind, body, length))
        elif kind == 127:
            raise errors.malformed("flac: invalid metadata block type")
        else:
            if kind == VORBIS_COMMENT:
                names, date = vorbis_comment_fields(read_exact(src, min(length, _COMMENT_READ)))
                for name in names:
                    ctx.remove(f"comment {name}", where)
                if date is not None and ctx.capture_time is None:
                    ctx.capture_time = date
            if kind != PADDING:
                ctx.remove(_NAMES.get(kind, f"metadata block type {kind}"), where)
        pos = body + length
        index += 1

    audio_end = trailing_tags_start(src, pos, size, ctx)
    src.seek(pos)
    sync = src.read(2)
    if len(sync) < 2 or sync[0] != 0xFF or sync[1] & 0xFE != 0xF8:
        raise errors.malformed("flac: no frame after the metadata")

    dst.seek(0)
    dst.truncate()
    dst.write(b"fLaC")
    for number, (kind, body, length) in enumerate(kept):
        flag = 0x80 if number == len(kept) - 1 else 0
        dst.write(bytes((flag | kind,)) + length.to_bytes(3, "big"))
        src.seek(body)
        copy_exact(src, dst, length)
    src.seek(pos)
    copy_exact(src, dst, audio_end - pos)
    ctx.format = "flac"
    ctx.media_kind = "audio"
    ctx.lossless = True
