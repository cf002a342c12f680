"""MPEG audio (MP3, also Layer I/II): keep the audio frames, drop every tag around them.

Tags live before the audio (ID3v2, possibly several), after it (APEv2, Lyrics3, ID3v1, an
appended ID3v2 with footer) or even between frames. The output is the frames alone: anything
that does not parse as a frame of the stream is left out. A Xing/Info/LAME header frame is an
ordinary frame and stays.
"""

from __future__ import annotations

from typing import BinaryIO

from . import errors
from ._id3 import id3v2_length, skip_leading_id3, trailing_tags_start
from ._io import CHUNK, copy_exact, file_size, read_at
from .context import HandOff, StripContext

_BITRATES = {
    # (version is MPEG-1, layer) -> kbit/s by index; MPEG-2 and 2.5 share the second set.
    (True, 3): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 1): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 3): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 1): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
# Unrecognised bytes inside the audio are dropped, but a file that is mostly not audio is
# not an MP3 at all.
_MAX_JUNK_SHARE = 0.10


def frame_info(header: bytes) -> tuple[int, int, int] | None:
    """(frame length, samples per frame, stream key) for a frame header, None if invalid.

    The stream key packs version, layer and sample rate: frames of one stream share it.
    """
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version = (header[1] >> 3) & 3
    layer_bits = (header[1] >> 1) & 3
    bitrate_index = header[2] >> 4
    rate_index = (header[2] >> 2) & 3
    if version == 1 or layer_bits == 0 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    if header[3] & 3 == 2:  # reserved emphasis
        return None
    layer = 4 - layer_bits  # 1, 2 or 3
    mpeg1 = version == 3
    bitrate = _BITRATES[(mpeg1, layer_bits)][bitrate_index] * 1000
    rate = _RATES[version][rate_index]
    padding = (header[2] >> 1) & 1
    if layer == 1:
        length = (12 * bitrate // rate + padding) * 4
        samples = 384
    elif layer == 2 or mpeg1:
        length = 144 * bitrate // rate + padding
        samples = 1152
    else:
        length = 72 * bitrate // rate + padding
        samples = 576
    return length, samples, (version << 4) | (layer_bits << 2) | rate_index


class _Window:
    """A sliding read window over [start, end) so frames are parsed from memory in chunks."""

    def __init__(self, src: BinaryIO, start: int, end: int) -> None:
        self.src = src
        self.base = start
        self.end = end
        self.data = b""

    def get(self, pos: int, n: int) -> bytes:
        """Up to ``n`` bytes at absolute ``pos`` (fewer only at the end of the range)."""
        n = min(n, self.end - pos)
        if pos < self.base or pos + n > self.base + len(self.data):
            self.base = pos
            self.src.seek(pos)
            self.data = self.src.read(min(max(2 * CHUNK, n), self.end - pos))
        return self.data[pos - self.base : pos - self.base + n]


def strip(src: BinaryIO, dst: BinaryIO, ctx: StripContext) -> None:
    size = file_size(src)
    start = skip_leading_id3(src, size, ctx)
    if read_at(src, start, 4) == b"fLaC":
        # An ID3 tag in front of FLAC makes the file sniff as MP3.
        raise HandOff("flac")
    end = trailing_tags_start(src, start, size, ctx)
    window = _Window(src, start, end)

    def frame_at(pos: int, key: int | None) -> tuple[int, int, int] | None:
        info = frame_info(window.get(pos, 4))
        if info is None or pos + info[0] > end or (key is not None and info[2] != key):
            return None
        return info

    def confirmed(pos: int, key: int | None) -> tuple[int, int, int] | None:
        # A lone sync word can occur by chance; a real frame is followed by another one of the
        # same stream, or ends the audio.
        info = frame_at(pos, key)
        if info is None or pos + info[0] == end or frame_at(pos + info[0], info[2]):
            return info
        return None

    dst.seek(0)
    dst.truncate()
    pos = start
    key: int | None = None
    samples = 0
    junk = 0
    run_start: int | None = None  # frames are copied as contiguous runs

    def flush(run_end: int) -> None:
        if run_start is not None:
            src.seek(run_start)
            copy_exact(src, dst, run_end - run_start)

    while pos < end:
        info = frame_at(pos, key) if key is not None else None
        if info is None:
            info = confirmed(pos, key)
        if info is None:
            flush(pos)
            run_start = None
            tag = id3v2_length(window.get(pos, 10)) if window.get(pos, 3) == b"ID3" else None
            if tag is not None and pos + tag <= end:
                ctx.remove("ID3v2", f"offset {pos}")
                pos += tag
                continue
            # Not audio: skip to where frames resume.
            skipped_from = pos
            pos += 1
            while pos < end:
                found = window.get(pos, 1 << 16).find(b"\xff")
                if found < 0:
                    pos = min(end, pos + (1 << 16))
                    continue
                pos += found
                if confirmed(pos, key):
                    break
                pos += 1
            junk += pos - skipped_from
            continue
        if key is None:
            key = info[2]
        if run_start is None:
            run_start = pos
        samples += info[1]
        pos += info[0]
    flush(pos)

    if key is None:
        raise errors.malformed("mp3: no MPEG audio frames")
    if junk:
        if junk > _MAX_JUNK_SHARE * (end - start):
            raise errors.malformed("mp3: mostly not audio")
        ctx.remove("non-audio data", f"{junk} bytes between frames")
    ctx.format = "mp3"
    ctx.media_kind = "audio"
    ctx.lossless = True
    ctx.duration_s = samples / _RATES[key >> 4][key & 3]
