"""JPEG: keep the frame, tables and scans byte for byte; keep a rebuilt JFIF APP0, ICC
profile APP2 (its identifying text replaced, see _icc) and Adobe APP14 (they change how
pixels decode); drop every other APPn, COM and everything after EOI. An Orientation-only
EXIF is written when the photo needs turning.
"""

from __future__ import annotations

import re
from typing import BinaryIO, NamedTuple

from . import errors
from ._exif import exif_facts, orientation_tiff
from ._icc import neutral_or_none
from ._io import copy_exact, file_size, read_exact
from .context import StripContext
from .errors import Rejected, malformed

MAX_PIXELS = 100_000_000
# Real files have a few dozen segments (ICC may span 255); more is hostile.
MAX_SEGMENTS = 4096
MAX_FILL_BYTES = 1 << 16
# Image data is read in 256 KiB blocks: with 1 MiB blocks the allocator returns and re-faults
# the pages of every block, which costs about as much as scanning them.
READ_SIZE = 256 << 10

SOI, EOI, SOS, COM = 0xD8, 0xD9, 0xDA, 0xFE
APP0, APP1, APP2, APP14 = 0xE0, 0xE1, 0xE2, 0xEE
DHT, DQT = 0xC4, 0xDB
TABLES = {DHT: "DHT", 0xCC: "DAC", DQT: "DQT", 0xDD: "DRI"}
# Baseline, extended, progressive and lossless frames, Huffman or arithmetic coded.
FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC9, 0xCA, 0xCB}
# Hierarchical frames need DHP/EXP handling we do not do; refuse rather than guess.
UNSUPPORTED_FRAMES = {0xC5, 0xC6, 0xC7, 0xCD, 0xCE, 0xCF, 0xDE, 0xDF, 0xF7}

EXIF_ID = b"Exif\x00\x00"
ICC_ID = b"ICC_PROFILE\x00"
# Profile bytes per APP2 segment: 65535 minus the length field, ICC_ID and the two counters.
ICC_CHUNK = 65535 - 2 - 14
JFIF_ID = b"JFIF\x00"
ADOBE_ID = b"Adobe"

# Names for what is dropped, by APPn and leading identifier.
_APP_NAMES: dict[int, list[tuple[bytes, str]]] = {
    APP0: [(b"JFXX\x00", "JFIF extension thumbnail"), (JFIF_ID, "duplicate JFIF")],
    APP1: [
        (b"Exif\x00", "EXIF"),
        (b"http://ns.adobe.com/xap/1.0/\x00", "XMP"),
        (b"http://ns.adobe.com/xmp/extension/\x00", "extended XMP"),
    ],
    APP2: [(b"MPF\x00", "MPF"), (b"FPXR\x00", "FlashPix"), (ICC_ID, "ICC profile (malformed)")],
    0xEB: [(b"JP", "JUMBF/C2PA")],
    0xEC: [(b"Ducky", "Ducky")],
    0xED: [(b"Photoshop 3.0\x00", "IPTC/Photoshop")],
    APP14: [(ADOBE_ID, "Adobe (duplicate or malformed)")],
}

# End of entropy-coded data: a run of 0xFF followed by a code that is neither a stuffed
# zero, a restart marker RSTn nor more fill.
_SCAN_END = re.compile(rb"\xff\xff*[^\x00\xd0-\xd7\xff]")


class _Span(NamedTuple):
    """A segment in the input: its code, and where its length field and payload lie."""

    marker: int
    offset: int
    length: int


def strip(src: BinaryIO, dst: BinaryIO, ctx: StripContext) -> None:
    _JpegStripper(src, dst, ctx).run()


class _JpegStripper:
    def __init__(self, src: BinaryIO, dst: BinaryIO, ctx: StripContext) -> None:
        self.src = src
        self.dst = dst
        self.ctx = ctx
        self.size = file_size(src)
        self.segments = 0
        self.jfif: bytes | None = None
        self.exif_seen = False
        self.adobe_seen = False
        self.frame_seen = False

    def run(self) -> None:
        ctx = self.ctx
        ctx.media_kind = "image"
        self.src.seek(0)
        if read_exact(self.src, 2) != b"\xff\xd8":
            raise malformed("no SOI")
        header = self._read_header()
        first_scan_data = self.src.tell()
        header = self._neutral_icc(header)
        self._write_header(header)
        self.src.seek(first_scan_data)
        self._copy_scans()
        ctx.lossless = True

    def _read_header(self) -> list[bytes | _Span]:
        """Walk the segments before the first scan, collecting what to keep in order.

        Kept output is collected first because the JFIF and EXIF segments that must open the
        file are only known once every APPn before the first scan has been seen.
        """
        kept: list[bytes | _Span] = []
        while True:
            marker, offset = self._read_marker()
            if marker == SOS:
                if not self.frame_seen:
                    raise malformed("scan before frame header")
                kept.append(self._segment(marker))
                return kept
            if marker in TABLES:
                kept.append(self._segment(marker))
            elif marker in FRAMES:
                span = self._segment(marker)
                self._frame(span)
                kept.append(span)
            elif APP0 <= marker <= 0xEF or marker == COM:
                span = self._segment(marker)
                rebuilt = self._app(offset, span)
                if rebuilt is not None:
                    kept.append(rebuilt)
                self.src.seek(span.offset + span.length)
            else:
                raise self._unknown(marker)

    def _neutral_icc(self, header: list[bytes | _Span]) -> list[bytes | _Span]:
        """Join the ICC chunks, replace the profile's identifying text and split it again
        where the first chunk stood."""
        spans = [i for i in header if isinstance(i, _Span) and i.marker == APP2]
        if not spans:
            return header
        chunks: dict[int, bytes] = {}
        totals = set()
        for span in spans:
            payload = self._payload(span, span.length)
            number, total = payload[len(ICC_ID)], payload[len(ICC_ID) + 1]
            if number == 0 or number > total or number in chunks:
                raise malformed("ICC profile chunks out of sequence")
            chunks[number] = payload[len(ICC_ID) + 2 :]
            totals.add(total)
        if len(totals) != 1 or len(chunks) != totals.pop():
            raise malformed("ICC profile chunks missing")
        profile, changed = neutral_or_none(b"".join(chunks[n] for n in sorted(chunks)))
        for what in changed:
            self.ctx.remove(f"ICC {what}", "APP2")
        if profile is None:
            return [i for i in header if not (isinstance(i, _Span) and i.marker == APP2)]
        pieces = [profile[i : i + ICC_CHUNK] for i in range(0, len(profile), ICC_CHUNK)]
        if len(pieces) > 255:
            raise Rejected(errors.TOO_LARGE, "ICC profile too large")
        segments = b"".join(
            _segment_bytes(APP2, ICC_ID + bytes((n, len(pieces))) + piece)
            for n, piece in enumerate(pieces, 1)
        )
        out: list[bytes | _Span] = []
        for item in header:
            if item is spans[0]:
                out.append(segments)
            elif not (isinstance(item, _Span) and item.marker == APP2):
                out.append(item)
        return out

    def _write_header(self, header: list[bytes | _Span]) -> None:
        dst = self.dst
        dst.write(b"\xff\xd8")
        if self.jfif is not None:
            dst.write(_segment_bytes(APP0, self.jfif))
        orientation = self.ctx.orientation
        if orientation is not None and orientation != 1:
            dst.write(_segment_bytes(APP1, EXIF_ID + orientation_tiff(orientation)))
        for item in header:
            if isinstance(item, _Span):
                self._copy_span(item)
            else:
                dst.write(item)

    def _copy_scans(self) -> None:
        """From the first scan's data to EOI: copy scans and tables, drop APPn/COM and trailer."""
        while True:
            self._copy_entropy_coded()
            while True:
                marker, offset = self._read_marker()
                if marker == EOI:
                    self.dst.write(b"\xff\xd9")
                    self._drop_trailer(self.src.tell())
                    return
                if marker == SOS or marker in TABLES:
                    self._copy_span(self._segment(marker))
                    if marker == SOS:
                        break
                elif APP0 <= marker <= 0xEF or marker == COM:
                    self._drop_app(offset, self._segment(marker))
                else:
                    raise self._unknown(marker)

    # -- segments -------------------------------------------------------------------------

    def _read_marker(self) -> tuple[int, int]:
        """The next marker code and its offset, skipping fill bytes (0xFF runs) before it."""
        offset = self.src.tell()
        head = self.src.read(2)
        if len(head) != 2:
            raise malformed("truncated: no EOI")
        if head[0] != 0xFF:
            raise malformed(f"expected a marker at offset {offset}")
        code = head[1]
        fill = 0
        while code == 0xFF:
            fill += 1
            if fill > MAX_FILL_BYTES:
                raise malformed("endless fill bytes")
            code = read_exact(self.src, 1)[0]
        self.segments += 1
        if self.segments > MAX_SEGMENTS:
            raise malformed("too many segments")
        return code, offset

    def _segment(self, marker: int) -> _Span:
        """Read a segment's length and leave the stream after its payload."""
        offset = self.src.tell()
        length = int.from_bytes(read_exact(self.src, 2), "big")
        if length < 2 or offset + length > self.size:
            raise malformed(f"segment 0x{marker:02X} length beyond the file")
        self.src.seek(offset + length)
        span = _Span(marker, offset, length)
        if marker == SOS:
            self._check_sos(span)
        elif marker in (DQT, DHT):
            self._check_tables(span)
        return span

    def _payload(self, span: _Span, limit: int) -> bytes:
        """The first ``limit`` payload bytes of a segment, leaving the stream after it."""
        self.src.seek(span.offset + 2)
        data = read_exact(self.src, min(limit, span.length - 2))
        self.src.seek(span.offset + span.length)
        return data

    def _copy_span(self, span: _Span) -> None:
        # The marker is written afresh so fill bytes before it are not carried over.
        self.dst.write(bytes((0xFF, span.marker)))
        self.src.seek(span.offset)
        copy_exact(self.src, self.dst, span.length)

    def _frame(self, span: _Span) -> None:
        if self.frame_seen:
            raise malformed("second frame header")
        self.frame_seen = True
        data = self._payload(span, span.length)
        if len(data) < 6 or len(data) != 6 + 3 * data[5] or data[5] == 0:
            raise malformed("bad frame header")
        height = int.from_bytes(data[1:3], "big")
        width = int.from_bytes(data[3:5], "big")
        if width == 0 or height == 0:
            # Height 0 defers to a DNL marker after the first scan; phones never write it.
            raise malformed("zero image dimension")
        if width * height > MAX_PIXELS:
            raise Rejected(errors.TOO_LARGE, f"{width}x{height}")
        self.ctx.width, self.ctx.height = width, height

    def _check_sos(self, span: _Span) -> None:
        data = self._payload(span, span.length)
        if not data or len(data) != 1 + 2 * data[0] + 3 or not 1 <= data[0] <= 4:
            raise malformed("bad scan header")

    def _check_tables(self, span: _Span) -> None:
        """DQT and DHT must hold whole tables and nothing else: spare bytes could hide data."""
        data = self._payload(span, span.length)
        i = 0
        while i < len(data):
            if span.marker == DQT:
                i += 1 + (128 if data[i] >> 4 else 64)  # 8- or 16-bit entries
            else:
                code_lengths = data[i + 1 : i + 17]
                if len(code_lengths) != 16:
                    break
                i += 17 + sum(code_lengths)
        if i != len(data) or not data:
            raise malformed(f"bad table segment 0x{span.marker:02X}")

    def _app(self, offset: int, span: _Span) -> bytes | _Span | None:
        """Decide one APPn/COM before the first scan: what to keep, or None when dropped."""
        marker = span.marker
        head = self._payload(span, 64)
        if marker == APP0 and head.startswith(JFIF_ID) and self.jfif is None and len(head) >= 14:
            # Version, units and density only: the thumbnail fields are zeroed.
            self.jfif = head[:12] + b"\x00\x00"
            if head[12] or head[13]:
                self.ctx.remove("JFIF thumbnail", f"APP0@{offset}")
            return None
        if marker == APP1 and head.startswith(EXIF_ID) and not self.exif_seen:
            self.exif_seen = True
            facts = exif_facts(self.src, span.offset + 2 + len(EXIF_ID), span.length - 8)
            self.ctx.orientation = facts.orientation
            self.ctx.capture_time = facts.capture_time
        elif marker == APP2 and head.startswith(ICC_ID) and len(head) > len(ICC_ID) + 2:
            return span
        elif marker == APP14 and head.startswith(ADOBE_ID) and len(head) >= 12:
            if self.adobe_seen:
                self._drop_app(offset, span)
                return None
            self.adobe_seen = True
            # Version, flags and colour transform; anything after them is not needed.
            return _segment_bytes(APP14, head[:12])
        self._drop_app(offset, span)
        return None

    def _drop_app(self, offset: int, span: _Span) -> None:
        marker = span.marker
        if marker == COM:
            self.ctx.remove("comment", f"COM@{offset}")
            return
        head = self._payload(span, 64)
        name = f"APP{marker - APP0}"
        for prefix, what in _APP_NAMES.get(marker, []):
            if head.startswith(prefix):
                name = what
                break
        self.ctx.remove(name, f"APP{marker - APP0}@{offset}")

    def _unknown(self, marker: int) -> Rejected:
        if marker in UNSUPPORTED_FRAMES or 0xF0 <= marker <= 0xFD:
            return Rejected(errors.UNSUPPORTED_FORMAT, f"JPEG marker 0x{marker:02X}")
        return malformed(f"unknown JPEG marker 0x{marker:02X}")

    # -- entropy-coded data and trailer ---------------------------------------------------

    def _copy_entropy_coded(self) -> None:
        """Copy scan data up to the next marker, in large blocks (no per-byte loop)."""
        src, dst = self.src, self.dst
        block_start = src.tell()  # input offset of carry + block
        carry = b""
        while True:
            block = src.read(READ_SIZE)
            if not block:
                raise malformed("truncated scan data")
            data = carry + block if carry else block
            end = _SCAN_END.search(data)
            if end is not None:
                dst.write(memoryview(data)[: end.start()])
                src.seek(block_start + end.start())
                return
            # A trailing 0xFF run may start a marker whose code is in the next block.
            held = len(data) - len(data.rstrip(b"\xff")) if data[-1] == 0xFF else 0
            if held > MAX_FILL_BYTES:
                raise malformed("endless fill bytes")
            dst.write(memoryview(data)[: len(data) - held])
            carry = data[len(data) - held :]
            block_start += len(data) - held

    def _drop_trailer(self, end_of_image: int) -> None:
        if end_of_image >= self.size:
            return
        head = self.src.read(16)
        self.src.seek(self.size - 4)
        tail = self.src.read(4)
        if head.startswith(b"\xff\xd8"):
            what = "appended image (MPF or preview)"
        elif b"ftyp" in head:
            what = "appended video (motion photo)"
        elif head.startswith(b"PK"):
            what = "appended ZIP archive"
        elif tail == b"SEFT":
            what = "Samsung trailer"
        else:
            what = "data after EOI"
        self.ctx.remove(what, f"trailer@{end_of_image}")


def _segment_bytes(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(payload) + 2).to_bytes(2, "big") + payload
