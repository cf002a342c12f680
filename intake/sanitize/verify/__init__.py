"""The independent re-scan. Each family has its own reader here, written apart from the
stripper, that accepts only the structures it knows to be harmless; a generic byte scan
runs over every output as well. Any finding means the output is not published.
"""

from __future__ import annotations

import importlib
from typing import BinaryIO, Protocol

from .._io import CHUNK

# Markers of metadata that must never survive, long enough not to occur by chance in coded
# data. Lower-case comparisons; the scan lower-cases each chunk.
FORBIDDEN_MARKERS = (
    b"<x:xmpmeta",
    b"<?xpacket",
    b"ns.adobe.com/xap/1.0",
    b"ns.adobe.com/photoshop",
    b"iptc4xmpcore",
    b"iptc4xmpext",
    b"exif:gpslatitude",
    b"gpslatitude",
    b"com.apple.quicktime.location",
    b"photoshop 3.0\x00",
    b"http://ns.google.com/photos",
)


class _Verifier(Protocol):
    def verify(self, f: BinaryIO) -> list[str]: ...


def verify(family: str, f: BinaryIO) -> list[str]:
    """Return findings (empty when clean) for the sanitized output ``f``."""
    reader: _Verifier = importlib.import_module(f"{__name__}.{family}")
    f.seek(0)
    findings = reader.verify(f)
    f.seek(0)
    findings += scan_markers(f)
    f.seek(0)
    return findings


def scan_markers(f: BinaryIO) -> list[str]:
    overlap = max(len(m) for m in FORBIDDEN_MARKERS) - 1
    findings: list[str] = []
    tail = b""
    offset = 0
    while block := f.read(CHUNK):
        window = (tail + block).lower()
        for marker in FORBIDDEN_MARKERS:
            if marker in window:
                findings.append(f"marker {marker!r} near offset {offset}")
        tail = window[-overlap:]
        offset += len(block)
    return sorted(set(findings))
