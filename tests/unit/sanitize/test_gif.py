"""GIF stripping and verification."""

from __future__ import annotations

import hashlib
import io
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from intake.sanitize import sanitize
from intake.sanitize.verify import gif as gif_verifier
from tests.factories.tools import require_shared_samples

from .conftest import XMP_ARGS, Plant, ReadTags, Sanitize, check_clean, gradient, pixels


def sub_blocks(data: bytes) -> bytes:
    return (
        b"".join(
            bytes((len(data[i : i + 255]),)) + data[i : i + 255] for i in range(0, len(data), 255)
        )
        + b"\x00"
    )


def extension(label: int, data: bytes) -> bytes:
    return bytes((0x21, label)) + sub_blocks(data)


def application(identifier: bytes, data: bytes) -> bytes:
    return b"\x21\xff\x0b" + identifier + sub_blocks(data)


def comment(text: bytes) -> bytes:
    return extension(0xFE, text)


def gif_bytes(frames: int = 1, **params: Any) -> bytes:
    images = [gradient("P").rotate(90 * i) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=frames > 1, append_images=images[1:], **params)
    return out.getvalue()


def after_header(gif: bytes, *blocks: bytes) -> bytes:
    """Insert blocks right after the header, logical screen and global colour table."""
    flags = gif[10]
    at = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    return gif[:at] + b"".join(blocks) + gif[at:]


def block_kinds(data: bytes) -> list[str]:
    """The sequence of blocks after the screen: 'image', 'ext:XX' or 'app:<id>', 'trailer'."""
    flags = data[10]
    i = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    kinds = []
    while True:
        if data[i] == 0x3B:
            kinds.append("trailer")
            return kinds
        if data[i] == 0x2C:
            kinds.append("image")
            flags = data[i + 9]
            i += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0) + 1
        else:
            kinds.append(
                f"app:{data[i + 3 : i + 14].decode()}"
                if data[i + 1] == 0xFF
                else f"ext:{data[i + 1]:02X}"
            )
            i += 2
        while data[i]:
            i += data[i] + 1
        i += 1


def test_strip_comment_xmp_and_other_applications_removed(sanitized: Sanitize) -> None:
    xmp = b"<?xpacket begin=''?><x:xmpmeta><photoshop:City>CANARY</photoshop:City></x:xmpmeta>"
    planted = after_header(
        gif_bytes(),
        comment(b"CANARY comment 42.2626 N"),
        application(b"XMP DataXMP", xmp + bytes(range(255, -1, -1))),
        application(b"ICCRGBG1012", b"CANARY profile"),
        application(b"MGK8BIM0000", b"8BIM CANARY"),
        extension(0x99, b"CANARY unknown extension"),
    )

    manifest, out = sanitized(planted)

    assert manifest.status == "clean"
    assert out.lower().count(b"canary") == 0
    assert block_kinds(out) == ["image", "trailer"]
    assert [item.what for item in manifest.removed] == [
        "comment",
        "XMP",
        "ICC profile",
        "IPTC/Photoshop",
        "extension",
    ]


def test_strip_exiftool_xmp_and_comment_removed(
    sanitized: Sanitize, exiftool: Plant, read_tags: ReadTags
) -> None:
    planted = exiftool(gif_bytes(), *XMP_ARGS, "-Comment=CANARY comment", suffix=".gif")
    assert {"XMP-photoshop", "GIF"} <= {k.split(":")[0] for k in read_tags(planted)}

    _, out = sanitized(planted)

    assert {k.split(":")[0] for k in read_tags(out)} == {"GIF"}
    assert out.lower().count(b"canary") == 0
    assert pixels(out) == pixels(planted)


def test_strip_animation_loop_and_timing_kept(sanitized: Sanitize) -> None:
    original = gif_bytes(3, loop=0, duration=[100, 200, 300], comment=b"CANARY")

    manifest, out = sanitized(original)

    assert manifest.lossless is True
    assert pixels(out) == pixels(original)
    assert block_kinds(out) == [
        "app:NETSCAPE2.0",
        "ext:F9",
        "image",
        "ext:F9",
        "image",
        "ext:F9",
        "image",
        "trailer",
    ]
    with Image.open(io.BytesIO(out)) as image:
        durations = []
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            durations.append(image.info["duration"])
        assert (image.info["loop"], durations) == (0, [100, 200, 300])


def test_strip_loop_extension_buffering_hint_removed(sanitized: Sanitize) -> None:
    original = gif_bytes(2, loop=5, duration=50)
    loop = application(b"NETSCAPE2.0", b"\x01\x05\x00")
    assert loop in original
    with_hint = original.replace(
        loop, b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x05\x00\x05\x02\x00\x10\x00\x00\x00"
    )

    manifest, out = sanitized(with_hint)

    assert out == original
    assert [item.what for item in manifest.removed] == ["animation buffering hint"]


def test_strip_plain_text_removed_with_its_graphic_control(sanitized: Sanitize) -> None:
    original = gif_bytes(2, duration=70)
    plain_text = b"\x21\x01\x0c" + bytes(12) + sub_blocks(b"CANARY plain text")
    control = b"\x21\xf9\x04\x00\x99\x00\x00\x00"
    planted = after_header(original, control, plain_text)

    manifest, out = sanitized(planted)

    assert out == original
    assert [item.what for item in manifest.removed] == ["plain text"]


def test_strip_trailing_data_removed(sanitized: Sanitize) -> None:
    original = gif_bytes()

    manifest, out = sanitized(original + b"PK\x03\x04CANARY")

    assert out == original
    assert [item.what for item in manifest.removed] == ["data after trailer"]


@pytest.mark.parametrize("mode", ["P", "L", "RGB"])
def test_strip_pixels_identical(sanitized: Sanitize, mode: str) -> None:
    original = after_header(
        gif_bytes() if mode == "P" else _save_gif(gradient(mode)), comment(b"CANARY")
    )

    manifest, out = sanitized(original)

    assert (manifest.lossless, manifest.width, manifest.height) == (True, 64, 48)
    assert pixels(out) == pixels(original)


def _save_gif(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "GIF")
    return out.getvalue()


def test_strip_large_frame_sub_blocks_cross_read_blocks(sanitized: Sanitize) -> None:
    noise = hashlib.shake_256(b"noise").digest(1500 * 1000)
    original = _save_gif(Image.frombytes("L", (1500, 1000), noise))
    assert len(original) > (1 << 20)

    manifest, out = sanitized(original)

    assert out == original
    assert manifest.lossless is True


# -- hostile input ----------------------------------------------------------------------


def screen(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0)


ONE_PIXEL = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"GIF89a", "malformed"),
        (screen(65535, 65535) + ONE_PIXEL + b"\x3b", "too_large"),
        (screen(0, 10) + ONE_PIXEL + b"\x3b", "malformed"),
        (screen(1, 1) + ONE_PIXEL, "malformed"),
        (screen(1, 1) + b"\x3b", "malformed"),
        (screen(1, 1) + ONE_PIXEL[:12] + b"\x40abc", "malformed"),
        (screen(1, 1) + b"\x99" + ONE_PIXEL + b"\x3b", "malformed"),
        (
            screen(1, 1) + b"\x2c" + struct.pack("<HHHHB", 0, 0, 20000, 20000, 0) + b"\x02\x00\x3b",
            "too_large",
        ),
        (screen(1, 1) + b"\x21\xf9\x05" + bytes(6) + ONE_PIXEL + b"\x3b", "malformed"),
        (screen(1, 1) + b"\x21\xfe\x10abc", "malformed"),
        (screen(1, 1) + ONE_PIXEL * 2001 + b"\x3b", "too_large"),
    ],
    ids=[
        "signature-only",
        "huge-screen",
        "zero-screen",
        "no-trailer",
        "no-image",
        "sub-block-past-eof",
        "unknown-block",
        "huge-frame",
        "bad-graphic-control",
        "comment-past-eof",
        "frame-bomb",
    ],
)
def test_strip_hostile_bytes_rejected(sanitized: Sanitize, data: bytes, reason: str) -> None:
    manifest, out = sanitized(data)

    assert (manifest.status, manifest.reason, out) == ("rejected", reason, b"")


def test_strip_truncated_file_rejected(sanitized: Sanitize) -> None:
    original = gif_bytes(2)
    for cut in (len(original) - 1, len(original) // 2, 14):
        manifest, out = sanitized(original[:cut])
        assert (manifest.status, manifest.reason, out) == ("rejected", "malformed", b"")


# -- the independent verifier -----------------------------------------------------------


def test_verify_clean_output_has_no_findings(sanitized: Sanitize) -> None:
    _, out = sanitized(gif_bytes(3, loop=0, duration=40))

    assert gif_verifier.verify(io.BytesIO(out)) == []


@pytest.mark.parametrize(
    "tamper",
    [
        lambda gif: after_header(gif, comment(b"hello")),
        lambda gif: after_header(gif, application(b"XMP DataXMP", b"<x/>")),
        lambda gif: after_header(
            gif, application(b"NETSCAPE2.0", b"\x01\x00\x00\x02\x00\x10\x00\x00")
        ),
        lambda gif: after_header(gif, b"\x21\x01\x0c" + bytes(12) + sub_blocks(b"text")),
        lambda gif: gif + b"\x00",
        lambda gif: gif[:-1],
    ],
    ids=["comment", "xmp", "netscape-extra", "plain-text", "trailer", "truncated"],
)
def test_verify_disallowed_structure_found(
    sanitized: Sanitize, tamper: Callable[[bytes], bytes]
) -> None:
    _, out = sanitized(gif_bytes())

    assert gif_verifier.verify(io.BytesIO(tamper(out))) != []


@pytest.mark.media_tools
def test_shared_sample_clean_lossless_oriented(tmp_path: Path) -> None:
    original = require_shared_samples() / "files" / "gif_comment_xmp.gif"
    out = tmp_path / original.name

    assert sanitize(original, out).status == "clean"
    report = check_clean(out, original)
    assert (report["clean"], report["lossless"], report["orientation_ok"]) == (True, True, True), (
        report["findings"]
    )
