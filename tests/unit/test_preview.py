from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from intake.pipeline import Preview, preview_make
from intake.preview import preview_draft
from tests.factories import jpeg_with_gps


def test_preview_of_image_is_small_jpeg_without_metadata(tmp_path: Path) -> None:
    source = tmp_path / "photo.jpg"
    source.write_bytes(jpeg_with_gps(size=(1200, 900)))
    preview = preview_make(kind="image", source=source, workdir=tmp_path).path
    assert preview is not None
    with Image.open(preview) as image:
        assert (image.format, image.size) == ("JPEG", (480, 360))
        assert image.getexif() == {}
    assert b"CANARY" not in preview.read_bytes()


@pytest.mark.parametrize(
    ("size", "decoded"),
    [((4032, 3024), (504, 378)), ((1440, 1920), (360, 480)), ((4608, 1976), (576, 247))],
)
def test_preview_draft_decodes_jpeg_at_the_smallest_scale_covering_the_preview(
    size: tuple[int, int], decoded: tuple[int, int]
) -> None:
    # Asked for the square box (480 x 480), each of these decodes at twice this scale.
    with Image.open(io.BytesIO(jpeg_with_gps(size=size))) as image:
        preview_draft(image)
        assert image.size == decoded


def test_preview_applies_orientation(tmp_path: Path) -> None:
    source = tmp_path / "portrait.jpg"
    source.write_bytes(jpeg_with_gps(size=(120, 80), orientation=6))
    preview = preview_make(kind="image", source=source, workdir=tmp_path).path
    assert preview is not None
    with Image.open(preview) as image:
        assert image.size == (80, 120)


def _png_bomb(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_preview_of_decompression_bomb_fails_without_harm(tmp_path: Path) -> None:
    source = tmp_path / "bomb.png"
    source.write_bytes(_png_bomb(20000, 20000))
    assert preview_make(kind="image", source=source, workdir=tmp_path) == Preview(None)


def test_preview_of_audio_is_not_made(tmp_path: Path) -> None:
    source = tmp_path / "a.mp3"
    source.write_bytes(b"ID3")
    assert preview_make(kind="audio", source=source, workdir=tmp_path) == Preview(None)


def test_preview_of_garbage_labelled_image_fails_without_harm(tmp_path: Path) -> None:
    source = tmp_path / "x.jpg"
    source.write_bytes(io.BytesIO(b"\xff\xd8\xff" + b"\x00" * 100).getvalue())
    assert preview_make(kind="image", source=source, workdir=tmp_path) == Preview(None)
