"""Byte and box helpers of the ISO base media modules.

Fields are read big-endian and bounded by their box, so hostile sizes end as ``Rejected``;
child boxes are walked in memory; a removed box becomes a 'free' box of the same size with a
zeroed payload, so no offset in the file moves.
"""

from __future__ import annotations

import struct
import sys
from array import array
from dataclasses import dataclass

from .. import errors
from .._icc import neutral_profile
from ..errors import Rejected, malformed
from .state import State

FREE = b"free"


def fourccs(names: str) -> frozenset[bytes]:
    """Four-character codes from a space-separated list; '_' stands for a space."""
    return frozenset(n.replace("_", " ").encode("latin-1") for n in names.split())


def uint(buf: bytes | bytearray, off: int, n: int, end: int | None = None) -> int:
    """Unsigned big-endian integer of ``n`` bytes at ``off``, bounded by ``end``."""
    limit = len(buf) if end is None else end
    if off < 0 or off + n > limit:
        raise malformed("field runs past its box")
    return int.from_bytes(buf[off : off + n], "big")


def s32(buf: bytes | bytearray, off: int, end: int) -> int:
    value = uint(buf, off, 4, end)
    return value - (1 << 32) if value & 0x80000000 else value


def fourcc(t: bytes) -> str:
    text = t.decode("latin-1")
    return text if text.isprintable() else t.hex()


def make_box(typ: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + typ + payload


def full_box(typ: bytes, version: int, flags: int, payload: bytes) -> bytes:
    return make_box(typ, bytes([version]) + flags.to_bytes(3, "big") + payload)


def free_box(size: int) -> bytes:
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


def children(buf: bytes | bytearray, start: int, end: int) -> list[Box]:
    """Child boxes of a container occupying ``buf[start:end]``."""
    out: list[Box] = []
    pos = start
    while pos < end:
        if end - pos < 8:
            # QuickTime may end an atom list with a 32-bit zero terminator.
            if any(buf[pos:end]):
                raise malformed("trailing bytes in container")
            break
        size = uint(buf, pos, 4, end)
        typ = bytes(buf[pos + 4 : pos + 8])
        hdr = 8
        if size == 1:
            size = uint(buf, pos + 8, 8, end)
            hdr = 16
        elif size == 0:
            raise malformed("box of size 0 inside a container")
        if size < hdr or size > end - pos:
            raise malformed(f"box {fourcc(typ)} larger than its container")
        out.append(Box(typ, pos, hdr, pos + size))
        pos += size
    return out


def only(boxes: list[Box], typ: bytes) -> Box | None:
    found = [b for b in boxes if b.type == typ]
    if len(found) > 1:
        raise malformed(f"duplicate {fourcc(typ)} box")
    return found[0] if found else None


def to_free(buf: bytearray, box: Box) -> None:
    buf[box.start + 4 : box.start + 8] = FREE
    buf[box.body : box.end] = bytes(box.end - box.body)


def zero_payload(buf: bytearray, box: Box) -> None:
    buf[box.body : box.end] = bytes(box.end - box.body)


def uint_array(data: bytes | bytearray, width: int) -> array[int]:
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


def keep_only(buf: bytearray, box: Box, allowed: set[bytes], where: str, st: State) -> None:
    for kid in children(buf, box.body, box.end):
        if kid.type in allowed:
            continue
        if kid.type not in (b"free", b"skip"):
            st.remove(fourcc(kid.type), where)
        to_free(buf, kid)


def clear_hdlr_name(buf: bytearray, hdlr: Box) -> None:
    # version/flags, pre_defined/component type, handler type, 3 reserved words, then name:
    # vendor text such as "Core Media Video" that says which device made the file.
    name = hdlr.body + 24
    if name > hdlr.end:
        raise malformed("short hdlr box")
    buf[name : hdlr.end] = bytes(hdlr.end - name)


def process_dinf(buf: bytearray, dinf: Box, where: str, st: State) -> None:
    for box in children(buf, dinf.body, dinf.end):
        if box.type == b"dref":
            _check_dref(buf, box)
        elif box.type in (b"free", b"skip"):
            zero_payload(buf, box)
        else:
            st.remove(fourcc(box.type), where + "/dinf")
            to_free(buf, box)


def _check_dref(buf: bytearray, dref: Box) -> None:
    for entry in children(buf, dref.body + 8, dref.end):
        flags = uint(buf, entry.body, 4, entry.end) & 0xFFFFFF
        if entry.type not in (b"url ", b"urn ", b"alis") or not flags & 1:
            # Media in another file: nothing here to sanitize, and the path itself may
            # name a person or a place.
            raise Rejected(errors.UNSAFE_CONTENT, "external data reference")
        buf[entry.body + 4 : entry.end] = bytes(entry.end - entry.body - 4)


def neutral_colr(buf: bytearray, colr: Box, where: str, st: State) -> None:
    """A 'colr' box with an ICC profile ('prof', 'rICC') keeps its colour data; the
    profile's identifying text is replaced in place, at the same size (see _icc)."""
    kind = bytes(buf[colr.body : colr.body + 4])
    if kind not in (b"prof", b"rICC"):
        return
    start = colr.body + 4
    neutral, changed = neutral_profile(bytes(buf[start : colr.end]), pad_to=colr.end - start)
    buf[start : colr.end] = neutral
    for what in changed:
        st.remove(f"ICC {what}", where + "/colr")
