"""The FAMILIES registry: each container family we sanitize, its stripper and its verifier.

Every module is imported by name, so grep and mypy find who calls ``jpeg.strip``. sniff()
names the family; sanitize_stream() strips with ``FAMILIES[family].strip`` and judges the
output with ``verify()``. A stripper imports no other family's module, and verify/ imports
no stripper: what formats share lives in the underscore modules (_exif, _id3, _vorbis,
_dates, _io). tests/unit/sanitize/test_layout.py holds both rules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, BinaryIO, Final, NamedTuple, TypeGuard

from . import amr, flac, gif, isobmff, jpeg, matroska, mp3, ogg, png, tiff, wav, webp
from .context import StripContext
from .sniff import Family
from .verify import amr as verify_amr
from .verify import flac as verify_flac
from .verify import gif as verify_gif
from .verify import isobmff as verify_isobmff
from .verify import jpeg as verify_jpeg
from .verify import matroska as verify_matroska
from .verify import mp3 as verify_mp3
from .verify import ogg as verify_ogg
from .verify import png as verify_png
from .verify import scan_markers
from .verify import tiff as verify_tiff
from .verify import wav as verify_wav
from .verify import webp as verify_webp

# Writes the cleaned copy of ``src`` to ``dst`` and reports what it removed into the context.
Strip = Callable[[BinaryIO, BinaryIO, StripContext], None]
# Findings, empty when clean, for a stripped output; written apart from the stripper.
Verify = Callable[[BinaryIO], list[str]]


class Handlers(NamedTuple):
    strip: Strip
    verify: Verify


FAMILIES: Final[dict[Family, Handlers]] = {
    "jpeg": Handlers(jpeg.strip, verify_jpeg.verify),
    "png": Handlers(png.strip, verify_png.verify),
    "gif": Handlers(gif.strip, verify_gif.verify),
    "webp": Handlers(webp.strip, verify_webp.verify),
    "tiff": Handlers(tiff.strip, verify_tiff.verify),
    "isobmff": Handlers(isobmff.strip, verify_isobmff.verify),
    "matroska": Handlers(matroska.strip, verify_matroska.verify),
    "mp3": Handlers(mp3.strip, verify_mp3.verify),
    "ogg": Handlers(ogg.strip, verify_ogg.verify),
    "flac": Handlers(flac.strip, verify_flac.verify),
    "wav": Handlers(wav.strip, verify_wav.verify),
    "amr": Handlers(amr.strip, verify_amr.verify),
}


def verify(family: str, f: BinaryIO, digest: Any = None) -> list[str]:
    """Return findings (empty when clean) for the sanitized output ``f``: the family's own
    reader, then the marker scan over every byte. With ``digest`` (a hashlib object), the
    output is hashed in the same pass as the marker scan."""
    if not _is_family(family):
        return [f"no verifier for {family}"]
    f.seek(0)
    findings = FAMILIES[family].verify(f)
    f.seek(0)
    findings += scan_markers(f, digest)
    f.seek(0)
    return findings


def _is_family(name: str) -> TypeGuard[Family]:
    return name in FAMILIES
