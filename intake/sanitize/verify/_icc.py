"""Independent check of an ICC profile left in a sanitized image: no identifying text.

Written apart from the stripper's _icc module. The header's CMM, date, platform, device
maker and model, creator and profile ID must be zero; every tag must hold colour numbers
(its type on this reader's list), except 'desc' and 'cprt', whose text must be one of the
neutral texts the sanitizer writes.
"""

from __future__ import annotations

import struct

_NUMERIC = {
    b"curv", b"para", b"XYZ ", b"sf32", b"mft1", b"mft2", b"mAB ", b"mBA ", b"mpet", b"chrm",
    b"clro", b"sig ", b"view", b"meas", b"cicp", b"vcgt", b"ui16", b"ui32", b"ui08", b"uf32",
}  # fmt: skip
_NEUTRAL = {b"desc": "Profile", b"cprt": "None"}
_IDENTITY_FIELDS: tuple[tuple[int, int, str], ...] = (
    (4, 8, "CMM"),
    (24, 36, "date"),
    (40, 44, "platform"),
    (48, 56, "device maker and model"),
    (80, 128, "creator and profile ID"),
)


def icc_findings(profile: bytes) -> list[str]:
    if len(profile) < 132 or profile[36:40] != b"acsp":
        return ["ICC profile without a header"]
    out = [
        f"ICC header {name} is set"
        for start, end, name in _IDENTITY_FIELDS
        if profile[start:end].count(0) != end - start
    ]
    (count,) = struct.unpack_from(">I", profile, 128)
    if 132 + 12 * count > len(profile):
        return [*out, "ICC tag table runs past the profile"]
    for i in range(count):
        sig, at, size = struct.unpack_from(">4sII", profile, 132 + 12 * i)
        body = profile[at : at + size]
        if len(body) != size or size < 8:
            out.append("ICC tag runs past the profile")
        elif sig in _NEUTRAL:
            if _text(body) != _NEUTRAL[sig]:
                out.append(f"ICC {sig.decode('latin-1')} text is not neutral")
        elif body[:4] not in _NUMERIC:
            out.append(f"ICC tag {sig!r} of type {body[:4]!r} is not colour data")
    return out


def _text(body: bytes) -> str | None:
    kind = body[:4]
    if kind == b"text":
        return body[8:].split(b"\x00", 1)[0].decode("latin-1")
    if kind == b"desc" and len(body) >= 12:
        (n,) = struct.unpack_from(">I", body, 8)
        return body[12 : 12 + n].split(b"\x00", 1)[0].decode("latin-1")
    if kind == b"mluc" and len(body) >= 16:
        records, record_size = struct.unpack_from(">II", body, 8)
        texts = set()
        for r in range(records):
            at = 16 + r * record_size
            if at + 12 > len(body):
                return None
            length, offset = struct.unpack_from(">II", body, at + 4)
            texts.add(body[offset : offset + length].decode("utf-16-be", "replace"))
        return texts.pop() if len(texts) == 1 else None
    return None
