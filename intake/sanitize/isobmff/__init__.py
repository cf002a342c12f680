"""ISO base media files: MP4, MOV, 3GP, M4V, M4A, HEIC/HEIF and AVIF.

The output has exactly the input's size and layout. A removed box is rewritten in place as
a 'free' box of the same size with a zeroed payload, so every chunk offset (stco/co64/trun)
and item location (iloc) stays valid and no coded byte moves. Only the HEIF 'meta' box is
rebuilt; it is followed by a 'free' box that makes up the bytes it lost.

Inside 'mdat', only bytes that a kept track sample or a kept image item points at are
copied; everything else (telemetry samples, Exif/XMP items, thumbnails, unreferenced gaps)
is written as zeros. Only 'moov', 'moof' and 'meta' are parsed in memory; 'mdat' is copied
in bounded chunks.

This module walks the top-level boxes and writes the output; moov.py handles the tracks,
fragments.py the movie fragments, heif.py the image 'meta' box, on top of the box helpers
in boxes.py and the per-file state in state.py.
"""

from __future__ import annotations

import datetime
import struct
from array import array
from typing import BinaryIO

from .. import errors
from .._io import copy_exact, file_size, read_exact, write_zeros
from ..context import StripContext
from ..errors import Rejected, malformed
from ..manifest import Format
from .boxes import FREE, Box, children, fourcc, fourccs, free_box, only, to_free, uint
from .fragments import process_mfra, process_moof
from .heif import rebuild_heif_meta
from .moov import note_meta, process_moov
from .sei import clean_samples
from .state import State, TopBox

# A box parsed in memory larger than this is refused: real moov boxes of long phone videos
# are a few MB; this bounds memory on hostile input.
MAX_PARSED_BOX = 64 << 20

# Fragmented recordings have two top-level boxes per fragment (about one a second).
MAX_TOP_LEVEL_BOXES = 200_000

IMAGE_BRANDS = fourccs("heic heix heim heis hevc hevx hevm hevs mif1 mif2 msf1 avif avis avio")

AVIF_BRANDS = fourccs("avif avis avio")

QT_EPOCH = datetime.datetime(1904, 1, 1, tzinfo=datetime.UTC)


def strip(src: BinaryIO, dst: BinaryIO, ctx: StripContext) -> None:
    try:
        _strip(src, dst, ctx)
    except struct.error as exc:  # not caught by the framework; hostile sizes end up here
        raise malformed(f"bad field: {exc}") from exc


def _strip(src: BinaryIO, dst: BinaryIO, ctx: StripContext) -> None:
    st = State(ctx=ctx, size=file_size(src))
    top = _walk_top_level(src, st)

    moov_out: bytearray | None = None
    meta_out: bytes | None = None
    for tb in top:
        if tb.action == "moov":
            if moov_out is not None:
                raise malformed("more than one moov box")
            src.seek(tb.start)
            moov_out = bytearray(read_exact(src, tb.end - tb.start))
            process_moov(moov_out, Box(tb.type, 0, tb.hdr, tb.end - tb.start), st)
        elif tb.action == "moof":
            if moov_out is None:
                raise malformed("movie fragment before moov")
            process_moof(_read_box(src, tb), tb.start, tb.hdr, st, collect=True)
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
            process_moof(buf, tb.start, tb.hdr, st, collect=False)
            dst.write(buf)
        elif tb.action == "mfra":
            buf = _read_box(src, tb)
            process_mfra(buf, Box(tb.type, 0, tb.hdr, len(buf)), st)
            dst.write(buf)
        elif tb.action == "meta":
            assert meta_out is not None
            dst.write(meta_out)
        elif tb.action == "mdat":
            copy_exact(src, dst, tb.hdr)
            idx = _write_payload(src, dst, tb.start + tb.hdr, tb.end, cov_s, cov_e, idx)
    if dst.tell() != st.size:
        raise malformed("output size differs from input")
    clean_samples(src, dst, st)

    _finish_context(st)
    ctx.lossless = not st.dropped_media


def _read_box(src: BinaryIO, tb: TopBox) -> bytearray:
    if tb.end - tb.start > MAX_PARSED_BOX:
        raise Rejected(errors.TOO_LARGE, f"{fourcc(tb.type)} box too large")
    src.seek(tb.start)
    return bytearray(read_exact(src, tb.end - tb.start))


def _walk_top_level(src: BinaryIO, st: State) -> list[TopBox]:
    boxes: list[TopBox] = []
    pos = 0
    while pos < st.size:
        if len(boxes) >= MAX_TOP_LEVEL_BOXES:
            raise Rejected(errors.TOO_LARGE, "too many top-level boxes")
        src.seek(pos)
        head = src.read(16)
        if len(head) < 8:
            raise malformed("truncated box header")
        size = uint(head, 0, 4)
        typ = head[4:8]
        hdr = 8
        if size == 1:
            if len(head) < 16:
                raise malformed("truncated box header")
            size = uint(head, 8, 8)
            hdr = 16
        elif size == 0:
            size = st.size - pos  # runs to the end of the file
        if size < hdr or size > st.size - pos:
            raise malformed(f"box {fourcc(typ)} runs past the end of the file")
        end = pos + size
        if not boxes:
            if typ != b"ftyp":
                raise malformed("file does not start with ftyp")
            _parse_ftyp(src, pos, hdr, end, st)
            action = "copy"
        else:
            action = _top_action(typ, st)
        if action in ("moov", "meta") and size > MAX_PARSED_BOX:
            raise Rejected(errors.TOO_LARGE, f"{fourcc(typ)} box too large")
        boxes.append(TopBox(typ, pos, hdr, end, action))
        pos = end
    if not boxes:
        raise malformed("empty file")
    return boxes


def _top_action(typ: bytes, st: State) -> str:
    if typ == b"ftyp":
        raise malformed("second ftyp box")
    if typ in (b"moov", b"moof", b"mfra", b"meta", b"mdat"):
        return typ.decode()
    if typ in (b"sidx", b"ssix", b"styp"):
        return "copy"
    if typ not in (b"free", b"skip", b"wide"):
        # uuid (XMP, vendor data), ID32, jumb (C2PA), prft (wall-clock time), Samsung sefd...
        st.remove(fourcc(typ), "top level")
    return "zero"


def _parse_ftyp(src: BinaryIO, pos: int, hdr: int, end: int, st: State) -> None:
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


def _decide_kind(st: State, has_moov: bool) -> None:
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


def _finish_context(st: State) -> None:
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


def _process_top_meta(src: BinaryIO, tb: TopBox, st: State) -> bytes:
    """Return the bytes replacing a top-level meta box (same total size)."""
    src.seek(tb.start)
    buf = bytearray(read_exact(src, tb.end - tb.start))
    size = len(buf)
    meta = Box(b"meta", 0, tb.hdr, size)
    if meta.body + 4 > size:
        raise malformed("short meta box")
    kids = children(buf, meta.body + 4, size)
    hdlr = only(kids, b"hdlr")
    handler = bytes(buf[hdlr.body + 8 : hdlr.body + 12]) if hdlr else b""
    if handler != b"pict":
        note_meta(buf, meta, "top-level meta", st)
        to_free(buf, meta)
        return bytes(buf)
    st.has_heif_meta = True
    out = rebuild_heif_meta(src, buf, meta, kids, st)
    if len(out) > size:
        raise malformed("rebuilt meta larger than the original")
    return out + (free_box(size - len(out)) if len(out) < size else b"")
