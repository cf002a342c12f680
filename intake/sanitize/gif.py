"""GIF: keep the screen, colour tables, frames, graphic control and the animation loop count;
drop comments, plain-text extensions and every other application extension (XMP, ICC, IPTC).
Frame image data is copied unchanged.
"""

from __future__ import annotations

from typing import BinaryIO

from . import errors
from ._io import copy_exact, file_size, read_exact
from .context import StripContext
from .errors import Rejected, malformed

MAX_PIXELS = 100_000_000
MAX_FRAMES = 2000
# Image data is read in 256 KiB blocks: with 1 MiB blocks the allocator returns and re-faults
# the pages of every block, which costs about as much as reading them.
READ_SIZE = 256 << 10
LOOP_APPLICATIONS = (b"NETSCAPE2.0", b"ANIMEXTS1.0")
APPLICATION_NAMES = {
    b"XMP DataXMP": "XMP",
    b"ICCRGBG1012": "ICC profile",
    b"MGK8BIM0000": "IPTC/Photoshop",
    b"MGKIPTC0000": "IPTC",
}
IMAGE, EXTENSION, TRAILER = 0x2C, 0x21, 0x3B
GRAPHIC_CONTROL, COMMENT, PLAIN_TEXT, APPLICATION = 0xF9, 0xFE, 0x01, 0xFF


def strip(src: BinaryIO, dst: BinaryIO, ctx: StripContext) -> None:
    size = file_size(src)
    ctx.media_kind = "image"
    src.seek(0)
    head = read_exact(src, 13)  # signature and logical screen descriptor
    width = int.from_bytes(head[6:8], "little")
    height = int.from_bytes(head[8:10], "little")
    if width == 0 or height == 0:
        raise malformed("zero screen size")
    if width * height > MAX_PIXELS:
        raise Rejected(errors.TOO_LARGE, f"{width}x{height}")
    ctx.width, ctx.height = width, height
    dst.write(head)
    _copy_colour_table(src, dst, head[10])

    frames = 0
    # A graphic control extension is held until its image: if it governs a dropped
    # plain-text block instead, it must go too or it would retime the next frame.
    pending_control: bytes | None = None
    while True:
        offset = src.tell()
        introducer = read_exact(src, 1)[0]
        if introducer == IMAGE:
            frames += 1
            if frames > MAX_FRAMES:
                raise Rejected(errors.TOO_LARGE, "too many frames")
            if pending_control is not None:
                dst.write(pending_control)
                pending_control = None
            _copy_image(src, dst)
        elif introducer == EXTENSION:
            label = read_exact(src, 1)[0]
            if label == GRAPHIC_CONTROL:
                block = read_exact(src, 6)
                if block[0] != 4 or block[5] != 0:
                    raise malformed(f"bad graphic control extension at {offset}")
                pending_control = b"\x21\xf9" + block
            elif label == APPLICATION:
                loop = _application(src, offset, ctx)
                if loop is not None:
                    dst.write(loop)
            else:
                _walk_sub_blocks(src, None)
                if label == PLAIN_TEXT:
                    pending_control = None
                what = {COMMENT: "comment", PLAIN_TEXT: "plain text"}.get(label, "extension")
                ctx.remove(what, f"extension 0x{label:02X}@{offset}")
        elif introducer == TRAILER:
            dst.write(b"\x3b")
            break
        else:
            raise malformed(f"unknown block 0x{introducer:02X} at {offset}")
    if frames == 0:
        raise malformed("no image")
    end = src.tell()
    if end < size:
        ctx.remove("data after trailer", f"trailer@{end}")
    ctx.lossless = True


def _copy_colour_table(src: BinaryIO, dst: BinaryIO, flags: int) -> None:
    if flags & 0x80:
        copy_exact(src, dst, 3 << ((flags & 0x07) + 1))


def _copy_image(src: BinaryIO, dst: BinaryIO) -> None:
    descriptor = read_exact(src, 9)
    width = int.from_bytes(descriptor[4:6], "little")
    height = int.from_bytes(descriptor[6:8], "little")
    if width * height > MAX_PIXELS:
        raise Rejected(errors.TOO_LARGE, f"frame {width}x{height}")
    dst.write(b"\x2c" + descriptor)
    _copy_colour_table(src, dst, descriptor[8])
    code_size = read_exact(src, 1)
    if not 1 <= code_size[0] <= 12:
        raise malformed("bad LZW code size")
    dst.write(code_size)
    _walk_sub_blocks(src, dst)


def _application(src: BinaryIO, offset: int, ctx: StripContext) -> bytes | None:
    """The canonical loop-count extension to write, or None when the extension is dropped."""
    size = read_exact(src, 1)[0]
    identifier = read_exact(src, size)
    if size == 11 and identifier in LOOP_APPLICATIONS:
        loop_count = None
        others = False
        while (length := read_exact(src, 1)[0]) != 0:
            data = read_exact(src, length)
            if length == 3 and data[0] == 1 and loop_count is None:
                loop_count = data[1:3]
            else:
                others = True
        if others:
            ctx.remove("animation buffering hint", f"application@{offset}")
        if loop_count is None:
            return None
        return b"\x21\xff\x0b" + identifier + b"\x03\x01" + loop_count + b"\x00"
    _walk_sub_blocks(src, None)
    ctx.remove(APPLICATION_NAMES.get(identifier, "application extension"), f"application@{offset}")
    return None


def _walk_sub_blocks(src: BinaryIO, dst: BinaryIO | None) -> None:
    """Pass data sub-blocks through their zero-length terminator, copying them to ``dst``
    if given. Reads large blocks and hops over length bytes instead of reading each one."""
    pending = 0  # bytes before the next length byte, carried into the next read
    while True:
        start = src.tell()
        buf = src.read(READ_SIZE)
        if not buf:
            raise malformed("truncated data sub-blocks")
        i = pending
        while i < len(buf):
            length = buf[i]
            if length == 0:
                if dst is not None:
                    dst.write(memoryview(buf)[: i + 1])
                src.seek(start + i + 1)
                return
            i += length + 1
        pending = i - len(buf)
        if dst is not None:
            dst.write(buf)
