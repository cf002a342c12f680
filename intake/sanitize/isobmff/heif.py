"""The HEIF 'meta' box of HEIC and AVIF images, rebuilt with only the displayed picture.

The primary item, the items it is derived from and their alpha planes stay, with the
allowlisted properties they use, renumbered; Exif and XMP items, thumbnails and anything
else go, and their bytes are zeroed. Before the Exif item goes, its capture time is read.
"""

from __future__ import annotations

import contextlib
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Literal

from .. import _obu, _sei, errors
from .._io import read_exact
from ..errors import Rejected, malformed
from .boxes import (
    Box,
    children,
    clear_hdlr_name,
    fourcc,
    fourccs,
    full_box,
    make_box,
    neutral_colr,
    only,
    process_dinf,
    uint,
)
from .state import State

MAX_EXIF_BYTES = 1 << 20

# HEIF items that make up the displayed picture; everything else in 'meta' goes.
IMAGE_ITEM_TYPES = fourccs("hvc1 av01 grid iovl iden")

ITEM_PROPERTIES = fourccs(
    "hvcC av1C ispe pixi colr irot imir clap pasp auxC rloc lsel a1op a1lx clli mdcv cclv amve lhvC"
)

ALPHA_AUX_TYPES = (b"urn:mpeg:hevc:2015:auxid:1", b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha")

KEPT_ITEM_REFS = fourccs("dimg auxl")

_EXIF_DATE = re.compile(r"^(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2}):(\d{2})$")

_EXIF_OFFSET = re.compile(r"^[+-]\d{2}:\d{2}$")

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


_Assoc = list[tuple[bool, int]]  # (essential, property index) per item
_Ipma = tuple[int, int, list[tuple[int, _Assoc]]]  # version, flags, entries


@dataclass
class _Meta:
    """A parsed HEIF 'meta' box; offsets point into ``buf``, the box as read."""

    buf: bytearray
    primary: int
    items: dict[int, _Item]
    iloc: _Iloc
    refs: list[_Ref]
    props: list[Box]  # ipco children; property index n is props[n - 1]
    ipmas: list[_Ipma]
    assoc: dict[int, _Assoc]  # item id -> its properties, all ipma boxes merged
    idat_range: tuple[int, int]


def rebuild_heif_meta(
    src: BinaryIO, buf: bytearray, meta: Box, kids: list[Box], st: State
) -> bytes:
    """The 'meta' box rebuilt with the displayed picture's items and properties alone."""
    parsed = _parse_meta(buf, kids)
    keep = _kept_image_items(parsed, st)
    _read_exif_evidence(src, buf, parsed.items, parsed.iloc, parsed.idat_range, st)
    _note_removed_items(parsed, keep, st)
    renumber = _kept_properties(parsed, keep, st)
    idat_keep = _claim_item_bytes(buf, parsed, keep, st)
    body = b"".join(_rebuilt_children(kids, parsed, keep, renumber, idat_keep, st))
    rebuilt = _meta_box(buf, meta, body)
    _note_primary_picture(parsed, st)
    return rebuilt


def _parse_meta(buf: bytearray, kids: list[Box]) -> _Meta:
    pitm = only(kids, b"pitm")
    iinf = only(kids, b"iinf")
    iloc_box = only(kids, b"iloc")
    iref = only(kids, b"iref")
    iprp = only(kids, b"iprp")
    idat = only(kids, b"idat")
    if pitm is None or iinf is None or iloc_box is None or iprp is None:
        raise malformed("HEIF meta without pitm, iinf, iloc or iprp")
    primary = uint(buf, pitm.body + 4, 2 if buf[pitm.body] == 0 else 4, pitm.end)
    items = _parse_iinf(buf, iinf)
    iloc = _parse_iloc(buf, iloc_box)
    refs = _parse_iref(buf, iref) if iref else []
    iprp_kids = children(buf, iprp.body, iprp.end)
    ipco = only(iprp_kids, b"ipco")
    if ipco is None:
        raise malformed("iprp without ipco")
    props = children(buf, ipco.body, ipco.end)
    ipmas = [_parse_ipma(buf, b) for b in iprp_kids if b.type == b"ipma"]
    assoc: dict[int, _Assoc] = {}
    for _version, _flags, entries in ipmas:
        for item_id, lst in entries:
            assoc.setdefault(item_id, []).extend(lst)
    idat_range = (idat.body, idat.end) if idat else (0, 0)
    return _Meta(buf, primary, items, iloc, refs, props, ipmas, assoc, idat_range)


def _kept_image_items(meta: _Meta, st: State) -> list[int]:
    """The items that make up the displayed picture, each checked to be a plain image."""
    if meta.primary not in meta.items:
        raise malformed("primary item missing")
    keep = _kept_items(meta.primary, meta.items, meta.refs, meta.assoc, meta.props, meta.buf)
    st.primary_type = meta.items[meta.primary].type
    for item_id in keep:
        item = meta.items[item_id]
        if item.type not in IMAGE_ITEM_TYPES or item.version < 2 or item.protection:
            raise Rejected(errors.UNSUPPORTED_FORMAT, f"image item type {fourcc(item.type)}")
        if item_id not in meta.iloc.locs and item.type != b"iden":
            raise malformed("image item without location")
    return keep


def _note_removed_items(meta: _Meta, keep: list[int], st: State) -> None:
    thumbs = {r.from_id for r in meta.refs if r.type == b"thmb"}
    for item_id, item in meta.items.items():
        if item_id not in keep:
            st.remove(_removed_item_name(item, item_id in thumbs), f"meta/item {item_id}")


def _kept_properties(meta: _Meta, keep: list[int], st: State) -> dict[int, int]:
    """Old -> new index of the allowlisted properties a kept item uses, in index order."""
    used: list[int] = []
    for item_id in keep:
        for essential, index in meta.assoc.get(item_id, []):
            if index == 0:
                continue
            if index > len(meta.props):
                raise malformed("property index out of range")
            if meta.props[index - 1].type not in ITEM_PROPERTIES:
                if essential:
                    kind = fourcc(meta.props[index - 1].type)
                    raise Rejected(errors.UNSUPPORTED_FORMAT, f"essential property {kind}")
                continue
            if index not in used:
                used.append(index)
    used.sort()
    renumber = {old: new for new, old in enumerate(used, start=1)}
    for index, prop in enumerate(meta.props, start=1):
        if index not in renumber:
            st.remove(fourcc(prop.type), "meta/iprp/ipco")
    return renumber


def _claim_item_bytes(
    buf: bytearray, meta: _Meta, keep: list[int], st: State
) -> list[tuple[int, int]]:
    """Record kept items' bytes in mdat as copied and removed items' as not to be; return
    the kept items' ranges inside idat, the only bytes of idat that survive. Kept AV1 items
    are noted for OBU cleaning (in idat: cleaned here)."""
    pair = st.ranges.new_source()
    idat_keep: list[tuple[int, int]] = []
    for item_id in keep:
        loc = meta.iloc.locs.get(item_id)
        if loc is None:
            continue
        av1 = meta.items[item_id].type == b"av01" if item_id in meta.items else False
        if av1 and len(loc.extents) != 1:
            # OBUs could span extents; encoders write one. Not guessed: refused.
            raise Rejected(errors.UNSUPPORTED_FORMAT, "AV1 image item in several extents")
        for start, end in _item_extents(loc, meta.idat_range, st.size):
            if loc.method == 0:
                st.ranges.add(pair, start, end)
                if av1:
                    st.av1_items.append((start, end - start))  # cleaned with the samples
            else:
                idat_keep.append((start, end))
                if av1:
                    _clean_av1_idat(buf, start, end, st)
    removed = st.removed_ranges.new_source()
    idat_removed: list[tuple[int, int]] = []
    for item_id, loc in meta.iloc.locs.items():
        if item_id in keep:
            continue
        with contextlib.suppress(Rejected):  # the item goes; its extents are only checked
            for start, end in _item_extents(loc, meta.idat_range, st.size):
                if loc.method == 0:
                    st.removed_ranges.add(removed, start, end)
                else:
                    idat_removed.append((start, end))
    if any(a < d and c < b for a, b in idat_keep for c, d in idat_removed):
        raise Rejected(errors.UNSAFE_CONTENT, "kept image data overlaps removed metadata")
    return idat_keep


def _clean_av1_idat(buf: bytearray, start: int, end: int, st: State) -> None:
    """Metadata OBUs of an AV1 image stored in idat become padding (see _obu)."""
    cleaned, gone = _obu.clean_sample(bytes(buf[start:end]))
    if cleaned is not None:
        buf[start:end] = cleaned
        st.remove(_obu.removed_label(gone), "meta/idat")


def _rebuilt_children(
    kids: list[Box],
    meta: _Meta,
    keep: list[int],
    renumber: dict[int, int],
    idat_keep: list[tuple[int, int]],
    st: State,
) -> list[bytes]:
    """The new 'meta' box's children, in their original order; unknown boxes go."""
    buf = meta.buf
    out: list[bytes] = []
    for box in kids:
        t = box.type
        if t == b"hdlr":
            hdlr = bytearray(buf[box.start : box.end])
            clear_hdlr_name(hdlr, Box(t, 0, box.hdr, len(hdlr)))
            out.append(bytes(hdlr))
        elif t == b"dinf":
            dinf = bytearray(buf[box.start : box.end])
            process_dinf(dinf, Box(t, 0, box.hdr, len(dinf)), "meta", st)
            out.append(bytes(dinf))
        elif t == b"pitm":
            out.append(bytes(buf[box.start : box.end]))
        elif t == b"iinf":
            out.append(_build_iinf(buf[box.body], meta.items, keep))
        elif t == b"iloc":
            out.append(_build_iloc(meta.iloc, keep))
        elif t == b"iref":
            built = _build_iref(buf[box.body], meta.refs, keep)
            if built:
                out.append(built)
        elif t == b"iprp":
            out.append(_build_iprp(buf, meta.props, renumber, meta.ipmas, keep, st))
        elif t == b"idat":
            data = bytearray(box.end - box.body)
            for start, end in idat_keep:
                data[start - box.body : end - box.body] = buf[start:end]
            out.append(make_box(b"idat", bytes(data)))
        else:
            st.remove(fourcc(t), "meta")
    return out


def _meta_box(buf: bytearray, meta: Box, body: bytes) -> bytes:
    header = bytes(buf[meta.body : meta.body + 4])  # version and flags
    rebuilt = struct.pack(">I", 12 + len(body)) + b"meta" + header + body
    short = meta.size - len(rebuilt)
    if 0 < short < 8:
        # Too little room for a free box: lengthen the zeroed handler name instead.
        rebuilt = _pad_hdlr(rebuilt, short)
    return rebuilt


def _note_primary_picture(meta: _Meta, st: State) -> None:
    """The displayed picture's size and orientation, as its properties state them."""
    primary = meta.assoc.get(meta.primary, [])
    ispe = _primary_size(meta.buf, meta.props, primary)
    if ispe is not None:
        st.ctx.width, st.ctx.height = ispe
    st.ctx.orientation = _heif_orientation(meta.buf, meta.props, primary)


def _pad_hdlr(meta: bytes, extra: int) -> bytes:
    kids = children(meta, 12, len(meta))
    hdlr = only(kids, b"hdlr")
    if hdlr is None or hdlr.hdr != 8:
        raise malformed("cannot pad meta")
    new_hdlr = struct.pack(">I", hdlr.size + extra) + meta[hdlr.start + 4 : hdlr.end] + bytes(extra)
    body = meta[12 : hdlr.start] + new_hdlr + meta[hdlr.end :]
    return struct.pack(">I", 12 + len(body)) + meta[4:12] + body


def _parse_iinf(buf: bytearray, iinf: Box) -> dict[int, _Item]:
    version = buf[iinf.body]
    width = 2 if version == 0 else 4
    count = uint(buf, iinf.body + 4, width, iinf.end)
    items: dict[int, _Item] = {}
    for infe in children(buf, iinf.body + 4 + width, iinf.end):
        if infe.type != b"infe":
            continue
        v = uint(buf, infe.body, 1, infe.end)
        if v > 3:
            raise malformed("unknown infe version")
        flags = uint(buf, infe.body + 1, 3, infe.end)
        p = infe.body + 4
        id_width = 4 if v == 3 else 2
        item_id = uint(buf, p, id_width, infe.end)
        protection = uint(buf, p + id_width, 2, infe.end)
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
    version = uint(buf, box.body, 1, box.end)
    flags = uint(buf, box.body + 1, 3, box.end)
    if version > 2:
        raise malformed("unknown iloc version")
    sizes = uint(buf, box.body + 4, 2, box.end)
    offset_size, length_size = sizes >> 12, (sizes >> 8) & 0xF
    base_size, index_size = (sizes >> 4) & 0xF, sizes & 0xF
    if version == 0:
        index_size = 0
    for s in (offset_size, length_size, base_size, index_size):
        if s not in (0, 4, 8):
            raise malformed("bad iloc field size")
    p = box.body + 6
    count_width = 2 if version < 2 else 4
    count = uint(buf, p, count_width, box.end)
    p += count_width
    locs: dict[int, _Loc] = {}
    order: list[int] = []
    for _ in range(count):
        item_id = uint(buf, p, count_width, box.end)
        p += count_width
        method = 0
        if version >= 1:
            method = uint(buf, p, 2, box.end) & 0xF
            p += 2
        dref = uint(buf, p, 2, box.end)
        base = uint(buf, p + 2, base_size, box.end) if base_size else 0
        p += 2 + base_size
        n_ext = uint(buf, p, 2, box.end)
        p += 2
        extents: list[tuple[int, int, int]] = []
        for _ in range(n_ext):
            index = uint(buf, p, index_size, box.end) if index_size else 0
            p += index_size
            offset = uint(buf, p, offset_size, box.end) if offset_size else 0
            p += offset_size
            length = uint(buf, p, length_size, box.end) if length_size else 0
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
    for ref in children(buf, box.body + 4, box.end):
        from_id = uint(buf, ref.body, width, ref.end)
        n = uint(buf, ref.body + width, 2, ref.end)
        p = ref.body + width + 2
        to_ids = [uint(buf, p + width * i, width, ref.end) for i in range(n)]
        refs.append(_Ref(ref.type, from_id, to_ids))
    return refs


def _parse_ipma(buf: bytearray, box: Box) -> _Ipma:
    version = uint(buf, box.body, 1, box.end)
    flags = uint(buf, box.body + 1, 3, box.end)
    count = uint(buf, box.body + 4, 4, box.end)
    p = box.body + 8
    id_width = 2 if version < 1 else 4
    entries: list[tuple[int, _Assoc]] = []
    for _ in range(count):
        item_id = uint(buf, p, id_width, box.end)
        n = uint(buf, p + id_width, 1, box.end)
        p += id_width + 1
        lst: list[tuple[bool, int]] = []
        for _ in range(n):
            if flags & 1:
                v = uint(buf, p, 2, box.end)
                lst.append((bool(v & 0x8000), v & 0x7FFF))
                p += 2
            else:
                v = uint(buf, p, 1, box.end)
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
    return f"item {fourcc(item.type) if item.type else 'untyped'}"


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
        entries.append(full_box(b"infe", item.version, item.flags, payload))
    count = len(entries).to_bytes(2 if version == 0 else 4, "big")
    return full_box(b"iinf", version, 0, count + b"".join(entries))


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
    return full_box(b"iloc", iloc.version, iloc.flags, bytes(out))


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
        out.append(make_box(ref.type, payload))
    if not out:
        return b""
    return full_box(b"iref", version, 0, b"".join(out))


def _build_iprp(
    buf: bytearray,
    props: list[Box],
    renumber: dict[int, int],
    ipmas: list[_Ipma],
    keep: list[int],
    st: State,
) -> bytes:
    properties = (_clean_property(buf, props[i - 1], st) for i in renumber)
    ipco = make_box(b"ipco", b"".join(properties))
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
        parts.append(full_box(b"ipma", version, flags, n.to_bytes(4, "big") + bytes(body)))
    return make_box(b"iprp", b"".join(parts))


def _clean_property(buf: bytearray, prop: Box, st: State) -> bytes:
    """A kept property: ICC text neutral in 'colr', SEI user data out of 'hvcC'/'lhvC',
    metadata OBUs out of 'av1C'."""
    data = bytearray(buf[prop.start : prop.end])
    box = Box(prop.type, 0, prop.hdr, len(data))
    if prop.type == b"colr":
        neutral_colr(data, box, "meta/iprp/ipco", st)
    elif prop.type in (b"hvcC", b"lhvC"):
        record = bytes(data[box.body :])
        cleaned, _size, gone = _sei.clean_hvcc(record, layered=prop.type == b"lhvC")
        if gone:
            st.remove(_sei.removed_label(gone), f"meta/iprp/ipco/{fourcc(prop.type)}")
            return make_box(prop.type, cleaned)
    elif prop.type == b"av1C":
        av1c, names = _obu.clean_av1c(bytes(data[box.body :]))
        if names:
            st.remove(_obu.removed_label(names), "meta/iprp/ipco/av1C")
            return make_box(prop.type, av1c)
    return bytes(data)


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
            size = uint(buf, prop.body + 4, 4, prop.end), uint(buf, prop.body + 8, 4, prop.end)
        elif prop.type == b"clap" and size is not None:
            fractions = [uint(buf, prop.body + 4 * i, 4, prop.end) for i in range(4)]
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
            for _ in range(uint(buf, prop.body, 1, prop.end) & 0x3):
                matrix = _compose(_ANTICLOCKWISE, matrix)
        elif prop.type == b"imir":
            axis = uint(buf, prop.body, 1, prop.end) & 0x1
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
    st: State,
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
