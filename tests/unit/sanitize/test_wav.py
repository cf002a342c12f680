from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from intake.sanitize import errors, sanitize, sanitize_stream
from intake.sanitize.verify import wav as verify_wav
from tests.unit.sanitize.av_fixtures import (
    CANARY,
    check_clean,
    decode_errors,
    ffmpeg,
    id3v1_tag,
    id3v2_tag,
    leaks,
    media_tools,
    packet_md5,
    sanitize_to,
    shared_sample,
)


def _chunk(chunk_id: bytes, body: bytes) -> bytes:
    return chunk_id + len(body).to_bytes(4, "little") + body + (b"\x00" if len(body) & 1 else b"")


def _riff(*chunks: bytes) -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + len(body).to_bytes(4, "little") + body


def _fmt_pcm(channels: int = 1, rate: int = 8000, bits: int = 8) -> bytes:
    align = channels * bits // 8
    return _chunk(
        b"fmt ",
        (1).to_bytes(2, "little")
        + channels.to_bytes(2, "little")
        + rate.to_bytes(4, "little")
        + (rate * align).to_bytes(4, "little")
        + align.to_bytes(2, "little")
        + bits.to_bytes(2, "little"),
    )


def _chunks(data: bytes) -> list[tuple[bytes, int]]:
    """(id, stated size) of every chunk after the RIFF/RF64 header."""
    found = []
    pos = 12
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        found.append((data[pos : pos + 4], size))
        if size == 0xFFFFFFFF:
            break
        pos += 8 + size + (size & 1)
    return found


def _ffmpeg_wav(directory: Path, *extra: str) -> Path:
    out = directory / "in.wav"
    ffmpeg(
        "-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-write_bext", "1",
        "-metadata", f"originator={CANARY} OWNER", "-metadata", "origination_date=2023-07-04",
        "-metadata", "origination_time=13:37:42", "-metadata", "description=at 42.2626,-71.8023",
        "-metadata", f"artist={CANARY} ARTIST", "-metadata", f"comment={CANARY} 42.2626",
        *extra, out,
    )  # fmt: skip
    return out


@media_tools
def test_wav_list_info_and_bext_removed_samples_identical(tmp_path: Path) -> None:
    src = _ffmpeg_wav(tmp_path)
    assert leaks(src) != []

    manifest, out = sanitize_to(src, tmp_path)

    data = out.read_bytes()
    assert manifest.status == "clean"
    assert (manifest.format, manifest.media_kind, manifest.lossless) == ("wav", "audio", True)
    assert manifest.capture_time == "2023-07-04T13:37:42"
    assert manifest.duration_s == pytest.approx(2.0)
    assert [chunk for chunk, _ in _chunks(data)] == [b"fmt ", b"data"]
    assert int.from_bytes(data[4:8], "little") == len(data) - 8
    assert leaks(out) == []
    assert packet_md5(out, "a") == packet_md5(src, "a")
    assert decode_errors(out) == ""


@media_tools
def test_wav_rf64_bext_removed(tmp_path: Path) -> None:
    src = _ffmpeg_wav(tmp_path, "-rf64", "always")
    assert src.read_bytes()[:4] == b"RF64"

    manifest, out = sanitize_to(src, tmp_path)

    data = out.read_bytes()
    assert manifest.status == "clean"
    assert data[:4] == b"RF64"
    assert int.from_bytes(data[20:28], "little") == len(data) - 8
    assert leaks(out) == []
    assert packet_md5(out, "a") == packet_md5(src, "a")


@media_tools
def test_wav_extensible_24bit_six_channels_kept(tmp_path: Path) -> None:
    src = tmp_path / "in.wav"
    ffmpeg(
        "-f", "lavfi", "-i", "sine=duration=1", "-ac", "6", "-c:a", "pcm_s24le",
        "-metadata", f"artist={CANARY}", src,
    )  # fmt: skip

    manifest, out = sanitize_to(src, tmp_path)

    assert manifest.status == "clean"
    assert int.from_bytes(out.read_bytes()[20:22], "little") == 0xFFFE
    assert packet_md5(out, "a") == packet_md5(src, "a")


def test_wav_xml_id3_and_unknown_chunks_dropped_odd_sizes_padded() -> None:
    samples = bytes(range(256)) * 31 + b"\x80"  # odd length: needs a pad byte
    data = _riff(
        _chunk(b"iXML", b"<BWFXML><NOTE>CANARY</NOTE></BWFXML>x"),  # odd
        _fmt_pcm(),
        _chunk(b"axml", b"<ebuCoreMain>CANARY</ebuCoreMain>"),
        _chunk(b"_PMX", b"<x:xmpmeta>CANARY 42.2626</x:xmpmeta>"),
        _chunk(b"id3 ", id3v2_tag({b"TPE1": b"CANARY"})),
        _chunk(b"fact", (len(samples)).to_bytes(4, "little")),
        _chunk(b"zzzz", b"CANARY unknown"),
        _chunk(b"data", samples),
        _chunk(b"LIST", b"INFOIART" + (7).to_bytes(4, "little") + b"CANARY\x00\x00"),
    )
    dst = io.BytesIO()

    manifest = sanitize_stream(io.BytesIO(data), dst)

    assert manifest.status == "clean"
    assert dst.getvalue() == _riff(_fmt_pcm(), _chunk(b"fact", (7937).to_bytes(4, "little")),
                                   _chunk(b"data", samples))  # fmt: skip
    assert [item.what for item in manifest.removed] == [
        "iXML", "axml", "XMP (_PMX)", "ID3", "chunk 'zzzz'", "LIST",
    ]  # fmt: skip


def test_wav_fmt_slack_after_extension_trimmed() -> None:
    fmt_body = _fmt_pcm()[8:] + b"\x00\x00"  # cbSize 0 ...
    slack = _chunk(b"fmt ", fmt_body + b"CANARY")  # ... then bytes nobody reads
    data = _riff(slack, _chunk(b"data", bytes(10)))
    dst = io.BytesIO()

    manifest = sanitize_stream(io.BytesIO(data), dst)

    assert manifest.status == "clean"
    assert dst.getvalue() == _riff(_chunk(b"fmt ", fmt_body), _chunk(b"data", bytes(10)))


def test_wav_extensible_unknown_subformat_rejected() -> None:
    body = bytearray(_fmt_pcm(channels=2, bits=16)[8:])
    body[0:2] = (0xFFFE).to_bytes(2, "little")
    body += (22).to_bytes(2, "little") + (16).to_bytes(2, "little") + bytes(4) + bytes(16)
    data = _riff(_chunk(b"fmt ", bytes(body)), _chunk(b"data", bytes(8)))

    manifest = sanitize_stream(io.BytesIO(data), io.BytesIO())

    assert (manifest.status, manifest.reason) == ("rejected", errors.UNSUPPORTED_FORMAT)


def test_wav_trailing_tag_after_riff_dropped() -> None:
    data = _riff(_fmt_pcm(), _chunk(b"data", bytes(800))) + id3v1_tag()
    dst = io.BytesIO()

    manifest = sanitize_stream(io.BytesIO(data), dst)

    assert manifest.status == "clean"
    assert dst.getvalue() == _riff(_fmt_pcm(), _chunk(b"data", bytes(800)))


def test_wav_claiming_4gb_data_in_short_file_rejected_fast(tmp_path: Path) -> None:
    head = _riff(_fmt_pcm())
    data = head + b"data" + (0xFFFFFFF0).to_bytes(4, "little") + bytes(1000)
    src = tmp_path / "huge.wav"
    src.write_bytes(data)

    started = time.monotonic()
    manifest = sanitize(src, tmp_path / "out.wav")

    assert (manifest.status, manifest.reason) == ("rejected", errors.MALFORMED)
    assert time.monotonic() - started < 2
    assert (tmp_path / "out.wav").exists() is False


def test_wav_rf64_claiming_huge_data_rejected() -> None:
    ds64 = _chunk(b"ds64", (10**12).to_bytes(8, "little") * 3 + bytes(4))
    body = b"WAVE" + ds64 + _fmt_pcm() + b"data\xff\xff\xff\xff" + bytes(100)
    data = b"RF64\xff\xff\xff\xff" + body

    manifest = sanitize_stream(io.BytesIO(data), io.BytesIO())

    assert (manifest.status, manifest.reason) == ("rejected", errors.MALFORMED)


def test_wav_without_fmt_rejected() -> None:
    manifest = sanitize_stream(io.BytesIO(_riff(_chunk(b"data", bytes(10)))), io.BytesIO())

    assert (manifest.status, manifest.reason) == ("rejected", errors.MALFORMED)


@pytest.mark.parametrize("tag", [0x0055, 0x0050, 0x1234])  # MP3, MPEG audio, unknown
def test_wav_codec_not_on_list_rejected(tag: int) -> None:
    fmt = bytearray(_fmt_pcm())
    fmt[8:10] = tag.to_bytes(2, "little")
    data = _riff(bytes(fmt), _chunk(b"data", bytes(10)))

    manifest = sanitize_stream(io.BytesIO(data), io.BytesIO())

    assert (manifest.status, manifest.reason) == ("rejected", errors.UNSUPPORTED_FORMAT)


@pytest.mark.parametrize("content", [b"RIFF", b"RIFF\x04\x00\x00\x00WAVE", b"RIFF" + bytes(8)])
def test_wav_tiny_input_rejected(content: bytes) -> None:
    manifest = sanitize_stream(io.BytesIO(content), io.BytesIO())

    assert manifest.status == "rejected"


def test_wav_verifier_flags_list_chunk_and_wrong_size() -> None:
    data = _riff(_fmt_pcm(), _chunk(b"LIST", b"INFO"), _chunk(b"data", bytes(4)))

    assert verify_wav.verify(io.BytesIO(data)) == ["chunk b'LIST' not allowed"]
    assert verify_wav.verify(io.BytesIO(data + b"\x00")) == [
        "RIFF size does not match the file",
        "chunk b'LIST' not allowed",
        "stray bytes at 60",
    ]


@media_tools
def test_wav_shared_sample_clean_and_lossless(tmp_path: Path) -> None:
    src = shared_sample("wav_bwf_list_info.wav")

    manifest, out = sanitize_to(src, tmp_path)
    verdict = check_clean(out, src, tmp_path)

    assert manifest.status == "clean"
    assert (verdict["clean"], verdict["lossless"]) == (True, True), verdict["findings"]
