"""Which size limit applies to an upload, decided from its first bytes, never its name."""

from __future__ import annotations

from django.conf import settings

from intake.sanitize.sniff import sniff

IMAGE = "image"
AUDIO_VIDEO = "audio_video"

_IMAGE_FAMILIES = frozenset({"jpeg", "png", "gif", "webp", "tiff"})
# ISO-BMFF carries phone photos (HEIC, AVIF) as well as video: the major brand tells.
_IMAGE_BRANDS = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"}
)


def upload_kind(head: bytes) -> str | None:
    """IMAGE or AUDIO_VIDEO for supported leading bytes, None when not on the allowlist."""
    family = sniff(head)
    if family is None:
        return None
    if family in _IMAGE_FAMILIES or (family == "isobmff" and head[8:12] in _IMAGE_BRANDS):
        return IMAGE
    return AUDIO_VIDEO


def size_limit(kind: str | None) -> int:
    if kind == IMAGE:
        return int(settings.TESTIGO_MAX_IMAGE_BYTES)
    return int(settings.TESTIGO_MAX_UPLOAD_BYTES)
