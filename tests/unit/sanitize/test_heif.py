"""HEIF and AVIF (ISO base media images): metadata items, thumbnails, gain maps and item
properties removed, pictures decoded the same; hostile item layouts refused; the verifier."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

from intake.sanitize.verify import isobmff as verify_isobmff
from tests.unit.sanitize import isobmff_fixtures as fx
from tests.unit.sanitize.isobmff_checks import (
    exif_leaks,
    raw_canaries,
    sanitize_bytes,
    sanitize_path,
)


def test_heic_exif_xmp_and_extra_image_removed(media_dir: Path, tmp_path: Path) -> None:
    import pillow_heif

    src = media_dir / "pillow.heic"
    heif = pillow_heif.from_pillow(fx.gradient((96, 64)))
    heif.add_from_pillow(fx.gradient((32, 32)))
    heif.save(src, exif=fx.pil_exif_with_gps(), xmp=fx.XMP, quality=90)
    assert exif_leaks(src) != []
    manifest, out = sanitize_path(src, tmp_path)
    assert (manifest.status, manifest.format, manifest.media_kind) == ("clean", "heic", "image")
    assert (manifest.width, manifest.height, manifest.orientation) == (96, 64, 6)
    assert manifest.lossless is True
    assert exif_leaks(out) == []
    assert raw_canaries(out.read_bytes()) == []
    assert fx.heif_pixels(out) == fx.heif_pixels(src)
    assert {r.what for r in manifest.removed} >= {"EXIF", "XMP", "item hvc1"}


def test_heic_with_alpha_keeps_alpha_plane(media_dir: Path, tmp_path: Path) -> None:
    import pillow_heif

    src = media_dir / "alpha.heic"
    pillow_heif.from_pillow(fx.gradient((48, 32), "RGBA")).save(
        src, exif=fx.pil_exif_with_gps(), quality=90
    )
    manifest, out = sanitize_path(src, tmp_path)
    assert (manifest.status, manifest.reason) == ("clean", "")
    assert fx.heif_pixels(out) == fx.heif_pixels(src)
    assert exif_leaks(out) == []


def test_avif_exif_xmp_and_item_names_removed(media_dir: Path, tmp_path: Path) -> None:
    from PIL import features

    if not features.check("avif"):
        pytest.skip("Pillow built without AVIF")
    src = media_dir / "image.avif"
    fx.gradient((64, 48)).save(src, exif=fx.pil_exif_with_gps(), xmp=fx.XMP)
    assert b"Color\x00" in src.read_bytes()
    manifest, out = sanitize_path(src, tmp_path)
    assert (manifest.status, manifest.format, manifest.media_kind) == ("clean", "avif", "image")
    assert (manifest.width, manifest.height, manifest.orientation) == (64, 48, 6)
    assert exif_leaks(out) == []
    assert raw_canaries(out.read_bytes()) == []
    assert b"Color\x00" not in out.read_bytes()
    assert fx.heif_pixels(out) == fx.heif_pixels(src)


def test_avif_item_name_only_pads_handler_to_keep_size(media_dir: Path, tmp_path: Path) -> None:
    from PIL import features

    if not features.check("avif"):
        pytest.skip("Pillow built without AVIF")
    src = media_dir / "plain.avif"
    fx.gradient((64, 48)).save(src)
    # Emptying the 5-byte item name "Color" leaves no room for a free box after meta.
    manifest, out = sanitize_path(src, tmp_path)
    assert (manifest.status, manifest.reason, manifest.removed) == ("clean", "", [])
    data = out.read_bytes()
    assert len(data) == src.stat().st_size
    hdlr = data.index(b"hdlr") - 4
    assert struct.unpack_from(">I", data, hdlr)[0] == 33 + 5
    assert fx.heif_pixels(out) == fx.heif_pixels(src)


def test_hand_built_heic_thumbnail_gainmap_and_metadata_items_removed(
    media_dir: Path, tmp_path: Path
) -> None:
    src = media_dir / "built.heic"
    src.write_bytes(fx.hand_built_heic(media_dir))
    manifest, out = sanitize_path(src, tmp_path)
    assert (manifest.status, manifest.reason) == ("clean", "")
    assert raw_canaries(out.read_bytes()) == []
    assert exif_leaks(out) == []
    assert fx.heif_pixels(out) == fx.heif_pixels(src)
    removed = sorted((r.where, r.what) for r in manifest.removed if r.where.startswith("meta/item"))
    assert removed == [
        ("meta/item 2", "thumbnail"),
        ("meta/item 3", "item hvc1"),
        ("meta/item 4", "EXIF"),
        ("meta/item 5", "XMP"),
        ("meta/item 6", "uri item"),
        ("meta/item 7", "item hvc1"),
    ]
    properties = {r.what for r in manifest.removed if r.where == "meta/iprp/ipco"}
    assert {"auxC", "udes"} <= properties
    # irot 1 = a quarter turn anticlockwise = EXIF orientation 8, whatever Exif said (6).
    assert manifest.orientation == 8
    assert manifest.capture_time == "2023-07-04T13:37:42-04:00"
    assert (manifest.width, manifest.height) == (64, 48)


def test_heic_unknown_essential_property_rejected(media_dir: Path) -> None:
    odd = fx.box(b"xyzw", b"CANARY")
    manifest, out = sanitize_bytes(fx.hand_built_heic(media_dir, (True, odd)))
    assert (manifest.status, manifest.reason) == ("rejected", "unsupported_format")
    assert out == b""


def test_heic_unknown_optional_property_dropped(media_dir: Path) -> None:
    odd = fx.box(b"xyzw", b"CANARY")
    manifest, out = sanitize_bytes(fx.hand_built_heic(media_dir, (False, odd)))
    assert (manifest.status, manifest.reason) == ("clean", "")
    assert b"xyzw" not in out


def test_hostile_heic_item_outside_file_rejected(media_dir: Path) -> None:
    data = bytearray(fx.hand_built_heic(media_dir))
    iloc = data.index(b"iloc")
    # First extent offset of item 1: iloc v1 header (4+2+2) then id, method, dref, count.
    struct.pack_into(">I", data, iloc + 4 + 8 + 8, len(data) + 10)
    manifest, _out = sanitize_bytes(bytes(data))
    assert (manifest.status, manifest.reason) == ("rejected", "malformed")


def test_heic_primary_extent_covering_exif_rejected(media_dir: Path) -> None:
    data = bytearray(fx.hand_built_heic(media_dir))
    iloc = data.index(b"iloc")
    # Stretch the primary item's single extent over every item after it (Exif included).
    struct.pack_into(">I", data, iloc + 4 + 8 + 12, len(data) - struct.unpack_from(
        ">I", data, iloc + 4 + 8 + 8)[0])  # fmt: skip
    manifest, _out = sanitize_bytes(bytes(data))
    assert (manifest.status, manifest.reason) == ("rejected", "unsafe_content")


def test_hostile_heic_missing_primary_rejected(media_dir: Path) -> None:
    data = bytearray(fx.hand_built_heic(media_dir))
    pitm = data.index(b"pitm")
    struct.pack_into(">H", data, pitm + 8, 99)
    manifest, _out = sanitize_bytes(bytes(data))
    assert (manifest.status, manifest.reason) == ("rejected", "malformed")


def test_verifier_flags_heif_exif_item(media_dir: Path) -> None:
    findings = verify_isobmff.verify(io.BytesIO(fx.hand_built_heic(media_dir)))
    text = "\n".join(findings)
    assert "item 4 of type Exif" in text
    assert "item reference thmb is not allowed" in text
    assert "item property udes is not allowed" in text
    assert "handler name is not empty" in text


def test_heic_hvcc_property_sei_user_data_removed(media_dir: Path, tmp_path: Path) -> None:
    # A camera's HEVC configuration record carrying SEI user data (GPS, serial) as a prefix
    # SEI array: the property is rebuilt without it; the picture decodes the same.
    primary, props = fx.coded_item(fx.gradient((64, 48)), media_dir, "sei.heic")
    hvcc = next(p for p in props if p[4:8] == b"hvcC")
    payload = bytes.fromhex("086f3693b7b34f2c965321492feee5b8") + b"CANARY GPS 42.2626N SN-4242"
    sei = bytes((39 << 1, 1, 5, len(payload))) + payload + b"\x80"
    record = bytearray(hvcc[8:])
    record[22] += 1  # one more array: prefix SEI, one NAL unit
    record += bytes((39,)) + (1).to_bytes(2, "big") + len(sei).to_bytes(2, "big") + sei
    planted = [fx.box(b"hvcC", bytes(record)) if p is hvcc else p for p in props]
    src = media_dir / "sei-built.heic"
    items = [fx.HeifItem(1, b"hvc1", primary, [(True, p) for p in planted])]
    src.write_bytes(fx.heif(items, primary=1, refs=[]))
    manifest, out = sanitize_path(src, tmp_path)
    assert (manifest.status, manifest.reason) == ("clean", "")
    assert raw_canaries(out.read_bytes()) == []
    removed = [(r.where, r.what) for r in manifest.removed if "user data" in r.what]
    assert removed == [("meta/iprp/ipco/hvcC", "unregistered user data")]
    assert fx.heif_pixels(out) == fx.heif_pixels(src)
