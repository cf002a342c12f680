"""A 64-bit difference hash of an image, for near-duplicate suggestions between reports.

Computed on the sanitized file only, in the preview child (intake/preview.py) from the
same decode as the preview: a decode costs memory and time an anonymous upload must not
take from the worker. Two photos of one scene re-encoded or resized differ in a few bits;
unrelated photos differ in about half.
"""

from __future__ import annotations

from typing import IO

from PIL import Image

HASH_SIZE = 8


def dhash(stream: IO[bytes]) -> str:
    """The hash of an image file. Decodes it: the pipeline calls dhash_image from the
    resource-limited preview child (intake/preview.py) instead, never this."""
    with Image.open(stream) as image:
        image.draft("L", (HASH_SIZE * 4, HASH_SIZE * 4))  # JPEG: decode small, fast
        return dhash_image(image)


def dhash_image(image: Image.Image) -> str:
    """The hash of an image already open (a preview-sized copy is as good as the whole)."""
    small = image.convert("L").resize((HASH_SIZE + 1, HASH_SIZE), Image.Resampling.LANCZOS)
    pixels = list(small.tobytes())  # mode L: one byte per pixel
    bits = 0
    for row in range(HASH_SIZE):
        for col in range(HASH_SIZE):
            left = pixels[row * (HASH_SIZE + 1) + col]
            right = pixels[row * (HASH_SIZE + 1) + col + 1]
            bits = (bits << 1) | (left > right)
    return f"{bits:016x}"


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()
