"""Hostile files, made in code: small where the attack is a claim in a header, sparse on
disk where it has to be big."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

from PIL import Image

from tests.factories import jpeg_with_gps


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int, idat_plain: int = 4_000_000) -> bytes:
    """A PNG whose IHDR claims ``width`` x ``height`` (8-bit grey) and whose IDAT inflates to
    ``idat_plain`` zero bytes: tiny on the wire, huge if anyone decodes it."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * idat_plain, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def png_rgba(width: int, height: int) -> bytes:
    """A valid ``width`` x ``height`` RGBA PNG of one colour: 9999 x 9999 is ~400 KB on the
    wire and 400 MB once decoded."""
    row = b"\0" + b"\x10\x20\x30\xff" * width
    deflate = zlib.compressobj(9)
    idat = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def png_with_text_chunks(path: Path, count: int = 100, size: int = 1024 * 1024) -> Path:
    """A valid 1x1 PNG carrying ``count`` tEXt chunks of ``size`` bytes each."""
    image = io.BytesIO()
    Image.new("L", (1, 1)).save(image, "PNG")
    data = image.getvalue()
    iend = data.rindex(b"IEND") - 4
    text = _png_chunk(b"tEXt", b"Comment\0" + b"A" * (size - 8))
    with path.open("wb") as out:
        out.write(data[:iend])
        for _ in range(count):
            out.write(text)
        out.write(data[iend:])
    return path


def jpeg_declaring(width: int, height: int) -> bytes:
    """A real small JPEG whose SOF0 is patched to claim ``width`` x ``height``."""
    data = bytearray(jpeg_with_gps(size=(16, 16)))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def gif_with_frames(frames: int = 10_000) -> bytes:
    """A 1x1 GIF with ``frames`` frames (each a graphic control extension and one pixel)."""
    out = bytearray(b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff")
    out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    frame = (
        b"\x21\xf9\x04\x00\x01\x00\x00\x00"  # graphic control: 1/100 s
        + b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0)
        + b"\x02\x02\x44\x01\x00"  # LZW min code 2, one sub-block, terminator
    )  # fmt: skip
    out += frame * frames
    out += b"\x3b"
    return bytes(out)


def truncated_jpeg() -> bytes:
    data = jpeg_with_gps()
    return data[: len(data) // 2]


def jpeg_zip_polyglot() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("payload.html", "<script>alert('polyglot')</script>")
    return jpeg_with_gps() + archive.getvalue()


def jpeg_with_html_comment() -> bytes:
    return jpeg_with_gps(comment=b"<html><body><script>alert('comment')</script></body></html>")


RENAMED = {
    "eps": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n",
    "psd": b"8BPS\x00\x01" + b"\0" * 20,
    "pdf": b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n",
    "fits": b"SIMPLE  =                    T" + b" " * 50 + b"END" + b" " * 77,
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
}


def tiff_renamed() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(out, "TIFF")
    return out.getvalue()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _full_box(kind: bytes, payload: bytes, version: int = 0) -> bytes:
    return _box(kind, struct.pack(">I", version << 24) + payload)


def mp4_without_moov() -> bytes:
    return _box(b"ftyp", b"isom\0\0\2\0isomiso2mp41") + _box(b"mdat", b"\0" * 64)


def mp4_declaring_samples(count: int = 10**9, width: int = 320, duration_s: int = 10) -> bytes:
    """ftyp + moov with one video track whose sample tables claim ``count`` samples and
    whose header claims ``width`` px and ``duration_s`` seconds; almost no data."""
    mvhd = _full_box(b"mvhd", struct.pack(">IIII", 0, 0, 1000, duration_s * 1000) + b"\0" * 80)
    tkhd = _full_box(
        b"tkhd",
        struct.pack(">IIIII", 0, 0, 1, 0, duration_s * 1000)
        + b"\0" * 52
        + struct.pack(">II", width << 16, 240 << 16),
    )
    mdhd = _full_box(b"mdhd", struct.pack(">IIIIHH", 0, 0, 1000, duration_s * 1000, 0, 0))
    hdlr = _full_box(b"hdlr", b"\0\0\0\0vide" + b"\0" * 12 + b"v\0")
    stsz = _full_box(b"stsz", struct.pack(">II", 0, count))
    stts = _full_box(b"stts", struct.pack(">III", 1, count, 1))
    stbl = _box(b"stbl", stsz + stts)
    minf = _box(b"minf", stbl)
    mdia = _box(b"mdia", mdhd + hdlr + minf)
    trak = _box(b"trak", tkhd + mdia)
    moov = _box(b"moov", mvhd + trak)
    return _box(b"ftyp", b"isom\0\0\2\0isomiso2mp41") + moov + _box(b"mdat", b"\0" * 16)


def heic_hostile() -> bytes:
    """A HEIC whose item properties claim a 65535x65535 grid of zero-sized tiles and whose
    boxes overrun their parents: the shape of the inputs that crashed old libheif."""
    ispe = _full_box(b"ispe", struct.pack(">II", 65535, 65535))
    ipco = _box(b"ipco", ispe)
    iprp = _box(b"iprp", ipco)
    infe = _full_box(b"infe", struct.pack(">HH", 1, 0) + b"grid" + b"\0", version=2)
    iinf = _full_box(b"iinf", struct.pack(">H", 1) + infe)
    pitm = _full_box(b"pitm", struct.pack(">H", 1))
    overrun = struct.pack(">I", 0x7FFFFFFF) + b"iloc" + b"\0" * 8
    meta = _full_box(b"meta", _full_box(b"hdlr", b"\0\0\0\0pict" + b"\0" * 13) + pitm + iinf
                     + iprp + overrun)  # fmt: skip
    return _box(b"ftyp", b"heic\0\0\0\0mif1heic") + meta


def wav_claiming_4gb() -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    return (
        b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE"
        + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"data" + struct.pack("<I", 0xFFFFFFF0) + b"\0" * 1600
    )  # fmt: skip


def _syncsafe(n: int) -> bytes:
    return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])


MP3_FRAME = b"\xff\xfb\x90\x64" + b"\0" * 413  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz


def mp3_with_big_picture(path: Path, picture_bytes: int = 50 * 1024 * 1024) -> Path:
    """An MP3 whose ID3v2.4 tag holds one APIC frame of ``picture_bytes``: a sparse file, so
    it costs no disk, and a few MPEG frames after it."""
    apic_head = b"\0image/jpeg\0\x03\0"
    frame_size = len(apic_head) + picture_bytes
    frame = b"APIC" + _syncsafe(frame_size) + b"\0\0" + apic_head
    tag_size = 10 + frame_size
    with path.open("wb") as out:
        out.write(b"ID3\x04\0\0" + _syncsafe(tag_size) + frame)
        out.seek(10 + 10 + frame_size)
        out.write(MP3_FRAME * 4)
    return path
