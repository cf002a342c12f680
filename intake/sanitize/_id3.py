"""ID3 and the other tags around MPEG audio, shared by the MP3 and FLAC strippers.

ID3v2 tags sit in front of the audio (an ID3 tag in front of FLAC makes the file sniff as
MP3); ID3v1, APE, Lyrics3 and footer-ended ID3v2 tags are appended after it. The strippers
cut them off; the frame ids and the stated recording date go to the manifest.
"""

from __future__ import annotations

import re
from typing import BinaryIO

from . import errors
from ._dates import iso_date
from ._io import read_at
from .context import StripContext

_FRAME_ID = re.compile(rb"[A-Z0-9]{4}")


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


def trailing_tags_start(src: BinaryIO, start: int, end: int, ctx: StripContext) -> int:
    """Where the audio ends once tags appended at the end of the file are cut off.

    Recognises ID3v1 (and its "TAG+" extension), Lyrics3 v1/v2, APEv1/v2 and an ID3v2 tag
    with a footer, in any order, repeatedly.
    """
    while end > start:
        if end - start >= 128 and read_at(src, end - 128, 3) == b"TAG":
            end -= 128
            ctx.remove("ID3v1", "end of file")
            if end - start >= 227 and read_at(src, end - 227, 4) == b"TAG+":
                end -= 227
                ctx.remove("ID3v1 extended tag", "end of file")
            continue
        tail = read_at(src, max(start, end - 32), min(32, end - start))
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
            if total > end - start or read_at(src, end - total, 11) != b"LYRICSBEGIN":
                raise errors.malformed("mp3: Lyrics3v2 tag size out of range")
            end -= total
            ctx.remove("Lyrics3v2", "end of file")
            continue
        if tail.endswith(b"LYRICSEND"):
            window_start = max(start, end - 5100 - 20)
            window = read_at(src, window_start, end - window_start)
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
            if total > end - start or read_at(src, end - total, 3) != b"ID3":
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
    head = read_at(src, pos, 10)
    major, flags = head[3], head[5]
    if flags & 0x80 or major not in (3, 4):
        return [], None  # unsynchronised, or v2.2 with 3-byte frame ids
    cursor = pos + 10
    end = pos + length
    if flags & 0x40:  # extended header
        ext = read_at(src, cursor, 4)
        # v2.3 states the size without its own 4 bytes, v2.4 with them.
        cursor += (int.from_bytes(ext, "big") + 4) if major == 3 else _synchsafe(ext)
    ids: list[str] = []
    found: dict[str, str] = {}
    while cursor + 10 <= end:
        frame = read_at(src, cursor, 10)
        if not _FRAME_ID.fullmatch(frame[:4]):
            break  # padding
        frame_id = frame[:4].decode("ascii")
        size = _synchsafe(frame[4:8]) if major == 4 else int.from_bytes(frame[4:8], "big")
        if frame_id not in ids:
            ids.append(frame_id)
        if frame_id in ("TDRC", "TYER", "TDAT", "TIME") and size <= 256:
            found[frame_id] = _text_frame(read_at(src, cursor + 10, size))
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
        length = id3v2_length(read_at(src, pos, 10))
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
