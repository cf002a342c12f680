"""Build the only EXIF the sanitizer ever writes: IFD0 holding the Orientation tag alone.

Stripping EXIF would otherwise lose how a phone photo should be turned for display. Written
here once so the JPEG, PNG and WebP strippers emit identical bytes; nothing here parses input.
"""

from __future__ import annotations

import struct

ORIENTATION_TAG = 0x0112
_SHORT = 3


def orientation_tiff(orientation: int) -> bytes:
    """A little-endian TIFF structure: header, IFD0 with one Orientation entry, no next IFD."""
    if not 1 <= orientation <= 8:
        raise ValueError(f"orientation out of range: {orientation}")
    return struct.pack(
        "<2sHIHHHIHHI",
        b"II",
        42,
        8,  # IFD0 follows the header directly
        1,  # one entry
        ORIENTATION_TAG,
        _SHORT,
        1,
        orientation,
        0,  # value field padding
        0,  # no next IFD: no thumbnail
    )
