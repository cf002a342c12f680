"""ISO base media files: MP4, MOV, 3GP, M4V, M4A, HEIC/HEIF and AVIF.

The output has exactly the input's size and layout. A removed box is rewritten in place as
a 'free' box of the same size with a zeroed payload, so every chunk offset (stco/co64/trun)
and item location (iloc) stays valid and no coded byte moves. Only the HEIF 'meta' box is
rebuilt; it is followed by a 'free' box that makes up the bytes it lost.

Inside 'mdat', only bytes that a kept track sample or a kept image item points at are
copied; everything else (telemetry samples, Exif/XMP items, thumbnails, unreferenced gaps)
is written as zeros. Only 'moov', 'moof' and 'meta' are parsed in memory; 'mdat' is copied
in bounded chunks.
"""

from __future__ import annotations

import contextlib
import datetime
import heapq
import re
import struct
import sys
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Literal

from . import errors
from ._io import copy_exact, file_size, read_exact, write_zeros
from .context import StripContext
from .errors import Rejected, malformed
from .manifest import Format

# A box parsed in memory larger than this is refused: real moov boxes of long phone videos
# are a few MB; this bounds memory on hostile input.
MAX_PARSED_BOX = 64 << 20
# Fragmented recordings have two top-level boxes per fragment (about one a second).
MAX_TOP_LEVEL_BOXES = 200_000
# Sample ranges kept in memory (16 bytes each) before a file counts as too large; a track
# whose chunks are out of file order is sorted, which costs far more per range.
MAX_RANGES = 2_000_000
MAX_UNSORTED_RANGES = 250_000
MAX_EXIF_BYTES = 1 << 20

FREE = b"free"


def _fourccs(names: str) -> frozenset[bytes]:
    """Four-character codes from a space-separated list; '_' stands for a space."""
    return frozenset(n.replace("_", " ").encode("latin-1") for n in names.split())


IMAGE_BRANDS = _fourccs("heic heix heim heis hevc hevx hevm hevs mif1 mif2 msf1 avif avis avio")
AVIF_BRANDS = _fourccs("avif avis avio")

VISUAL_FORMATS = _fourccs(
    "avc1 avc2 avc3 avc4 hvc1 hev1 dvh1 dvhe dva1 dvav av01 vp08 vp09 mp4v s263 h263 "
    "apcn apch apcs apco ap4h ap4x"
)
AUDIO_FORMATS = _fourccs(
    "mp4a ac-3 ec-3 ac-4 Opus fLaC alac samr sawb sowt twos lpcm in24 in32 fl32 fl64 "
    "ulaw alaw ima4 raw_ .mp3 mha1 mhm1 ipcm fpcm"
)
# Codec configuration and display boxes inside sample entries; anything else is zeroed.
VISUAL_ENTRY_CHILDREN = _fourccs(
    "avcC hvcC av1C vpcC dvcC dvvC dvwC lhvC hvcE esds d263 colr pasp clap btrt fiel gama "
    "mdcv clli SmDm CoLL st3d vexu hfov ccst free"
)
AUDIO_ENTRY_CHILDREN = _fourccs(
    "esds dOps dfLa alac damr dac3 dec3 dac4 chan chnl srat btrt pcmC mhaC ddts SA3D wave free"
)
# QuickTime 'wave' ends with a terminator atom of type 0.
WAVE_CHILDREN = _fourccs("frma mp4a esds enda chan alac") | {bytes(4)}
STBL_CHILDREN = _fourccs(
    "stsd stts ctts cslg stss stps sdtp stsc stsz stz2 stco co64 sgpd sbgp subs padb stdp stsh"
)
KEPT_HANDLERS = _fourccs("vide soun")

# HEIF items that make up the displayed picture; everything else in 'meta' goes.
IMAGE_ITEM_TYPES = _fourccs("hvc1 av01 grid iovl iden")
ITEM_PROPERTIES = _fourccs(
    "hvcC av1C ispe pixi colr irot imir clap pasp auxC rloc lsel a1op a1lx clli mdcv cclv amve lhvC"
)
ALPHA_AUX_TYPES = (b"urn:mpeg:hevc:2015:auxid:1", b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha")
KEPT_ITEM_REFS = _fourccs("dimg auxl")

QT_EPOCH = datetime.datetime(1904, 1, 1, tzinfo=datetime.UTC)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][0-9:.+\-Z]*)?$")
_EXIF_DATE = re.compile(r"^(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2}):(\d{2})$")
_EXIF_OFFSET = re.compile(r"^[+-]\d{2}:\d{2}$")

# tkhd matrix (a, b, c, d) in 16.16 units -> EXIF orientation code.
_MATRIX_ORIENTATION = {
    (1, 0, 0, 1): 1,
    (-1, 0, 0, 1): 2,
    (-1, 0, 0, -1): 3,
    (1, 0, 0, -1): 4,
    (0, 1, 1, 0): 5,
    (0, 1, -1, 0): 6,
    (0, -1, -1, 0): 7,
    (0, -1, 1, 0): 8,
}
# Stored-to-displayed transform (x' = a x + b y, y' = c x + d y; y points down) -> EXIF
# orientation code; for HEIF irot/imir.
_EXIF_BY_TRANSFORM = {
    (1, 0, 0, 1): 1,
    (-1, 0, 0, 1): 2,
    (-1, 0, 0, -1): 3,
    (1, 0, 0, -1): 4,
    (0, 1, 1, 0): 5,
    (0, -1, 1, 0): 6,
    (0, -1, -1, 0): 7,
    (0, 1, -1, 0): 8,
}
_ANTICLOCKWISE = (0, 1, -1, 0)
_MIRROR_LEFT_RIGHT = (-1, 0, 0, 1)
_MIRROR_TOP_BOTTOM = (1, 0, 0, -1)


# --------------------------------------------------------------------------- byte helpers


def _u(buf: bytes | bytearray, off: int, n: int, end: int | None = None) -> int:
    """Unsigned big-endian integer of ``n`` bytes at ``off``, bounded by ``end``."""
    limit = len(buf) if end is None else end
    if off < 0 or off + n > limit:
        raise malformed("field runs past its box")
    return int.from_bytes(buf[off : off + n], "big")


def _s32(buf: bytes | bytearray, off: int, end: int) -> int:
    value = _u(buf, off, 4, end)
    return value - (1 << 32) if value & 0x80000000 else value


def _fourcc(t: bytes) -> str:
    text = t.decode("latin-1")
    return text if text.isprintable() else t.hex()


def _box(typ: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + typ + payload


def _full_box(typ: bytes, version: int, flags: int, payload: bytes) -> bytes:
    return _box(typ, bytes([version]) + flags.to_bytes(3, "big") + payload)


def _free_box(size: int) -> bytes:
    if size < 8:
        raise malformed("no room for padding")
    return struct.pack(">I", size) + FREE + bytes(size - 8)


@dataclass(slots=True)
class Box:
    type: bytes
    start: int
    hdr: int
    end: int

    @property
    def body(self) -> int:
        return self.start + self.hdr

    @property
    def size(self) -> int:
        return self.end - self.start


def _children(buf: bytes | bytearray, start: int, end: int) -> list[Box]:
    """Child boxes of a container occupying ``buf[start:end]``."""
    out: list[Box] = []
    pos = start
    while pos < end:
        if end - pos < 8:
            # QuickTime may end an atom list with a 32-bit zero terminator.
            if any(buf[pos:end]):
                raise malformed("trailing bytes in container")
            break
        size = _u(buf, pos, 4, end)
        typ = bytes(buf[pos + 4 : pos + 8])
        hdr = 8
        if size == 1:
            size = _u(buf, pos + 8, 8, end)
            hdr = 16
        elif size == 0:
            raise malformed("box of size 0 inside a container")
        if size < hdr or size > end - pos:
            raise malformed(f"box {_fourcc(typ)} larger than its container")
        out.append(Box(typ, pos, hdr, pos + size))
        pos += size
    return out


def _only(boxes: list[Box], typ: bytes) -> Box | None:
    found = [b for b in boxes if b.type == typ]
    if len(found) > 1:
        raise malformed(f"duplicate {_fourcc(typ)} box")
    return found[0] if found else None


def _to_free(buf: bytearray, box: Box) -> None:
    buf[box.start + 4 : box.start + 8] = FREE
    buf[box.body : box.end] = bytes(box.end - box.body)


def _zero_payload(buf: bytearray, box: Box) -> None:
    buf[box.body : box.end] = bytes(box.end - box.body)


def _uint_array(data: bytes | bytearray, width: int) -> array[int]:
    """Big-endian unsigned integers of ``width`` (4 or 8) bytes as a native array."""
    arr = array("I" if width == 4 else "Q")
    if arr.itemsize != width:
        arr = array("L" if width == 4 else "Q")
        if arr.itemsize != width:
            raise malformed("no native integer type of the needed width")
    arr.frombytes(bytes(data))
    if sys.byteorder == "little":
        arr.byteswap()
    return arr


# --------------------------------------------------------------------------- sample ranges


class _Ranges:
    """Byte ranges [start, end) of kept media, one sorted-or-not source at a time."""

    def __init__(self) -> None:
        self.sources: list[tuple[array[int], array[int]]] = []
        self.count = 0

    def new_source(self) -> tuple[array[int], array[int]]:
        pair = (array("q"), array("q"))
        self.sources.append(pair)
        return pair

    def add(self, pair: tuple[array[int], array[int]], start: int, end: int) -> None:
        if end <= start:
            return
        starts, ends = pair
        if starts and ends[-1] == start:
            ends[-1] = end  # contiguous with the previous range: merge
            return
        self.count += 1
        if self.count > MAX_RANGES:
            raise Rejected(errors.TOO_LARGE, "too many sample ranges")
        starts.append(start)
        ends.append(end)

    def merged(self) -> tuple[array[int], array[int]]:
        """All ranges sorted with overlaps and neighbours merged."""
        iterators: list[Iterator[tuple[int, int]]] = []
        for starts, ends in self.sources:
            if any(starts[i] > starts[i + 1] for i in range(len(starts) - 1)):
                if len(starts) > MAX_UNSORTED_RANGES:
                    raise Rejected(errors.TOO_LARGE, "too many chunks out of order")
                order = sorted(range(len(starts)), key=starts.__getitem__)
                iterators.append(iter([(starts[i], ends[i]) for i in order]))
            else:
                iterators.append(zip(starts, ends, strict=True))
        out_s: array[int] = array("q")
        out_e: array[int] = array("q")
        for start, end in heapq.merge(*iterators):
            if out_s and start <= out_e[-1]:
                out_e[-1] = max(out_e[-1], end)
            else:
                out_s.append(start)
                out_e.append(end)
        return out_s, out_e


# --------------------------------------------------------------------------- state


@dataclass
class _Track:
    track_id: int
    handler: bytes
    kept: bool


@dataclass(slots=True)
class _TopBox:
    type: bytes
    start: int
    hdr: int
    end: int
    action: str  # "copy", "zero", "mdat", "moov", "moof", "mfra", "meta"


@dataclass
class _State:
    ctx: StripContext
    size: int
    major: bytes = b""
    image_brand: bool = False
    tracks: dict[int, _Track] = field(default_factory=dict)
    trex_sample_size: dict[int, int] = field(default_factory=dict)
    dropped_media: bool = False
    had_video: bool = False
    ranges: _Ranges = field(default_factory=_Ranges)
    # Bytes of removed tracks and items; kept media must not overlap them.
    removed_ranges: _Ranges = field(default_factory=_Ranges)
    header_times: list[int] = field(default_factory=list)
    stated_time: str | None = None
    stated_priority: int = 0
    removed_seen: set[tuple[str, str]] = field(default_factory=set)
    has_heif_meta: bool = False
    primary_type: bytes = b""
    track_width: int | None = None
    track_height: int | None = None
    track_orientation: int | None = None
    moof_ranges: tuple[array[int], array[int]] | None = None
    moof_removed: tuple[array[int], array[int]] | None = None

    def remove(self, what: str, where: str) -> None:
        if (what, where) not in self.removed_seen:
            self.removed_seen.add((what, where))
            self.ctx.remove(what, where)

    def kept_ids(self) -> set[int]:
        return {t.track_id for t in self.tracks.values() if t.kept}


# --------------------------------------------------------------------------- entry point


def strip(src: BinaryIO, dst: BinaryIO, ctx: StripContext) -> None:
    try:
        _strip(src, dst, ctx)
    except struct.error as exc:  # not caught by the framework; hostile sizes end up here
        raise malformed(f"bad field: {exc}") from exc


def _strip(src: BinaryIO, dst: BinaryIO, ctx: StripContext) -> None:
    st = _State(ctx=ctx, size=file_size(src))
    top = _walk_top_level(src, st)

    moov_out: bytearray | None = None
    meta_out: bytes | None = None
    for tb in top:
        if tb.action == "moov":
            if moov_out is not None:
                raise malformed("more than one moov box")
            src.seek(tb.start)
            moov_out = bytearray(read_exact(src, tb.end - tb.start))
            _process_moov(moov_out, Box(tb.type, 0, tb.hdr, tb.end - tb.start), st)
        elif tb.action == "moof":
            if moov_out is None:
                raise malformed("movie fragment before moov")
            _process_moof(_read_box(src, tb), tb.start, tb.hdr, st, collect=True)
        elif tb.action == "meta":
            if meta_out is not None:
                raise malformed("more than one top-level meta box")
            meta_out = _process_top_meta(src, tb, st)

    if moov_out is None and not st.has_heif_meta:
        raise malformed("no moov box and no HEIF image")
    _decide_kind(st, moov_out is not None)

    cov_s, cov_e = st.ranges.merged()
    mdats = [(tb.start + tb.hdr, tb.end) for tb in top if tb.action == "mdat"]
    _check_inside(cov_s, cov_e, mdats)
    _check_disjoint((cov_s, cov_e), st.removed_ranges.merged())

    dst.seek(0)
    dst.truncate()
    idx = 0
    for tb in top:
        src.seek(tb.start)
        if tb.action == "copy":
            copy_exact(src, dst, tb.end - tb.start)
        elif tb.action == "zero":
            header = bytearray(read_exact(src, tb.hdr))
            header[4:8] = FREE
            dst.write(header)
            write_zeros(dst, tb.end - tb.start - tb.hdr)
        elif tb.action == "moov":
            assert moov_out is not None
            dst.write(moov_out)
        elif tb.action == "moof":
            buf = _read_box(src, tb)
            _process_moof(buf, tb.start, tb.hdr, st, collect=False)
            dst.write(buf)
        elif tb.action == "mfra":
            buf = _read_box(src, tb)
            _process_mfra(buf, Box(tb.type, 0, tb.hdr, len(buf)), st)
            dst.write(buf)
        elif tb.action == "meta":
            assert meta_out is not None
            dst.write(meta_out)
        elif tb.action == "mdat":
            copy_exact(src, dst, tb.hdr)
            idx = _write_payload(src, dst, tb.start + tb.hdr, tb.end, cov_s, cov_e, idx)
    if dst.tell() != st.size:
        raise malformed("output size differs from input")

    _finish_context(st)
    ctx.lossless = not st.dropped_media


def _read_box(src: BinaryIO, tb: _TopBox) -> bytearray:
    if tb.end - tb.start > MAX_PARSED_BOX:
        raise Rejected(errors.TOO_LARGE, f"{_fourcc(tb.type)} box too large")
    src.seek(tb.start)
    return bytearray(read_exact(src, tb.end - tb.start))


def _walk_top_level(src: BinaryIO, st: _State) -> list[_TopBox]:
    boxes: list[_TopBox] = []
    pos = 0
    while pos < st.size:
        if len(boxes) >= MAX_TOP_LEVEL_BOXES:
            raise Rejected(errors.TOO_LARGE, "too many top-level boxes")
        src.seek(pos)
        head = src.read(16)
        if len(head) < 8:
            raise malformed("truncated box header")
        size = _u(head, 0, 4)
        typ = head[4:8]
        hdr = 8
        if size == 1:
            if len(head) < 16:
                raise malformed("truncated box header")
            size = _u(head, 8, 8)
            hdr = 16
        elif size == 0:
            size = st.size - pos  # runs to the end of the file
        if size < hdr or size > st.size - pos:
            raise malformed(f"box {_fourcc(typ)} runs past the end of the file")
        end = pos + size
        if not boxes:
            if typ != b"ftyp":
                raise malformed("file does not start with ftyp")
            _parse_ftyp(src, pos, hdr, end, st)
            action = "copy"
        else:
            action = _top_action(typ, st)
        if action in ("moov", "meta") and size > MAX_PARSED_BOX:
            raise Rejected(errors.TOO_LARGE, f"{_fourcc(typ)} box too large")
        boxes.append(_TopBox(typ, pos, hdr, end, action))
        pos = end
    if not boxes:
        raise malformed("empty file")
    return boxes


def _top_action(typ: bytes, st: _State) -> str:
    if typ == b"ftyp":
        raise malformed("second ftyp box")
    if typ in (b"moov", b"moof", b"mfra", b"meta", b"mdat"):
        return typ.decode()
    if typ in (b"sidx", b"ssix", b"styp"):
        return "copy"
    if typ not in (b"free", b"skip", b"wide"):
        # uuid (XMP, vendor data), ID32, jumb (C2PA), prft (wall-clock time), Samsung sefd...
        st.remove(_fourcc(typ), "top level")
    return "zero"


def _parse_ftyp(src: BinaryIO, pos: int, hdr: int, end: int, st: _State) -> None:
    if end - pos > 1024 or end - pos - hdr < 8 or (end - pos - hdr) % 4:
        raise malformed("implausible ftyp box")
    src.seek(pos + hdr)
    body = read_exact(src, end - pos - hdr)
    st.major = body[:4]
    compat = [body[i : i + 4] for i in range(8, len(body), 4)]
    if not all(32 <= c < 127 for brand in (st.major, *compat) for c in brand):
        raise malformed("ftyp brand is not text")
    st.image_brand = st.major in IMAGE_BRANDS
    st.ctx.format = _format_for_brand(st.major)


def _format_for_brand(major: bytes) -> Format:
    if major == b"qt  ":
        return "mov"
    if major.startswith(b"3g"):
        return "3gp"
    if major in (b"M4V ", b"M4VH", b"M4VP"):
        return "m4v"
    if major in (b"M4A ", b"M4B ", b"M4P ", b"F4A "):
        return "m4a"
    if major in AVIF_BRANDS:
        return "avif"
    if major in IMAGE_BRANDS:
        return "heic"
    return "mp4"


def _decide_kind(st: _State, has_moov: bool) -> None:
    handlers = [t.handler for t in st.tracks.values() if t.kept]
    image = st.has_heif_meta and (st.image_brand or not has_moov)
    if image or (st.image_brand and handlers):
        st.ctx.media_kind = "image"
        avif = st.primary_type == b"av01" or st.major in AVIF_BRANDS
        st.ctx.format = "avif" if avif else "heic"
    elif b"vide" in handlers or b"pict" in handlers:
        st.ctx.media_kind = "video"
    elif st.had_video:
        # Publishing the sound of a video whose picture we could not keep would mislead.
        raise Rejected(errors.UNSUPPORTED_FORMAT, "no video track we can keep")
    elif b"soun" in handlers:
        st.ctx.media_kind = "audio"
        if st.ctx.format == "mp4":
            st.ctx.format = "m4a"
    else:
        raise Rejected(errors.UNSUPPORTED_FORMAT, "no audio or video track")


def _check_inside(cov_s: array[int], cov_e: array[int], mdats: list[tuple[int, int]]) -> None:
    """Every kept sample must lie inside one mdat payload: we copy nothing else verbatim."""
    j = 0
    for start, end in zip(cov_s, cov_e, strict=True):
        while j < len(mdats) and mdats[j][1] <= start:
            j += 1
        if j == len(mdats) or start < mdats[j][0] or end > mdats[j][1]:
            raise malformed("sample data outside mdat")


def _check_disjoint(
    kept: tuple[array[int], array[int]], removed: tuple[array[int], array[int]]
) -> None:
    """Refuse files whose kept samples point at the bytes of a removed track or item:
    copying them would publish the metadata we were asked to remove."""
    (ks, ke), (rs, re_) = kept, removed
    i = j = 0
    while i < len(ks) and j < len(rs):
        if ke[i] <= rs[j]:
            i += 1
        elif re_[j] <= ks[i]:
            j += 1
        else:
            raise Rejected(errors.UNSAFE_CONTENT, "kept media overlaps removed metadata")


def _write_payload(
    src: BinaryIO,
    dst: BinaryIO,
    start: int,
    end: int,
    cov_s: array[int],
    cov_e: array[int],
    idx: int,
) -> int:
    """Copy the referenced parts of ``src[start:end]`` and zero the rest."""
    pos = start
    n = len(cov_s)
    while pos < end:
        while idx < n and cov_e[idx] <= pos:
            idx += 1
        if idx < n and cov_s[idx] <= pos:
            stop = min(cov_e[idx], end)
            src.seek(pos)
            copy_exact(src, dst, stop - pos)
        else:
            stop = min(cov_s[idx], end) if idx < n else end
            write_zeros(dst, stop - pos)
        pos = stop
    return idx


def _finish_context(st: _State) -> None:
    ctx = st.ctx
    if ctx.capture_time is None:
        if st.stated_time is not None:
            ctx.capture_time = st.stated_time
        elif st.header_times:
            moment = QT_EPOCH + datetime.timedelta(seconds=min(st.header_times))
            ctx.capture_time = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if ctx.media_kind != "image":
        ctx.width = ctx.width or st.track_width
        ctx.height = ctx.height or st.track_height
        if ctx.orientation is None:
            ctx.orientation = st.track_orientation


# --------------------------------------------------------------------------- moov


def _process_moov(buf: bytearray, moov: Box, st: _State) -> None:
    kids = _children(buf, moov.body, moov.end)
    mvhd = _only(kids, b"mvhd")
    if mvhd is None:
        raise malformed("moov without mvhd")
    timescale, duration = _clear_times(buf, mvhd, st)
    if timescale and duration not in (0, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF):
        st.ctx.duration_s = duration / timescale

    traks: list[tuple[Box, _Track]] = []
    for box in kids:
        if box.type in (b"mvhd", b"iods"):
            continue
        if box.type == b"trak":
            track = _process_trak(buf, box, st)
            if track.track_id in st.tracks:
                raise malformed("duplicate track id")
            st.tracks[track.track_id] = track
            traks.append((box, track))
        elif box.type == b"mvex":
            _process_mvex(buf, box, st)
        elif box.type in (b"free", b"skip"):
            _zero_payload(buf, box)
        else:
            if box.type == b"udta":
                _note_udta(buf, box, "moov/udta", st)
            elif box.type == b"meta":
                _note_meta(buf, box, "moov/meta", st)
            else:
                st.remove(_fourcc(box.type), "moov")
            _to_free(buf, box)

    kept = st.kept_ids()
    for box, track in traks:
        if track.kept:
            tref = _only(_children(buf, box.body, box.end), b"tref")
            if tref is not None:
                _fix_tref(buf, tref, kept, track.track_id, st)


def _clear_times(buf: bytearray, box: Box, st: _State) -> tuple[int, int]:
    """Zero creation/modification time of mvhd/tkhd/mdhd; return (timescale, duration).

    For tkhd the "timescale" is the track ID (same position as mvhd's timescale)."""
    version = _u(buf, box.body, 1, box.end)
    width = 8 if version == 1 else 4
    if version > 1:
        raise malformed(f"unknown {_fourcc(box.type)} version")
    first = box.body + 4
    for off in (first, first + width):
        value = _u(buf, off, width, box.end)
        if value:
            st.header_times.append(value)
            buf[off : off + width] = bytes(width)
    third = first + 2 * width
    third_value = _u(buf, third, 4, box.end)
    if box.type == b"tkhd":
        # tkhd: track_ID, reserved, duration
        return third_value, _u(buf, third + 8, width, box.end)
    return third_value, _u(buf, third + 4, width, box.end)


def _note_udta(buf: bytearray, box: Box, where: str, st: _State) -> None:
    """Record what a removed udta held and take the capture date it states, if any."""
    try:
        kids = _children(buf, box.body, box.end)
    except Rejected:
        st.remove("udta", where)
        return
    for kid in kids:
        if kid.type != b"meta":
            st.remove(_fourcc(kid.type), where)
        if kid.type == b"\xa9day" and kid.end - kid.body > 4:
            # QuickTime text atom: 16-bit length, 16-bit language, text.
            length = _u(buf, kid.body, 2, kid.end)
            _take_stated_time(bytes(buf[kid.body + 4 : kid.body + 4 + length]), 1, st)
        elif kid.type == b"meta":
            _note_meta(buf, kid, where + "/meta", st)
    if not kids:
        st.remove("udta", where)


def _note_meta(buf: bytearray, box: Box, where: str, st: _State) -> None:
    """Record a removed metadata box (keys/ilst) and the creation date it states."""
    st.remove("meta", where)
    # The box is removed either way; a date is only evidence.
    with contextlib.suppress(Rejected, ValueError, IndexError):
        _read_meta_dates(buf, box, where, st)


def _read_meta_dates(buf: bytearray, box: Box, where: str, st: _State) -> None:
    start = box.body
    # QuickTime 'meta' has no version/flags; ISO 'meta' does.
    if bytes(buf[start + 4 : start + 8]) != b"hdlr":
        start += 4
    kids = _children(buf, start, box.end)
    key_names: list[bytes] = []
    keys = _only(kids, b"keys")
    if keys is not None:
        count = _u(buf, keys.body + 4, 4, keys.end)
        pos = keys.body + 8
        for _ in range(min(count, 10_000)):
            size = _u(buf, pos, 4, keys.end)
            if size < 8 or pos + size > keys.end:
                break
            key_names.append(bytes(buf[pos + 8 : pos + size]))
            pos += size
        for name in key_names:
            st.remove(name.decode("latin-1"), where + "/keys")
    ilst = _only(kids, b"ilst")
    if ilst is None:
        return
    for item in _children(buf, ilst.body, ilst.end):
        if keys is not None:
            index = int.from_bytes(item.type, "big")
            name = key_names[index - 1] if 0 < index <= len(key_names) else b""
            # Apple's creationdate is local time with its offset: the best evidence.
            priority = 2 if name == b"com.apple.quicktime.creationdate" else 0
        else:
            st.remove(_fourcc(item.type), where + "/ilst")
            priority = 1 if item.type == b"\xa9day" else 0
        if not priority:
            continue
        for data in _children(buf, item.body, item.end):
            if data.type == b"data" and data.end - data.body > 8:
                _take_stated_time(bytes(buf[data.body + 8 : data.end]), priority, st)


def _take_stated_time(raw: bytes, priority: int, st: _State) -> None:
    try:
        text = raw.split(b"\0", 1)[0].decode("utf-8").strip()
    except UnicodeDecodeError:
        return
    if len(text) <= 64 and _ISO_DATE.match(text) and priority > st.stated_priority:
        st.stated_time = text
        st.stated_priority = priority


def _process_mvex(buf: bytearray, mvex: Box, st: _State) -> None:
    for box in _children(buf, mvex.body, mvex.end):
        if box.type == b"trex":
            track_id = _u(buf, box.body + 4, 4, box.end)
            st.trex_sample_size[track_id] = _u(buf, box.body + 16, 4, box.end)
        elif box.type in (b"mehd", b"leva", b"trep"):
            continue
        elif box.type in (b"free", b"skip"):
            _zero_payload(buf, box)
        else:
            st.remove(_fourcc(box.type), "moov/mvex")
            _to_free(buf, box)


def _process_trak(buf: bytearray, trak: Box, st: _State) -> _Track:
    kids = _children(buf, trak.body, trak.end)
    tkhd = _only(kids, b"tkhd")
    mdia = _only(kids, b"mdia")
    if tkhd is None or mdia is None:
        raise malformed("track without tkhd or mdia")
    version = _u(buf, tkhd.body, 1, tkhd.end)
    width = 8 if version == 1 else 4
    track_id = _u(buf, tkhd.body + 4 + 2 * width, 4, tkhd.end)
    mdia_kids = _children(buf, mdia.body, mdia.end)
    hdlr = _only(mdia_kids, b"hdlr")
    if hdlr is None:
        raise malformed("track without handler")
    handler = bytes(buf[hdlr.body + 8 : hdlr.body + 12])
    if len(handler) != 4:
        raise malformed("short hdlr box")
    kept = handler in KEPT_HANDLERS or (handler == b"pict" and st.image_brand)
    st.had_video = st.had_video or handler == b"vide"
    try:
        formats = _sample_formats(buf, mdia)
    except Rejected:
        if kept:
            raise
        formats = set()  # only used to name the removed track
    if kept and not formats <= (AUDIO_FORMATS if handler == b"soun" else VISUAL_FORMATS):
        # A codec we do not know may carry metadata inside its samples (JPEG frames with
        # Exif, for one): the track goes, and the file is no longer complete.
        kept = False
        st.dropped_media = True
    track = _Track(track_id, handler, kept)
    if not kept:
        name = _fourcc(min(formats)) if formats else _fourcc(handler)
        st.remove("track", f"track {track_id} ({name})")
        _note_removed_samples(buf, mdia, st)
        _to_free(buf, trak)
        return track

    _clear_times(buf, tkhd, st)
    if handler in (b"vide", b"pict") and st.track_width is None:
        # creation, modification, track_ID, reserved, duration, reserved[2], layer..volume
        matrix = tkhd.body + 4 + 3 * width + 24
        a, b, c, d = (_s32(buf, matrix + 4 * i, tkhd.end) for i in (0, 1, 3, 4))
        unit = 0x10000
        if all(v % unit == 0 for v in (a, b, c, d)):
            key = (a // unit, b // unit, c // unit, d // unit)
            st.track_orientation = _MATRIX_ORIENTATION.get(key)
        w = _u(buf, matrix + 36, 4, tkhd.end) >> 16
        h = _u(buf, matrix + 40, 4, tkhd.end) >> 16
        if w and h:
            st.track_width, st.track_height = w, h

    for box in kids:
        if box.type in (b"tkhd", b"tref"):
            continue
        if box.type == b"mdia":
            _process_mdia(buf, box, mdia_kids, track, st)
        elif box.type == b"edts":
            _keep_only(buf, box, {b"elst"}, f"track {track_id}/edts", st)
        elif box.type == b"tapt":
            _keep_only(buf, box, {b"clef", b"prof", b"enof"}, f"track {track_id}/tapt", st)
        elif box.type in (b"free", b"skip"):
            _zero_payload(buf, box)
        else:
            st.remove(_fourcc(box.type), f"track {track_id}")
            _to_free(buf, box)
    return track


def _note_removed_samples(buf: bytearray, mdia: Box, st: _State) -> None:
    """Remember where a removed track's samples are (best effort: the track goes anyway)."""
    with contextlib.suppress(Rejected):
        for minf in _children(buf, mdia.body, mdia.end):
            if minf.type == b"minf":
                for stbl in _children(buf, minf.body, minf.end):
                    if stbl.type == b"stbl":
                        kids = _children(buf, stbl.body, stbl.end)
                        _collect_samples(buf, kids, st.removed_ranges, st.size)


def _sample_formats(buf: bytearray, mdia: Box) -> set[bytes]:
    """Sample entry formats (codecs) of a track."""
    found: set[bytes] = set()
    for minf in _children(buf, mdia.body, mdia.end):
        if minf.type != b"minf":
            continue
        for stbl in _children(buf, minf.body, minf.end):
            if stbl.type != b"stbl":
                continue
            for stsd in _children(buf, stbl.body, stbl.end):
                if stsd.type == b"stsd":
                    found |= {e.type for e in _children(buf, stsd.body + 8, stsd.end)}
    return found


def _keep_only(buf: bytearray, box: Box, allowed: set[bytes], where: str, st: _State) -> None:
    for kid in _children(buf, box.body, box.end):
        if kid.type in allowed:
            continue
        if kid.type not in (b"free", b"skip"):
            st.remove(_fourcc(kid.type), where)
        _to_free(buf, kid)


def _clear_hdlr_name(buf: bytearray, hdlr: Box) -> None:
    # version/flags, pre_defined/component type, handler type, 3 reserved words, then name:
    # vendor text such as "Core Media Video" that says which device made the file.
    name = hdlr.body + 24
    if name > hdlr.end:
        raise malformed("short hdlr box")
    buf[name : hdlr.end] = bytes(hdlr.end - name)


def _process_mdia(buf: bytearray, mdia: Box, kids: list[Box], track: _Track, st: _State) -> None:
    where = f"track {track.track_id}"
    mdhd = _only(kids, b"mdhd")
    minf = _only(kids, b"minf")
    if mdhd is None or minf is None:
        raise malformed("media without mdhd or minf")
    for box in kids:
        if box.type == b"mdhd":
            _clear_times(buf, box, st)
        elif box.type == b"hdlr":
            _clear_hdlr_name(buf, box)
        elif box.type == b"minf":
            _process_minf(buf, box, track, st)
        elif box.type in (b"free", b"skip"):
            _zero_payload(buf, box)
        else:
            st.remove(_fourcc(box.type), where + "/mdia")
            _to_free(buf, box)


def _process_minf(buf: bytearray, minf: Box, track: _Track, st: _State) -> None:
    where = f"track {track.track_id}/minf"
    kids = _children(buf, minf.body, minf.end)
    stbl = _only(kids, b"stbl")
    if stbl is None:
        raise malformed("media without sample table")
    for box in kids:
        if box.type in (b"vmhd", b"smhd", b"nmhd"):
            continue
        if box.type == b"hdlr":
            _clear_hdlr_name(buf, box)
        elif box.type == b"dinf":
            _process_dinf(buf, box, where, st)
        elif box.type == b"stbl":
            _process_stbl(buf, box, track, st)
        elif box.type in (b"free", b"skip"):
            _zero_payload(buf, box)
        else:
            st.remove(_fourcc(box.type), where)
            _to_free(buf, box)


def _process_dinf(buf: bytearray, dinf: Box, where: str, st: _State) -> None:
    for box in _children(buf, dinf.body, dinf.end):
        if box.type == b"dref":
            _check_dref(buf, box)
        elif box.type in (b"free", b"skip"):
            _zero_payload(buf, box)
        else:
            st.remove(_fourcc(box.type), where + "/dinf")
            _to_free(buf, box)


def _check_dref(buf: bytearray, dref: Box) -> None:
    for entry in _children(buf, dref.body + 8, dref.end):
        flags = _u(buf, entry.body, 4, entry.end) & 0xFFFFFF
        if entry.type not in (b"url ", b"urn ", b"alis") or not flags & 1:
            # Media in another file: nothing here to sanitize, and the path itself may
            # name a person or a place.
            raise Rejected(errors.UNSAFE_CONTENT, "external data reference")
        buf[entry.body + 4 : entry.end] = bytes(entry.end - entry.body - 4)


def _process_stbl(buf: bytearray, stbl: Box, track: _Track, st: _State) -> None:
    where = f"track {track.track_id}/stbl"
    kids = _children(buf, stbl.body, stbl.end)
    for box in kids:
        if box.type == b"stsd":
            _process_stsd(buf, box, track, st)
        elif box.type in STBL_CHILDREN:
            continue
        elif box.type in (b"free", b"skip"):
            _zero_payload(buf, box)
        else:
            st.remove(_fourcc(box.type), where)
            _to_free(buf, box)
    _collect_samples(buf, kids, st.ranges, st.size)


def _process_stsd(buf: bytearray, stsd: Box, track: _Track, st: _State) -> None:
    where = f"track {track.track_id}/stsd"
    audio = track.handler == b"soun"
    for entry in _children(buf, stsd.body + 8, stsd.end):
        if audio:
            kids = _audio_entry_children(buf, entry)
            allowed = AUDIO_ENTRY_CHILDREN
        else:
            if entry.body + 78 > entry.end:
                raise malformed("short visual sample entry")
            # Compressor name: encoder text, never needed to decode.
            buf[entry.body + 42 : entry.body + 74] = bytes(32)
            kids = _children(buf, entry.body + 78, entry.end)
            allowed = VISUAL_ENTRY_CHILDREN
        for kid in kids:
            if kid.type == b"wave" and audio:
                _keep_only(buf, kid, set(WAVE_CHILDREN), where + "/wave", st)
            elif kid.type == b"free":
                _zero_payload(buf, kid)
            elif kid.type not in allowed:
                st.remove(_fourcc(kid.type), where)
                _to_free(buf, kid)


def _audio_entry_children(buf: bytearray, entry: Box) -> list[Box]:
    version = _u(buf, entry.body + 8, 2, entry.end)
    # QuickTime sound descriptions v1/v2 carry 16/36 more bytes; ISO v1 entries do not.
    offsets = {0: [28], 1: [44, 28], 2: [64]}.get(version)
    if offsets is None:
        raise malformed("unknown audio sample entry version")
    for i, off in enumerate(offsets):
        if entry.body + off > entry.end:
            continue
        try:
            return _children(buf, entry.body + off, entry.end)
        except Rejected:
            if i == len(offsets) - 1:
                raise
    raise malformed("short audio sample entry")


def _collect_samples(buf: bytearray, kids: list[Box], ranges: _Ranges, size: int) -> None:
    """Add the byte range of every chunk of a track to ``ranges``."""
    stco = _only(kids, b"stco")
    co64 = _only(kids, b"co64")
    stsc = _only(kids, b"stsc")
    stsz = _only(kids, b"stsz")
    stz2 = _only(kids, b"stz2")
    offsets_box = stco or co64
    if offsets_box is None or stsc is None or (stsz is None and stz2 is None):
        if offsets_box is None and stsc is None and stsz is None and stz2 is None:
            return
        raise malformed("incomplete sample table")
    if stco is not None and co64 is not None:
        raise malformed("both stco and co64")
    width = 4 if stco is not None else 8
    count = _u(buf, offsets_box.body + 4, 4, offsets_box.end)
    table = offsets_box.body + 8
    if table + count * width > offsets_box.end:
        raise malformed("chunk offset table larger than its box")
    offsets = _uint_array(buf[table : table + count * width], width)

    constant, sizes, total = _sample_sizes(buf, stsz, stz2)

    entries = _u(buf, stsc.body + 4, 4, stsc.end)
    if stsc.body + 8 + entries * 12 > stsc.end:
        raise malformed("sample-to-chunk table larger than its box")
    runs = _uint_array(buf[stsc.body + 8 : stsc.body + 8 + entries * 12], 4)

    pair = ranges.new_source()
    sample = 0
    for r in range(entries):
        first = runs[3 * r]
        per_chunk = runs[3 * r + 1]
        last = runs[3 * r + 3] - 1 if r + 1 < entries else count
        if first < 1 or (r + 1 < entries and runs[3 * r + 3] <= first):
            raise malformed("sample-to-chunk runs out of order")
        for chunk in range(first, min(last, count) + 1):
            if sample + per_chunk > total:
                raise malformed("sample-to-chunk describes more samples than stsz")
            if sizes is None:
                nbytes = per_chunk * constant
            else:
                nbytes = sum(sizes[sample : sample + per_chunk])
            sample += per_chunk
            start = offsets[chunk - 1]
            if start + nbytes > size:
                raise malformed("chunk runs past the end of the file")
            ranges.add(pair, start, start + nbytes)


def _sample_sizes(
    buf: bytearray, stsz: Box | None, stz2: Box | None
) -> tuple[int, array[int] | None, int]:
    """(constant size, per-sample sizes or None, sample count)."""
    if stsz is not None:
        constant = _u(buf, stsz.body + 4, 4, stsz.end)
        total = _u(buf, stsz.body + 8, 4, stsz.end)
        if constant:
            return constant, None, total
        table = stsz.body + 12
        if table + 4 * total > stsz.end:
            raise malformed("sample size table larger than its box")
        return 0, _uint_array(buf[table : table + 4 * total], 4), total
    assert stz2 is not None
    field_size = _u(buf, stz2.body + 7, 1, stz2.end)
    total = _u(buf, stz2.body + 8, 4, stz2.end)
    table = stz2.body + 12
    if field_size not in (4, 8, 16) or table + (total * field_size + 7) // 8 > stz2.end:
        raise malformed("bad compact sample size table")
    raw = bytes(buf[table : table + (total * field_size + 7) // 8])
    if field_size == 16:
        sizes = array("q", (int.from_bytes(raw[i : i + 2], "big") for i in range(0, 2 * total, 2)))
    elif field_size == 8:
        sizes = array("q", raw[:total])
    else:
        sizes = array("q", ((raw[i // 2] >> (4 - 4 * (i % 2))) & 0xF for i in range(total)))
    return 0, sizes, total


def _fix_tref(buf: bytearray, tref: Box, kept: set[int], track_id: int, st: _State) -> None:
    """Drop references to removed tracks so players do not look for them."""
    kids = _children(buf, tref.body, tref.end)
    keep: list[bytes] = []
    for ref in kids:
        count = (ref.end - ref.body) // 4
        ids = [_u(buf, ref.body + 4 * i, 4, ref.end) for i in range(count)]
        if all(i in kept for i in ids):
            keep.append(bytes(buf[ref.start : ref.end]))
        else:
            st.remove(f"tref/{_fourcc(ref.type)}", f"track {track_id}")
    if len(keep) == len(kids):
        return
    if not keep:
        _to_free(buf, tref)
        return
    body = b"".join(keep)
    new_tref = _box(b"tref", body)
    # Each dropped reference box is at least 12 bytes: room for a free box after tref.
    buf[tref.start : tref.end] = new_tref + _free_box(tref.size - len(new_tref))


# --------------------------------------------------------------------------- fragments


def _process_moof(buf: bytearray, moof_pos: int, hdr: int, st: _State, collect: bool) -> None:
    """Sanitize one movie fragment; with ``collect``, record its kept sample ranges."""
    if collect and st.moof_ranges is None:
        st.moof_ranges = st.ranges.new_source()
        st.moof_removed = st.removed_ranges.new_source()
    data_end = moof_pos  # implicit base offset of the first traf is the moof start
    kept_before_missing_base = False
    dropped_before = False
    for box in _children(buf, hdr, len(buf)):
        if box.type == b"mfhd":
            continue
        if box.type == b"traf":
            track_id, data_end, implicit = _traf_ranges(buf, box, moof_pos, data_end, st, collect)
            track = st.tracks.get(track_id)
            if track is None or not track.kept:
                st.remove("track fragment", f"moof/traf (track {track_id})")
                _to_free(buf, box)
                dropped_before = True
            else:
                if implicit and dropped_before:
                    kept_before_missing_base = True
                _keep_only(
                    buf,
                    box,
                    {b"tfhd", b"tfdt", b"trun", b"sbgp", b"sgpd", b"subs", b"saiz", b"saio"},
                    "moof/traf",
                    st,
                )
        elif box.type in (b"free", b"skip"):
            _zero_payload(buf, box)
        else:
            st.remove(_fourcc(box.type), "moof")
            _to_free(buf, box)
    if kept_before_missing_base:
        # Its data position is defined by the removed fragment before it.
        raise Rejected(errors.UNSUPPORTED_FORMAT, "fragment relies on a removed track's data")


def _traf_ranges(
    buf: bytearray, traf: Box, moof_pos: int, prev_end: int, st: _State, collect: bool
) -> tuple[int, int, bool]:
    """(track id, end of this traf's data, base offset implied by a previous traf)."""
    kids = _children(buf, traf.body, traf.end)
    tfhd = _only(kids, b"tfhd")
    if tfhd is None:
        raise malformed("traf without tfhd")
    flags = _u(buf, tfhd.body, 4, tfhd.end) & 0xFFFFFF
    track_id = _u(buf, tfhd.body + 4, 4, tfhd.end)
    pos = tfhd.body + 8
    implicit = False
    if flags & 0x1:
        base = _u(buf, pos, 8, tfhd.end)
        pos += 8
    elif flags & 0x20000:
        base = moof_pos
    else:
        base = prev_end
        implicit = prev_end != moof_pos
    if flags & 0x2:
        pos += 4
    if flags & 0x8:
        pos += 4
    track = st.tracks.get(track_id)
    default_size = st.trex_sample_size.get(track_id, 0)
    if flags & 0x10:
        default_size = _u(buf, pos, 4, tfhd.end)

    kept = track is not None and track.kept
    data_end = base
    for run in kids:
        if run.type != b"trun":
            continue
        rflags = _u(buf, run.body, 4, run.end) & 0xFFFFFF
        count = _u(buf, run.body + 4, 4, run.end)
        p = run.body + 8
        start = data_end
        if rflags & 0x1:
            start = base + _s32(buf, p, run.end)
            p += 4
        if rflags & 0x4:
            p += 4
        fields = [bit for bit in (0x100, 0x200, 0x400, 0x800) if rflags & bit]
        stride = 4 * len(fields)
        if p + count * stride > run.end:
            raise malformed("trun larger than its box")
        if rflags & 0x200:
            skip = 4 * fields.index(0x200)
            nbytes = sum(_u(buf, p + i * stride + skip, 4, run.end) for i in range(count))
        else:
            nbytes = count * default_size
        end = start + nbytes
        if start < 0 or end > st.size:
            raise malformed("fragment data runs past the end of the file")
        if collect and kept:
            assert st.moof_ranges is not None
            st.ranges.add(st.moof_ranges, start, end)
        elif collect:
            assert st.moof_removed is not None
            st.removed_ranges.add(st.moof_removed, start, end)
        data_end = end
    return track_id, data_end, implicit


def _process_mfra(buf: bytearray, mfra: Box, st: _State) -> None:
    _keep_only(buf, mfra, {b"tfra", b"mfro"}, "mfra", st)


# --------------------------------------------------------------------------- HEIF


@dataclass
class _Item:
    item_id: int
    version: int
    flags: int
    protection: int
    type: bytes
    content_type: bytes = b""


@dataclass
class _Loc:
    item_id: int
    method: int
    dref: int
    base: int
    extents: list[tuple[int, int, int]]  # (index, offset, length)


@dataclass
class _Iloc:
    version: int
    flags: int
    offset_size: int
    length_size: int
    base_size: int
    index_size: int
    locs: dict[int, _Loc]
    order: list[int]


@dataclass
class _Ref:
    type: bytes
    from_id: int
    to_ids: list[int]


def _process_top_meta(src: BinaryIO, tb: _TopBox, st: _State) -> bytes:
    """Return the bytes replacing a top-level meta box (same total size)."""
    src.seek(tb.start)
    buf = bytearray(read_exact(src, tb.end - tb.start))
    size = len(buf)
    meta = Box(b"meta", 0, tb.hdr, size)
    if meta.body + 4 > size:
        raise malformed("short meta box")
    kids = _children(buf, meta.body + 4, size)
    hdlr = _only(kids, b"hdlr")
    handler = bytes(buf[hdlr.body + 8 : hdlr.body + 12]) if hdlr else b""
    if handler != b"pict":
        _note_meta(buf, meta, "top-level meta", st)
        _to_free(buf, meta)
        return bytes(buf)
    st.has_heif_meta = True
    out = _rebuild_heif_meta(src, buf, meta, kids, st)
    if len(out) > size:
        raise malformed("rebuilt meta larger than the original")
    return out + (_free_box(size - len(out)) if len(out) < size else b"")


def _rebuild_heif_meta(
    src: BinaryIO, buf: bytearray, meta: Box, kids: list[Box], st: _State
) -> bytes:
    pitm = _only(kids, b"pitm")
    iinf = _only(kids, b"iinf")
    iloc_box = _only(kids, b"iloc")
    iref = _only(kids, b"iref")
    iprp = _only(kids, b"iprp")
    idat = _only(kids, b"idat")
    if pitm is None or iinf is None or iloc_box is None or iprp is None:
        raise malformed("HEIF meta without pitm, iinf, iloc or iprp")
    primary = _u(buf, pitm.body + 4, 2 if buf[pitm.body] == 0 else 4, pitm.end)
    items = _parse_iinf(buf, iinf)
    iloc = _parse_iloc(buf, iloc_box)
    refs = _parse_iref(buf, iref) if iref else []
    iprp_kids = _children(buf, iprp.body, iprp.end)
    ipco = _only(iprp_kids, b"ipco")
    if ipco is None:
        raise malformed("iprp without ipco")
    props = _children(buf, ipco.body, ipco.end)
    ipmas = [_parse_ipma(buf, b) for b in iprp_kids if b.type == b"ipma"]
    assoc: dict[int, list[tuple[bool, int]]] = {}
    for _version, _flags, entries in ipmas:
        for item_id, lst in entries:
            assoc.setdefault(item_id, []).extend(lst)
    idat_range = (idat.body, idat.end) if idat else (0, 0)

    if primary not in items:
        raise malformed("primary item missing")
    keep = _kept_items(primary, items, refs, assoc, props, buf)
    st.primary_type = items[primary].type
    for item_id in keep:
        item = items[item_id]
        if item.type not in IMAGE_ITEM_TYPES or item.version < 2 or item.protection:
            raise Rejected(errors.UNSUPPORTED_FORMAT, f"image item type {_fourcc(item.type)}")
        if item_id not in iloc.locs and item.type != b"iden":
            raise malformed("image item without location")

    _read_exif_evidence(src, buf, items, iloc, idat_range, st)
    thumbs = {r.from_id for r in refs if r.type == b"thmb"}
    for item_id, item in items.items():
        if item_id not in keep:
            st.remove(_removed_item_name(item, item_id in thumbs), f"meta/item {item_id}")

    # Properties: keep the allowlisted ones a kept item uses, renumbered.
    used: list[int] = []
    for item_id in keep:
        for essential, index in assoc.get(item_id, []):
            if index == 0:
                continue
            if index > len(props):
                raise malformed("property index out of range")
            if props[index - 1].type not in ITEM_PROPERTIES:
                if essential:
                    kind = _fourcc(props[index - 1].type)
                    raise Rejected(errors.UNSUPPORTED_FORMAT, f"essential property {kind}")
                continue
            if index not in used:
                used.append(index)
    used.sort()
    renumber = {old: new for new, old in enumerate(used, start=1)}
    for index, prop in enumerate(props, start=1):
        if index not in renumber:
            st.remove(_fourcc(prop.type), "meta/iprp/ipco")

    # Coverage: kept items' bytes in mdat are copied; in idat, kept bytes survive.
    pair = st.ranges.new_source()
    idat_keep: list[tuple[int, int]] = []
    for item_id in keep:
        loc = iloc.locs.get(item_id)
        if loc is None:
            continue
        for start, end in _item_extents(loc, idat_range, st.size):
            if loc.method == 0:
                st.ranges.add(pair, start, end)
            else:
                idat_keep.append((start, end))
    removed = st.removed_ranges.new_source()
    idat_removed: list[tuple[int, int]] = []
    for item_id, loc in iloc.locs.items():
        if item_id in keep:
            continue
        with contextlib.suppress(Rejected):  # the item goes; its extents are only checked
            for start, end in _item_extents(loc, idat_range, st.size):
                if loc.method == 0:
                    st.removed_ranges.add(removed, start, end)
                else:
                    idat_removed.append((start, end))
    if any(a < d and c < b for a, b in idat_keep for c, d in idat_removed):
        raise Rejected(errors.UNSAFE_CONTENT, "kept image data overlaps removed metadata")

    out: list[bytes] = []
    for box in kids:
        t = box.type
        if t == b"hdlr":
            hdlr = bytearray(buf[box.start : box.end])
            _clear_hdlr_name(hdlr, Box(t, 0, box.hdr, len(hdlr)))
            out.append(bytes(hdlr))
        elif t == b"dinf":
            dinf = bytearray(buf[box.start : box.end])
            _process_dinf(dinf, Box(t, 0, box.hdr, len(dinf)), "meta", st)
            out.append(bytes(dinf))
        elif t == b"pitm":
            out.append(bytes(buf[box.start : box.end]))
        elif t == b"iinf":
            out.append(_build_iinf(buf[box.body], items, keep))
        elif t == b"iloc":
            out.append(_build_iloc(iloc, keep))
        elif t == b"iref":
            built = _build_iref(buf[box.body], refs, keep)
            if built:
                out.append(built)
        elif t == b"iprp":
            out.append(_build_iprp(buf, props, used, renumber, ipmas, keep))
        elif t == b"idat":
            data = bytearray(box.end - box.body)
            for start, end in idat_keep:
                data[start - box.body : end - box.body] = buf[start:end]
            out.append(_box(b"idat", bytes(data)))
        else:
            st.remove(_fourcc(t), "meta")

    body = b"".join(out)
    header = bytes(buf[meta.body : meta.body + 4])  # version and flags
    rebuilt = struct.pack(">I", 12 + len(body)) + b"meta" + header + body
    short = meta.size - len(rebuilt)
    if 0 < short < 8:
        # Too little room for a free box: lengthen the zeroed handler name instead.
        rebuilt = _pad_hdlr(rebuilt, short)

    ispe = _primary_size(buf, props, assoc.get(primary, []))
    if ispe is not None:
        st.ctx.width, st.ctx.height = ispe
    st.ctx.orientation = _heif_orientation(buf, props, assoc.get(primary, []))
    return rebuilt


def _pad_hdlr(meta: bytes, extra: int) -> bytes:
    kids = _children(meta, 12, len(meta))
    hdlr = _only(kids, b"hdlr")
    if hdlr is None or hdlr.hdr != 8:
        raise malformed("cannot pad meta")
    new_hdlr = struct.pack(">I", hdlr.size + extra) + meta[hdlr.start + 4 : hdlr.end] + bytes(extra)
    body = meta[12 : hdlr.start] + new_hdlr + meta[hdlr.end :]
    return struct.pack(">I", 12 + len(body)) + meta[4:12] + body


def _parse_iinf(buf: bytearray, iinf: Box) -> dict[int, _Item]:
    version = buf[iinf.body]
    width = 2 if version == 0 else 4
    count = _u(buf, iinf.body + 4, width, iinf.end)
    items: dict[int, _Item] = {}
    for infe in _children(buf, iinf.body + 4 + width, iinf.end):
        if infe.type != b"infe":
            continue
        v = _u(buf, infe.body, 1, infe.end)
        if v > 3:
            raise malformed("unknown infe version")
        flags = _u(buf, infe.body + 1, 3, infe.end)
        p = infe.body + 4
        id_width = 4 if v == 3 else 2
        item_id = _u(buf, p, id_width, infe.end)
        protection = _u(buf, p + id_width, 2, infe.end)
        p += id_width + 2
        typ = b""
        content_type = b""
        if v >= 2:
            typ = bytes(buf[p : p + 4])
            p += 4
            name_end = buf.find(b"\0", p, infe.end)
            if typ == b"mime" and name_end >= 0:
                ct_end = buf.find(b"\0", name_end + 1, infe.end)
                content_type = bytes(buf[name_end + 1 : ct_end if ct_end >= 0 else infe.end])
        if item_id in items:
            raise malformed("duplicate item id")
        items[item_id] = _Item(item_id, v, flags, protection, typ, content_type)
    if len(items) != count:
        raise malformed("item count does not match iinf")
    return items


def _parse_iloc(buf: bytearray, box: Box) -> _Iloc:
    version = _u(buf, box.body, 1, box.end)
    flags = _u(buf, box.body + 1, 3, box.end)
    if version > 2:
        raise malformed("unknown iloc version")
    sizes = _u(buf, box.body + 4, 2, box.end)
    offset_size, length_size = sizes >> 12, (sizes >> 8) & 0xF
    base_size, index_size = (sizes >> 4) & 0xF, sizes & 0xF
    if version == 0:
        index_size = 0
    for s in (offset_size, length_size, base_size, index_size):
        if s not in (0, 4, 8):
            raise malformed("bad iloc field size")
    p = box.body + 6
    count_width = 2 if version < 2 else 4
    count = _u(buf, p, count_width, box.end)
    p += count_width
    locs: dict[int, _Loc] = {}
    order: list[int] = []
    for _ in range(count):
        item_id = _u(buf, p, count_width, box.end)
        p += count_width
        method = 0
        if version >= 1:
            method = _u(buf, p, 2, box.end) & 0xF
            p += 2
        dref = _u(buf, p, 2, box.end)
        base = _u(buf, p + 2, base_size, box.end) if base_size else 0
        p += 2 + base_size
        n_ext = _u(buf, p, 2, box.end)
        p += 2
        extents: list[tuple[int, int, int]] = []
        for _ in range(n_ext):
            index = _u(buf, p, index_size, box.end) if index_size else 0
            p += index_size
            offset = _u(buf, p, offset_size, box.end) if offset_size else 0
            p += offset_size
            length = _u(buf, p, length_size, box.end) if length_size else 0
            p += length_size
            extents.append((index, offset, length))
        if item_id in locs:
            raise malformed("duplicate iloc entry")
        locs[item_id] = _Loc(item_id, method, dref, base, extents)
        order.append(item_id)
    return _Iloc(version, flags, offset_size, length_size, base_size, index_size, locs, order)


def _parse_iref(buf: bytearray, box: Box) -> list[_Ref]:
    width = 2 if buf[box.body] == 0 else 4
    refs: list[_Ref] = []
    for ref in _children(buf, box.body + 4, box.end):
        from_id = _u(buf, ref.body, width, ref.end)
        n = _u(buf, ref.body + width, 2, ref.end)
        p = ref.body + width + 2
        to_ids = [_u(buf, p + width * i, width, ref.end) for i in range(n)]
        refs.append(_Ref(ref.type, from_id, to_ids))
    return refs


_Assoc = list[tuple[bool, int]]  # (essential, property index) per item
_Ipma = tuple[int, int, list[tuple[int, _Assoc]]]  # version, flags, entries


def _parse_ipma(buf: bytearray, box: Box) -> _Ipma:
    version = _u(buf, box.body, 1, box.end)
    flags = _u(buf, box.body + 1, 3, box.end)
    count = _u(buf, box.body + 4, 4, box.end)
    p = box.body + 8
    id_width = 2 if version < 1 else 4
    entries: list[tuple[int, _Assoc]] = []
    for _ in range(count):
        item_id = _u(buf, p, id_width, box.end)
        n = _u(buf, p + id_width, 1, box.end)
        p += id_width + 1
        lst: list[tuple[bool, int]] = []
        for _ in range(n):
            if flags & 1:
                v = _u(buf, p, 2, box.end)
                lst.append((bool(v & 0x8000), v & 0x7FFF))
                p += 2
            else:
                v = _u(buf, p, 1, box.end)
                lst.append((bool(v & 0x80), v & 0x7F))
                p += 1
        entries.append((item_id, lst))
    return version, flags, entries


def _kept_items(
    primary: int,
    items: dict[int, _Item],
    refs: list[_Ref],
    assoc: dict[int, list[tuple[bool, int]]],
    props: list[Box],
    buf: bytearray,
) -> list[int]:
    """The primary item, the inputs it is derived from, and their alpha planes."""
    keep = [primary]
    todo = [primary]
    while todo:
        current = todo.pop()
        for ref in refs:
            found: list[int] = []
            if ref.type == b"dimg" and ref.from_id == current:
                found = ref.to_ids
            elif (
                ref.type == b"auxl"
                and current in ref.to_ids
                and _is_alpha(buf, props, assoc.get(ref.from_id, []))
            ):
                found = [ref.from_id]
            for item_id in found:
                if item_id not in items:
                    raise malformed("reference to a missing item")
                if item_id not in keep:
                    keep.append(item_id)
                    todo.append(item_id)
    return keep


def _is_alpha(buf: bytearray, props: list[Box], assoc: list[tuple[bool, int]]) -> bool:
    for _essential, index in assoc:
        if 0 < index <= len(props) and props[index - 1].type == b"auxC":
            prop = props[index - 1]
            urn = bytes(buf[prop.body + 4 : prop.end]).split(b"\0", 1)[0]
            return urn in ALPHA_AUX_TYPES
    return False


def _removed_item_name(item: _Item, thumbnail: bool) -> str:
    if item.type == b"Exif":
        return "EXIF"
    if item.type == b"mime":
        return "XMP" if b"xml" in item.content_type else "mime item"
    if thumbnail:
        return "thumbnail"
    if item.type == b"uri ":
        return "uri item"
    return f"item {_fourcc(item.type) if item.type else 'untyped'}"


def _item_extents(
    loc: _Loc, idat_range: tuple[int, int], file_size_: int
) -> Iterator[tuple[int, int]]:
    """Absolute ranges of a kept item: file offsets (method 0) or meta buffer (method 1)."""
    if loc.dref != 0 or loc.method not in (0, 1):
        raise Rejected(errors.UNSUPPORTED_FORMAT, "item data outside this file")
    for _index, offset, length in loc.extents:
        if length == 0:
            raise Rejected(errors.UNSUPPORTED_FORMAT, "item extent of unstated length")
        if loc.method == 0:
            start = loc.base + offset
            if start + length > file_size_:
                raise malformed("item data runs past the end of the file")
        else:
            start = idat_range[0] + loc.base + offset
            if start + length > idat_range[1]:
                raise malformed("item data runs past idat")
        yield start, start + length


def _build_iinf(version: int, items: dict[int, _Item], keep: list[int]) -> bytes:
    entries: list[bytes] = []
    for item_id, item in items.items():
        if item_id not in keep:
            continue
        id_bytes = item_id.to_bytes(4 if item.version == 3 else 2, "big")
        # Item names are free text; an empty name is valid and says nothing.
        payload = id_bytes + item.protection.to_bytes(2, "big") + item.type + b"\0"
        entries.append(_full_box(b"infe", item.version, item.flags, payload))
    count = len(entries).to_bytes(2 if version == 0 else 4, "big")
    return _full_box(b"iinf", version, 0, count + b"".join(entries))


def _build_iloc(iloc: _Iloc, keep: list[int]) -> bytes:
    id_width = 2 if iloc.version < 2 else 4
    kept = [i for i in iloc.order if i in keep]
    out = bytearray()
    out += bytes(
        [(iloc.offset_size << 4) | iloc.length_size, (iloc.base_size << 4) | iloc.index_size]
    )
    out += len(kept).to_bytes(id_width, "big")
    for item_id in kept:
        loc = iloc.locs[item_id]
        out += item_id.to_bytes(id_width, "big")
        if iloc.version >= 1:
            out += loc.method.to_bytes(2, "big")
        out += loc.dref.to_bytes(2, "big")
        out += loc.base.to_bytes(iloc.base_size, "big")
        out += len(loc.extents).to_bytes(2, "big")
        for index, offset, length in loc.extents:
            out += index.to_bytes(iloc.index_size, "big")
            out += offset.to_bytes(iloc.offset_size, "big")
            out += length.to_bytes(iloc.length_size, "big")
    return _full_box(b"iloc", iloc.version, iloc.flags, bytes(out))


def _build_iref(version: int, refs: list[_Ref], keep: list[int]) -> bytes:
    width = 2 if version == 0 else 4
    out: list[bytes] = []
    for ref in refs:
        if ref.type not in KEPT_ITEM_REFS or ref.from_id not in keep:
            continue
        to_ids = [i for i in ref.to_ids if i in keep]
        if not to_ids:
            continue
        payload = ref.from_id.to_bytes(width, "big") + len(to_ids).to_bytes(2, "big")
        payload += b"".join(i.to_bytes(width, "big") for i in to_ids)
        out.append(_box(ref.type, payload))
    if not out:
        return b""
    return _full_box(b"iref", version, 0, b"".join(out))


def _build_iprp(
    buf: bytearray,
    props: list[Box],
    used: list[int],
    renumber: dict[int, int],
    ipmas: list[_Ipma],
    keep: list[int],
) -> bytes:
    ipco = _box(b"ipco", b"".join(bytes(buf[props[i - 1].start : props[i - 1].end]) for i in used))
    parts = [ipco]
    for version, flags, entries in ipmas:
        id_width = 2 if version < 1 else 4
        body = bytearray()
        n = 0
        for item_id, lst in entries:
            if item_id not in keep:
                continue
            kept = [(e, renumber[i]) for e, i in lst if i in renumber]
            body += item_id.to_bytes(id_width, "big") + bytes([len(kept)])
            for essential, index in kept:
                if flags & 1:
                    body += ((0x8000 if essential else 0) | index).to_bytes(2, "big")
                else:
                    body += bytes([(0x80 if essential else 0) | index])
            n += 1
        parts.append(_full_box(b"ipma", version, flags, n.to_bytes(4, "big") + bytes(body)))
    return _box(b"iprp", b"".join(parts))


def _primary_size(
    buf: bytearray, props: list[Box], assoc: list[tuple[bool, int]]
) -> tuple[int, int] | None:
    """Stored picture size: ispe, or the clean aperture (clap) cut from it."""
    size = None
    for _essential, index in assoc:
        if not 0 < index <= len(props):
            continue
        prop = props[index - 1]
        if prop.type == b"ispe":
            size = _u(buf, prop.body + 4, 4, prop.end), _u(buf, prop.body + 8, 4, prop.end)
        elif prop.type == b"clap" and size is not None:
            fractions = [_u(buf, prop.body + 4 * i, 4, prop.end) for i in range(4)]
            if fractions[1] and fractions[3]:
                size = fractions[0] // fractions[1], fractions[2] // fractions[3]
    return size


def _heif_orientation(
    buf: bytearray, props: list[Box], assoc: list[tuple[bool, int]]
) -> int | None:
    """EXIF orientation code equal to the primary item's irot/imir transforms.

    HEIF readers display by these properties and ignore the Exif tag, which phones do not
    always keep in step (the Nokia 8.3 writes Orientation=1 next to irot=3)."""
    matrix = (1, 0, 0, 1)
    for _essential, index in assoc:
        if not 0 < index <= len(props):
            continue
        prop = props[index - 1]
        if prop.type == b"irot":
            for _ in range(_u(buf, prop.body, 1, prop.end) & 0x3):
                matrix = _compose(_ANTICLOCKWISE, matrix)
        elif prop.type == b"imir":
            axis = _u(buf, prop.body, 1, prop.end) & 0x1
            matrix = _compose(_MIRROR_TOP_BOTTOM if axis else _MIRROR_LEFT_RIGHT, matrix)
    return _EXIF_BY_TRANSFORM.get(matrix)


def _compose(
    outer: tuple[int, int, int, int], inner: tuple[int, int, int, int]
) -> tuple[int, int, int, int]:
    a, b, c, d = outer
    e, f, g, h = inner
    return (a * e + b * g, a * f + b * h, c * e + d * g, c * f + d * h)


def _read_exif_evidence(
    src: BinaryIO,
    buf: bytearray,
    items: dict[int, _Item],
    iloc: _Iloc,
    idat_range: tuple[int, int],
    st: _State,
) -> None:
    """Capture time from the Exif item before it is removed."""
    for item_id, item in items.items():
        loc = iloc.locs.get(item_id)
        if item.type != b"Exif" or loc is None:
            continue
        try:
            data = bytearray()
            for start, end in _item_extents(loc, idat_range, st.size):
                if end - start + len(data) > MAX_EXIF_BYTES:
                    break
                if loc.method == 0:
                    src.seek(start)
                    data += read_exact(src, end - start)
                else:
                    data += buf[start:end]
            when = _exif_capture_time(bytes(data))
        except (Rejected, ValueError, IndexError):
            continue
        if when is not None and st.ctx.capture_time is None:
            st.ctx.capture_time = when


def _exif_capture_time(data: bytes) -> str | None:
    """When the picture was taken, as its Exif states it (with the UTC offset if given)."""
    if len(data) < 4:
        return None
    tiff = 4 + int.from_bytes(data[:4], "big")
    order = data[tiff : tiff + 2]
    if order not in (b"II", b"MM"):
        return None
    endian: Literal["little", "big"] = "little" if order == b"II" else "big"

    def num(off: int, n: int) -> int:
        if off < 0 or tiff + off + n > len(data):
            raise ValueError("exif field out of range")
        return int.from_bytes(data[tiff + off : tiff + off + n], endian)

    def entries(ifd: int) -> dict[int, tuple[int, int, int]]:
        found: dict[int, tuple[int, int, int]] = {}
        n = num(ifd, 2)
        for i in range(min(n, 512)):
            e = ifd + 2 + 12 * i
            found[num(e, 2)] = (num(e + 2, 2), num(e + 4, 4), e + 8)
        return found

    def ascii_at(entry: tuple[int, int, int]) -> str | None:
        kind, count, value_at = entry
        if kind != 2 or count > 64:
            return None
        off = value_at if count <= 4 else num(value_at, 4)
        if off < 0 or tiff + off + count > len(data):
            return None
        return data[tiff + off : tiff + off + count].split(b"\0", 1)[0].decode("ascii", "replace")

    ifd0 = entries(num(4, 4))
    when = None
    if 0x8769 in ifd0:
        exif = entries(num(ifd0[0x8769][2], 4))
        # DateTimeOriginal with OffsetTimeOriginal, else DateTimeDigitized with its offset.
        for date_tag, offset_tag in ((0x9003, 0x9011), (0x9004, 0x9012)):
            stamp = ascii_at(exif[date_tag]) if date_tag in exif else None
            match = _EXIF_DATE.match(stamp or "")
            if match:
                y, mo, d, h, mi, s = match.groups()
                when = f"{y}-{mo}-{d}T{h}:{mi}:{s}"
                offset = ascii_at(exif[offset_tag]) if offset_tag in exif else None
                if offset and _EXIF_OFFSET.match(offset):
                    when += offset
                break
    return when
