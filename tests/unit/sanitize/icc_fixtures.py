"""ICC profiles that name a device and its owner, built on lcms's sRGB profile."""

from __future__ import annotations

import struct

from PIL import ImageCms

OWNER = b"CANARY Maria's Pixel 9 SN-4242"
COLOUR_TAGS = (b"wtpt", b"chad", b"rXYZ", b"gXYZ", b"bXYZ", b"rTRC", b"gTRC", b"bTRC", b"chrm")


def _tags(profile: bytes) -> list[tuple[bytes, bytes]]:
    (count,) = struct.unpack_from(">I", profile, 128)
    out = []
    for i in range(count):
        sig, at, size = struct.unpack_from(">4sII", profile, 132 + 12 * i)
        out.append((sig, profile[at : at + size]))
    return out


def tag_data(profile: bytes) -> dict[bytes, bytes]:
    return dict(_tags(profile))


def _desc(text: bytes) -> bytes:
    ascii_part = text + b"\x00"
    return b"desc" + bytes(4) + struct.pack(">I", len(ascii_part)) + ascii_part + bytes(78)


def _mluc(text: bytes) -> bytes:
    utf16 = text.decode().encode("utf-16-be")
    return (
        b"mluc" + bytes(4) + struct.pack(">II2s2sII", 1, 12, b"en", b"US", len(utf16), 28) + utf16
    )


def identifying_profile() -> bytes:
    """sRGB colour data; desc, cprt, dmnd, dmdd, a calibration date and a private tag that
    name the owner and device; header device maker/model 'CNRY'/'SN42'."""
    base = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    tags = [(s, d) for s, d in _tags(base) if s not in (b"desc", b"cprt")]
    tags += [
        (b"desc", _mluc(b"CANARY desc " + OWNER)),
        (b"cprt", _mluc(b"CANARY copyright " + OWNER)),
        (b"dmnd", _desc(b"CANARY maker")),
        (b"dmdd", _desc(b"CANARY model " + OWNER)),
        (b"calt", b"dtim" + bytes(4) + struct.pack(">6H", 2023, 7, 4, 17, 37, 42)),
        (b"zOWN", b"text" + bytes(4) + OWNER + b"\x00"),
    ]
    header = bytearray(base[:128])
    header[48:56] = b"CNRYSN42"
    header[24:36] = struct.pack(">6H", 2023, 7, 4, 17, 37, 42)  # lcms writes the time now
    body = bytearray()
    entries = bytearray()
    table_end = 132 + 12 * len(tags)
    for sig, data in tags:
        body += bytes(-len(body) % 4)
        entries += struct.pack(">4sII", sig, table_end + len(body), len(data))
        body += data
    total = table_end + len(body)
    return (
        total.to_bytes(4, "big") + bytes(header[4:]) + struct.pack(">I", len(tags)) + entries + body
    )


def neutral_srgb() -> bytes:
    """lcms's sRGB profile as the sanitizer writes it: kept byte for byte on a second pass."""
    from intake.sanitize._icc import neutral_profile

    base = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return neutral_profile(base)[0]


def large_neutral_profile() -> bytes:
    """A neutral profile of about 80 KiB (one tone curve of 40,000 points): more than one
    JPEG APP2 segment holds."""
    from intake.sanitize._icc import neutral_profile

    base = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    curve = b"curv" + bytes(4) + struct.pack(">I", 40_000)
    curve += b"".join(struct.pack(">H", i * 65535 // 39_999) for i in range(40_000))
    tags = [(s, curve if s.endswith(b"TRC") else d) for s, d in _tags(base)]
    body = bytearray()
    entries = bytearray()
    table_end = 132 + 12 * len(tags)
    for sig, data in tags:
        body += bytes(-len(body) % 4)
        entries += struct.pack(">4sII", sig, table_end + len(body), len(data))
        body += data
    total = table_end + len(body)
    raw = total.to_bytes(4, "big") + base[4:128] + struct.pack(">I", len(tags)) + entries + body
    return neutral_profile(raw)[0]
