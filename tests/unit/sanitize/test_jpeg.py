"""JPEG stripping and verification: every trace goes, pixels and orientation stay."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageOps

from intake.sanitize import jpeg as jpeg_stripper
from intake.sanitize import sanitize, sanitize_stream
from intake.sanitize._io import CHUNK
from intake.sanitize.verify import jpeg as jpeg_verifier
from intake.sanitize.verify import scan_markers
from tests.factories.tools import require_shared_samples
from tests.unit.sanitize.icc_fixtures import large_neutral_profile, neutral_srgb

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
    metadata_groups,
    pixels,
)


def segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def after_soi(jpeg: bytes, *segments: bytes) -> bytes:
    return jpeg[:2] + b"".join(segments) + jpeg[2:]


def plain_jpeg(**params: Any) -> bytes:
    return image_bytes(gradient(), "JPEG", quality=90, **params)


def exif_tiff(entries: list[tuple[int, int, int, bytes]], extra: bytes = b"") -> bytes:
    """A big-endian TIFF structure with IFD0 entries ``(tag, type, count, 4-byte field)``."""
    ifd = struct.pack(">H", len(entries))
    for tag, kind, count, field in entries:
        ifd += struct.pack(">HHI", tag, kind, count) + field
    return b"MM\x00*" + struct.pack(">I", 8) + ifd + b"\x00\x00\x00\x00" + extra


def segments_of(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, payload) of every segment before the first scan, from a plain JPEG walk."""
    found, i = [], 2
    while data[i + 1] != 0xDA:
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        found.append((data[i + 1], data[i + 4 : i + 2 + length]))
        i += 2 + length
    return found


def assert_no_canary(data: bytes) -> None:
    assert data.lower().count(b"canary") == 0


# -- EXIF, GPS, thumbnail ---------------------------------------------------------------


def test_strip_exif_gps_identity_removed(
    sanitized: Sanitize, exiftool: Plant, read_tags: ReadTags
) -> None:
    planted = exiftool(plain_jpeg(), *GPS_ARGS, *IDENTITY_ARGS)
    assert any(k.startswith("GPS:") for k in read_tags(planted))

    manifest, out = sanitized(planted)

    assert manifest.status == "clean"
    assert metadata_groups(read_tags(out)) == {"JFIF"}
    assert_no_canary(out)
    assert [item.what for item in manifest.removed] == ["EXIF"]


def test_strip_gps_in_main_exif_and_thumbnail_removed(
    sanitized: Sanitize, exiftool: Plant, read_tags: ReadTags, tmp_path: Path
) -> None:
    thumb = exiftool(
        image_bytes(gradient(size=(16, 12)), "JPEG"), *GPS_ARGS, "-SerialNumber=CANARY-T"
    )
    thumb_path = tmp_path / "thumb.jpg"
    thumb_path.write_bytes(thumb)
    planted = exiftool(plain_jpeg(), *GPS_ARGS, f"-ThumbnailImage<={thumb_path}")
    tags = read_tags(planted)
    assert "IFD1:ThumbnailImage" in tags and "GPS:GPSLatitude" in tags

    manifest, out = sanitized(planted)

    assert manifest.status == "clean"
    assert metadata_groups(read_tags(out)) == {"JFIF"}
    assert out.count(b"\xff\xd8") == 1
    assert_no_canary(out)


def test_strip_capture_time_goes_to_manifest_not_output(
    sanitized: Sanitize, exiftool: Plant
) -> None:
    planted = exiftool(plain_jpeg(), *IDENTITY_ARGS)

    manifest, out = sanitized(planted)

    assert manifest.capture_time == "2023-07-04T13:37:42-04:00"
    assert out.count(b"2023") == 0


def test_strip_exif_with_hostile_offsets_still_removed(sanitized: Sanitize) -> None:
    # IFD0 claims 500 entries and an Exif pointer far past the segment.
    broken = b"MM\x00*" + struct.pack(">I", 8) + struct.pack(">H", 500) + b"CANARY" * 10
    manifest, out = sanitized(after_soi(plain_jpeg(), segment(0xE1, b"Exif\x00\x00" + broken)))

    assert manifest.status == "clean"
    assert manifest.orientation is None
    assert_no_canary(out)


# -- orientation ------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", [2, 3, 5, 6, 8])
def test_strip_orientation_kept_as_lone_exif_tag(
    sanitized: Sanitize, exiftool: Plant, read_tags: ReadTags, orientation: int
) -> None:
    planted = exiftool(plain_jpeg(), *GPS_ARGS, *IDENTITY_ARGS, f"-Orientation#={orientation}")

    manifest, out = sanitized(planted)

    assert manifest.orientation == orientation
    tags = read_tags(out)
    assert metadata_groups(tags) == {"JFIF", "IFD0"}
    assert [k for k in tags if k.startswith("IFD0:")] == ["IFD0:Orientation"]
    assert tags["IFD0:Orientation"] == orientation
    # The EXIF APP1 sits right after SOI/APP0.
    assert [marker for marker, _ in segments_of(out)][:2] == [0xE0, 0xE1]
    with Image.open(io.BytesIO(planted)) as before, Image.open(io.BytesIO(out)) as after:
        assert ImageOps.exif_transpose(after).size == ImageOps.exif_transpose(before).size
    assert jpeg_verifier.verify(io.BytesIO(out)) == []


def test_strip_orientation_one_writes_no_exif(sanitized: Sanitize, exiftool: Plant) -> None:
    planted = exiftool(plain_jpeg(), "-Orientation#=1")

    manifest, out = sanitized(planted)

    assert manifest.orientation == 1
    assert b"Exif" not in out


def test_strip_orientation_without_jfif_follows_soi(sanitized: Sanitize) -> None:
    exif = segment(0xE1, b"Exif\x00\x00" + exif_tiff([(0x0112, 3, 1, b"\x00\x08\x00\x00")]))
    no_jfif = plain_jpeg()[:2] + plain_jpeg()[20:]
    assert no_jfif[2:4] == b"\xff\xdb"

    manifest, out = sanitized(after_soi(no_jfif, exif))

    assert manifest.orientation == 8
    assert segments_of(out)[0][0] == 0xE1


# -- XMP, IPTC, comments, other APPn ----------------------------------------------------


def test_strip_xmp_iptc_comment_removed(
    sanitized: Sanitize, exiftool: Plant, read_tags: ReadTags
) -> None:
    planted = exiftool(
        plain_jpeg(),
        *XMP_ARGS,
        "-IPTC:City=CANARY city",
        "-IPTC:By-line=CANARY byline",
        "-Comment=CANARY comment",
    )
    assert {"XMP-photoshop", "IPTC"} <= metadata_groups(read_tags(planted))

    manifest, out = sanitized(planted)

    assert metadata_groups(read_tags(out)) == {"JFIF"}
    assert_no_canary(out)
    assert sorted(item.what for item in manifest.removed) == ["IPTC/Photoshop", "XMP", "comment"]


def test_strip_extended_xmp_across_segments_removed(sanitized: Sanitize) -> None:
    guid = b"0123456789ABCDEF0123456789ABCDEF"
    main = (
        b"http://ns.adobe.com/xap/1.0/\x00<?xpacket begin=''?><x:xmpmeta xmlns:x='adobe:ns:meta/'>"
        b"<xmpNote:HasExtendedXMP>" + guid + b"</xmpNote:HasExtendedXMP></x:xmpmeta>"
    )
    extension = b"<x:xmpmeta><photoshop:City>CANARY</photoshop:City></x:xmpmeta>" * 3000
    parts = [extension[i : i + 60000] for i in range(0, len(extension), 60000)]
    extended = [
        segment(
            0xE1,
            b"http://ns.adobe.com/xmp/extension/\x00"
            + guid
            + struct.pack(">II", len(extension), i * 60000)
            + part,
        )
        for i, part in enumerate(parts)
    ]
    assert len(extended) == 4

    manifest, out = sanitized(after_soi(plain_jpeg(), segment(0xE1, main), *extended))

    assert manifest.status == "clean"
    assert [item.what for item in manifest.removed] == ["XMP"] + ["extended XMP"] * 4
    assert_no_canary(out)
    assert b"xmpmeta" not in out


def test_strip_every_other_appn_removed(sanitized: Sanitize) -> None:
    base = plain_jpeg()
    planted = after_soi(
        base,
        *(segment(marker, b"CANARY app payload") for marker in range(0xE3, 0xF0) if marker != 0xEE),
        segment(0xEB, b"JP\x00\x01\x00\x00\x00\x01\x00\x00\x00\x20jumbc2pa CANARY"),
        segment(0xE2, b"FPXR\x00CANARY"),
        segment(0xE0, b"JFXX\x00\x10CANARY thumbnail"),
    )

    manifest, out = sanitized(planted)

    assert manifest.status == "clean"
    assert_no_canary(out)
    assert segments_of(out) == segments_of(base)
    assert "JUMBF/C2PA" in [item.what for item in manifest.removed]


def test_strip_html_comment_removed(sanitized: Sanitize) -> None:
    html = b"<html><body><script>alert('CANARY')</script></body></html>"

    manifest, out = sanitized(after_soi(plain_jpeg(), segment(0xFE, html)))

    assert manifest.status == "clean"
    assert b"<script" not in out and b"\xff\xfe" not in out
    assert [item.what for item in manifest.removed] == ["comment"]


def test_strip_jfif_thumbnail_removed(sanitized: Sanitize) -> None:
    thumbnail = bytes(range(256)) * 3  # 16x16 RGB
    jfif = b"JFIF\x00\x01\x02\x01\x00\x48\x00\x48\x10\x10" + thumbnail
    base = plain_jpeg()
    planted = base[:2] + segment(0xE0, jfif) + base[20:]

    manifest, out = sanitized(planted)

    assert segments_of(out)[0] == (0xE0, b"JFIF\x00\x01\x02\x01\x00\x48\x00\x48\x00\x00")
    assert [item.what for item in manifest.removed] == ["JFIF thumbnail"]


def test_strip_icc_and_adobe_kept(sanitized: Sanitize) -> None:
    profile = neutral_srgb()  # a profile changes how pixels look; already neutral: verbatim
    icc = segment(0xE2, b"ICC_PROFILE\x00\x01\x01" + profile)
    cmyk = image_bytes(gradient("CMYK"), "JPEG")
    assert b"Adobe" in cmyk
    planted = after_soi(cmyk, icc)

    manifest, out = sanitized(planted)

    assert manifest.status == "clean"
    kept = segments_of(out)
    assert (0xE2, b"ICC_PROFILE\x00\x01\x01" + profile) in kept
    assert [payload[:5] for marker, payload in kept if marker == 0xEE] == [b"Adobe"]
    assert pixels(out) == pixels(planted)


def test_strip_multi_segment_icc_profile_kept(sanitized: Sanitize) -> None:
    profile = large_neutral_profile()  # 100 KiB: more than one APP2 holds
    planted = image_bytes(gradient(), "JPEG", icc_profile=profile)
    assert planted.count(b"ICC_PROFILE\x00") == 2

    manifest, out = sanitized(planted)

    with Image.open(io.BytesIO(out)) as image:
        assert image.info["icc_profile"] == profile
    assert manifest.removed == []


# -- MPF, trailers and polyglots --------------------------------------------------------


def test_strip_mpf_and_secondary_image_removed(sanitized: Sanitize, exiftool: Plant) -> None:
    secondary = exiftool(image_bytes(gradient(size=(32, 24)), "JPEG"), *GPS_ARGS, "-Artist=CANARY")
    mpf = segment(
        0xE2, b"MPF\x00MM\x00*\x00\x00\x00\x08\x00\x03\xb0\x00\x00\x07\x00\x00\x00\x040100"
    )
    planted = after_soi(plain_jpeg(), mpf) + secondary

    manifest, out = sanitized(planted)

    assert manifest.status == "clean"
    assert out.count(b"\xff\xd8") == 1 and out.endswith(b"\xff\xd9")
    assert_no_canary(out)
    assert [item.what for item in manifest.removed] == ["MPF", "appended image (MPF or preview)"]


def test_strip_motion_photo_video_removed(sanitized: Sanitize) -> None:
    video = (
        struct.pack(">I", 24)
        + b"ftypmp42\x00\x00\x00\x00mp42isom"
        + b"\x00\x00\x00\x10mdatCANARYGPS!"
    )
    base = plain_jpeg()

    manifest, out = sanitized(base + video)

    assert out == sanitized(base)[1]
    assert [item.what for item in manifest.removed] == ["appended video (motion photo)"]


def test_strip_samsung_trailer_removed(sanitized: Sanitize) -> None:
    trailer = (
        b"\x00\x00\x0a\x30CANARY MotionPhoto_Data"
        + b"SEFH"
        + bytes(12)
        + struct.pack("<I", 40)
        + b"SEFT"
    )
    base = plain_jpeg()

    manifest, out = sanitized(base + trailer)

    assert out == sanitized(base)[1]
    assert [item.what for item in manifest.removed] == ["Samsung trailer"]


def test_strip_zip_polyglot_removed(sanitized: Sanitize) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("CANARY.txt", "42.2626 N 71.8023 W")
    polyglot = plain_jpeg() + archive.getvalue()
    assert zipfile.is_zipfile(io.BytesIO(polyglot))

    manifest, out = sanitized(polyglot)

    assert manifest.status == "clean"
    assert zipfile.is_zipfile(io.BytesIO(out)) is False
    assert b"PK\x03\x04" not in out and b"PK\x05\x06" not in out
    assert [item.what for item in manifest.removed] == ["appended ZIP archive"]


# -- lossless copy of coded data --------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"progressive": True},
        {"restart_marker_rows": 1},
        {"progressive": True, "restart_marker_blocks": 3},
        {"subsampling": 0, "quality": 100},
        {"optimize": True},
    ],
    ids=["baseline", "progressive", "restart", "progressive-restart", "444-q100", "optimized"],
)
def test_strip_pixels_identical(
    sanitized: Sanitize, exiftool: Plant, params: dict[str, Any]
) -> None:
    planted = exiftool(
        image_bytes(gradient(size=(200, 150)), "JPEG", **params), *GPS_ARGS, "-Comment=CANARY"
    )

    manifest, out = sanitized(planted)

    assert manifest.lossless is True
    assert (manifest.width, manifest.height, manifest.media_kind) == (200, 150, "image")
    assert pixels(out) == pixels(planted)


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_strip_pixels_identical_other_colour_modes(sanitized: Sanitize, mode: str) -> None:
    original = image_bytes(gradient(mode), "JPEG")

    manifest, out = sanitized(original)

    assert manifest.status == "clean"
    assert pixels(out) == pixels(original)


def test_strip_large_noisy_scan_copied_across_read_blocks(sanitized: Sanitize) -> None:
    noise = hashlib.shake_256(b"noise").digest(1000 * 800 * 3)
    original = image_bytes(
        Image.frombytes("RGB", (1000, 800), noise), "JPEG", quality=100, subsampling=0
    )
    assert len(original) > 2 * CHUNK

    manifest, out = sanitized(original)

    assert manifest.lossless is True
    assert out == original  # Pillow writes nothing that is dropped
    assert pixels(out) == pixels(original)


def minimal_jpeg(entropy_coded: bytes, ending: bytes = b"\xff\xd9") -> bytes:
    """A structurally complete greyscale JPEG around arbitrary entropy-coded bytes."""
    return (
        b"\xff\xd8"
        + segment(0xDB, b"\x00" + bytes(range(1, 65)))
        + segment(0xC0, b"\x08\x00\x08\x00\x08\x01\x01\x11\x00")
        + segment(0xC4, b"\x00" + b"\x01" + bytes(15) + b"\x00")
        + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + entropy_coded
        + ending
    )


@pytest.mark.parametrize(
    "entropy_coded",
    [
        b"\x12" * (CHUNK - 1) + b"\xff\x00" + b"\x34" * 10,  # stuffed 0xFF across a block edge
        b"\x12" * (CHUNK - 2) + b"\xff\xff\xff\x00" + b"\x34" * 10,  # fill run across the edge
        b"\x12" * (CHUNK - 1) + b"\xff\xd3" + b"\x34" * 10,  # RST3 across the edge
        b"\x55\xff\x00\xff\xd0\x66\xff\xd7\x77",
        b"",
    ],
    ids=["stuffed-edge", "fill-edge", "restart-edge", "restarts", "empty"],
)
def test_strip_entropy_coded_bytes_copied_exactly(entropy_coded: bytes) -> None:
    original = minimal_jpeg(entropy_coded)
    dst = io.BytesIO()

    manifest = sanitize_stream(io.BytesIO(original), dst)

    assert manifest.status == "clean"
    assert dst.getvalue() == original


def test_strip_fill_bytes_before_eoi_dropped() -> None:
    original = minimal_jpeg(b"\x12\x34", ending=b"\xff\xff\xff\xd9")
    dst = io.BytesIO()

    manifest = sanitize_stream(io.BytesIO(original), dst)

    assert manifest.status == "clean"
    assert dst.getvalue() == minimal_jpeg(b"\x12\x34")


def test_strip_comment_between_progressive_scans_removed() -> None:
    scans = segment(0xDA, b"\x01\x01\x00\x00\x3f\x00") + b"\x01\x02"
    original = minimal_jpeg(
        b"\xaa"
        + segment(0xFE, b"CANARY")
        + segment(0xC4, b"\x10\x01" + bytes(15) + b"\x05")
        + scans
    )
    dst = io.BytesIO()

    manifest = sanitize_stream(io.BytesIO(original), dst)

    assert manifest.status == "clean"
    assert dst.getvalue() == original.replace(segment(0xFE, b"CANARY"), b"")
    assert [item.what for item in manifest.removed] == ["comment"]


# -- hostile input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "unsupported_format"),
        (b"\xff", "unsupported_format"),
        (b"\xff\xd8\xff", "malformed"),
        (b"\xff\xd8\xff\xe1\xff\xff" + b"CANARY", "malformed"),  # length past the end
        (b"\xff\xd8\xff\xe0\x00\x01", "malformed"),  # length below 2
        (b"\xff\xd8\xff\xfe\x00\x04ab\x00\x00", "malformed"),  # no marker after a segment
        (b"\xff\xd8\xff\x02\x00\x04\x00\x00", "malformed"),  # reserved marker
        (b"\xff\xd8\xff\xc5\x00\x0b\x08\x00\x08\x00\x08\x01\x01\x11\x00", "unsupported_format"),
        (b"\xff\xd8\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00\xff\xd9", "malformed"),  # scan first
        (b"\xff\xd8\xff\xd9", "malformed"),  # EOI without image
    ],
    ids=[
        "empty",
        "one-byte",
        "soi-only",
        "length-past-eof",
        "length-short",
        "no-marker",
        "reserved",
        "hierarchical",
        "scan-before-frame",
        "eoi-only",
    ],
)
def test_strip_hostile_bytes_rejected(sanitized: Sanitize, data: bytes, reason: str) -> None:
    manifest, out = sanitized(data)

    assert (manifest.status, manifest.reason) == ("rejected", reason)
    assert out == b""


def test_strip_truncated_file_rejected(sanitized: Sanitize) -> None:
    original = plain_jpeg()
    for cut in (len(original) // 2, len(original) - 2, 30, 4):
        manifest, out = sanitized(original[:cut])
        assert (manifest.status, manifest.reason, out) == ("rejected", "malformed", b"")


def test_strip_missing_eoi_rejected(sanitized: Sanitize) -> None:
    manifest, _ = sanitized(plain_jpeg()[:-2])

    assert (manifest.status, manifest.reason) == ("rejected", "malformed")


@pytest.mark.parametrize(("width", "height"), [(65535, 65535), (10001, 10000)])
def test_strip_huge_dimensions_rejected(sanitized: Sanitize, width: int, height: int) -> None:
    frame = struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00"
    data = minimal_jpeg(b"\x00").replace(
        segment(0xC0, b"\x08\x00\x08\x00\x08\x01\x01\x11\x00"), segment(0xC0, frame)
    )

    manifest, _ = sanitized(data)

    assert (manifest.status, manifest.reason) == ("rejected", "too_large")


def test_strip_zero_height_rejected(sanitized: Sanitize) -> None:
    data = minimal_jpeg(b"\x00").replace(b"\x08\x00\x08\x00\x08\x01", b"\x08\x00\x00\x00\x08\x01")

    manifest, _ = sanitized(data)

    assert (manifest.status, manifest.reason) == ("rejected", "malformed")


def test_strip_second_frame_header_rejected(sanitized: Sanitize) -> None:
    frame = segment(0xC0, b"\x08\x00\x08\x00\x08\x01\x01\x11\x00")
    data = minimal_jpeg(b"\x00").replace(frame, frame + frame)

    manifest, _ = sanitized(data)

    assert (manifest.status, manifest.reason) == ("rejected", "malformed")


def test_strip_endless_segments_rejected(sanitized: Sanitize) -> None:
    data = after_soi(plain_jpeg(), *[segment(0xFE, b"x")] * (jpeg_stripper.MAX_SEGMENTS + 1))

    manifest, _ = sanitized(data)

    assert (manifest.status, manifest.reason) == ("rejected", "malformed")


def test_strip_sanitize_leaves_no_partial_file(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.jpg", tmp_path / "out.jpg"
    src.write_bytes(plain_jpeg()[:100])

    manifest = sanitize(src, dst)

    assert manifest.status == "rejected"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jpg"]


# -- the independent verifier -----------------------------------------------------------


def clean_output() -> bytes:
    dst = io.BytesIO()
    assert sanitize_stream(io.BytesIO(plain_jpeg()), dst).status == "clean"
    return dst.getvalue()


def test_verify_clean_output_has_no_findings() -> None:
    assert jpeg_verifier.verify(io.BytesIO(clean_output())) == []


@pytest.mark.parametrize(
    "extra",
    [
        segment(0xFE, b"hello"),
        segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x/>"),
        segment(0xED, b"Photoshop 3.0\x00"),
        segment(0xE2, b"MPF\x00"),
        segment(0xEB, b"JP"),
        segment(
            0xE1,
            b"Exif\x00\x00"
            + exif_tiff([(0x0112, 3, 1, b"\x00\x06\x00\x00"), (0x010F, 2, 4, b"ACME")]),
        ),
        segment(0xE1, b"Exif\x00\x00" + exif_tiff([(0x8825, 4, 1, b"\x00\x00\x00\x1a")])),
        segment(
            0xE1, b"Exif\x00\x00" + exif_tiff([(0x0112, 3, 1, b"\x00\x06\x00\x00")], extra=b"x")
        ),
        segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x01CANARY"),
    ],
    ids=["COM", "XMP", "IPTC", "MPF", "JUMBF", "EXIF-make", "EXIF-GPS", "EXIF-slack", "Adobe-long"],
)
def test_verify_disallowed_segment_found(extra: bytes) -> None:
    out = clean_output()
    tampered = out[:20] + extra + out[20:]

    assert jpeg_verifier.verify(io.BytesIO(tampered)) != []


def test_verify_minimal_orientation_exif_accepted() -> None:
    out = clean_output()
    exif = segment(0xE1, b"Exif\x00\x00" + exif_tiff([(0x0112, 3, 1, b"\x00\x06\x00\x00")]))

    assert jpeg_verifier.verify(io.BytesIO(out[:20] + exif + out[20:])) == []


def test_verify_jfif_thumbnail_found() -> None:
    out = clean_output()
    with_thumb = out[:2] + segment(0xE0, out[6:18] + b"\x01\x01" + b"\x00\x00\x00") + out[20:]

    assert jpeg_verifier.verify(io.BytesIO(with_thumb)) != []


@pytest.mark.parametrize("trailer", [b"\x00", b"PK\x03\x04", b"\xff\xd8\xff\xe0"])
def test_verify_data_after_eoi_found(trailer: bytes) -> None:
    assert jpeg_verifier.verify(io.BytesIO(clean_output() + trailer)) == [
        f"{len(trailer)} bytes after EOI"
    ]


def test_verify_truncated_output_found() -> None:
    out = clean_output()

    assert jpeg_verifier.verify(io.BytesIO(out[: len(out) // 2])) != []


# -- the generic marker scan every output goes through -----------------------------------


@pytest.mark.parametrize("at", [0, CHUNK - 5, CHUNK - 1, CHUNK, 2 * CHUNK - 3])
def test_marker_scan_finds_marker_in_any_case_across_blocks(at: int) -> None:
    data = bytearray(hashlib.shake_256(b"scan").digest(2 * CHUNK + 64))
    data[at : at + 10] = b"<X:XmpMeta"

    assert scan_markers(io.BytesIO(bytes(data))) != []


def test_marker_scan_needs_the_nul_after_photoshop() -> None:
    noise = hashlib.shake_256(b"scan").digest(4096)

    assert scan_markers(io.BytesIO(noise + b"Photoshop 3.0\x00" + noise)) != []
    assert scan_markers(io.BytesIO(noise + b"Photoshop 3.0\x01" + noise)) == []


# -- the shared real and planted samples ------------------------------------------------

SHARED_JPEGS = [
    "jpeg_gps_only_small.jpg",
    "jpeg_iptc_only_location.jpg",
    "jpeg_orient6_apple_makernote.jpg",
    "jpeg_phone_full_4032x3024.jpg",
    "jpeg_thumbnail_has_gps.jpg",
    "jpeg_xmp_only_location.jpg",
    "real/exifsamples_DSCN0010.jpg",
    "real/exifsamples_HMD_Nokia_8.3_5G.jpg",
    "real/exifsamples_portrait_6.jpg",
    "real/exiftool_t_Apple.jpg",
    "real/exiftool_t_Canon1DmkIII.jpg",
    "real/exiftool_t_GPS.jpg",
    "real/exiftool_t_GoPro.jpg",
    "real/exiftool_t_Google.jpg",
    "real/exiftool_t_MWG.jpg",
    "real/exiftool_t_Motorola.jpg",
    "real/exiftool_t_XMP.jpg",
]


@pytest.mark.media_tools
@pytest.mark.parametrize("name", SHARED_JPEGS)
def test_shared_sample_clean_lossless_oriented(tmp_path: Path, name: str) -> None:
    original = require_shared_samples() / "files" / name
    out = tmp_path / original.name

    manifest = sanitize(original, out)

    assert manifest.status == "clean"
    report = check_clean(out, original)
    assert (report["clean"], report["lossless"], report["orientation_ok"]) == (True, True, True), (
        report["findings"]
    )
