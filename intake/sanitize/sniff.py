"""Decide a file's container family from its first bytes, never from its name."""

from __future__ import annotations

from typing import Literal

HEAD_SIZE = 64

# The container families we sanitize: the one list of them. FAMILIES in families.py maps
# each to its stripper and its verifier; a manifest names one of these or a refinement of it
# (manifest.Format).
Family = Literal[
    "jpeg",
    "png",
    "gif",
    "webp",
    "tiff",
    "isobmff",
    "matroska",
    "mp3",
    "ogg",
    "flac",
    "wav",
    "amr",
]


def sniff(head: bytes) -> Family | None:
    """Return the family for these leading bytes, or None when it is not on the allowlist."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in (b"RIFF", b"RF64", b"BW64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[4:8] == b"ftyp":
        return "isobmff"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"#!AMR"):
        return "amr"
    if head.startswith(b"ID3") or _is_mpeg_audio_frame(head):
        return "mp3"
    return None


def _is_mpeg_audio_frame(head: bytes) -> bool:
    """An MPEG-1/2 Layer III frame header: sync bits, layer III, valid bitrate and rate."""
    if len(head) < 4 or head[0] != 0xFF or (head[1] & 0xE0) != 0xE0:
        return False
    version = (head[1] >> 3) & 0x3
    layer = (head[1] >> 1) & 0x3
    bitrate_index = head[2] >> 4
    rate_index = (head[2] >> 2) & 0x3
    return version != 1 and layer == 1 and bitrate_index not in (0, 15) and rate_index != 3
