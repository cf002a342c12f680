"""Byte-level mutations of real media, shared by the property tests and the fuzz bench."""

from __future__ import annotations

KINDS = ("flip", "truncate", "insert", "zero", "duplicate", "ff")


def mutate_at(out: bytearray, kind: str, at: int, length: int, fill: int) -> None:
    """Apply one mutation of ``kind`` at offset ``at`` (within ``out``) in place."""
    if kind == "flip":
        for i in range(at, min(at + length, len(out))):
            out[i] ^= fill or 0xFF
    elif kind == "truncate":
        del out[max(at, 1) :]
    elif kind == "insert":
        out[at:at] = bytes([fill]) * length
    elif kind == "zero":
        out[at : at + length] = bytes(len(out[at : at + length]))
    elif kind == "duplicate":
        out[at:at] = out[at : at + length * 16]
    else:
        out[at : at + length] = b"\xff" * len(out[at : at + length])
