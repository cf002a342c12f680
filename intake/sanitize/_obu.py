"""AV1 metadata OBUs, removed without changing a decoded frame (promise: no location or
identity leaves with the media).

An AV1 sample (ISOBMFF ``av01``, Matroska ``V_AV1``) is a run of OBUs (open bitstream units,
AV1 spec 5.3): a header (forbidden bit, type, extension flag, size flag), an optional
extension byte, a leb128 size, the payload. Metadata OBUs (type 5) carry HDR and
scalability information, and also ITU-T T.35 user data, timecodes and unregistered private
metadata where a camera can write a GPS fix or a serial number. Decoders never need them to
decode. Only display metadata stays: HDR content light level, mastering display colour
volume, scalability, and T.35 payloads that ``_sei.display_t35`` keeps for HEVC (HDR10+,
Dolby Vision). Reserved OBU types (0, 9-14) are ignored by decoders, so they can only hide
data; tile list OBUs (8) serve large-scale tile decoding only and the AV1 ISOBMFF and
Matroska mappings forbid them in samples: all of these go too. Padding OBUs stay with their
payload zeroed (decoders ignore their bytes, which could hold anything).

The container keeps its layout: a removed OBU becomes a padding OBU (type 15) of the same
total size, with the same header length and the same leb128 size bytes and a zeroed
payload, so no sample size or offset changes (like the filler NAL units of _sei). The
decoder configuration record (av1C, Matroska CodecPrivate) may hold only a sequence header
and metadata OBUs; a removed metadata OBU makes it shorter and the container pads after it.

Refused (fail closed): an OBU with the forbidden bit set, an OBU without a size field (the
mappings allow it for the last OBU of a sample; no encoder we know writes it, and the
independent checker reads whole chunks), and OBUs that do not fill their sample exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from . import errors
from ._sei import display_t35
from .errors import Rejected, malformed

ReadAt = Callable[[int, int], bytes]

SEQUENCE_HEADER: Final = 1
METADATA: Final = 5
TILE_LIST: Final = 8
PADDING: Final = 15
# Reserved OBU types (AV1 spec 6.2.2): decoders skip them.
RESERVED: Final = frozenset((0, 9, 10, 11, 12, 13, 14))
# Metadata types that describe display: HDR_CLL, HDR_MDCV, SCALABILITY. T.35 (4) stays
# only for display payloads; TIMECODE (5), private (6-31) and reserved types go.
KEEP_METADATA: Final = frozenset((1, 2, 3))
METADATA_T35: Final = 4

# Removed-item names for the manifest.
T35_USER_DATA: Final = "AV1 T.35 user data"
HIDDEN_OBU: Final = "reserved AV1 OBUs"
PADDING_BYTES: Final = "AV1 padding bytes"

# A header byte, an extension byte and a leb128 of at most 8 bytes.
_HEAD_MAX: Final = 10


def leb128(data: bytes, pos: int) -> tuple[int, int]:
    """(value, position after it) of the leb128 at ``pos`` (AV1 spec 4.10.5)."""
    value = 0
    for i in range(8):
        if pos + i >= len(data):
            raise malformed("AV1 leb128 cut short")
        byte = data[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            if value > 0xFFFFFFFF:
                raise malformed("AV1 leb128 larger than 2^32 - 1")
            return value, pos + i + 1
    raise malformed("AV1 leb128 longer than 8 bytes")


def obu_head(head: bytes) -> tuple[int, int, int]:
    """(OBU type, header length incl. size field, payload size) from an OBU's first bytes."""
    if not head:
        raise malformed("AV1 OBU header cut short")
    first = head[0]
    if first & 0x80:
        raise malformed("AV1 OBU with the forbidden bit set")
    if not first & 0x02:
        raise Rejected(errors.UNSUPPORTED_FORMAT, "AV1 OBU without a size field")
    at = 2 if first & 0x04 else 1
    size, at = leb128(head, at)
    return (first >> 3) & 0x0F, at, size


def split_obus(data: bytes) -> list[tuple[int, int, int, int]]:
    """(type, start, payload start, end) of each OBU; they must fill ``data`` exactly."""
    out: list[tuple[int, int, int, int]] = []
    pos = 0
    while pos < len(data):
        kind, head_len, size = obu_head(data[pos : pos + _HEAD_MAX])
        end = pos + head_len + size
        if end > len(data):
            raise malformed("AV1 OBU runs past its sample")
        out.append((kind, pos, pos + head_len, end))
        pos = end
    return out


def removal(kind: int, payload: bytes) -> str | None:
    """Why an OBU of a sample must not stay as it is, or None when it stays."""
    if kind in RESERVED or kind == TILE_LIST:
        return HIDDEN_OBU
    if kind == PADDING:
        return PADDING_BYTES if any(payload) else None
    if kind != METADATA:
        return None
    try:
        mtype, at = leb128(payload, 0)
    except Rejected:
        return "AV1 metadata without a type"
    if mtype in KEEP_METADATA or (mtype == METADATA_T35 and display_t35(payload[at:])):
        return None
    return T35_USER_DATA if mtype == METADATA_T35 else f"AV1 metadata type {mtype}"


def padding_obu(obu: bytes, payload_at: int) -> bytes:
    """A padding OBU as long as ``obu``: its header length and size bytes, payload zeroed."""
    head = bytearray(obu[:payload_at])
    head[0] = (PADDING << 3) | (head[0] & 0x06)  # keep the extension and size flags
    if head[0] & 0x04:
        head[1] &= 0xF8  # temporal and spatial id stay; reserved bits zeroed
    return bytes(head) + bytes(len(obu) - payload_at)


def clean_sample(data: bytes) -> tuple[bytes | None, list[str]]:
    """(same-size replacement, or None when nothing is removed; removed names)."""
    out = bytearray(data)
    removed: list[str] = []
    for kind, start, payload_at, end in split_obus(data):
        why = removal(kind, data[payload_at:end])
        if why is not None:
            removed.append(why)
            out[start:end] = padding_obu(data[start:end], payload_at - start)
    return (bytes(out) if removed else None), removed


def scan_sample(read: ReadAt, start: int, size: int) -> tuple[bytes | None, list[str]]:
    """Like clean_sample for the sample at ``start``, reading only OBU headers unless the
    sample holds a metadata, padding or reserved OBU (most hold none)."""
    pos, end = start, start + size
    while pos < end:
        kind, head_len, obu_size = obu_head(read(pos, min(_HEAD_MAX, end - pos)))
        if kind in (METADATA, PADDING, TILE_LIST) or kind in RESERVED:
            return clean_sample(read(start, size))
        pos += head_len + obu_size
    if pos != end:
        raise malformed("AV1 OBU runs past its sample")
    return None, []


def clean_av1c(data: bytes) -> tuple[bytes, list[str]]:
    """(av1C record with only the sequence header and display metadata, removed names).

    Four bytes of fixed fields, then configOBUs (AV1 ISOBMFF 2.3.3)."""
    if len(data) < 4 or data[0] != 0x81:
        raise malformed("av1C: bad marker or version")
    config = data[4:]
    kept: list[bytes] = []
    removed: list[str] = []
    for kind, start, payload_at, end in split_obus(config):
        why = removal(kind, config[payload_at:end])
        if kind == SEQUENCE_HEADER or (kind == METADATA and why is None):
            kept.append(config[start:end])
        else:
            removed.append(why or f"AV1 OBU type {kind}")
    if not removed:
        return data, []
    return data[:4] + b"".join(kept), removed


def removed_label(names: list[str]) -> str:
    return ", ".join(sorted(set(names)))
