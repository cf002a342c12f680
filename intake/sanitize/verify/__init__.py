"""The independent re-scan. Each family has its own reader here, written apart from the
stripper, that accepts only the structures it knows to be harmless; the generic byte scan
below runs over every output as well (families.verify runs both). Any finding means the
output is not published.
"""

from __future__ import annotations

import io
from typing import Any, BinaryIO, cast

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


def _marker_characters(markers: tuple[bytes, ...]) -> bytes:
    """A translate table: 0x61 for bytes a marker can be made of (either case), else 0."""
    chars = set()
    for marker in markers:
        for c in marker.rstrip(b"\x00"):
            chars.add(c)
            if 0x61 <= c <= 0x7A:
                chars.add(c - 0x20)
    return bytes(0x61 if b in chars else 0 for b in range(256))


# Searching every marker through every block costs one pass per marker, more than all the
# rest of sanitizing a photo. Instead one translate pass marks bytes that can belong to a
# marker, and only runs of them at least as long as the shortest marker are searched. A
# marker's bytes (bar a trailing NUL, checked as the byte after the run) all lie in such a
# run, so the findings are the same as searching the whole block.
_RUN_MARKERS = tuple(m for m in FORBIDDEN_MARKERS if b"\x00" not in m.rstrip(b"\x00"))
_WHOLE_BLOCK_MARKERS = tuple(m for m in FORBIDDEN_MARKERS if m not in _RUN_MARKERS)
_MARKER_CHARS = _marker_characters(_RUN_MARKERS)
_SHORTEST_RUN = b"a" * min(len(m.rstrip(b"\x00")) for m in _RUN_MARKERS)


def scan_markers(f: BinaryIO, digest: Any = None) -> list[str]:
    overlap = max(len(m) for m in FORBIDDEN_MARKERS) - 1
    findings: list[str] = []
    # One buffer for the whole scan: the last ``overlap`` bytes of each window are moved to
    # its front and the next block is read in after them, so a marker across two blocks is
    # whole in the second window (no fresh block and no joined copy per read).
    buffer = bytearray(overlap + CHUNK)
    kept = 0
    offset = 0
    with memoryview(buffer) as view:
        # Every stream the sanitizer gets (file, BytesIO) has readinto; BinaryIO omits it.
        while n := cast(io.BufferedIOBase, f).readinto(view[kept:]):
            size = kept + n
            if digest is not None:
                digest.update(view[kept:size])
            window = buffer if size == len(buffer) else bytes(view[:size])
            findings += _window_findings(window, offset)
            kept = min(size, overlap)
            buffer[:kept] = buffer[size - kept : size]
            offset += n
    return sorted(set(findings))


def _window_findings(window: bytes | bytearray, offset: int) -> list[str]:
    findings: list[str] = []
    candidates = window.translate(_MARKER_CHARS)
    start = candidates.find(_SHORTEST_RUN)
    while start != -1:
        end = candidates.find(b"\x00", start)
        end = len(window) if end == -1 else end
        text = window[start : end + 1].lower()
        for marker in _RUN_MARKERS:
            if marker in text:
                findings.append(f"marker {marker!r} near offset {offset}")
        start = candidates.find(_SHORTEST_RUN, end)
    if _WHOLE_BLOCK_MARKERS:
        lowered = window.lower()
        for marker in _WHOLE_BLOCK_MARKERS:
            if marker in lowered:
                findings.append(f"marker {marker!r} near offset {offset}")
    return findings
