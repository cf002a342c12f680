"""ICC colour profiles with their identifying text replaced (promise: no identity leaves with
the media), shared by the image strippers.

A profile changes how pixels display, so its colour data stays. Its text does not: a
profile made by a calibration tool or a camera can name the device, its owner or the
studio in 'desc', 'cprt', 'dmnd' (device manufacturer), 'dmdd' (device model) and other
text tags; the header names the CMM, platform, device maker and model, creator and date.
``neutral_profile`` rebuilds the profile: header identity fields and the profile ID zeroed,
'desc' and 'cprt' rewritten with neutral text in their own type, tags whose type is colour
data kept byte for byte, and every other tag (other text, dates, names, private data)
dropped. A profile that does not parse is refused.
"""

from __future__ import annotations

import struct
from typing import Final

from . import errors
from .errors import Rejected, malformed

# Short, so the rebuilt profile rarely outgrows the original (ISO media keeps its layout).
NEUTRAL_DESC: Final = b"Profile"
NEUTRAL_CPRT: Final = b"None"
# Tag types that hold only numbers describing colour.
COLOUR_TYPES: Final = frozenset(
    t.encode()
    for t in (
        "curv",
        "para",
        "XYZ ",
        "sf32",
        "mft1",
        "mft2",
        "mAB ",
        "mBA ",
        "mpet",
        "chrm",
        "clro",
        "sig ",
        "view",
        "meas",
        "cicp",
        "vcgt",
        "ui16",
        "ui32",
        "ui08",
        "uf32",
    )
)
TEXT_TYPES: Final = frozenset((b"desc", b"text", b"mluc"))
# Header fields that name software, platform, device, creator or time: zeroed.
_HEADER_ZEROED: Final = ((4, 8), (24, 36), (40, 44), (48, 56), (80, 128))
MAX_TAGS: Final = 256


def neutral_profile(profile: bytes, pad_to: int | None = None) -> tuple[bytes, list[str]]:
    """(the profile rebuilt without identifying text, names of what was replaced/dropped).

    With ``pad_to``, the profile is padded with zeros to exactly that many bytes (its size
    field says so), for containers whose layout must not move; one that would not fit is
    refused."""
    if len(profile) < 132 or profile[36:40] != b"acsp":
        raise malformed("ICC profile without its header")
    declared = int.from_bytes(profile[0:4], "big")
    if declared > len(profile) or declared < 132:
        raise malformed("ICC profile size does not match its data")
    profile = profile[:declared]
    count = int.from_bytes(profile[128:132], "big")
    if count > MAX_TAGS or 132 + 12 * count > len(profile):
        raise malformed("ICC tag table too large")
    header = bytearray(profile[:128])
    changed: list[str] = []
    for start, end in _HEADER_ZEROED:
        if any(header[start:end]):
            header[start:end] = bytes(end - start)
            changed.append(f"header {start}-{end}")
    tags: list[tuple[bytes, bytes]] = []
    for i in range(count):
        sig, offset, size = struct.unpack_from(">4sII", profile, 132 + 12 * i)
        if size < 8 or offset + size > len(profile):
            raise malformed("ICC tag outside the profile")
        data = profile[offset : offset + size]
        kind = data[:4]
        name = sig.decode("latin-1")
        if sig in (b"desc", b"cprt"):
            # Text of the type the profile's version expects ('desc'/'text' in v2, 'mluc').
            text = NEUTRAL_DESC if sig == b"desc" else NEUTRAL_CPRT
            neutral = text_tag(kind if kind in TEXT_TYPES else b"mluc", text)
            if neutral != data:
                changed.append(name)
            tags.append((sig, neutral))
        elif kind in COLOUR_TYPES:
            tags.append((sig, data))
        else:
            changed.append(name)
    rebuilt = _assemble(bytes(header), tags)
    if pad_to is not None:
        if len(rebuilt) > pad_to:
            raise Rejected(errors.UNSAFE_CONTENT, "no room for a neutral ICC profile")
        rebuilt = pad_to.to_bytes(4, "big") + rebuilt[4:] + bytes(pad_to - len(rebuilt))
    return rebuilt, changed


def neutral_or_none(profile: bytes) -> tuple[bytes | None, list[str]]:
    """Like neutral_profile; a profile that does not parse is None (the caller drops it:
    pixels stay as they are, only the colour interpretation is lost)."""
    try:
        return neutral_profile(profile)
    except Rejected:
        return None, ["profile (unreadable)"]


def text_tag(kind: bytes, text: bytes) -> bytes:
    """A text tag of type ``kind`` ('desc', 'text' or 'mluc') holding ASCII ``text``."""
    if kind == b"text":
        return b"text" + bytes(4) + text + b"\x00"
    if kind == b"mluc":
        utf16 = text.decode("ascii").encode("utf-16-be")
        return (
            b"mluc"
            + bytes(4)
            + struct.pack(">II2s2sII", 1, 12, b"en", b"US", len(utf16), 28)
            + utf16
        )
    # ICC v2 textDescriptionType: ASCII, then empty Unicode and ScriptCode parts.
    ascii_part = text + b"\x00"
    return (
        b"desc" + bytes(4) + struct.pack(">I", len(ascii_part)) + ascii_part + bytes(4 + 4 + 3 + 67)
    )


def _assemble(header: bytes, tags: list[tuple[bytes, bytes]]) -> bytes:
    table_end = 132 + 12 * len(tags)
    body = bytearray()
    entries = bytearray()
    placed: dict[bytes, int] = {}
    for sig, data in tags:
        at = placed.get(data)
        if at is None:
            body += bytes(-len(body) % 4)
            at = table_end + len(body)
            placed[data] = at
            body += data
        entries += struct.pack(">4sII", sig, at, len(data))
    body += bytes(-len(body) % 4)
    total = table_end + len(body)
    return (
        total.to_bytes(4, "big")
        + header[4:]
        + len(tags).to_bytes(4, "big")
        + bytes(entries)
        + bytes(body)
    )
