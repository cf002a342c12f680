"""Independent re-read of a sanitized Ogg Vorbis / Opus file.

Accepts exactly: one logical stream; an identification header; a comment header with an
empty (or "Testigo") vendor and no fields; for Vorbis a setup header; then audio packets.
Every page must be well formed, checksummed, numbered without gaps, with nothing after the
last page.
"""

from __future__ import annotations

import zlib
from typing import BinaryIO

_NEUTRAL_VENDORS = (b"", b"Testigo")
_MAX_HEADER = 64 << 10  # identification and comment packets; a clean one is under 30 bytes
_MAX_SETUP = 16 << 20


def _reverse_bits(value: int, width: int) -> int:
    result = 0
    for _ in range(width):
        result = (result << 1) | (value & 1)
        value >>= 1
    return result


_BYTE_MIRROR = bytes(_reverse_bits(i, 8) for i in range(256))


def _page_crc(page: bytes) -> int:
    # Ogg's CRC is the MSB-first twin of zlib's reflected CRC-32 with no inversion:
    # mirror the bytes in, undo zlib's inversions, mirror the register out.
    register = ~zlib.crc32(page.translate(_BYTE_MIRROR), 0xFFFFFFFF) & 0xFFFFFFFF
    return _reverse_bits(register, 32)


def _comment_ok(packet: bytes, magic: bytes, framing: bool) -> bool:
    if not packet.startswith(magic):
        return False
    rest = packet[len(magic) :]
    if len(rest) < 8:
        return False
    vendor_len = int.from_bytes(rest[:4], "little")
    vendor = rest[4 : 4 + vendor_len]
    if len(vendor) != vendor_len or vendor not in _NEUTRAL_VENDORS:
        return False
    tail = rest[4 + vendor_len :]
    expected = b"\x00\x00\x00\x00" + (b"\x01" if framing else b"")
    return tail == expected


def _ident_findings(packet: bytes) -> tuple[str | None, list[str]]:
    if packet.startswith(b"\x01vorbis"):
        ok = (
            len(packet) == 30
            and packet[7:11] == b"\x00\x00\x00\x00"
            and packet[11] > 0
            and int.from_bytes(packet[12:16], "little") > 0
            and packet[29] & 1 == 1
        )
        return "vorbis", [] if ok else ["vorbis identification header malformed"]
    if packet.startswith(b"OpusHead"):
        if len(packet) < 19 or packet[8] >> 4 != 0 or packet[9] == 0:
            return "opus", ["OpusHead malformed"]
        family = packet[18]
        expected = 19 if family == 0 else 21 + packet[9]
        if family not in (0, 1, 255) or len(packet) != expected:
            return "opus", ["OpusHead channel mapping not understood"]
        return "opus", []
    return None, ["first packet is neither Vorbis nor Opus identification"]


def verify(f: BinaryIO) -> list[str]:
    findings: list[str] = []
    f.seek(0, 2)
    total = f.tell()
    f.seek(0)
    offset = 0
    expected_seq = 0
    serial: int | None = None
    packets = _Packets()
    saw_eos = False
    pages_left = 1_000_000 + total // 256  # bounds the work on absurd page densities
    while offset < total:
        pages_left -= 1
        if pages_left < 0:
            return [*findings, "too many pages for the file size"]
        if saw_eos:
            return [*findings, f"data after end-of-stream page at {offset}"]
        head = f.read(27)
        if len(head) < 27 or head[:4] != b"OggS" or head[4] != 0:
            return [*findings, f"not an Ogg page at {offset}"]
        flags = head[5]
        page_serial = int.from_bytes(head[14:18], "little")
        seq = int.from_bytes(head[18:22], "little")
        lacing = f.read(head[26])
        body = f.read(sum(lacing))
        if len(lacing) != head[26] or len(body) != sum(lacing):
            return [*findings, f"page at {offset} truncated"]
        if _page_crc(head[:22] + bytes(4) + head[26:] + lacing + body) != int.from_bytes(
            head[22:26], "little"
        ):
            return [*findings, f"page {seq} checksum wrong"]
        if serial is None:
            serial = page_serial
            if flags != 0x02:
                findings.append("first page flags are not beginning-of-stream only")
        elif page_serial != serial:
            return [*findings, "second logical stream present"]
        elif flags & 0x02:
            findings.append(f"beginning-of-stream flag on page {seq}")
        if seq != expected_seq:
            return [*findings, f"page sequence {seq} where {expected_seq} expected"]
        expected_seq = seq + 1
        if bool(flags & 0x01) != packets.in_packet:
            findings.append(f"continuation flag wrong on page {seq}")
        saw_eos = bool(flags & 0x04)
        if packets.read_page(lacing, body, findings):
            return findings
        offset = f.tell()
    if packets.codec is None:
        findings.append("no identification header")
    elif packets.index < (3 if packets.codec == "vorbis" else 2):
        findings.append("headers incomplete")
    if packets.in_packet:
        findings.append("stream ends inside a packet")
    return findings


class _Packets:
    """The packets of the stream, page by page; header packets are kept whole."""

    def __init__(self) -> None:
        self.codec: str | None = None
        self.index = 0  # 0 ident, 1 comment, 2 setup (vorbis), then audio
        self.packet = bytearray()  # header packets in full, audio packets only their first bytes
        self.length = 0
        self.in_packet = False

    def read_page(self, lacing: bytes, body: bytes, findings: list[str]) -> bool:
        """Check the packets ending on this page; True when reading has to stop."""
        headers_needed = 3 if self.codec == "vorbis" else 2
        pos = 0
        for index, value in enumerate(lacing):
            piece = body[pos : pos + value]
            pos += value
            if self.index < headers_needed or self.codec is None:
                self.packet += piece
                if len(self.packet) > (_MAX_SETUP if self.index == 2 else _MAX_HEADER):
                    findings.append(f"header packet {self.index} too large")
                    return True
            elif len(self.packet) < 8:
                self.packet += piece[: 8 - len(self.packet)]
            self.length += value
            self.in_packet = value == 255
            if self.in_packet:
                continue
            findings += _packet_findings(self.codec, self.index, bytes(self.packet), self.length)
            if self.index == 0:
                self.codec, found = _ident_findings(bytes(self.packet))
                findings += found
                if self.codec is None:
                    return True
                headers_needed = 3 if self.codec == "vorbis" else 2
                if index != len(lacing) - 1:
                    findings.append("identification header does not end its page")
            elif self.index == headers_needed - 1 and index != len(lacing) - 1:
                findings.append("audio data shares a page with the last header")
            self.index += 1
            self.packet = bytearray()
            self.length = 0
        return False


def _packet_findings(codec: str | None, index: int, packet: bytes, length: int) -> list[str]:
    if index == 1:
        if codec == "vorbis" and not _comment_ok(packet, b"\x03vorbis", framing=True):
            return ["Vorbis comment header is not empty"]
        if codec == "opus" and not _comment_ok(packet, b"OpusTags", framing=False):
            return ["OpusTags is not empty"]
        return []
    if index == 2 and codec == "vorbis":
        return [] if packet.startswith(b"\x05vorbis") else ["third packet is not a setup header"]
    if index >= 2 and length > 0:
        # Audio packets: a header-type packet here would be a second, unchecked header.
        if codec == "vorbis" and packet[0] & 1:
            return [f"packet {index} is a Vorbis header packet among audio"]
        if codec == "opus" and packet[:8] in (b"OpusHead", b"OpusTags"):
            return [f"packet {index} is an Opus header among audio"]
    return []
