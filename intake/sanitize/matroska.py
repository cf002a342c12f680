"""Matroska and WebM: overwrite metadata in place with zeroed EBML Void elements.

Removed: Tags, Attachments (cover art, fonts), Chapters, the Info strings and dates (Title,
DateUTC, segment UUIDs and file names; MuxingApp and WritingApp become "Testigo"), track
names and other free text, every track that is not video or audio (subtitles can carry GPS,
as on DJI drones) together with its blocks, CRC-32 elements (they would no longer match) and
anything not on the list of known elements. A Void of exactly the removed size keeps every
offset, so SeekHead and Cues stay valid and no coded frame moves. Existing Voids are zeroed.

Unknown-size Segment and Cluster elements (live WebM from MediaRecorder) are handled.
"""

from __future__ import annotations

import datetime
import re
import struct
from collections import Counter
from collections.abc import Iterator
from typing import BinaryIO

from . import _m4v, _obu, _sei, _video, errors
from ._dates import iso_date
from ._io import copy_exact, file_size, read_exact, write_zeros
from ._vorbis import VORBIS_COMMENT
from .context import StripContext

EBML = 0x1A45DFA3
DOCTYPE = 0x4282
SEGMENT = 0x18538067
SEEKHEAD = 0x114D9B74
SEEK = 0x4DBB
SEEKID = 0x53AB
SEEKPOSITION = 0x53AC
INFO = 0x1549A966
TIMESTAMPSCALE = 0x2AD7B1
DURATION = 0x4489
DATEUTC = 0x4461
TITLE = 0x7BA9
MUXINGAPP = 0x4D80
WRITINGAPP = 0x5741
TRACKS = 0x1654AE6B
TRACKENTRY = 0xAE
TRACKNUMBER = 0xD7
TRACKTYPE = 0x83
CODECID = 0x86
CODECPRIVATE = 0x63A2
VIDEO = 0xE0
PIXELWIDTH = 0xB0
PIXELHEIGHT = 0xBA
CONTENTENCODINGS = 0x6D80
CONTENTENCODING = 0x6240
CONTENTENCODINGTYPE = 0x5033
CONTENTENCRYPTION = 0x5035
CLUSTER = 0x1F43B675
SIMPLEBLOCK = 0xA3
BLOCKGROUP = 0xA0
BLOCK = 0xA1
ENCRYPTEDBLOCK = 0xAF
CUES = 0x1C53BB6B
TAGS = 0x1254C367
ATTACHMENTS = 0x1941A469
CHAPTERS = 0x1043A770
VOID = 0xEC
CRC32 = 0xBF

# Children kept under each master that is walked generically; a master is any key here.
_KEEP: dict[int, frozenset[int]] = {
    EBML: frozenset((0x4286, 0x42F7, 0x42F2, 0x42F3, DOCTYPE, 0x4287, 0x4285)),
    SEEK: frozenset((SEEKID, SEEKPOSITION)),
    TRACKENTRY: frozenset(
        (
            TRACKNUMBER,
            0x73C5,  # TrackUID: random, required by players
            TRACKTYPE,
            0xB9,  # FlagEnabled
            0x88,  # FlagDefault
            0x55AA,  # FlagForced
            0x55AB,  # FlagHearingImpaired
            0x55AC,  # FlagVisualImpaired
            0x55AD,  # FlagTextDescriptions
            0x55AE,  # FlagOriginal
            0x55AF,  # FlagCommentary
            0x9C,  # FlagLacing
            0x6DE7,  # MinCache
            0x6DF8,  # MaxCache
            0x23E383,  # DefaultDuration
            0x234E7A,  # DefaultDecodedFieldDuration
            0x23314F,  # TrackTimestampScale
            0x55EE,  # MaxBlockAdditionID
            0x41E4,  # BlockAdditionMapping
            0x22B59C,  # Language
            0x22B59D,  # LanguageBCP47
            CODECID,
            CODECPRIVATE,
            0xAA,  # CodecDecodeAll
            0x56AA,  # CodecDelay
            0x56BB,  # SeekPreRoll
            VIDEO,
            0xE1,  # Audio
            CONTENTENCODINGS,
        )
    ),
    0x41E4: frozenset((0x41F0, 0x41E7, 0x41ED)),  # BlockAddIDValue, Type, ExtraData
    VIDEO: frozenset(
        (
            0x9A,  # FlagInterlaced
            0x9D,  # FieldOrder
            0x53B8,  # StereoMode
            0x53C0,  # AlphaMode
            PIXELWIDTH,
            PIXELHEIGHT,
            0x54AA,  # PixelCropBottom
            0x54BB,  # PixelCropTop
            0x54CC,  # PixelCropLeft
            0x54DD,  # PixelCropRight
            0x54B0,  # DisplayWidth
            0x54BA,  # DisplayHeight
            0x54B2,  # DisplayUnit
            0x54B3,  # AspectRatioType
            0x2383E3,  # FrameRate
            0x55B0,  # Colour
            0x7670,  # Projection
        )
    ),
    0x55B0: frozenset((*range(0x55B1, 0x55BE), 0x55D0)),  # Colour
    0x55D0: frozenset(range(0x55D1, 0x55DB)),  # MasteringMetadata
    0x7670: frozenset(range(0x7671, 0x7676)),  # Projection
    0xE1: frozenset((0xB5, 0x78B5, 0x9F, 0x6264, 0x52F1)),  # Audio
    CONTENTENCODINGS: frozenset((CONTENTENCODING,)),
    CONTENTENCODING: frozenset((0x5031, 0x5032, CONTENTENCODINGTYPE, 0x5034)),
    0x5034: frozenset((0x4254, 0x4255)),  # ContentCompression: algorithm, settings
    BLOCKGROUP: frozenset(
        (
            BLOCK,
            0x75A1,  # BlockAdditions
            0x9B,  # BlockDuration
            0xFA,  # ReferencePriority
            0xFB,  # ReferenceBlock
            0xA4,  # CodecState
            0x75A2,  # DiscardPadding
        )
    ),
    0x75A1: frozenset((0xA6,)),  # BlockAdditions: BlockMore
    0xA6: frozenset((0xEE, 0xA5)),  # BlockMore: BlockAddID, BlockAdditional
    CUES: frozenset((0xBB,)),
    0xBB: frozenset((0xB3, 0xB7)),  # CuePoint: CueTime, CueTrackPositions
    0xB7: frozenset((0xF7, 0xF1, 0xF0, 0xB2, 0x5378, 0xEA, 0xDB)),
    0xDB: frozenset((0x96,)),  # CueReference: CueRefTime
}
# Leaf types, so kept leaves can be checked: floats are 0/4/8 bytes, integers at most 8.
_FLOATS = frozenset(
    (DURATION, 0x23314F, 0x2383E3, 0xB5, 0x78B5, *range(0x55D1, 0x55DB), 0x7673, 0x7674, 0x7675)
)
_NOT_INTEGERS = frozenset(
    (
        *(DOCTYPE, CODECID, CODECPRIVATE, 0x22B59C, 0x22B59D, SEEKID, 0x41ED, 0x4255, 0x7672),
        *(BLOCK, 0xA5, 0xA4, SIMPLEBLOCK, MUXINGAPP, WRITINGAPP),
    )
)
_LANGUAGES = frozenset((0x22B59C, 0x22B59D))
_LANGUAGE = re.compile(rb"[A-Za-z0-9-]{1,35}")
_CLUSTER_CHILDREN = frozenset(
    (0xE7, 0x5854, 0xA7, 0xAB, SIMPLEBLOCK, BLOCKGROUP, ENCRYPTEDBLOCK, VOID, CRC32)
)
_CLUSTER_KEEP = frozenset((0xE7, 0xA7, 0xAB))  # Timestamp, Position, PrevSize
_SEEK_TARGETS = frozenset((SEEKHEAD, INFO, TRACKS, CLUSTER, CUES))
_NAMES = {
    TITLE: "Title",
    DATEUTC: "DateUTC",
    MUXINGAPP: "MuxingApp",
    WRITINGAPP: "WritingApp",
    0x73A4: "SegmentUUID",
    0x7384: "SegmentFilename",
    0x3CB923: "PrevUUID",
    0x3C83AB: "PrevFilename",
    0x3EB923: "NextUUID",
    0x3E83BB: "NextFilename",
    0x4444: "SegmentFamily",
    0x6924: "ChapterTranslate",
    0x536E: "Name",
    0x258688: "CodecName",
    0x3A9697: "CodecSettings",
    0x3B4040: "CodecInfoURL",
    0x26B240: "CodecDownloadURL",
    0x7446: "AttachmentLink",
    0x6624: "TrackTranslate",
    0xE2: "TrackOperation",
    0x4281: "DocTypeExtension",
    0x5854: "SilentTracks",
    TAGS: "Tags",
    ATTACHMENTS: "Attachments",
    CHAPTERS: "Chapters",
}
_TRACK_TYPES = {1: "video", 2: "audio", 3: "complex", 0x10: "logo", 0x11: "subtitle"}
_TRACK_TYPES |= {0x12: "buttons", 0x20: "control", 0x21: "metadata"}
_VIDEO_CODECS = frozenset(
    (
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
    )
)
_AUDIO_CODECS = frozenset(
    (
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
    )
)
_AAC = re.compile(r"A_AAC/MPEG[24]/(MAIN|LC|SSR|LTP|LC/SBR)")
# Codecs whose frames are cleaned (_video): H.264/HEVC SEI, AV1 OBUs, MPEG-4 Part 2 user data.
_NAL_CODECS: dict[str, _video.Codec] = {
    "V_MPEG4/ISO/AVC": "avc",
    "V_MPEGH/ISO/HEVC": "hevc",
    "V_AV1": "av1",
    "V_MPEG4/ISO/SP": "mp4v",
    "V_MPEG4/ISO/ASP": "mp4v",
    "V_MPEG4/ISO/AP": "mp4v",
}
# Frames of these codecs are whole JPEG images, each of which may carry EXIF.
_JPEG_CODECS = frozenset(("V_MJPEG", "V_MS/VFW/FOURCC"))
_NEUTRAL_APP = b"Testigo"
_MAX_LEAF = 16 << 20
_TAGS_READ = 1 << 20
_MAX_TAG_DEPTH = 8
_TAG_NAME = re.compile(r"[A-Z0-9_ ]{1,64}")
_DATE_TAGS = ("DATE_RECORDED", "DATE")
_EPOCH_2001 = datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC)


def _vint(value: int, width: int) -> bytes:
    if not 1 <= width <= 8 or value >= (1 << (7 * width)) - 1:
        raise ValueError("EBML size does not fit")
    return (value | (1 << (7 * width))).to_bytes(width, "big")


def void_header(total: int) -> bytes:
    """ID and size of a Void element whose whole length is ``total`` bytes."""
    for width in range(1, 9):
        content = total - 1 - width
        if 0 <= content < (1 << (7 * width)) - 1:
            return bytes((VOID,)) + _vint(content, width)
    raise ValueError(f"no Void element is {total} bytes long")


def _decode_header(buf: bytes) -> tuple[int, int, int | None]:
    """(element id, header length, data size or None when unknown) from leading bytes."""
    if not buf or buf[0] < 0x10:
        raise errors.malformed("matroska: invalid element id")
    id_len = 9 - buf[0].bit_length()
    if len(buf) <= id_len or buf[id_len] == 0:
        raise errors.malformed("matroska: invalid element size")
    size_len = 9 - buf[id_len].bit_length()
    if len(buf) < id_len + size_len:
        raise errors.malformed("matroska: truncated element header")
    value = int.from_bytes(buf[id_len : id_len + size_len], "big") & ((1 << (7 * size_len)) - 1)
    unknown = value == (1 << (7 * size_len)) - 1
    return int.from_bytes(buf[:id_len], "big"), id_len + size_len, None if unknown else value


class _Element:
    __slots__ = ("data", "end", "id", "pos")

    def __init__(self, eid: int, pos: int, data: int, end: int) -> None:
        self.id = eid
        self.pos = pos
        self.data = data
        self.end = end

    @property
    def size(self) -> int:
        return self.end - self.data


class _Stripper:
    """Walks the file in order and writes the output as it goes: bytes are copied up to each
    element to overwrite, then the replacement (or a zeroed Void) is written in its place."""

    def __init__(self, src: BinaryIO, dst: BinaryIO, ctx: StripContext) -> None:
        self.src = src
        self.dst = dst
        self.ctx = ctx
        self.size = file_size(src)
        self.written = 0  # output is complete up to this input offset
        self.budget = _element_budget(self.size)
        self.tracks_seen = False
        self.kept_tracks: set[int] = set()
        self.dropped_blocks: Counter[int] = Counter()
        self.has_video = False
        # Cleaned video tracks: (codec, NAL length size from CodecPrivate; 0 for AV1/MPEG-4).
        self.nal_tracks: dict[int, tuple[_video.Codec, int]] = {}
        self.sei_removed: Counter[int] = Counter()
        self.sei_types: set[str] = set()

    # -- reading --------------------------------------------------------------------------

    def peek(self, pos: int, n: int) -> bytes:
        self.src.seek(pos)
        return self.src.read(n)

    def header(self, pos: int, limit: int) -> tuple[int, int, int | None]:
        if pos >= limit:
            raise errors.malformed("matroska: element header past its parent")
        self.spend()
        return _decode_header(self.peek(pos, min(12, limit - pos)))

    def spend(self) -> None:
        self.budget -= 1
        if self.budget < 0:
            raise errors.malformed("matroska: implausibly many elements for the file size")

    def children(self, start: int, end: int) -> Iterator[_Element]:
        pos = start
        while pos < end:
            eid, head_len, size = self.header(pos, end)
            if size is None:
                raise errors.malformed(f"matroska: unknown size for element 0x{eid:X}")
            data = pos + head_len
            if data + size > end:
                raise errors.malformed(f"matroska: element 0x{eid:X} overruns its parent")
            yield _Element(eid, pos, data, data + size)
            pos = data + size

    def value(self, element: _Element) -> bytes:
        if element.size > _MAX_LEAF:
            raise errors.Rejected(errors.TOO_LARGE, "matroska: leaf element too large")
        self.src.seek(element.data)
        return read_exact(self.src, element.size)

    def uint(self, element: _Element) -> int:
        if element.size > 8:
            raise errors.malformed("matroska: integer wider than 8 bytes")
        return int.from_bytes(self.value(element), "big")

    # -- writing --------------------------------------------------------------------------

    def patch(self, offset: int, length: int, replacement: bytes | None) -> None:
        """Overwrite [offset, offset + length) with ``replacement``, or a zeroed Void if None."""
        if offset < self.written:
            raise ValueError("matroska: overlapping or out-of-order patches")
        self.src.seek(self.written)
        copy_exact(self.src, self.dst, offset - self.written)
        if replacement is None:
            header = void_header(length)
            self.dst.write(header)
            write_zeros(self.dst, length - len(header))
        else:
            self.dst.write(replacement)
        self.written = offset + length

    def finish_output(self, end: int) -> None:
        self.src.seek(self.written)
        copy_exact(self.src, self.dst, end - self.written)
        self.written = end

    def void(self, element: _Element) -> None:
        self.patch(element.pos, element.end - element.pos, None)

    def remove(self, element: _Element, where: str, what: str | None = None) -> None:
        self.void(element)
        self.ctx.remove(what or _NAMES.get(element.id, f"element 0x{element.id:X}"), where)

    def discard(self, element: _Element, where: str) -> None:
        """Void a child that is not kept; Voids and CRC-32s are not metadata, so not listed."""
        if element.id in (VOID, CRC32):
            self.void(element)
        else:
            self.remove(element, where)

    # -- structure ------------------------------------------------------------------------

    def run(self) -> int:
        """Walk the file, writing the output on the way; return where the output ends."""
        eid, head_len, size = self.header(0, self.size)
        if eid != EBML or size is None or head_len + size > self.size:
            raise errors.malformed("matroska: no EBML header")
        self.ebml_header(_Element(eid, 0, head_len, head_len + size))
        pos = head_len + size
        while pos < self.size:
            eid, head_len, size = self.header(pos, self.size)
            if eid == SEGMENT:
                end = self.segment(pos + head_len, None if size is None else pos + head_len + size)
                if end < self.size:
                    if self.peek(end, 4) in (b"\x1a\x45\xdf\xa3", b"\x18\x53\x80\x67"):
                        raise errors.Rejected(errors.UNSUPPORTED_FORMAT, "matroska: chained")
                    self.ctx.remove("trailing data", f"offset {end}")
                return end
            if eid != VOID or size is None or pos + head_len + size > self.size:
                raise errors.malformed("matroska: unexpected top-level element")
            self.void(_Element(eid, pos, pos + head_len, pos + head_len + size))
            pos += head_len + size
        raise errors.malformed("matroska: no Segment")

    def ebml_header(self, header: _Element) -> None:
        doctype = None
        for child in self.children(header.data, header.end):
            if child.id == DOCTYPE:
                doctype = self.value(child).rstrip(b"\x00")
            if child.id not in _KEEP[EBML]:
                self.discard(child, "EBML header")
        if doctype == b"webm":
            self.ctx.format = "webm"
        elif doctype == b"matroska":
            self.ctx.format = "mkv"
        else:
            raise errors.Rejected(errors.UNSUPPORTED_FORMAT, "matroska: unknown DocType")

    def segment(self, start: int, end: int | None) -> int:
        if end is not None and end > self.size:
            raise errors.malformed("matroska: Segment runs past end of file")
        limit = self.size if end is None else end
        pos = start
        while pos < limit:
            eid, head_len, size = self.header(pos, limit)
            if eid in (EBML, SEGMENT):
                raise errors.Rejected(errors.UNSUPPORTED_FORMAT, "matroska: chained segments")
            if size is None:
                if eid != CLUSTER:
                    raise errors.malformed(f"matroska: unknown size for element 0x{eid:X}")
                pos = self.cluster(pos + head_len, None, limit)
                continue
            element = _Element(eid, pos, pos + head_len, pos + head_len + size)
            if element.end > limit:
                raise errors.malformed(f"matroska: element 0x{eid:X} overruns the Segment")
            if eid == CLUSTER:
                self.cluster(element.data, element.end, element.end)
            elif eid == SEEKHEAD:
                self.seekhead(element)
            elif eid == INFO:
                self.info(element)
            elif eid == TRACKS:
                self.tracks(element)
            elif eid == CUES:
                self.generic(element, "Segment/Cues")
            elif eid == TAGS:
                self.tags_names(element)
                self.remove(element, "Segment")
            else:
                self.discard(element, "Segment")
            pos = element.end
        self.finish()
        return limit

    def check_leaf(self, leaf: _Element, where: str) -> None:
        """Refuse leaves of impossible width; drop language fields that are not codes."""
        if leaf.id in _FLOATS and leaf.size not in (0, 4, 8):
            raise errors.malformed(f"matroska: float 0x{leaf.id:X} of {leaf.size} bytes")
        if leaf.id not in _FLOATS and leaf.id not in _NOT_INTEGERS and leaf.size > 8:
            raise errors.malformed(f"matroska: integer 0x{leaf.id:X} of {leaf.size} bytes")
        if leaf.id in _LANGUAGES and not _LANGUAGE.fullmatch(self.value(leaf).rstrip(b"\x00")):
            self.remove(leaf, where, "language (not a language code)")

    def seekhead(self, element: _Element) -> None:
        for child in self.children(element.data, element.end):
            if child.id != SEEK:
                self.discard(child, "Segment/SeekHead")
                continue
            target = None
            for entry in self.children(child.data, child.end):
                if entry.id == SEEKID and entry.size <= 4:
                    target = int.from_bytes(self.value(entry), "big")
            if target in _SEEK_TARGETS:
                self.generic(child, "Segment/SeekHead")
            else:
                self.void(child)  # points at something removed (Tags, Attachments, ...)

    def info(self, element: _Element) -> None:
        scale = 1_000_000
        duration = None
        for child in self.children(element.data, element.end):
            if child.id == TIMESTAMPSCALE:
                scale = self.uint(child)
            elif child.id == DURATION and child.size in (4, 8):
                duration = _float(self.value(child))
            elif child.id in (MUXINGAPP, WRITINGAPP):
                neutral = _NEUTRAL_APP if child.size >= len(_NEUTRAL_APP) else b""
                self.patch(child.data, child.size, neutral.ljust(child.size, b"\x00"))
                self.ctx.remove(_NAMES[child.id], "Segment/Info")
            elif child.id == DATEUTC:
                if child.size == 8 and self.ctx.capture_time is None:
                    self.ctx.capture_time = _date_utc(self.value(child))
                self.remove(child, "Segment/Info")
            else:
                self.discard(child, "Segment/Info")
        if duration is not None and scale and duration >= 0:
            self.ctx.duration_s = duration * scale / 1e9

    def tracks(self, element: _Element) -> None:
        if self.tracks_seen:
            raise errors.malformed("matroska: second Tracks element")
        self.tracks_seen = True
        for child in self.children(element.data, element.end):
            if child.id == TRACKENTRY:
                self.track_entry(child)
            else:
                self.discard(child, "Segment/Tracks")
        if not self.kept_tracks:
            raise errors.malformed("matroska: no video or audio track")

    def track_entry(self, entry: _Element) -> None:
        kids = list(self.children(entry.data, entry.end))
        number = track_type = None
        codec = ""
        for kid in kids:
            if kid.id == TRACKNUMBER:
                number = self.uint(kid)
            elif kid.id == TRACKTYPE:
                track_type = self.uint(kid)
            elif kid.id == CODECID:
                codec = self.value(kid).rstrip(b"\x00").decode("ascii", "replace")
        label = f"track {number}" if number is not None else "track"
        if track_type not in (1, 2):
            kind = _TRACK_TYPES.get(track_type or 0, "unknown type")
            self.remove(entry, "Segment/Tracks", f"{label} ({kind})")
            return
        if number is None or number == 0 or number in self.kept_tracks:
            raise errors.malformed("matroska: missing or repeated track number")
        if codec in _JPEG_CODECS:
            raise errors.Rejected(errors.UNSAFE_CONTENT, f"matroska: {codec} frames carry EXIF")
        allowed = _VIDEO_CODECS if track_type == 1 else _AUDIO_CODECS
        if codec not in allowed and not (track_type == 2 and _AAC.fullmatch(codec)):
            raise errors.Rejected(errors.UNSUPPORTED_FORMAT, f"matroska: codec {codec!r}")
        self.kept_tracks.add(number)
        self.has_video |= track_type == 1
        where = f"Segment/Tracks/{label}"
        nal_codec = _NAL_CODECS.get(codec)
        if nal_codec is not None:
            has_private = any(kid.id == CODECPRIVATE for kid in kids)
            if not has_private and nal_codec != "mp4v":  # MPEG-4 Part 2 headers may be in-band
                raise errors.malformed(f"matroska: {codec} without CodecPrivate")
            if any(kid.id == CONTENTENCODINGS for kid in kids):
                # Header stripping would hide the framing our sample scan relies on.
                raise errors.Rejected(errors.UNSUPPORTED_FORMAT, "matroska: encoded NAL track")
            if nal_codec == "mp4v":
                self.nal_tracks[number] = (nal_codec, 0)
        for kid in kids:
            if kid.id not in _KEEP[TRACKENTRY]:
                what = "track name" if kid.id == 0x536E else None
                if kid.id in (VOID, CRC32):
                    self.void(kid)
                else:
                    self.remove(kid, where, what)
            elif kid.id == CODECPRIVATE and nal_codec is not None:
                self.nal_private(kid, nal_codec, number, where)
            elif kid.id == CODECPRIVATE:
                self.codec_private(kid, codec, where)
            elif kid.id == CONTENTENCODINGS:
                self.content_encodings(kid)
                self.generic(kid, where)
            elif kid.id == VIDEO:
                self.video_size(kid)
                self.generic(kid, where)
            elif kid.id in _KEEP:
                self.generic(kid, where)
            else:
                self.check_leaf(kid, where)

    def video_size(self, video: _Element) -> None:
        if self.ctx.width is not None:
            return
        for child in self.children(video.data, video.end):
            if child.id == PIXELWIDTH:
                self.ctx.width = self.uint(child)
            elif child.id == PIXELHEIGHT:
                self.ctx.height = self.uint(child)

    def content_encodings(self, encodings: _Element) -> None:
        for encoding in self.children(encodings.data, encodings.end):
            if encoding.id != CONTENTENCODING:
                continue
            for child in self.children(encoding.data, encoding.end):
                encrypted = child.id == CONTENTENCODINGTYPE and self.uint(child) != 0
                if encrypted or child.id == CONTENTENCRYPTION:
                    raise errors.Rejected(errors.UNSUPPORTED_FORMAT, "matroska: encrypted track")

    def codec_private(self, element: _Element, codec: str, where: str) -> None:
        """Vorbis and FLAC codec setup can hold a comment header; rewrite it empty."""
        if codec not in ("A_VORBIS", "A_FLAC"):
            return
        data = self.value(element)
        cleaned = _vorbis_private(data) if codec == "A_VORBIS" else _flac_private(data)
        if cleaned == data:
            return
        self.replace_private(element, cleaned)
        self.ctx.remove("codec comment header", where)

    def nal_private(self, element: _Element, codec: _video.Codec, track: int, where: str) -> None:
        """avcC/hvcC: note the NAL length size; clean SEI out of an hvcC. av1C: metadata OBUs
        out; MPEG-4 Part 2 headers: user data blanked in place."""
        data = self.value(element)
        if codec in ("av1", "mp4v"):
            self.nal_tracks[track] = (codec, 0)
            if codec == "av1":
                cleaned, names = _obu.clean_av1c(data)
            else:
                blanked, _count = _m4v.clean_config(data)
                cleaned, names = blanked or data, [_m4v.USER_DATA_NAME] if blanked else []
            if names:
                self.replace_private(element, cleaned)
                self.ctx.remove(_video.label(names), where + "/CodecPrivate")
            return
        if codec == "avc":
            self.nal_tracks[track] = (codec, _sei.avcc_length_size(data))
            return
        cleaned, length_size, gone = _sei.clean_hvcc(data)
        self.nal_tracks[track] = (codec, length_size)
        if gone:
            self.replace_private(element, cleaned)
            self.ctx.remove(_sei.removed_label(gone), where + "/CodecPrivate")

    def replace_private(self, element: _Element, cleaned: bytes) -> None:
        """Write a shorter CodecPrivate in place, a Void making up the rest."""
        id_len = 2  # CodecPrivate's id, 0x63A2
        width = element.data - element.pos - id_len
        total = element.end - element.pos
        rest = total - id_len - width - len(cleaned)
        if rest == 1:
            # One spare byte cannot hold a Void; absorb it in a wider size field instead.
            width = width + 1 if width < 8 else width - 1
            rest = total - id_len - width - len(cleaned)
        replacement = element.id.to_bytes(id_len, "big") + _vint(len(cleaned), width) + cleaned
        self.patch(element.pos, len(replacement), replacement)
        if rest:
            self.patch(element.pos + len(replacement), rest, None)

    def nal_block(self, block: _Element, head: bytes) -> None:
        """Rewrite, at its own size, a kept video frame that carries SEI user data, metadata
        OBUs or MPEG-4 user data."""
        track = _block_track(head, block.size)
        framing = self.nal_tracks.get(track)
        if framing is None:
            return
        width = 9 - head[0].bit_length()
        if len(head) < width + 3:
            raise errors.malformed("matroska: block too short")
        if head[width + 2] & 0x06:
            raise errors.Rejected(errors.UNSUPPORTED_FORMAT, "matroska: laced video frames")
        start = block.data + width + 3
        replacement, gone = _video.scan_sample(*framing, self.peek, start, block.end - start)
        if replacement is not None:
            self.patch(start, len(replacement), replacement)
            self.sei_removed[track] += 1
            self.sei_types.update(gone)

    def cluster(self, start: int, end: int | None, limit: int) -> int:
        if not self.tracks_seen:
            raise errors.malformed("matroska: Cluster before Tracks")
        stop = limit if end is None else end
        pos = start
        while pos < stop:
            self.spend()
            buf = self.peek(pos, min(24, stop - pos))
            eid, head_len, size = _decode_header(buf)
            if end is None and eid not in _CLUSTER_CHILDREN:
                return pos  # an unknown-size Cluster ends where a non-child begins
            if size is None:
                raise errors.malformed("matroska: unknown size inside a Cluster")
            element = _Element(eid, pos, pos + head_len, pos + head_len + size)
            if element.end > stop:
                raise errors.malformed("matroska: block overruns its Cluster")
            if eid == SIMPLEBLOCK:
                track = _block_track(buf[head_len:], size)
                if track not in self.kept_tracks:
                    self.void(element)
                    self.dropped_blocks[track] += 1
                elif self.nal_tracks:
                    self.nal_block(element, buf[head_len:])
            elif eid == BLOCKGROUP:
                self.block_group(element)
            elif eid == ENCRYPTEDBLOCK:
                raise errors.Rejected(errors.UNSUPPORTED_FORMAT, "matroska: encrypted block")
            elif eid not in _CLUSTER_KEEP:
                self.discard(element, "Segment/Cluster")
            elif size > 8:
                raise errors.malformed("matroska: Cluster integer wider than 8 bytes")
            pos = element.end
        return stop

    def block_group(self, group: _Element) -> None:
        track = None
        for child in self.children(group.data, group.end):
            if child.id == BLOCK:
                track = _block_track(self.peek(child.data, min(8, child.size)), child.size)
        if track is None or track not in self.kept_tracks:
            self.void(group)
            self.dropped_blocks[track or 0] += 1
            return
        self.generic(group, "Segment/Cluster/BlockGroup")

    def generic(self, element: _Element, where: str) -> None:
        keep = _KEEP[element.id]
        for child in self.children(element.data, element.end):
            if child.id not in keep:
                self.discard(child, where)
            elif child.id in _KEEP:
                self.generic(child, where)
            elif child.id == BLOCK and self.nal_tracks:
                self.nal_block(child, self.peek(child.data, min(12, child.size)))
            else:
                self.check_leaf(child, where)

    def tags_names(self, tags: _Element) -> None:
        """Record the names of removed tags and take a stated recording date as evidence."""
        if tags.size > _TAGS_READ:
            return
        names: list[str] = []
        try:
            for tag in self.children(tags.data, tags.end):
                if tag.id == 0x7373:  # Tag
                    self._simple_tags(tag, names, depth=0)
        except (errors.Rejected, ValueError):
            pass  # the whole element is voided anyway; a broken inside costs only the names
        for name in names:
            self.ctx.remove(f"tag {name}", "Segment/Tags")

    def _simple_tags(self, parent: _Element, names: list[str], depth: int) -> None:
        if depth > _MAX_TAG_DEPTH:
            return
        for child in self.children(parent.data, parent.end):
            if child.id != 0x67C8:  # SimpleTag
                continue
            name = value = None
            for part in self.children(child.data, child.end):
                if part.id == 0x45A3:  # TagName
                    name = self.value(part).rstrip(b"\x00").decode("utf-8", "replace").upper()
                elif part.id == 0x4487:  # TagString
                    value = self.value(part).rstrip(b"\x00").decode("utf-8", "replace")
            if name is not None:
                if not _TAG_NAME.fullmatch(name):
                    name = "(unnamed)"
                if name not in names:
                    names.append(name)
                if name in _DATE_TAGS and value and self.ctx.capture_time is None:
                    self.ctx.capture_time = iso_date(value)
            self._simple_tags(child, names, depth + 1)

    def finish(self) -> None:
        if not self.tracks_seen:
            raise errors.malformed("matroska: no Tracks element")
        for track, count in sorted(self.dropped_blocks.items()):
            self.ctx.remove(f"{count} blocks of track {track}", "Segment/Cluster")
        self.dropped_blocks.clear()
        label = _video.label(self.sei_types)
        for track, count in sorted(self.sei_removed.items()):
            self.ctx.remove(f"{label} ({count} frames)", f"Segment/Cluster (track {track})")
        self.sei_removed.clear()


def _element_budget(size: int) -> int:
    # Each element costs Python time; real files average hundreds of bytes per element
    # (a block per frame), so a file of tiny elements is refused before it costs minutes.
    return 1_000_000 + size // 256


def _float(raw: bytes) -> float | None:
    value: float = struct.unpack(">f" if len(raw) == 4 else ">d", raw)[0]
    return value if value == value and value != float("inf") else None


def _date_utc(raw: bytes) -> str | None:
    nanoseconds = int.from_bytes(raw, "big", signed=True)
    try:
        moment = _EPOCH_2001 + datetime.timedelta(microseconds=nanoseconds // 1000)
    except OverflowError:
        return None
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _block_track(head: bytes, size: int) -> int:
    if not head or head[0] == 0:
        raise errors.malformed("matroska: block without a track number")
    width = 9 - head[0].bit_length()
    if len(head) < width or size < width + 3:
        raise errors.malformed("matroska: block too short")
    return int.from_bytes(head[:width], "big") & ((1 << (7 * width)) - 1)


def _xiph_sizes(data: bytes, pos: int, count: int) -> tuple[list[int], int]:
    sizes = []
    for _ in range(count):
        size = 0
        while True:
            if pos >= len(data):
                raise errors.malformed("matroska: Xiph lacing truncated")
            size += data[pos]
            pos += 1
            if data[pos - 1] != 255:
                break
        sizes.append(size)
    return sizes, pos


def _xiph_lace(size: int) -> bytes:
    return b"\xff" * (size // 255) + bytes((size % 255,))


def _vorbis_private(data: bytes) -> bytes:
    if not data or data[0] != 2:
        raise errors.malformed("matroska: Vorbis CodecPrivate is not three packets")
    (ident_len, comment_len), pos = _xiph_sizes(data, 1, 2)
    ident = data[pos : pos + ident_len]
    setup = data[pos + ident_len + comment_len :]
    if not ident.startswith(b"\x01vorbis") or not setup.startswith(b"\x05vorbis"):
        raise errors.malformed("matroska: Vorbis CodecPrivate headers")
    return (
        b"\x02"
        + _xiph_lace(len(ident))
        + _xiph_lace(len(VORBIS_COMMENT))
        + ident
        + (VORBIS_COMMENT + setup)
    )


def _flac_private(data: bytes) -> bytes:
    if data[:4] != b"fLaC" or len(data) < 42 or data[4] & 0x7F != 0:
        raise errors.malformed("matroska: FLAC CodecPrivate without STREAMINFO")
    length = int.from_bytes(data[5:8], "big")
    if length != 34:
        raise errors.malformed("matroska: FLAC STREAMINFO length")
    return b"fLaC" + bytes((0x80,)) + data[5:42]


def strip(src: BinaryIO, dst: BinaryIO, ctx: StripContext) -> None:
    dst.seek(0)
    dst.truncate()
    stripper = _Stripper(src, dst, ctx)
    stripper.finish_output(stripper.run())
    ctx.media_kind = "video" if stripper.has_video else "audio"
    ctx.lossless = True
