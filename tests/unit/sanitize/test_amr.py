from __future__ import annotations

import hashlib
import io
import time
from pathlib import Path

import pytest

from intake.sanitize import errors, sanitize_stream
from intake.sanitize.verify import amr as verify_amr
from tests.unit.sanitize.av_fixtures import decode_errors, id3v1_tag, media_tools, sanitize_to

_NB_SIZES = {7: 32, 8: 6, 15: 1}  # frame type -> total bytes (12.2 kbit/s, SID, NO_DATA)
_WB_SIZES = {8: 61, 9: 6, 15: 1}  # 23.85 kbit/s, SID, NO_DATA


def _frames(sizes: dict[int, int], count: int) -> bytes:
    out = b""
    for index in range(count):
        frame_type = list(sizes)[index % len(sizes)]
        header = (frame_type << 3) | 0x04  # quality bit set, padding bits zero
        payload = hashlib.sha256(index.to_bytes(4, "big")).digest() * 2  # varied, repeatable
        out += bytes((header,)) + payload[: sizes[frame_type] - 1]
    return out


def _amr_nb(count: int = 150) -> bytes:
    return b"#!AMR\n" + _frames(_NB_SIZES, count)


def _amr_wb(count: int = 150) -> bytes:
    return b"#!AMR-WB\n" + _frames(_WB_SIZES, count)


@pytest.mark.parametrize("make", [_amr_nb, _amr_wb])
def test_amr_valid_file_copied_unchanged(make: object) -> None:
    data = make()  # type: ignore[operator]
    dst = io.BytesIO()

    manifest = sanitize_stream(io.BytesIO(data), dst)

    assert manifest.status == "clean"
    assert (manifest.format, manifest.media_kind, manifest.lossless) == ("amr", "audio", True)
    assert manifest.duration_s == 3.0
    assert manifest.removed == []
    assert dst.getvalue() == data


@media_tools
def test_amr_output_decodes(tmp_path: Path) -> None:
    src = tmp_path / "in.amr"
    src.write_bytes(b"#!AMR\n" + _frames({7: 32}, 100))  # speech only: SID is not decodable

    manifest, out = sanitize_to(src, tmp_path)

    assert manifest.status == "clean"
    assert decode_errors(out) == ""


def test_amr_long_run_of_empty_frames_fast() -> None:
    # DTX silence is NO_DATA frames: one byte each, so a byte-per-frame loop would crawl.
    data = b"#!AMR-WB\n" + b"\x7c\x74" * 2_500_000 + _frames(_WB_SIZES, 3)
    dst = io.BytesIO()

    started = time.monotonic()
    manifest = sanitize_stream(io.BytesIO(data), dst)

    assert manifest.status == "clean"
    assert manifest.duration_s == 100_000.06
    assert time.monotonic() - started < 5


def test_amr_appended_tag_rejected() -> None:
    manifest = sanitize_stream(io.BytesIO(_amr_nb() + id3v1_tag()), io.BytesIO())

    assert (manifest.status, manifest.reason) == ("rejected", errors.MALFORMED)


def test_amr_truncated_last_frame_rejected() -> None:
    manifest = sanitize_stream(io.BytesIO(_amr_nb()[:-5]), io.BytesIO())

    assert (manifest.status, manifest.reason) == ("rejected", errors.MALFORMED)


@pytest.mark.parametrize("header", [0x80, 0x4D, 0x3C | 0x01, 0x60])  # P bit, padding, reserved
def test_amr_invalid_frame_header_rejected(header: int) -> None:
    data = _amr_nb(10) + bytes((header,)) + bytes(40)

    manifest = sanitize_stream(io.BytesIO(data), io.BytesIO())

    assert (manifest.status, manifest.reason) == ("rejected", errors.MALFORMED)


@pytest.mark.parametrize("content", [b"#!AMR\n", b"#!AMR", b"#!AMR_MC1.0\n\x00\x00\x00\x01"])
def test_amr_empty_or_multichannel_rejected(content: bytes) -> None:
    manifest = sanitize_stream(io.BytesIO(content), io.BytesIO())

    assert manifest.status == "rejected"


def test_amr_verifier_flags_trailing_bytes() -> None:
    assert verify_amr.verify(io.BytesIO(_amr_wb())) == []
    assert verify_amr.verify(io.BytesIO(_amr_wb() + b"TAG")) == ["invalid AMR frame header at 3409"]
