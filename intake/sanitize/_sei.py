"""H.264 and HEVC SEI user data, removed without changing a decoded frame (promise: no
location or identity leaves with the media).

Dashcams and body cameras write GPS fixes and serial numbers into SEI messages
(``user_data_unregistered``, ``user_data_registered_itu_t_t35``); encoders write their
settings there. SEI never takes part in decoding, so dropping a message leaves every decoded
frame identical. Only messages on an allowlist stay: the ones that describe timing, random
access and display (HDR10+ and Dolby Vision T.35 payloads among them). Everything else goes,
including SEI types we do not know.

The container keeps its layout: a sample keeps its size, so no sample size or chunk offset
changes. A sample that loses SEI bytes is rewritten as its other NAL units, in order, with a
filler-data NAL unit (ignored by decoders; allowed after the picture's slices) making up the
difference before any end-of-sequence/stream NAL. Samples are length-prefixed NAL units
(ISO/IEC 14496-15, as in MP4, MOV and Matroska); one that does not parse exactly is refused.
Parameter-set records: avcC may hold only SPS/PPS (anything else is refused); hvcC and lhvC
arrays may hold SEI NAL units, which are cleaned like samples.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Literal

from . import errors
from .errors import Rejected, malformed

Codec = Literal["avc", "hevc"]

# Reads ``n`` bytes at an offset (fewer only at the end of the stream).
ReadAt = Callable[[int, int], bytes]

USER_DATA_T35: Final = 4
USER_DATA_UNREGISTERED: Final = 5

# SEI payload types that stay. H.264 (Annex D): buffering period, picture timing, pan-scan,
# filler, recovery point, ref-pic marking repetition, spare picture, scene and sub-sequence
# info, freeze and snapshot, progressive refinement, motion-constrained slice groups, film
# grain, deblocking preference, stereo, post-filter, tone mapping, frame packing, display
# orientation, mastering display, content light level, alternative transfer, ambient viewing.
AVC_KEEP: Final = frozenset((0, 1, 2, 3, *range(6, 24), 45, 47, 137, 144, 147, 148))
# HEVC (Annex D, F, G): as above plus structure of pictures, active parameter sets, decoding
# unit info, sub-layer index, decoded picture hash, region refresh, no display, colour volume,
# projection and region packing, 3D/multiview display information (MV-HEVC spatial video).
# Time code (136) and scalable nesting (133, which can wrap user data) are not kept.
HEVC_KEEP: Final = frozenset(
    (0, 1, 2, 3, 6, 9, 15, 16, 17, 19, 22, 23, 45, 47, 56, *range(128, 133), 134, 135)
) | frozenset((*range(137, 152), 154, 155, 156, *range(176, 182)))
# T.35 payloads that are display metadata: HDR10+ (ST 2094-40: USA, Samsung, 0x0001,
# application 4) and Dolby Vision RPU (USA, Dolby, 0x00000800).
DISPLAY_T35: Final = (bytes.fromhex("b5003c000104"), bytes.fromhex("b5003b00000800"))

_SEI_TYPES: Final = {"avc": frozenset((6,)), "hevc": frozenset((39, 40))}
_END_TYPES: Final = {"avc": frozenset((10, 11)), "hevc": frozenset((36, 37))}
_AVCC_TYPES: Final = frozenset((7, 8, 13))  # SPS, PPS, SPS extension
_HVCC_TYPES: Final = frozenset((32, 33, 34, 39, 40))  # VPS, SPS, PPS, SEI
# Reserved and unspecified NAL unit types: decoders ignore them, vendors can hide data in
# them. Dropped like SEI user data (HEVC 62/63 stay: Dolby Vision metadata and layer).
_HIDDEN_TYPES: Final = {
    "avc": frozenset((0, 16, 17, 18, 21, 22, 23, *range(24, 32))),
    "hevc": frozenset(range(41, 62)),
}
# Stands in removed-type lists for a whole hidden NAL unit.
HIDDEN_NAL: Final = -1


def nal_type(codec: Codec, header: bytes) -> int:
    if codec == "avc":
        return header[0] & 0x1F
    return (header[0] >> 1) & 0x3F


def header_size(codec: Codec) -> int:
    return 1 if codec == "avc" else 2


def unescape(data: bytes) -> bytes:
    """RBSP from NAL payload: drop each emulation-prevention 0x03 after two zero bytes."""
    if b"\x00\x00\x03" not in data:
        return data
    out = bytearray()
    zeros = 0
    for byte in data:
        if zeros >= 2 and byte == 3:
            zeros = 0
            continue
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def escape(rbsp: bytes) -> bytes:
    """NAL payload from RBSP: insert 0x03 where two zero bytes precede a byte <= 3."""
    out = bytearray()
    zeros = 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def display_t35(payload: bytes) -> bool:
    """Whether a T.35 payload (from its country code on) is display metadata that stays.

    Also decides for AV1 T.35 metadata OBUs (_obu), which carry the same payload."""
    return payload.startswith(DISPLAY_T35)


def _keep(codec: Codec, ptype: int, payload: bytes) -> bool:
    if ptype == USER_DATA_T35:
        return display_t35(payload)
    return ptype in (AVC_KEEP if codec == "avc" else HEVC_KEEP)


def clean_sei(codec: Codec, nal: bytes) -> tuple[bytes, list[int]]:
    """(the SEI NAL unit with only kept messages, b"" when none is left; removed types)."""
    hdr = header_size(codec)
    rbsp = unescape(nal[hdr:])
    kept: list[bytes] = []
    removed: list[int] = []
    pos = 0
    while True:
        if pos >= len(rbsp):
            raise malformed("SEI without trailing bits")
        if rbsp[pos] == 0x80 and not any(rbsp[pos + 1 :]):
            break  # rbsp_trailing_bits
        start = pos
        values = []
        for _ in range(2):  # payload type, then payload size
            value = 0
            while pos < len(rbsp) and rbsp[pos] == 0xFF:
                value += 255
                pos += 1
            if pos >= len(rbsp):
                raise malformed("SEI message header truncated")
            value += rbsp[pos]
            pos += 1
            values.append(value)
        ptype, psize = values
        if pos + psize > len(rbsp):
            raise malformed("SEI payload runs past its NAL unit")
        payload = rbsp[pos : pos + psize]
        pos += psize
        if _keep(codec, ptype, payload):
            kept.append(rbsp[start:pos])
        else:
            removed.append(ptype)
    if not removed:
        return nal, []
    if not kept:
        return b"", removed
    return nal[:hdr] + escape(b"".join(kept) + b"\x80"), removed


def filler(codec: Codec, length_size: int, n: int, header: bytes) -> bytes:
    """Length-prefixed filler-data NAL units of exactly ``n`` bytes in all.

    ``header`` is the NAL header of a unit of the same picture (its HEVC temporal id is kept).
    """
    if codec == "avc":
        head = b"\x0c"  # nal_ref_idc 0, type 12
    else:
        head = bytes((38 << 1 | (header[0] & 0x01), header[1] if len(header) > 1 else 1))
    smallest = length_size + len(head) + 1
    largest = (1 << (8 * length_size)) - 1
    out = bytearray()
    while n:
        body = min(n - length_size, largest)
        rest = n - length_size - body
        if 0 < rest < smallest:
            body -= smallest - rest
        if body < len(head) + 1:
            raise Rejected(errors.UNSAFE_CONTENT, "SEI too small to replace with filler")
        out += body.to_bytes(length_size, "big") + head + b"\xff" * (body - len(head) - 1)
        out += b"\x80"
        n -= length_size + body
    return bytes(out)


def split_nals(data: bytes, length_size: int) -> list[bytes]:
    """The NAL units of one length-prefixed sample; they must fill it exactly."""
    nals: list[bytes] = []
    pos = 0
    while pos < len(data):
        if pos + length_size > len(data):
            raise malformed("NAL length prefix truncated")
        size = int.from_bytes(data[pos : pos + length_size], "big")
        pos += length_size
        if size == 0 or pos + size > len(data):
            raise malformed("NAL unit runs past its sample")
        nals.append(data[pos : pos + size])
        pos += size
    return nals


def clean_sample(codec: Codec, length_size: int, data: bytes) -> tuple[bytes | None, list[int]]:
    """(same-size replacement, or None when nothing is removed; removed SEI types)."""
    nals = split_nals(data, length_size)
    sei_types = _SEI_TYPES[codec]
    hidden = _HIDDEN_TYPES[codec]
    out: list[bytes] = []
    removed: list[int] = []
    header = b""
    for nal in nals:
        if nal_type(codec, nal) in hidden or nal[0] & 0x80:  # forbidden_zero_bit: not valid
            removed.append(HIDDEN_NAL)
            header = header or nal[: header_size(codec)]
        elif nal_type(codec, nal) in sei_types:
            cleaned, gone = clean_sei(codec, nal)
            removed += gone
            header = header or nal[: header_size(codec)]
            if cleaned:
                out.append(cleaned)
        else:
            out.append(nal)
    if not removed:
        return None, []
    ends = _END_TYPES[codec]
    tail = len(out)
    while tail and nal_type(codec, out[tail - 1]) in ends:
        tail -= 1
    body = [len(n).to_bytes(length_size, "big") + n for n in out]
    used = sum(len(b) for b in body)
    if used > len(data):
        raise Rejected(errors.UNSAFE_CONTENT, "SEI grew when rewritten")
    pad = filler(codec, length_size, len(data) - used, header) if used < len(data) else b""
    return b"".join(body[:tail]) + pad + b"".join(body[tail:]), removed


def scan_sample(
    codec: Codec, length_size: int, read: ReadAt, start: int, size: int
) -> tuple[bytes | None, list[int]]:
    """Like clean_sample for the sample at ``start``, reading only NAL headers unless the
    sample holds SEI (most do not)."""
    look_for = _SEI_TYPES[codec] | _HIDDEN_TYPES[codec]
    hdr = header_size(codec)
    pos, end = start, start + size
    while pos < end:
        head = read(pos, length_size + hdr)
        if len(head) < length_size + hdr or pos + length_size + hdr > end:
            raise malformed("NAL unit header truncated")
        nal_size = int.from_bytes(head[:length_size], "big")
        if nal_type(codec, head[length_size:]) in look_for or head[length_size] & 0x80:
            return clean_sample(codec, length_size, read(start, size))
        if nal_size < hdr:
            raise malformed("NAL unit shorter than its header")
        pos += length_size + nal_size
    if pos != end:
        raise malformed("NAL unit runs past its sample")
    return None, []


def avcc_length_size(data: bytes) -> int:
    """NAL length size of an avcC record; refuse one carrying anything but parameter sets."""
    if len(data) < 7 or data[0] != 1:
        raise malformed("avcC: bad header")
    length_size = (data[4] & 0x03) + 1
    if length_size == 3:
        raise malformed("avcC: NAL length size 3")
    pos = 5
    for count_mask in (0x1F, 0xFF):
        if pos >= len(data):
            raise malformed("avcC truncated")
        count = data[pos] & count_mask
        pos = _avcc_nals(data, pos + 1, count)
    if pos + 4 <= len(data) and data[1] not in (66, 77, 88):  # profiles with the extension
        pos = _avcc_nals(data, pos + 4, data[pos + 3])
    if any(data[pos:]):
        raise Rejected(errors.UNSAFE_CONTENT, "avcC carries unknown data")
    return length_size


def _avcc_nals(data: bytes, pos: int, count: int) -> int:
    for _ in range(count):
        if pos + 2 > len(data):
            raise malformed("avcC truncated")
        size = int.from_bytes(data[pos : pos + 2], "big")
        nal = data[pos + 2 : pos + 2 + size]
        if size == 0 or len(nal) != size:
            raise malformed("avcC NAL unit truncated")
        if nal[0] & 0x1F not in _AVCC_TYPES:
            raise Rejected(
                errors.UNSAFE_CONTENT, "avcC carries a NAL unit that is not a parameter set"
            )
        pos += 2 + size
    return pos


def clean_hvcc(data: bytes, layered: bool = False) -> tuple[bytes, int, list[int]]:
    """(hvcC or lhvC record with SEI cleaned, NAL length size, removed SEI types)."""
    count_at = 5 if layered else 22
    if len(data) <= count_at or data[0] != 1:
        raise malformed("hvcC: bad header")
    length_size = (data[count_at - 1] & 0x03) + 1
    if length_size == 3:
        raise malformed("hvcC: NAL length size 3")
    arrays: list[bytes] = []
    removed: list[int] = []
    pos = count_at + 1
    for _ in range(data[count_at]):
        if pos + 3 > len(data):
            raise malformed("hvcC array truncated")
        head = data[pos]
        count = int.from_bytes(data[pos + 1 : pos + 3], "big")
        pos += 3
        nals: list[bytes] = []
        for _ in range(count):
            size = int.from_bytes(data[pos : pos + 2], "big")
            nal = data[pos + 2 : pos + 2 + size]
            if size < 2 or len(nal) != size:
                raise malformed("hvcC NAL unit truncated")
            if nal_type("hevc", nal) not in _HVCC_TYPES:
                raise Rejected(errors.UNSAFE_CONTENT, "hvcC holds a NAL unit of another type")
            pos += 2 + size
            if nal_type("hevc", nal) in _SEI_TYPES["hevc"]:
                nal, gone = clean_sei("hevc", nal)
                removed += gone
            if nal:
                nals.append(nal)
        if nals:
            body = b"".join(len(n).to_bytes(2, "big") + n for n in nals)
            arrays.append(bytes((head,)) + len(nals).to_bytes(2, "big") + body)
    if any(data[pos:]):
        raise Rejected(errors.UNSAFE_CONTENT, "hvcC carries unknown data")
    if not removed:
        return data, length_size, []
    out = data[:count_at] + bytes((len(arrays),)) + b"".join(arrays)
    return out, length_size, removed


def removed_label(types: list[int]) -> str:
    names = {
        USER_DATA_T35: "T.35 user data",
        USER_DATA_UNREGISTERED: "unregistered user data",
        HIDDEN_NAL: "reserved NAL units",
    }
    return ", ".join(sorted({names.get(t, f"SEI type {t}") for t in types}))
