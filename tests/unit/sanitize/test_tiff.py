"""TIFF stripping and verification."""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageOps

from intake.sanitize import sanitize
from intake.sanitize.verify import tiff as tiff_verifier
from tests.factories.tools import require_shared_samples
from tests.unit.sanitize.icc_fixtures import neutral_srgb

from .conftest import (
    GPS_ARGS,
    IDENTITY_ARGS,
    XMP_ARGS,
    Plant,
    ReadTags,
    Sanitize,
    check_clean,
    gradient,
    image_bytes,
    pixels,
)

IDENTITY_TAGS = {
    270: "CANARY description",
    271: "CANARY make",
    272: "CANARY model",
    305: "CANARY software",
    306: "2023:07:04 13:37:42",
    315: "CANARY artist",
    316: "CANARY host",
    33432: "CANARY copyright",
}
STRUCTURE_GROUPS = {"IFD0"}


def tiff_bytes(mode: str = "RGB", **params: Any) -> bytes:
    return image_bytes(gradient(mode), "TIFF", **params)


def ifd0_tags(data: bytes) -> list[int]:
    order = "<" if data[:2] == b"II" else ">"
    offset = struct.unpack(order + "I", data[4:8])[0]
    count = struct.unpack(order + "H", data[offset : offset + 2])[0]
    return [
        struct.unpack(order + "H", data[offset + 2 + 12 * i : offset + 4 + 12 * i])[0]
        for i in range(count)
    ]


def test_strip_identity_tags_removed(sanitized: Sanitize, read_tags: ReadTags) -> None:
    planted = tiff_bytes(tiffinfo=IDENTITY_TAGS)

    manifest, out = sanitized(planted)

    assert manifest.status == "clean"
    assert out.lower().count(b"canary") == 0
    assert {k.split(":")[0] for k in read_tags(out)} == STRUCTURE_GROUPS
    assert sorted(item.what for item in manifest.removed) == sorted(
        [
            "ImageDescription",
            "Make",
            "Model",
            "Software",
            "DateTime",
            "Artist",
            "HostComputer",
            "Copyright",
        ]
    )
    assert pixels(out) == pixels(planted)


def test_strip_exif_gps_iptc_xmp_removed(
    sanitized: Sanitize, exiftool: Plant, read_tags: ReadTags
) -> None:
    planted = exiftool(
        tiff_bytes(),
        *GPS_ARGS,
        *IDENTITY_ARGS,
        *XMP_ARGS,
        "-IPTC:City=CANARY city",
        suffix=".tif",
    )
    groups = {k.split(":")[0] for k in read_tags(planted)}
    assert {"GPS", "ExifIFD", "IPTC", "XMP-photoshop"} <= groups

    manifest, out = sanitized(planted)

    assert {k.split(":")[0] for k in read_tags(out)} == STRUCTURE_GROUPS
    assert out.lower().count(b"canary") == 0
    assert manifest.capture_time == "2023-07-04T13:37:42-04:00"
    assert {"EXIF IFD", "GPS IFD", "IPTC", "XMP"} <= {item.what for item in manifest.removed}
    assert pixels(out) == pixels(planted)


@pytest.mark.parametrize(
    "compression", ["raw", "tiff_lzw", "tiff_adobe_deflate", "packbits", "jpeg"]
)
def test_strip_pixels_identical_per_compression(sanitized: Sanitize, compression: str) -> None:
    original = tiff_bytes(compression=compression, tiffinfo={315: "CANARY"})

    manifest, out = sanitized(original)

    assert (manifest.status, manifest.lossless) == ("clean", True)
    assert (manifest.width, manifest.height) == (64, 48)
    assert pixels(out) == pixels(original)


@pytest.mark.parametrize(
    ("mode", "params"),
    [
        ("I;16B", {}),  # written big-endian: the byte order must survive with the samples
        ("I;16", {}),
        ("1", {"compression": "group4"}),
        ("P", {}),
        ("CMYK", {}),
        ("RGBA", {"compression": "tiff_lzw"}),
        ("F", {}),
    ],
    ids=["16-bit-big-endian", "16-bit", "bilevel-g4", "palette", "cmyk", "rgba-lzw", "float"],
)
def test_strip_pixels_identical_per_mode(
    sanitized: Sanitize, mode: str, params: dict[str, Any]
) -> None:
    original = tiff_bytes(mode, tiffinfo={315: "CANARY"}, **params)

    manifest, out = sanitized(original)

    assert manifest.status == "clean"
    assert out[:2] == original[:2]
    assert pixels(out) == pixels(original)


def test_strip_many_strips_copied(sanitized: Sanitize) -> None:
    original = image_bytes(gradient(size=(64, 480)), "TIFF", compression="tiff_lzw", strip_size=512)
    assert ifd0_tags(original).count(273) == 1

    manifest, out = sanitized(original)

    assert manifest.status == "clean"
    assert pixels(out) == pixels(original)


def tiled_tiff(order: str = "<") -> bytes:
    """A hand-built 40x24 RGB TIFF in four uncompressed 32x16 tiles, with an Artist tag."""
    image = gradient(size=(40, 24))
    tiles = []
    for ty in (0, 16):
        for tx in (0, 32):
            tile = Image.new("RGB", (32, 16))
            tile.paste(image.crop((tx, ty, tx + 32, ty + 16)))
            tiles.append(tile.tobytes())
    artist = b"CANARY artist\x00"
    entries = [
        (256, 3, 1, 40),
        (257, 3, 1, 24),
        (258, 3, 3, None),
        (259, 3, 1, 1),
        (262, 3, 1, 2),
        (277, 3, 1, 3),
        (315, 2, len(artist), None),
        (322, 3, 1, 32),
        (323, 3, 1, 16),
        (324, 4, 4, None),
        (325, 4, 4, None),
    ]
    ifd_size = 2 + 12 * len(entries) + 4
    bits_at = 8 + ifd_size
    artist_at = bits_at + 6
    offsets_at = artist_at + len(artist)
    counts_at = offsets_at + 16
    data_at = counts_at + 16
    pointers = {258: bits_at, 315: artist_at, 324: offsets_at, 325: counts_at}
    out = (b"II*\x00" if order == "<" else b"MM\x00*") + struct.pack(order + "I", 8)
    out += struct.pack(order + "H", len(entries))
    for tag, kind, count, value in entries:
        if value is None:
            out += struct.pack(order + "HHII", tag, kind, count, pointers[tag])
        else:
            out += struct.pack(order + "HHIHH", tag, kind, count, value, 0)
    out += b"\x00\x00\x00\x00"
    out += struct.pack(order + "HHH", 8, 8, 8) + artist
    out += struct.pack(order + "4I", *(data_at + i * len(tiles[0]) for i in range(4)))
    out += struct.pack(order + "4I", *(len(t) for t in tiles))
    return out + b"".join(tiles)


@pytest.mark.parametrize("order", ["<", ">"], ids=["little-endian", "big-endian"])
def test_strip_tiled_image_copied(sanitized: Sanitize, order: str) -> None:
    original = tiled_tiff(order)
    with Image.open(io.BytesIO(original)) as image:
        assert image.size == (40, 24)

    manifest, out = sanitized(original)

    assert manifest.status == "clean"
    assert out.count(b"CANARY") == 0
    assert 315 not in ifd0_tags(out) and 322 in ifd0_tags(out)
    assert pixels(out) == pixels(original)


def test_strip_further_pages_removed(sanitized: Sanitize) -> None:
    pages = [gradient(), gradient("RGB", (32, 32)), gradient("RGB", (16, 16))]
    stream = io.BytesIO()
    pages[0].save(stream, "TIFF", save_all=True, append_images=pages[1:])
    original = stream.getvalue()

    manifest, out = sanitized(original)

    with Image.open(io.BytesIO(out)) as image:
        assert (getattr(image, "n_frames", 1), image.size) == (1, (64, 48))
    assert pixels(out)[2] == pixels(original)[2][:1]
    assert "further IFDs (thumbnail, pages)" in [item.what for item in manifest.removed]


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_strip_orientation_tag_kept(
    sanitized: Sanitize, read_tags: ReadTags, orientation: int
) -> None:
    planted = tiff_bytes(tiffinfo={274: orientation, 315: "CANARY"})

    manifest, out = sanitized(planted)

    assert manifest.orientation == orientation
    assert read_tags(out)["IFD0:Orientation"] == orientation
    with Image.open(io.BytesIO(planted)) as before, Image.open(io.BytesIO(out)) as after:
        assert ImageOps.exif_transpose(after).size == ImageOps.exif_transpose(before).size


def test_strip_invalid_orientation_dropped(sanitized: Sanitize) -> None:
    manifest, out = sanitized(tiff_bytes(tiffinfo={274: 9}))

    assert manifest.orientation is None
    assert 274 not in ifd0_tags(out)


def test_strip_output_bytes_all_accounted_for(sanitized: Sanitize) -> None:
    _, out = sanitized(tiff_bytes(tiffinfo=IDENTITY_TAGS, icc_profile=neutral_srgb()))

    assert tiff_verifier.verify(io.BytesIO(out)) == []
    assert 34675 in ifd0_tags(out)


# -- hostile input ----------------------------------------------------------------------


def tiny_tiff(overrides: dict[int, int] | None = None) -> bytes:
    """A 2x2 8-bit greyscale TIFF with one strip; ``overrides`` replace entry values."""
    values = {256: 2, 257: 2, 258: 8, 259: 1, 262: 1, 273: 0, 277: 1, 278: 2, 279: 4}
    values.update(overrides or {})
    data_at = 8 + 2 + 12 * len(values) + 4
    values[273] = values[273] or data_at
    out = b"II*\x00" + struct.pack("<IH", 8, len(values))
    for tag, value in sorted(values.items()):
        kind = 4 if tag in (256, 257, 273, 278, 279) else 3
        out += struct.pack("<HHII", tag, kind, 1, value)
    return out + b"\x00\x00\x00\x00" + b"\x10\x20\x30\x40"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"II*\x00", "malformed"),
        (b"II*\x00\xff\xff\xff\x7f", "malformed"),
        (b"II*\x00\x08\x00\x00\x00\xff\xff", "malformed"),
        (tiny_tiff({256: 100_000, 257: 100_000}), "too_large"),
        (tiny_tiff({256: 0}), "malformed"),
        (tiny_tiff({273: 0x7FFFFFF0}), "malformed"),
        (tiny_tiff({279: 0x7FFFFFF0}), "malformed"),
        (tiny_tiff({278: 1}), "malformed"),  # two strips needed, one given
        (tiny_tiff({259: 34712}), "unsupported_format"),
        (tiny_tiff({259: 6}), "unsupported_format"),
        (tiny_tiff({257: 1_000_000, 256: 10, 278: 1}), "too_large"),
        (tiny_tiff()[:-3], "malformed"),
    ],
    ids=[
        "header-only",
        "ifd-past-eof",
        "entries-past-eof",
        "huge",
        "zero-width",
        "strip-past-eof",
        "count-past-eof",
        "strip-count-mismatch",
        "jpeg2000",
        "old-jpeg",
        "strip-bomb",
        "truncated-data",
    ],
)
def test_strip_hostile_bytes_rejected(sanitized: Sanitize, data: bytes, reason: str) -> None:
    manifest, out = sanitized(data)

    assert (manifest.status, manifest.reason, out) == ("rejected", reason, b"")


def test_strip_tiny_tiff_accepted(sanitized: Sanitize) -> None:
    manifest, out = sanitized(tiny_tiff())

    assert manifest.status == "clean"
    with Image.open(io.BytesIO(out)) as image:
        assert image.tobytes() == b"\x10\x20\x30\x40"


def test_strip_jpeg_strip_with_app_segment_rejected(sanitized: Sanitize) -> None:
    original = tiff_bytes(compression="jpeg")
    strip_at = original.index(b"\xff\xd8\xff", 8)
    app1 = b"\xff\xe1\x00\x0aCANARY\x00\x00"
    # Same length: the APP1 replaces bytes inside the strip's header area.
    planted = original[: strip_at + 2] + app1 + original[strip_at + 2 + len(app1) :]

    manifest, out = sanitized(planted)

    assert (manifest.status, manifest.reason, out) == ("rejected", "unsafe_content", b"")


def test_strip_truncated_file_rejected(sanitized: Sanitize) -> None:
    original = tiff_bytes(tiffinfo=IDENTITY_TAGS)
    for cut in (len(original) - 1, len(original) // 2, 12):
        manifest, out = sanitized(original[:cut])
        assert (manifest.status, manifest.reason, out) == ("rejected", "malformed", b"")


# -- the independent verifier -----------------------------------------------------------


def test_verify_clean_output_has_no_findings(sanitized: Sanitize) -> None:
    _, out = sanitized(tiled_tiff(">"))

    assert tiff_verifier.verify(io.BytesIO(out)) == []


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t + b"CANARY",
        lambda t: t.replace(struct.pack("<HHI", 262, 3, 1), struct.pack("<HHI", 315, 3, 1)),
        lambda t: t.replace(struct.pack("<HHI", 262, 3, 1), struct.pack("<HHI", 274, 3, 1)),
    ],
    ids=["trailer", "artist", "orientation-out-of-range"],
)
def test_verify_disallowed_structure_found(
    sanitized: Sanitize, tamper: Callable[[bytes], bytes]
) -> None:
    _, out = sanitized(tiny_tiff())

    assert tiff_verifier.verify(io.BytesIO(tamper(out))) != []


def test_verify_second_ifd_found(sanitized: Sanitize) -> None:
    _, out = sanitized(tiny_tiff())
    count = struct.unpack("<H", out[8:10])[0]
    next_at = 10 + 12 * count
    with_next = out[:next_at] + struct.pack("<I", 8) + out[next_at + 4 :]

    assert tiff_verifier.verify(io.BytesIO(with_next)) == ["a second IFD follows IFD0"]


def test_verify_unreferenced_bytes_found(sanitized: Sanitize) -> None:
    _, out = sanitized(tiff_bytes())
    count = struct.unpack("<H", out[8:10])[0]
    end_of_ifd = 10 + 12 * count + 4
    # Shift everything after the IFD by 8 bytes of hidden text, fixing no offsets.
    hidden = out[:end_of_ifd] + b"CANARY!!" + out[end_of_ifd:]

    assert tiff_verifier.verify(io.BytesIO(hidden)) != []


@pytest.mark.media_tools
def test_shared_sample_clean_lossless_oriented(tmp_path: Path) -> None:
    original = require_shared_samples() / "files" / "tiff_exif_gps_iptc_xmp.tif"
    out = tmp_path / original.name

    assert sanitize(original, out).status == "clean"
    report = check_clean(out, original)
    assert (report["clean"], report["lossless"], report["orientation_ok"]) == (True, True, True), (
        report["findings"]
    )
