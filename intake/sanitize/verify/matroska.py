"""Independent re-read of a sanitized Matroska / WebM file against an element allowlist.

Every element must be one this reader knows to be harmless in its parent: structure,
timing, codec setup and coded blocks. No Tags, Attachments, Chapters, titles, names, dates or
UUIDs; MuxingApp/WritingApp only empty or "Testigo"; only video and audio tracks, with codecs
on a list (no JPEG-frame codecs), and blocks only for those tracks; Voids entirely zero;
Vorbis/FLAC codec setup without comments; nothing after the Segment.
"""

from __future__ import annotations

import re
from typing import BinaryIO

from . import _m4v, _nal, _obu, _video

# Kinds: "m" master, "u" unsigned, "i" signed, "f" float, "b" binary, "s" ASCII string.
_U, _I, _F, _B, _S, _M = "u", "i", "f", "b", "s", "m"

_SCHEMA: dict[int, dict[int, str]] = {
    0: {0x1A45DFA3: _M, 0x18538067: _M},
    0x1A45DFA3: {
        0x4286: _U,
        0x42F7: _U,
        0x42F2: _U,
        0x42F3: _U,
        0x4282: _S,  # DocType
        0x4287: _U,
        0x4285: _U,
    },
    0x18538067: {  # Segment
        0x114D9B74: _M,  # SeekHead
        0x1549A966: _M,  # Info
        0x1654AE6B: _M,  # Tracks
        0x1F43B675: _M,  # Cluster
        0x1C53BB6B: _M,  # Cues
    },
    0x114D9B74: {0x4DBB: _M},
    0x4DBB: {0x53AB: _B, 0x53AC: _U},
    0x1549A966: {0x2AD7B1: _U, 0x4489: _F, 0x4D80: _S, 0x5741: _S},
    0x1654AE6B: {0xAE: _M},
    0xAE: {  # TrackEntry
        0xD7: _U,
        0x73C5: _U,
        0x83: _U,
        0xB9: _U,
        0x88: _U,
        0x55AA: _U,
        0x55AB: _U,
        0x55AC: _U,
        0x55AD: _U,
        0x55AE: _U,
        0x55AF: _U,
        0x9C: _U,
        0x6DE7: _U,
        0x6DF8: _U,
        0x23E383: _U,
        0x234E7A: _U,
        0x23314F: _F,
        0x55EE: _U,
        0x41E4: _M,
        0x22B59C: _S,  # Language
        0x22B59D: _S,  # LanguageBCP47
        0x86: _S,  # CodecID
        0x63A2: _B,  # CodecPrivate
        0xAA: _U,
        0x56AA: _U,
        0x56BB: _U,
        0xE0: _M,
        0xE1: _M,
        0x6D80: _M,
    },
    0x41E4: {0x41F0: _U, 0x41E7: _U, 0x41ED: _B},
    0xE0: {
        0x9A: _U,
        0x9D: _U,
        0x53B8: _U,
        0x53C0: _U,
        0xB0: _U,
        0xBA: _U,
        0x54AA: _U,
        0x54BB: _U,
        0x54CC: _U,
        0x54DD: _U,
        0x54B0: _U,
        0x54BA: _U,
        0x54B2: _U,
        0x54B3: _U,
        0x2383E3: _F,
        0x55B0: _M,
        0x7670: _M,
    },
    0x55B0: {**{i: _U for i in range(0x55B1, 0x55BE)}, 0x55D0: _M},
    0x55D0: {i: _F for i in range(0x55D1, 0x55DB)},
    0x7670: {0x7671: _U, 0x7672: _B, 0x7673: _F, 0x7674: _F, 0x7675: _F},
    0xE1: {0xB5: _F, 0x78B5: _F, 0x9F: _U, 0x6264: _U, 0x52F1: _U},
    0x6D80: {0x6240: _M},
    0x6240: {0x5031: _U, 0x5032: _U, 0x5033: _U, 0x5034: _M},
    0x5034: {0x4254: _U, 0x4255: _B},
    0x1F43B675: {0xE7: _U, 0xA7: _U, 0xAB: _U, 0xA3: _B, 0xA0: _M},  # Cluster
    0xA0: {0xA1: _B, 0x75A1: _M, 0x9B: _U, 0xFA: _U, 0xFB: _I, 0xA4: _B, 0x75A2: _I},
    0x75A1: {0xA6: _M},
    0xA6: {0xEE: _U, 0xA5: _B},
    0x1C53BB6B: {0xBB: _M},
    0xBB: {0xB3: _U, 0xB7: _M},
    0xB7: {0xF7: _U, 0xF1: _U, 0xF0: _U, 0xB2: _U, 0x5378: _U, 0xEA: _U, 0xDB: _M},
    0xDB: {0x96: _U},
}
_VOID, _CRC = 0xEC, 0xBF
_SEGMENT, _CLUSTER, _TRACKENTRY = 0x18538067, 0x1F43B675, 0xAE
_SEEK_ALLOWED = {
    b"\x11\x4d\x9b\x74",
    b"\x15\x49\xa9\x66",
    b"\x16\x54\xae\x6b",
    b"\x1f\x43\xb6\x75",
    b"\x1c\x53\xbb\x6b",
}
_CODECS = {
    1: {
        "V_VP8",
        "V_VP9",
        "V_AV1",
        "V_MPEG4/ISO/AVC",
        "V_MPEGH/ISO/HEVC",
        "V_MPEG4/ISO/SP",
        "V_MPEG4/ISO/ASP",
        "V_MPEG4/ISO/AP",
        "V_MPEG1",
        "V_MPEG2",
        "V_THEORA",
    },
    2: {
        "A_OPUS",
        "A_VORBIS",
        "A_FLAC",
        "A_AAC",
        "A_MPEG/L3",
        "A_MPEG/L2",
        "A_MPEG/L1",
        "A_PCM/INT/LIT",
        "A_PCM/INT/BIG",
        "A_PCM/FLOAT/IEEE",
        "A_AC3",
        "A_EAC3",
        "A_DTS",
        "A_ALAC",
        *(f"A_AAC/MPEG{v}/{p}" for v in (2, 4) for p in ("MAIN", "LC", "SSR", "LTP", "LC/SBR")),
    },
}
_LANGUAGE = re.compile(rb"[A-Za-z0-9-]{1,35}")
_NEUTRAL = (b"", b"Testigo")
_READ_LIMIT = 1 << 20
_ZERO_READ = 1 << 20


class _Fail(Exception):
    """Structure broken beyond further reading."""


class _Reader:
    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        f.seek(0, 2)
        self.total = f.tell()
        self.findings: list[str] = []
        self.tracks: dict[int, int] = {}  # track number -> type
        # H.264/HEVC/AV1/MPEG-4 Part 2 tracks (see _video.Framing): frames read for user data.
        self.nal_framing: dict[int, _video.Framing] = {}
        self.tracks_done = False
        # Reading cost grows with the element count: refuse absurd densities.
        self.elements_left = 1_000_000 + self.total // 256

    def at(self, pos: int, n: int) -> bytes:
        self.f.seek(pos)
        return self.f.read(n)

    def head(self, pos: int, end: int) -> tuple[int, int, int | None]:
        self.elements_left -= 1
        if self.elements_left < 0:
            raise _Fail("too many elements for the file size")
        raw = self.at(pos, min(12, end - pos))
        if not raw:
            raise _Fail(f"no element header at {pos}")
        first = raw[0]
        id_len = 1
        while id_len <= 4 and not first & (0x80 >> (id_len - 1)):
            id_len += 1
        if id_len > 4 or len(raw) <= id_len:
            raise _Fail(f"bad element id at {pos}")
        marker = raw[id_len]
        size_len = 1
        while size_len <= 8 and not marker & (0x80 >> (size_len - 1)):
            size_len += 1
        if size_len > 8 or len(raw) < id_len + size_len:
            raise _Fail(f"bad element size at {pos}")
        size = marker & (0xFF >> size_len)
        for byte in raw[id_len + 1 : id_len + size_len]:
            size = (size << 8) | byte
        eid = int.from_bytes(raw[:id_len], "big")
        if size == (1 << (7 * size_len)) - 1:
            return eid, id_len + size_len, None
        return eid, id_len + size_len, size

    def note(self, text: str) -> None:
        self.findings.append(text)
        if len(self.findings) >= 100:
            raise _Fail("too many findings; stopped reading")

    def walk(self, parent: int, start: int, end: int, unknown_end: bool = False) -> int:
        """Check the children of ``parent`` in [start, end); return where they stopped."""
        allowed = _SCHEMA[parent]
        pos = start
        entry: dict[int, bytes] = {}
        while pos < end:
            eid, head_len, size = self.head(pos, end)
            if unknown_end and eid not in allowed and eid not in (_VOID, _CRC):
                return pos
            data = pos + head_len
            if size is None:
                if eid != _CLUSTER or parent != _SEGMENT:
                    raise _Fail(f"unknown size for 0x{eid:X} at {pos}")
                if not self.tracks_done:
                    self.note("Cluster before Tracks")
                pos = self.walk(eid, data, end, unknown_end=True)
                continue
            stop = data + size
            if stop > end:
                raise _Fail(f"element 0x{eid:X} at {pos} overruns its parent")
            self.element(parent, eid, data, size, entry)
            pos = stop
        if parent == _TRACKENTRY:
            self.track_entry(entry)
        return pos

    def segment(self, start: int, end: int) -> None:
        self.walk(_SEGMENT, start, end)

    def element(self, parent: int, eid: int, data: int, size: int, entry: dict[int, bytes]) -> None:
        kind = _SCHEMA[parent].get(eid)
        if eid == _VOID:
            self.zeroed(data, size)
            return
        if eid == _CRC:
            if size != 4:
                self.note(f"CRC-32 element of size {size}")
            return
        if kind is None:
            self.note(f"element 0x{eid:X} not allowed in 0x{parent:X}")
            return
        if kind == _M:
            if eid == _SEGMENT:
                self.segment(data, data + size)
            else:
                if eid == _CLUSTER and not self.tracks_done:
                    self.note("Cluster before Tracks")
                self.walk(eid, data, data + size)
                if eid == 0x1654AE6B:
                    self.tracks_done = True
            return
        if eid in (0xA3, 0xA1):  # SimpleBlock, Block
            self.block(data, size)
            return
        if eid in (0xA5, 0xA4):  # BlockAdditional, CodecState: coded data like a block's
            return
        if size > _READ_LIMIT:
            self.note(f"element 0x{eid:X} too large to check")
            return
        value = self.at(data, size)
        self.leaf(parent, eid, kind, value, entry)

    def leaf(self, parent: int, eid: int, kind: str, value: bytes, entry: dict[int, bytes]) -> None:
        if kind in (_U, _I) and len(value) > 8:
            self.note(f"integer 0x{eid:X} wider than 8 bytes")
        if kind == _F and len(value) not in (0, 4, 8):
            self.note(f"float 0x{eid:X} of size {len(value)}")
        if parent == _TRACKENTRY:
            entry[eid] = value
        text = value.rstrip(b"\x00")
        if eid == 0x4282 and text not in (b"webm", b"matroska"):
            self.note("DocType not webm or matroska")
        elif eid in (0x4D80, 0x5741) and text not in _NEUTRAL:
            self.note("MuxingApp/WritingApp not neutral")
        elif eid in (0x22B59C, 0x22B59D) and not _LANGUAGE.fullmatch(text):
            self.note("track language is not a language code")
        elif eid == 0x53AB and value not in _SEEK_ALLOWED:
            self.note("SeekHead points at an element that is not allowed")
        elif eid == 0x5033 and int.from_bytes(value, "big") != 0:
            self.note("track content is encrypted")

    def zeroed(self, data: int, size: int) -> None:
        self.f.seek(data)
        remaining = size
        while remaining:
            piece = self.f.read(min(remaining, _ZERO_READ))
            if not piece:
                raise _Fail("Void runs past end of file")
            if piece.count(0) != len(piece):
                self.note(f"Void element at {data} is not zeroed")
                return
            remaining -= len(piece)

    def block(self, data: int, size: int) -> None:
        raw = self.at(data, min(8, size))
        if not raw or not raw[0]:
            self.note(f"block at {data} has no track number")
            return
        width = 1
        while not raw[0] & (0x80 >> (width - 1)):
            width += 1
        track = int.from_bytes(raw[:width], "big") & ((1 << (7 * width)) - 1)
        if size < width + 3 or track not in self.tracks:
            self.note(f"block at {data} for undeclared track {track}")
            return
        framing = self.nal_framing.get(track)
        if framing is None:
            return
        if len(raw) < width + 3 or raw[width + 2] & 0x06:
            self.note(f"laced video block at {data}")
            return
        start = data + width + 3
        for finding in _video.run_findings(framing, self.at, start, data + size - start)[:3]:
            self.note(f"block at {data}: {finding}")

    def track_entry(self, entry: dict[int, bytes]) -> None:
        number = int.from_bytes(entry.get(0xD7, b""), "big")
        kind = int.from_bytes(entry.get(0x83, b""), "big")
        codec = entry.get(0x86, b"").rstrip(b"\x00").decode("ascii", "replace")
        if kind not in (1, 2):
            self.note(f"track {number} is neither video nor audio")
            return
        if not number or number in self.tracks:
            self.note("track number missing or repeated")
            return
        if codec not in _CODECS[kind]:
            self.note(f"codec {codec!r} not allowed")
        self.tracks[number] = kind
        private = entry.get(0x63A2, b"")
        if codec in ("V_MPEG4/ISO/AVC", "V_MPEGH/ISO/HEVC"):
            hevc = codec == "V_MPEGH/ISO/HEVC"
            size, found = (
                _nal.hvcc_findings(private, False) if hevc else _nal.avcc_findings(private)
            )
            for finding in found:
                self.note(f"track {number} CodecPrivate: {finding}")
            self.nal_framing[number] = ("hevc" if hevc else "avc", size)
        elif codec == "V_AV1" or codec.startswith("V_MPEG4/ISO/"):
            av1 = codec == "V_AV1"
            found = _obu.av1c_findings(private) if av1 else _m4v.mpeg4_findings(private)
            for finding in found:
                self.note(f"track {number} CodecPrivate: {finding}")
            self.nal_framing[number] = ("av1" if av1 else "mp4v", 0)
        if codec == "A_VORBIS" and not _vorbis_private_clean(private):
            self.note("Vorbis codec setup carries comments")
        if codec == "A_FLAC" and not (
            private[:5] == b"fLaC\x80" and private[5:8] == b"\x00\x00\x22" and len(private) == 42
        ):
            self.note("FLAC codec setup carries more than STREAMINFO")


def _vorbis_private_clean(private: bytes) -> bool:
    if not private or private[0] != 2:
        return False
    sizes = []
    pos = 1
    for _ in range(2):
        total = 0
        while pos < len(private) and private[pos] == 255:
            total += 255
            pos += 1
        if pos >= len(private):
            return False
        total += private[pos]
        pos += 1
        sizes.append(total)
    comment = private[pos + sizes[0] : pos + sizes[0] + sizes[1]]
    if not comment.startswith(b"\x03vorbis") or len(comment) < 16:
        return False
    vendor_len = int.from_bytes(comment[7:11], "little")
    vendor = comment[11 : 11 + vendor_len]
    rest = comment[11 + vendor_len :]
    return vendor in _NEUTRAL and len(vendor) == vendor_len and rest == b"\x00\x00\x00\x00\x01"


def verify(f: BinaryIO) -> list[str]:
    reader = _Reader(f)
    try:
        eid, head_len, size = reader.head(0, reader.total)
        if eid != 0x1A45DFA3:
            return ["does not start with an EBML header"]
        segments = 0
        pos = 0
        while pos < reader.total:
            eid, head_len, size = reader.head(pos, reader.total)
            if eid == _SEGMENT:
                segments += 1
            if eid == _VOID and size is not None:
                reader.zeroed(pos + head_len, size)
                pos += head_len + size
                continue
            if eid not in _SCHEMA[0]:
                reader.note(f"top-level element 0x{eid:X} not allowed")
                break
            if size is None:
                if eid != _SEGMENT:
                    raise _Fail("unknown-size EBML header")
                reader.segment(pos + head_len, reader.total)
                break
            if pos + head_len + size > reader.total:
                raise _Fail(f"element 0x{eid:X} runs past end of file")
            reader.element(0, eid, pos + head_len, size, {})
            pos += head_len + size
        if segments != 1:
            reader.note(f"{segments} Segments")
        if not reader.tracks:
            reader.note("no video or audio track")
    except _Fail as failure:
        reader.note(str(failure))
    return reader.findings
