from __future__ import annotations

import base64
import os
import tracemalloc
from pathlib import Path

import pytest

from intake.sanitize import errors, sanitize
from intake.sanitize.ogg import ogg_crc
from intake.sanitize.verify import ogg as verify_ogg
from tests.unit.sanitize.av_fixtures import (
    CANARY,
    LOCATION,
    check_clean,
    cover_jpeg,
    decode_errors,
    ffmpeg,
    leaks,
    media_tools,
    packet_md5,
    sanitize_to,
    shared_sample,
)


def _reference_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _pages(data: bytes) -> list[tuple[int, int, int, bytes, bytes]]:
    """(flags, serial, sequence, lacing, payload) for every page; checks each CRC."""
    pages = []
    pos = 0
    while pos < len(data):
        assert data[pos : pos + 4] == b"OggS"
        count = data[pos + 26]
        lacing = data[pos + 27 : pos + 27 + count]
        end = pos + 27 + count + sum(lacing)
        page = data[pos:end]
        zeroed = page[:22] + bytes(4) + page[26:]
        assert _reference_crc(zeroed) == int.from_bytes(page[22:26], "little")
        pages.append(
            (
                data[pos + 5],
                int.from_bytes(data[pos + 14 : pos + 18], "little"),
                int.from_bytes(data[pos + 18 : pos + 22], "little"),
                lacing,
                data[pos + 27 + count : end],
            )
        )
        pos = end
    return pages


def _packets(data: bytes) -> list[bytes]:
    packets = []
    current = b""
    for _, _, _, lacing, payload in _pages(data):
        pos = 0
        for value in lacing:
            current += payload[pos : pos + value]
            pos += value
            if value < 255:
                packets.append(current)
                current = b""
    return packets


def _picture_metadata(directory: Path, picture_size: str) -> Path:
    """An ffmetadata file with tags and a METADATA_BLOCK_PICTURE holding a GPS-tagged JPEG."""
    jpeg = cover_jpeg(directory, size=picture_size).read_bytes()
    mime = b"image/jpeg"
    block = (
        (3).to_bytes(4, "big")
        + len(mime).to_bytes(4, "big")
        + mime
        + (0).to_bytes(4, "big")
        + bytes(16)
        + len(jpeg).to_bytes(4, "big")
        + jpeg
    )
    meta = directory / "meta.txt"
    meta.write_text(
        ";FFMETADATA1\n"
        f"artist={CANARY} ARTIST\n"
        f"location={LOCATION}\n"
        "date=2023-07-04\n"
        f"METADATA_BLOCK_PICTURE={base64.b64encode(block).decode()}\n"
    )
    return meta


def _encode(directory: Path, codec: str, name: str, picture_size: str = "64x48") -> Path:
    meta = _picture_metadata(directory, picture_size)
    out = directory / name
    ffmpeg(
        "-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-i", meta,
        "-map", "0:a", "-map_metadata", "1", "-c:a", codec, out,
    )  # fmt: skip
    return out


@media_tools
def test_ogg_vorbis_comments_and_picture_removed_packets_identical(tmp_path: Path) -> None:
    src = _encode(tmp_path, "libvorbis", "in.ogg")
    assert leaks(src) != []

    manifest, out = sanitize_to(src, tmp_path)

    assert manifest.status == "clean"
    assert manifest.format == "ogg"
    assert manifest.media_kind == "audio"
    assert manifest.lossless is True
    assert manifest.capture_time == "2023-07-04"
    assert manifest.duration_s == pytest.approx(2.0, abs=0.05)
    assert {"comment ARTIST", "comment LOCATION", "comment METADATA_BLOCK_PICTURE"} <= {
        item.what for item in manifest.removed
    }
    assert leaks(out) == []
    assert packet_md5(out, "a") == packet_md5(src, "a")
    assert decode_errors(out) == ""


@media_tools
def test_ogg_vorbis_headers_kept_exactly_and_comment_empty(tmp_path: Path) -> None:
    src = _encode(tmp_path, "libvorbis", "in.ogg")

    _, out = sanitize_to(src, tmp_path)

    before, after = _packets(src.read_bytes()), _packets(out.read_bytes())
    assert after[0] == before[0]
    assert after[1] == b"\x03vorbis" + bytes(8) + b"\x01"
    assert after[2] == before[2]
    assert after[3:] == before[3:]


@media_tools
def test_ogg_multipage_comment_repaginated_with_renumbered_pages(tmp_path: Path) -> None:
    src = _encode(tmp_path, "libvorbis", "in.ogg", picture_size="2560x1920")
    source_pages = _pages(src.read_bytes())
    assert source_pages[2][0] & 0x01  # the comment packet continues onto a further page

    manifest, out = sanitize_to(src, tmp_path)

    pages = _pages(out.read_bytes())
    assert manifest.status == "clean"
    assert [page[2] for page in pages] == list(range(len(pages)))
    assert len(pages) < len(source_pages)
    assert {page[1] for page in pages} == {source_pages[0][1]}
    assert packet_md5(out, "a") == packet_md5(src, "a")


@media_tools
def test_opus_tags_and_picture_removed_packets_identical(tmp_path: Path) -> None:
    src = _encode(tmp_path, "libopus", "in.opus")

    manifest, out = sanitize_to(src, tmp_path)

    assert manifest.status == "clean"
    assert manifest.format == "opus"
    assert manifest.duration_s == pytest.approx(2.0, abs=0.03)
    assert leaks(out) == []
    packets = _packets(out.read_bytes())
    assert packets[1] == b"OpusTags" + bytes(8)
    assert _packets(src.read_bytes())[2:] == packets[2:]
    assert packet_md5(out, "a") == packet_md5(src, "a")
    assert decode_errors(out) == ""


@media_tools
def test_ogg_two_multiplexed_streams_rejected(tmp_path: Path) -> None:
    src = tmp_path / "two.ogg"
    ffmpeg(
        "-f", "lavfi", "-i", "sine=duration=1", "-f", "lavfi", "-i", "sine=duration=1",
        "-map", "0:a", "-map", "1:a", "-c:a", "libvorbis", src,
    )  # fmt: skip

    manifest, out = sanitize_to(src, tmp_path)

    assert (manifest.status, manifest.reason) == ("rejected", errors.UNSUPPORTED_FORMAT)
    assert out.exists() is False


@media_tools
def test_ogg_chained_streams_rejected(tmp_path: Path) -> None:
    one = tmp_path / "one.ogg"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-c:a", "libvorbis", one)
    chained = tmp_path / "chained.ogg"
    chained.write_bytes(one.read_bytes() * 2)

    manifest, _ = sanitize_to(chained, tmp_path)

    assert (manifest.status, manifest.reason) == ("rejected", errors.UNSUPPORTED_FORMAT)


@media_tools
def test_ogg_flac_stream_rejected(tmp_path: Path) -> None:
    src = tmp_path / "flac.ogg"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-c:a", "flac", "-f", "ogg", src)

    manifest, _ = sanitize_to(src, tmp_path)

    assert (manifest.status, manifest.reason) == ("rejected", errors.UNSUPPORTED_FORMAT)


@media_tools
def test_ogg_truncated_page_rejected(tmp_path: Path) -> None:
    src = _encode(tmp_path, "libopus", "in.opus")
    cut = tmp_path / "cut.opus"
    cut.write_bytes(src.read_bytes()[:-100])

    manifest, _ = sanitize_to(cut, tmp_path)

    assert (manifest.status, manifest.reason) == ("rejected", errors.MALFORMED)


@media_tools
def test_ogg_corrupted_page_checksum_rejected(tmp_path: Path) -> None:
    data = bytearray(_encode(tmp_path, "libvorbis", "in.ogg").read_bytes())
    data[-10] ^= 0xFF
    bad = tmp_path / "bad.ogg"
    bad.write_bytes(bytes(data))

    manifest, _ = sanitize_to(bad, tmp_path)

    assert (manifest.status, manifest.reason) == ("rejected", errors.MALFORMED)


@media_tools
def test_ogg_trailing_bytes_after_end_of_stream_dropped(tmp_path: Path) -> None:
    src = _encode(tmp_path, "libopus", "in.opus")
    padded = tmp_path / "padded.opus"
    padded.write_bytes(src.read_bytes() + b"TAG" + b"CANARY trailing" + bytes(110))

    manifest, out = sanitize_to(padded, tmp_path)

    assert manifest.status == "clean"
    assert b"CANARY" not in out.read_bytes()
    assert packet_md5(out, "a") == packet_md5(src, "a")


@media_tools
def test_ogg_huge_comment_streamed_with_bounded_memory(tmp_path: Path) -> None:
    meta = tmp_path / "meta.txt"
    blob = base64.b64encode(os.urandom(15_000_000)).decode()
    meta.write_text(f";FFMETADATA1\nMETADATA_BLOCK_PICTURE={blob}\n")
    src = tmp_path / "in.opus"
    ffmpeg(
        "-f", "lavfi", "-i", "sine=duration=1", "-i", meta,
        "-map", "0:a", "-map_metadata", "1", "-c:a", "libopus", src,
    )  # fmt: skip
    assert src.stat().st_size > 20_000_000

    tracemalloc.start()
    manifest = sanitize(src, tmp_path / "out.opus")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert manifest.status == "clean"
    assert peak < 8 * 1024 * 1024


@pytest.mark.parametrize("content", [b"", b"O", b"OggS", b"OggS" + bytes(40)])
def test_ogg_tiny_or_empty_input_rejected(tmp_path: Path, content: bytes) -> None:
    src = tmp_path / "tiny.ogg"
    src.write_bytes(content)

    manifest = sanitize(src, tmp_path / "out.ogg")

    assert manifest.status == "rejected"


def test_ogg_crc_matches_reference_polynomial() -> None:
    for length in (0, 1, 27, 255, 4096):
        data = os.urandom(length)
        assert ogg_crc(data) == _reference_crc(data)


@media_tools
def test_ogg_verifier_flags_original_comments(tmp_path: Path) -> None:
    src = _encode(tmp_path, "libvorbis", "in.ogg")

    with src.open("rb") as f:
        findings = verify_ogg.verify(f)

    assert findings == ["Vorbis comment header is not empty"]


@media_tools
@pytest.mark.parametrize("name", ["ogg_vorbis_comments.ogg", "opus_voice_note.opus"])
def test_ogg_shared_sample_clean_and_lossless(tmp_path: Path, name: str) -> None:
    src = shared_sample(name)

    manifest, out = sanitize_to(src, tmp_path)
    verdict = check_clean(out, src, tmp_path)

    assert manifest.status == "clean"
    assert (verdict["clean"], verdict["lossless"]) == (True, True), verdict["findings"]
