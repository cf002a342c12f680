"""The minimal-EXIF check the JPEG, PNG and WebP verifiers share.

The only EXIF a sanitized image may hold is the one the strippers write: IFD0 with the
Orientation tag alone. Written apart from the strippers' EXIF code, like every verifier.
"""

from __future__ import annotations

from typing import Literal

_ORIENTATION = 0x0112


def minimal_orientation_exif_findings(blob: bytes) -> list[str]:
    """Findings unless ``blob`` is a TIFF structure with IFD0 holding exactly one Orientation
    entry (SHORT, 1..8), no next IFD and no byte beyond that."""
    if len(blob) != 26:
        return [f"EXIF is {len(blob)} bytes, not a lone Orientation entry"]
    order: Literal["little", "big"]
    if blob[:4] == b"II*\x00":
        order = "little"
    elif blob[:4] == b"MM\x00*":
        order = "big"
    else:
        return ["EXIF without TIFF header"]

    def number(start: int, width: int) -> int:
        return int.from_bytes(blob[start : start + width], order)

    findings = []
    if number(4, 4) != 8:
        findings.append("EXIF IFD0 not right after the header")
    if number(8, 2) != 1:
        findings.append("EXIF IFD0 holds more than Orientation")
    if number(10, 2) != _ORIENTATION or number(12, 2) != 3 or number(14, 4) != 1:
        findings.append("EXIF entry is not a single SHORT Orientation")
    if not 1 <= number(18, 2) <= 8 or blob[20:22] != b"\x00\x00":
        findings.append("EXIF Orientation value invalid")
    if number(22, 4) != 0:
        findings.append("EXIF has a further IFD")
    return findings
