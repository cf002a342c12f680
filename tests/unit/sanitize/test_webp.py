"""WebP stripping and verification."""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageOps

from intake.sanitize import sanitize
from intake.sanitize._exif import orientation_tiff
from intake.sanitize.verify import webp as webp_verifier
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

XMP = b"<?xpacket begin=''?><x:xmpmeta><photoshop:City>CANARY</photoshop:City></x:xmpmeta>"


def riff_chunk(fourcc: bytes, data: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(data)) + data + b"\x00" * (len(data) & 1)


def chunks_of(data: bytes, start: int = 12, end: int | None = None) -> list[tuple[bytes, bytes]]:
    end = len(data) if end is None else end
    found, i = [], start
    while i < end:
        size = struct.unpack("<I", data[i + 4 : i + 8])[0]
        found.append((data[i : i + 4], data[i + 8 : i + 8 + size]))
        i += 8 + size + (size & 1)
    return found


def fourccs(data: bytes) -> list[bytes]:
    return [kind for kind, _ in chunks_of(data)]


def with_riff_size(body: bytes) -> bytes:
    """Fix the RIFF size after chunks were spliced in."""
    return b"RIFF" + struct.pack("<I", len(body) - 8) + body[8:]


def append_chunks(webp: bytes, *chunks: bytes) -> bytes:
    return with_riff_size(webp + b"".join(chunks))


def exif_blob(orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    exif[0x010F] = "CANARY make"
    exif[0x8825] = {1: "N", 2: (42.0, 15.0, 45.36), 3: "W", 4: (71.0, 48.0, 8.28)}
    return exif.tobytes()


def webp_bytes(mode: str = "RGB", **params: Any) -> bytes:
    return image_bytes(gradient(mode), "WEBP", **params)


def vp8x_flags(data: bytes) -> int:
    assert data[12:16] == b"VP8X"
    return data[20]


@pytest.mark.parametrize("lossless", [False, True], ids=["lossy", "lossless"])
def test_strip_exif_and_xmp_chunks_removed(sanitized: Sanitize, lossless: bool) -> None:
    planted = webp_bytes(lossless=lossless, exif=exif_blob(), xmp=XMP)
    assert {b"EXIF", b"XMP "} <= set(fourccs(planted))

    manifest, out = sanitized(planted)

    assert manifest.status == "clean"
    assert fourccs(out) == [b"VP8X", b"VP8L" if lossless else b"VP8 "]
    assert vp8x_flags(out) == 0
    assert out.lower().count(b"canary") == 0
    assert [item.what for item in manifest.removed] == ["EXIF", "XMP"]
    assert pixels(out) == pixels(planted)


def test_strip_exiftool_gps_and_xmp_removed(
    sanitized: Sanitize, exiftool: Plant, read_tags: ReadTags
) -> None:
    planted = exiftool(webp_bytes(), *GPS_ARGS, *IDENTITY_ARGS, *XMP_ARGS, suffix=".webp")
    assert any(k.startswith("GPS:") for k in read_tags(planted))

    manifest, out = sanitized(planted)

    assert {k.split(":")[0] for k in read_tags(out)} == {"RIFF"}
    assert out.lower().count(b"canary") == 0
    assert manifest.capture_time == "2023-07-04T13:37:42-04:00"
    assert pixels(out) == pixels(planted)


def test_strip_riff_size_fixed_and_trailer_removed(sanitized: Sanitize) -> None:
    planted = (
        append_chunks(webp_bytes(exif=exif_blob()), riff_chunk(b"ZZZZ", b"CANARY"))
        + b"PK\x03\x04CANARY"
    )

    manifest, out = sanitized(planted)

    assert struct.unpack("<I", out[4:8])[0] == len(out) - 8
    assert out.lower().count(b"canary") == 0
    assert [item.what for item in manifest.removed] == ["EXIF", "chunk ZZZZ", "data after RIFF"]


def test_strip_simple_file_with_stray_chunks_cleaned(sanitized: Sanitize) -> None:
    simple = webp_bytes()
    assert fourccs(simple) == [b"VP8 "]
    planted = append_chunks(simple, riff_chunk(b"EXIF", exif_blob(6)[6:]), riff_chunk(b"XMP ", XMP))

    manifest, out = sanitized(planted)

    assert out == simple
    assert manifest.orientation is None


def test_strip_icc_profile_and_alpha_kept(sanitized: Sanitize) -> None:
    profile = neutral_srgb()
    translucent = gradient("RGBA")
    translucent.putalpha(gradient("L"))
    original = image_bytes(translucent, "WEBP", icc_profile=profile, lossless=True)
    planted = append_chunks(original, riff_chunk(b"XMP ", XMP))

    _, out = sanitized(planted)

    assert out == original
    assert vp8x_flags(out) & 0x30 == 0x30  # ICC and alpha
    with Image.open(io.BytesIO(out)) as image:
        assert image.info["icc_profile"] == profile


def test_strip_repeated_icc_profile_dropped(sanitized: Sanitize) -> None:
    original = webp_bytes(icc_profile=neutral_srgb())
    icc_at = original.index(b"ICCP")
    icc = original[icc_at : icc_at + 8 + len(neutral_srgb())]
    planted = with_riff_size(original[: icc_at + len(icc)] + icc + original[icc_at + len(icc) :])

    manifest, out = sanitized(planted)

    assert out == original
    assert [item.what for item in manifest.removed] == ["chunk ICCP"]


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_strip_orientation_kept_as_lone_exif(
    sanitized: Sanitize, read_tags: ReadTags, orientation: int
) -> None:
    planted = webp_bytes(exif=exif_blob(orientation), xmp=XMP)

    manifest, out = sanitized(planted)

    assert manifest.orientation == orientation
    assert fourccs(out) == [b"VP8X", b"VP8 ", b"EXIF"]
    assert vp8x_flags(out) == 0x08
    assert dict(chunks_of(out))[b"EXIF"] == orientation_tiff(orientation)
    tags = read_tags(out)
    assert [k for k in tags if not k.startswith("RIFF:")] == ["IFD0:Orientation"]
    with Image.open(io.BytesIO(planted)) as before, Image.open(io.BytesIO(out)) as after:
        assert ImageOps.exif_transpose(after).size == ImageOps.exif_transpose(before).size
    assert out.count(b"CANARY") == 0


def animated(frames: int = 3, **params: Any) -> bytes:
    images = [gradient("RGBA").rotate(45 * i) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(
        out, "WEBP", save_all=True, append_images=images[1:], duration=80, loop=3, **params
    )
    return out.getvalue()


def test_strip_animation_frames_kept_metadata_removed(sanitized: Sanitize) -> None:
    original = animated(3)
    planted = append_chunks(animated(3, exif=exif_blob(6), xmp=XMP))

    manifest, out = sanitized(planted)

    assert fourccs(out) == [b"VP8X", b"ANIM", b"ANMF", b"ANMF", b"ANMF", b"EXIF"]
    assert vp8x_flags(out) == vp8x_flags(original) | 0x08
    assert pixels(out) == pixels(original)
    assert manifest.lossless is True
    with Image.open(io.BytesIO(out)) as image:
        assert (getattr(image, "n_frames", 1), image.info["loop"]) == (3, 3)


def test_strip_unknown_chunk_inside_frame_removed(sanitized: Sanitize) -> None:
    original = animated(2)
    frame_at = original.index(b"ANMF")
    size = struct.unpack("<I", original[frame_at + 4 : frame_at + 8])[0]
    extra = riff_chunk(b"ZZZZ", b"CANARY!")
    frame = (
        b"ANMF"
        + struct.pack("<I", size + len(extra))
        + original[frame_at + 8 : frame_at + 8 + size]
        + extra
    )
    planted = with_riff_size(original[:frame_at] + frame + original[frame_at + 8 + size :])

    manifest, out = sanitized(planted)

    assert out == original
    assert [item.what for item in manifest.removed] == ["chunk ZZZZ"]


# -- hostile input ----------------------------------------------------------------------


def vp8x(flags: int, width: int, height: int) -> bytes:
    return riff_chunk(
        b"VP8X",
        bytes((flags, 0, 0, 0))
        + (width - 1).to_bytes(3, "little")
        + (height - 1).to_bytes(3, "little"),
    )


def riff(*chunks: bytes) -> bytes:
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def bitstream() -> bytes:
    return riff_chunk(b"VP8L", chunks_of(webp_bytes(lossless=True))[0][1])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"RIFF\x04\x00\x00\x00WEBP", "malformed"),
        (b"RIFF\xff\xff\x00\x00WEBP" + bitstream(), "malformed"),
        (riff(vp8x(0, 16384, 16384), bitstream()), "too_large"),
        (riff(riff_chunk(b"VP8 ", b"\x00" * 10)), "malformed"),
        (riff(riff_chunk(b"VP8L", b"\x2f\xff\xff\xff\xff")), "too_large"),
        (riff(riff_chunk(b"ICCP", b"x"), bitstream()), "malformed"),
        (riff(vp8x(0, 1, 1)), "malformed"),
        (riff(vp8x(0, 1, 1), b"VP8L\xff\xff\x00\x00abc"), "malformed"),
        (riff(vp8x(0, 1, 1), b"VP8"), "malformed"),
        (
            riff(vp8x(2, 1, 1), riff_chunk(b"ANIM", bytes(6)), riff_chunk(b"ANMF", bytes(8))),
            "malformed",
        ),
        (riff(vp8x(2, 1, 1), *[riff_chunk(b"ANMF", bytes(16) + bitstream())] * 2001), "too_large"),
    ],
    ids=[
        "no-chunks",
        "riff-past-eof",
        "huge-canvas",
        "bad-vp8-header",
        "huge-vp8l",
        "unknown-first",
        "no-bitstream",
        "chunk-past-eof",
        "truncated-header",
        "short-frame",
        "frame-bomb",
    ],
)
def test_strip_hostile_bytes_rejected(sanitized: Sanitize, data: bytes, reason: str) -> None:
    manifest, out = sanitized(data)

    assert (manifest.status, manifest.reason, out) == ("rejected", reason, b"")


def test_strip_truncated_file_rejected(sanitized: Sanitize) -> None:
    original = webp_bytes(exif=exif_blob())
    for cut in (len(original) - 1, len(original) // 2, 20):
        manifest, out = sanitized(original[:cut])
        assert (manifest.status, manifest.reason, out) == ("rejected", "malformed", b"")


# -- the independent verifier -----------------------------------------------------------


def test_verify_clean_output_has_no_findings(sanitized: Sanitize) -> None:
    _, out = sanitized(animated(2, exif=exif_blob(6)))

    assert webp_verifier.verify(io.BytesIO(out)) == []


@pytest.mark.parametrize(
    "tamper",
    [
        lambda w: append_chunks(w, riff_chunk(b"XMP ", b"<x/>")),
        lambda w: append_chunks(w, riff_chunk(b"EXIF", exif_blob(6)[6:])),
        lambda w: append_chunks(w, riff_chunk(b"ZZZZ", b"hi")),
        lambda w: w[:20] + bytes((w[20] | 0x04,)) + w[21:],
        lambda w: w + b"\x00\x00",
        lambda w: w[:4] + struct.pack("<I", len(w)) + w[8:],
    ],
    ids=["xmp", "exif-gps", "unknown", "xmp-flag", "trailer", "riff-size"],
)
def test_verify_disallowed_structure_found(
    sanitized: Sanitize, tamper: Callable[[bytes], bytes]
) -> None:
    _, out = sanitized(webp_bytes(icc_profile=neutral_srgb()))

    assert webp_verifier.verify(io.BytesIO(out)) == []
    assert webp_verifier.verify(io.BytesIO(tamper(out))) != []


def test_verify_simple_file_with_extra_chunk_found() -> None:
    assert (
        webp_verifier.verify(io.BytesIO(append_chunks(webp_bytes(), riff_chunk(b"ICCP", b"x" * 4))))
        != []
    )


@pytest.mark.media_tools
def test_shared_sample_clean_lossless_oriented(tmp_path: Path) -> None:
    original = require_shared_samples() / "files" / "webp_lossy_exif_xmp.webp"
    out = tmp_path / original.name

    assert sanitize(original, out).status == "clean"
    report = check_clean(out, original)
    assert (report["clean"], report["lossless"], report["orientation_ok"]) == (True, True, True), (
        report["findings"]
    )
