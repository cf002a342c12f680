"""PNG and APNG stripping and verification."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageOps, PngImagePlugin

from intake.sanitize import sanitize
from intake.sanitize._exif import orientation_tiff
from intake.sanitize.verify import png as png_verifier
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


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def chunks_of(data: bytes) -> list[tuple[bytes, bytes]]:
    found, i = [], 8
    while i < len(data):
        length = struct.unpack(">I", data[i : i + 4])[0]
        found.append((data[i + 4 : i + 8], data[i + 8 : i + 8 + length]))
        i += 12 + length
    return found


def kinds_of(data: bytes) -> list[bytes]:
    return [kind for kind, _ in chunks_of(data)]


def insert_before_idat(png: bytes, *extra: bytes) -> bytes:
    at = png.index(b"IDAT") - 4
    return png[:at] + b"".join(extra) + png[at:]


def before_iend(png: bytes, *extra: bytes) -> bytes:
    return png[:-12] + b"".join(extra) + png[-12:]


def exif_blob(orientation: int | None = None, gps: bool = True) -> bytes:
    """EXIF as Pillow writes it for JPEG: "Exif\\0\\0" then the TIFF structure."""
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    exif[0x010F] = "CANARY make"
    if gps:
        exif[0x8825] = {1: "N", 2: (42.0, 15.0, 45.36), 3: "W", 4: (71.0, 48.0, 8.28)}
    return exif.tobytes()


def plain_png(mode: str = "RGB", **params: Any) -> bytes:
    return image_bytes(gradient(mode), "PNG", **params)


def test_strip_text_exif_time_removed(
    sanitized: Sanitize, exiftool: Plant, read_tags: ReadTags
) -> None:
    planted = exiftool(
        plain_png(),
        *GPS_ARGS,
        *IDENTITY_ARGS,
        *XMP_ARGS,
        "-PNG:Author=CANARY author",
        "-PNG:Comment=CANARY comment",
        "-PNG:ModifyDate=2023:07:04 13:37:42",
        suffix=".png",
    )
    assert {b"eXIf", b"iTXt", b"tEXt", b"tIME"} <= set(kinds_of(planted))

    manifest, out = sanitized(planted)

    assert manifest.status == "clean"
    assert kinds_of(out) == [b"IHDR", b"IDAT", b"IEND"]
    assert out.lower().count(b"canary") == 0
    assert {k.split(":")[0] for k in read_tags(out)} == {"PNG"}
    assert manifest.capture_time == "2023-07-04T13:37:42-04:00"
    assert pixels(out) == pixels(planted)


def test_strip_compressed_text_and_raw_profile_removed(sanitized: Sanitize) -> None:
    raw_profile = b"\nexif\n      20\n" + exif_blob().hex().encode()
    planted = insert_before_idat(
        plain_png(),
        chunk(b"zTXt", b"Raw profile type exif\x00\x00" + zlib.compress(raw_profile)),
        chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"CANARY 42.2626 N")),
        chunk(
            b"iTXt", b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + zlib.compress(b"<x:xmpmeta>CANARY")
        ),
    )

    manifest, out = sanitized(planted)

    assert kinds_of(out) == [b"IHDR", b"IDAT", b"IEND"]
    assert [item.what for item in manifest.removed] == ["compressed text"] * 2 + [
        "international text"
    ]


def test_strip_unknown_ancillary_chunks_and_trailer_removed(sanitized: Sanitize) -> None:
    planted = (
        before_iend(
            insert_before_idat(
                plain_png(), chunk(b"caBX", b"jumbc2paCANARY"), chunk(b"orNT", b"\x06")
            ),
            chunk(b"zzZz", b"CANARY"),
            chunk(b"bKGD", b"\x00\x01\x00\x02\x00\x03"),
        )
        + b"PK\x03\x04CANARY trailing archive"
    )

    manifest, out = sanitized(planted)

    assert manifest.status == "clean"
    assert kinds_of(out) == [b"IHDR", b"IDAT", b"IEND"]
    assert [item.what for item in manifest.removed] == [
        "C2PA manifest",
        "orNT",
        "zzZz",
        "bKGD",
        "data after IEND",
    ]


def test_strip_colour_and_palette_chunks_kept(sanitized: Sanitize) -> None:
    palette = gradient("P")
    planted = image_bytes(
        palette, "PNG", transparency=3, dpi=(300, 300), icc_profile=neutral_srgb()
    )
    planted = insert_before_idat(
        planted, chunk(b"gAMA", struct.pack(">I", 45455)), chunk(b"sBIT", b"\x08\x08\x08")
    )

    manifest, out = sanitized(planted)

    assert manifest.removed == []
    assert out == planted
    assert pixels(out) == pixels(planted)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "I;16", "1"])
def test_strip_pixels_identical(sanitized: Sanitize, mode: str) -> None:
    original = insert_before_idat(plain_png(mode), chunk(b"tEXt", b"Author\x00CANARY"))

    manifest, out = sanitized(original)

    assert (manifest.lossless, manifest.width, manifest.height) == (True, 64, 48)
    assert pixels(out) == pixels(original)


def test_strip_interlaced_and_split_idat_copied_exactly(sanitized: Sanitize) -> None:
    original = plain_png()
    body = b"".join(data for kind, data in chunks_of(original) if kind == b"IDAT")
    split = original[:33] + b"".join(
        chunk(b"IDAT", body[i : i + 100]) for i in range(0, len(body), 100)
    )
    split += chunk(b"IEND", b"")

    manifest, out = sanitized(split)

    assert out == split
    assert manifest.removed == []


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_strip_orientation_kept_as_lone_exif(
    sanitized: Sanitize, read_tags: ReadTags, orientation: int
) -> None:
    planted = plain_png(exif=exif_blob(orientation))

    manifest, out = sanitized(planted)

    assert manifest.orientation == orientation
    kinds = kinds_of(out)
    assert kinds == [b"IHDR", b"eXIf", b"IDAT", b"IEND"]
    tags = read_tags(out)
    assert [k for k in tags if not k.startswith("PNG:")] == ["IFD0:Orientation"]
    assert tags["IFD0:Orientation"] == orientation
    with Image.open(io.BytesIO(planted)) as before, Image.open(io.BytesIO(out)) as after:
        assert ImageOps.exif_transpose(after).size == ImageOps.exif_transpose(before).size
    assert out.count(b"CANARY") == 0


def test_strip_orientation_one_writes_no_exif(sanitized: Sanitize) -> None:
    manifest, out = sanitized(plain_png(exif=exif_blob(1)))

    assert manifest.orientation == 1
    assert b"eXIf" not in kinds_of(out)


def test_strip_exif_with_jpeg_prefix_read(sanitized: Sanitize) -> None:
    planted = insert_before_idat(plain_png(), chunk(b"eXIf", exif_blob(6)))
    assert exif_blob(6).startswith(b"Exif\x00\x00")

    manifest, out = sanitized(planted)

    assert manifest.orientation == 6
    assert b"eXIf" in kinds_of(out)


def apng(frames: int = 3, **params: Any) -> bytes:
    images = [gradient("RGBA").rotate(30 * i) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(
        out,
        "PNG",
        save_all=True,
        append_images=images[1:],
        duration=[100, 200, 300][:frames],
        **params,
    )
    return out.getvalue()


def test_strip_apng_frames_kept_metadata_removed(sanitized: Sanitize) -> None:
    original = apng(3, loop=2)
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "CANARY")
    planted = insert_before_idat(original, chunk(b"tEXt", b"Author\x00CANARY"))

    manifest, out = sanitized(planted)

    assert (manifest.format, manifest.status) == ("apng", "clean")
    assert out == original
    assert pixels(out) == pixels(original)
    with Image.open(io.BytesIO(out)) as image:
        assert (getattr(image, "n_frames", 1), image.info["loop"]) == (3, 2)


# -- hostile input ----------------------------------------------------------------------


def ihdr(width: int, height: int) -> bytes:
    return chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))


SIG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (SIG, "malformed"),
        (SIG + ihdr(10, 10)[:10], "malformed"),
        (SIG + ihdr(20000, 20000) + chunk(b"IDAT", b"") + chunk(b"IEND", b""), "too_large"),
        (SIG + ihdr(0, 10) + chunk(b"IDAT", b"") + chunk(b"IEND", b""), "malformed"),
        (SIG + chunk(b"IDAT", b"") + chunk(b"IEND", b""), "malformed"),
        (SIG + ihdr(1, 1) + struct.pack(">I", 0x7FFFFFF0) + b"IDAT" + b"x" * 20, "malformed"),
        (SIG + ihdr(1, 1) + struct.pack(">I", 0xFFFFFFFF) + b"IDAT", "malformed"),
        (SIG + ihdr(1, 1) + chunk(b"IDAT", b"x")[:-1] + b"!" + chunk(b"IEND", b""), "malformed"),
        (
            SIG + ihdr(1, 1) + chunk(b"CgBI", b"\x00") + chunk(b"IDAT", b"") + chunk(b"IEND", b""),
            "unsupported_format",
        ),
        (SIG + ihdr(1, 1) + chunk(b"I\x00AT", b"") + chunk(b"IEND", b""), "malformed"),
        (SIG + ihdr(1, 1) + chunk(b"IEND", b""), "malformed"),
        (SIG + ihdr(1, 1) + ihdr(1, 1) + chunk(b"IDAT", b"") + chunk(b"IEND", b""), "malformed"),
        (
            SIG + ihdr(1, 1) + chunk(b"acTL", struct.pack(">II", 5000, 0)) + chunk(b"IEND", b""),
            "too_large",
        ),
    ],
    ids=[
        "signature-only",
        "truncated-ihdr",
        "huge",
        "zero-width",
        "no-ihdr",
        "length-past-eof",
        "length-overflow",
        "bad-crc",
        "unknown-critical",
        "bad-type",
        "no-idat",
        "two-ihdr",
        "frame-bomb",
    ],
)
def test_strip_hostile_bytes_rejected(sanitized: Sanitize, data: bytes, reason: str) -> None:
    manifest, out = sanitized(data)

    assert (manifest.status, manifest.reason, out) == ("rejected", reason, b"")


def test_strip_too_many_frame_controls_rejected(sanitized: Sanitize) -> None:
    control = chunk(b"fcTL", bytes(26))
    data = SIG + ihdr(1, 1) + chunk(b"IDAT", b"") + control * 2001 + chunk(b"IEND", b"")

    manifest, _ = sanitized(data)

    assert (manifest.status, manifest.reason) == ("rejected", "too_large")


def test_strip_truncated_file_rejected(sanitized: Sanitize) -> None:
    original = plain_png()
    for cut in (len(original) - 1, len(original) // 2, 20):
        manifest, out = sanitized(original[:cut])
        assert (manifest.status, manifest.reason, out) == ("rejected", "malformed", b"")


# -- the independent verifier -----------------------------------------------------------


def test_verify_clean_output_has_no_findings(sanitized: Sanitize) -> None:
    _, out = sanitized(plain_png(exif=exif_blob(6)))

    assert png_verifier.verify(io.BytesIO(out)) == []


@pytest.mark.parametrize(
    "tamper",
    [
        lambda png: insert_before_idat(png, chunk(b"tEXt", b"Comment\x00hello")),
        lambda png: insert_before_idat(png, chunk(b"eXIf", exif_blob(6)[6:])),
        lambda png: before_iend(png, chunk(b"eXIf", orientation_tiff(6))),
        lambda png: insert_before_idat(png, chunk(b"pHYs", bytes(10))),
        lambda png: insert_before_idat(png, chunk(b"gAMA", bytes(4))[:-1] + b"!"),
        lambda png: png + b"\x00",
        lambda png: png[:-12],
        lambda png: png[:8] + png[33:],
    ],
    ids=[
        "text",
        "exif-gps",
        "exif-after-idat",
        "long-phys",
        "bad-crc",
        "trailer",
        "no-iend",
        "no-ihdr",
    ],
)
def test_verify_disallowed_structure_found(
    sanitized: Sanitize, tamper: Callable[[bytes], bytes]
) -> None:
    _, out = sanitized(plain_png())

    assert png_verifier.verify(io.BytesIO(tamper(out))) != []


@pytest.mark.media_tools
def test_shared_sample_clean_lossless_oriented(tmp_path: Path) -> None:
    original = require_shared_samples() / "files" / "png_exif_chunk_xmp_text.png"
    out = tmp_path / original.name

    assert sanitize(original, out).status == "clean"
    report = check_clean(out, original)
    assert (report["clean"], report["lossless"], report["orientation_ok"]) == (True, True, True), (
        report["findings"]
    )
