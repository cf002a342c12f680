"""MPEG audio (MP3, also Layer I/II): keep the audio frames, drop every tag around them.

Tags live before the audio (ID3v2, possibly several), after it (APEv2, Lyrics3, ID3v1, an
appended ID3v2 with footer) or even between frames. The output is the frames alone: anything
that does not parse as a frame of the stream is left out. A Xing/Info/LAME header frame is an
ordinary frame and stays.
"""

from __future__ import annotations

import re
from typing import BinaryIO

from . import errors
from ._io import CHUNK, copy_exact, file_size
from .context import StripContext
from .ogg import iso_date

_BITRATES = {
    # (version is MPEG-1, layer) -> kbit/s by index; MPEG-2 and 2.5 share the second set.
    (True, 3): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 1): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 3): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 1): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_FRAME_ID = re.compile(rb"[A-Z0-9]{4}")
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


def _synchsafe(four: bytes) -> int:
    return (four[0] << 21) | (four[1] << 14) | (four[2] << 7) | four[3]


def id3v2_length(head: bytes) -> int | None:
    """Total length of an ID3v2 tag starting with ``head`` (10+ bytes), None if not one."""
    if len(head) < 10 or head[:3] != b"ID3":
        return None
    if head[3] not in (2, 3, 4) or head[4] == 0xFF or any(b & 0x80 for b in head[6:10]):
        raise errors.malformed("mp3: invalid ID3v2 header")
    size = _synchsafe(head[6:10])
    footer = 10 if head[3] == 4 and head[5] & 0x10 else 0
    return 10 + size + footer


def _read_at(src: BinaryIO, pos: int, n: int) -> bytes:
    src.seek(pos)
    return src.read(n)


def trailing_tags_start(src: BinaryIO, start: int, end: int, ctx: StripContext) -> int:
    """Where the audio ends once tags appended at the end of the file are cut off.

    Recognises ID3v1 (and its "TAG+" extension), Lyrics3 v1/v2, APEv1/v2 and an ID3v2 tag
    with a footer, in any order, repeatedly.
    """
    while end > start:
        if end - start >= 128 and _read_at(src, end - 128, 3) == b"TAG":
            end -= 128
            ctx.remove("ID3v1", "end of file")
            if end - start >= 227 and _read_at(src, end - 227, 4) == b"TAG+":
                end -= 227
                ctx.remove("ID3v1 extended tag", "end of file")
            continue
        tail = _read_at(src, max(start, end - 32), min(32, end - start))
        if tail.startswith(b"APETAGEX") and len(tail) == 32:
            version = int.from_bytes(tail[8:12], "little")
            size = int.from_bytes(tail[12:16], "little")
            flags = int.from_bytes(tail[20:24], "little")
            total = size + (32 if version == 2000 and flags & 0x80000000 else 0)
            if version == 1000:
                total = size
            if total < 32 or total > end - start:
                raise errors.malformed("mp3: APE tag size out of range")
            end -= total
            ctx.remove("APE tag", "end of file")
            continue
        if tail.endswith(b"LYRICS200") and len(tail) >= 15 and tail[-15:-9].isdigit():
            total = int(tail[-15:-9]) + 15
            if total > end - start or _read_at(src, end - total, 11) != b"LYRICSBEGIN":
                raise errors.malformed("mp3: Lyrics3v2 tag size out of range")
            end -= total
            ctx.remove("Lyrics3v2", "end of file")
            continue
        if tail.endswith(b"LYRICSEND"):
            window_start = max(start, end - 5100 - 20)
            window = _read_at(src, window_start, end - window_start)
            begin = window.rfind(b"LYRICSBEGIN")
            if begin < 0:
                raise errors.malformed("mp3: Lyrics3 end without begin")
            end = window_start + begin
            ctx.remove("Lyrics3", "end of file")
            continue
        if len(tail) >= 10 and tail[-10:-7] == b"3DI":
            footer = tail[-10:]
            if any(b & 0x80 for b in footer[6:10]):
                raise errors.malformed("mp3: invalid ID3v2 footer")
            size = _synchsafe(footer[6:10])
            total = size + 20
            if total > end - start or _read_at(src, end - total, 3) != b"ID3":
                raise errors.malformed("mp3: appended ID3v2 size out of range")
            end -= total
            ctx.remove("ID3v2", "end of file")
            continue
        break
    return end


def _text_frame(data: bytes) -> str:
    encoding, text = data[:1], data[1:]
    if encoding == b"\x01":
        return text.decode("utf-16", "replace").rstrip("\x00")
    if encoding == b"\x02":
        return text.decode("utf-16-be", "replace").rstrip("\x00")
    if encoding == b"\x03":
        return text.decode("utf-8", "replace").rstrip("\x00")
    return text.decode("latin-1").rstrip("\x00")


def id3v2_frames(src: BinaryIO, pos: int, length: int) -> tuple[list[str], str | None]:
    """Frame ids of an ID3v2 tag, and the recording date it states (TDRC, or TYER/TDAT/TIME).

    Frames are walked by header and only small date frames are read, so a tag holding a huge
    picture costs nothing. Tags with whole-tag unsynchronisation are not walked.
    """
    head = _read_at(src, pos, 10)
    major, flags = head[3], head[5]
    if flags & 0x80 or major not in (3, 4):
        return [], None  # unsynchronised, or v2.2 with 3-byte frame ids
    cursor = pos + 10
    end = pos + length
    if flags & 0x40:  # extended header
        ext = _read_at(src, cursor, 4)
        # v2.3 states the size without its own 4 bytes, v2.4 with them.
        cursor += (int.from_bytes(ext, "big") + 4) if major == 3 else _synchsafe(ext)
    ids: list[str] = []
    found: dict[str, str] = {}
    while cursor + 10 <= end:
        frame = _read_at(src, cursor, 10)
        if not _FRAME_ID.fullmatch(frame[:4]):
            break  # padding
        frame_id = frame[:4].decode("ascii")
        size = _synchsafe(frame[4:8]) if major == 4 else int.from_bytes(frame[4:8], "big")
        if frame_id not in ids:
            ids.append(frame_id)
        if frame_id in ("TDRC", "TYER", "TDAT", "TIME") and size <= 256:
            found[frame_id] = _text_frame(_read_at(src, cursor + 10, size))
        cursor += 10 + size
    if "TDRC" in found:
        return ids, iso_date(found["TDRC"])
    year = found.get("TYER", "")
    day_month = found.get("TDAT", "")
    hour_minute = found.get("TIME", "")
    if len(day_month) == 4 and day_month.isdigit():
        year += f"-{day_month[2:]}-{day_month[:2]}"
        if len(hour_minute) == 4 and hour_minute.isdigit():
            year += f"T{hour_minute[:2]}:{hour_minute[2:]}"
    return ids, iso_date(year) if year else None


def skip_leading_id3(src: BinaryIO, size: int, ctx: StripContext) -> int:
    """Offset after every ID3v2 tag at the start of the file; their dates go to ``ctx``."""
    pos = 0
    while True:
        length = id3v2_length(_read_at(src, pos, 10))
        if length is None:
            return pos
        if pos + length > size:
            raise errors.malformed("ID3v2 tag runs past end of file")
        frame_ids, date = id3v2_frames(src, pos, length)
        if ctx.capture_time is None:
            ctx.capture_time = date
        ctx.remove("ID3v2", f"offset {pos}")
        for frame_id in frame_ids:
            ctx.remove(f"ID3v2 frame {frame_id}", f"offset {pos}")
        pos += length


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
    if _read_at(src, start, 4) == b"fLaC":
        # An ID3 tag in front of FLAC makes the file sniff as MP3.
        from . import flac

        flac.strip(src, dst, ctx)
        return
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
