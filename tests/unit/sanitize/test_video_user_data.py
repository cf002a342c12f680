"""AV1 metadata OBUs and MPEG-4 Part 2 user data (GPS fixes, serial numbers) are removed from
samples and decoder configuration in MP4, MOV, fragmented MP4, Matroska and WebM, and the
decoded frames stay identical (ffmpeg -f framemd5)."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import pytest

from intake.sanitize import errors, sanitize, sanitize_stream
from intake.sanitize.families import verify
from tests.factories.coded_video import (
    GPS_TEXT,
    HDR10_T35,
    HDR_CLL,
    USER_DATA,
    av1_image,
    av1_video,
    mpeg4_video,
)
from tests.unit.sanitize.av_fixtures import ffmpeg, media_tools
from tests.unit.sanitize.sei_fixtures import framemd5

pytestmark = [media_tools]

AV1_CONTAINERS = ["mp4", "fmp4", "mkv", "webm"]
MPEG4_CONTAINERS = ["mp4", "mov", "fmp4", "mkv"]


@pytest.fixture(scope="module")
def video_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("coded"))


@cache
def _video(codec: str, container: str, root: str) -> Path:
    directory = Path(root) / f"{codec}-{container}"
    directory.mkdir(parents=True, exist_ok=True)
    if codec == "av1":
        return av1_video(directory, container)
    return mpeg4_video(directory, container, "libxvid" if codec == "xvid" else "mpeg4")


def _family(path: Path) -> str:
    return "matroska" if path.suffix in (".mkv", ".webm") else "isobmff"


def _run(data: bytes) -> tuple[str, str, bytes]:
    out = io.BytesIO()
    manifest = sanitize_stream(io.BytesIO(data), out)
    return manifest.status, manifest.reason, out.getvalue()


# ------------------------------------------------------------------ AV1


@pytest.mark.parametrize("container", AV1_CONTAINERS)
def test_av1_metadata_obus_removed_frames_identical(
    container: str, video_root: str, tmp_path: Path
) -> None:
    src = _video("av1", container, video_root)
    assert src.read_bytes().count(GPS_TEXT) >= 40
    out = tmp_path / ("clean" + src.suffix)

    manifest = sanitize(src, out)

    assert (manifest.status, manifest.reason, manifest.lossless) == ("clean", "", True)
    data = out.read_bytes()
    assert (data.count(GPS_TEXT), data.count(b"CANARY")) == (0, 0)
    assert len(data) == src.stat().st_size
    assert framemd5(out) == framemd5(src)


@pytest.mark.parametrize("container", AV1_CONTAINERS)
def test_av1_display_metadata_kept(container: str, video_root: str, tmp_path: Path) -> None:
    src = _video("av1", container, video_root)
    out = tmp_path / ("clean" + src.suffix)
    sanitize(src, out)
    before, after = src.read_bytes(), out.read_bytes()
    assert (after.count(HDR10_T35), after.count(HDR_CLL)) == (
        before.count(HDR10_T35),
        before.count(HDR_CLL),
    )


@pytest.mark.parametrize("container", AV1_CONTAINERS)
def test_av1_removal_listed_in_manifest(container: str, video_root: str, tmp_path: Path) -> None:
    manifest = sanitize(_video("av1", container, video_root), tmp_path / "out")
    listed = [r.what for r in manifest.removed if "AV1" in r.what]
    assert listed[-1].split(" (")[0] == (
        "AV1 T.35 user data, AV1 metadata type 5, AV1 metadata type 6, reserved AV1 OBUs"
    )


@pytest.mark.parametrize("container", AV1_CONTAINERS)
def test_av1_decoder_config_metadata_removed(
    container: str, video_root: str, tmp_path: Path
) -> None:
    # ffmpeg copies the first temporal unit's metadata OBUs into av1C (CodecPrivate).
    manifest = sanitize(_video("av1", container, video_root), tmp_path / "out")
    where = [r.where.rsplit("/", 1)[-1] for r in manifest.removed if "AV1" in r.what]
    assert where[0] == ("CodecPrivate" if container in ("mkv", "webm") else "av1C")


@pytest.mark.parametrize("container", AV1_CONTAINERS)
def test_verifier_flags_av1_metadata_in_original(container: str, video_root: str) -> None:
    src = _video("av1", container, video_root)
    with src.open("rb") as f:
        findings = [x for x in verify(_family(src), f) if "AV1" in x]
    assert findings[0].endswith("AV1 metadata OBU of type 6 (user data or unknown) kept")


@pytest.mark.parametrize("container", ["mp4", "mkv"])
def test_av1_forbidden_bit_rejected(container: str, video_root: str) -> None:
    data = bytearray(_video("av1", container, video_root).read_bytes())
    at = data.rindex(b"\x06" + GPS_TEXT) - 2  # the last sample's private metadata OBU
    assert data[at] == 0x2A  # type 5, size field
    data[at] |= 0x80
    status, reason, out = _run(bytes(data))
    assert (status, reason, out) == ("rejected", errors.MALFORMED, b"")


@pytest.mark.parametrize("container", ["mp4", "mkv"])
def test_av1_obu_past_its_sample_rejected(container: str, video_root: str) -> None:
    data = bytearray(_video("av1", container, video_root).read_bytes())
    at = data.rindex(b"\x06" + GPS_TEXT) - 1  # its leb128 size
    data[at] = 0x7F  # larger than what is left of the sample
    status, reason, out = _run(bytes(data))
    assert (status, reason, out) == ("rejected", errors.MALFORMED, b"")


@pytest.mark.parametrize(
    "encoder",
    [["libaom-av1", "-cpu-used", "8"], ["libsvtav1", "-svtav1-params", "log=0"], ["librav1e"]],
    ids=["libaom", "svt-av1", "rav1e"],
)
def test_av1_encoder_output_clean_and_frames_identical(encoder: list[str], tmp_path: Path) -> None:
    src = tmp_path / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "1", "-c:v", *encoder, src)
    out = tmp_path / "out.mp4"
    manifest = sanitize(src, out)
    assert (manifest.status, manifest.reason, framemd5(out) == framemd5(src)) == ("clean", "", True)


def test_avif_metadata_obus_removed_frames_identical(video_root: str, tmp_path: Path) -> None:
    directory = Path(video_root) / "avif"
    directory.mkdir(exist_ok=True)
    src = av1_image(directory)
    assert src.read_bytes().count(GPS_TEXT) >= 4
    out = tmp_path / "clean.avif"

    manifest = sanitize(src, out)

    assert (manifest.status, manifest.reason) == ("clean", "")
    data = out.read_bytes()
    assert (data.count(GPS_TEXT), data.count(HDR10_T35)) == (0, src.read_bytes().count(HDR10_T35))
    where = sorted(r.where for r in manifest.removed if "AV1" in r.what)
    assert where == ["AV1 image item", "meta/iprp/ipco/av1C"]
    assert framemd5(out) == framemd5(src)


def test_verifier_flags_av1_metadata_in_avif_item(video_root: str) -> None:
    directory = Path(video_root) / "avif-verify"
    directory.mkdir(exist_ok=True)
    with av1_image(directory).open("rb") as f:
        findings = [x for x in verify("isobmff", f) if "AV1" in x or "av1C" in x]
    assert findings == [
        "item property av1C: AV1 metadata OBU of type 6 (user data or unknown) kept",
        "item property av1C: AV1 metadata OBU of type 4 (user data or unknown) kept",
        "item property av1C: AV1 metadata OBU of type 5 (user data or unknown) kept",
        "AV1 item 1: AV1 metadata OBU of type 6 (user data or unknown) kept",
        "AV1 item 1: AV1 metadata OBU of type 4 (user data or unknown) kept",
        "AV1 item 1: AV1 metadata OBU of type 5 (user data or unknown) kept",
    ]


# ------------------------------------------------------------------ MPEG-4 Part 2


@pytest.mark.parametrize("container", MPEG4_CONTAINERS)
def test_mpeg4_user_data_blanked_frames_identical(
    container: str, video_root: str, tmp_path: Path
) -> None:
    src = _video("mpeg4", container, video_root)
    assert src.read_bytes().count(GPS_TEXT) == 20
    out = tmp_path / ("clean" + src.suffix)

    manifest = sanitize(src, out)

    assert (manifest.status, manifest.reason, manifest.lossless) == ("clean", "", True)
    data = out.read_bytes()
    assert (data.count(GPS_TEXT), data.count(b"CANARY")) == (0, 0)
    assert data.count(USER_DATA + b" " * len(GPS_TEXT)) == 20
    assert len(data) == src.stat().st_size
    assert framemd5(out) == framemd5(src)


def test_mpeg4_xvid_tag_kept_frames_identical(video_root: str, tmp_path: Path) -> None:
    src = _video("xvid", "mp4", video_root)
    out = tmp_path / "clean.mp4"
    manifest = sanitize(src, out)
    data = out.read_bytes()
    assert (manifest.status, data.count(GPS_TEXT)) == ("clean", 0)
    assert data.count(b"XviD") == src.read_bytes().count(b"XviD") > 0
    assert framemd5(out) == framemd5(src)


def test_mpeg4_xvid_tag_blanked_changes_frames(video_root: str, tmp_path: Path) -> None:
    # Why encoder tags stay: ffmpeg's decoder picks its IDCT and bug workarounds from the
    # XviD build in user data; without it the same stream decodes to other frames.
    data = _video("xvid", "mp4", video_root).read_bytes()
    tag = data[data.index(b"XviD") :][:8]  # "XviD" and a four-digit build, in every copy
    blanked = tmp_path / "blanked.mp4"
    blanked.write_bytes(data.replace(tag, b" " * len(tag)))
    original = tmp_path / "original.mp4"
    original.write_bytes(data)
    assert framemd5(blanked) != framemd5(original)


@pytest.mark.parametrize("container", MPEG4_CONTAINERS)
def test_verifier_flags_mpeg4_user_data_in_original(container: str, video_root: str) -> None:
    src = _video("mpeg4", container, video_root)
    with src.open("rb") as f:
        findings = [x for x in verify(_family(src), f) if "MPEG-4" in x]
    assert findings[0].endswith("MPEG-4 user data that is not an encoder tag kept")


@pytest.mark.parametrize("container", ["mp4", "mkv"])
def test_mpeg4_reserved_start_code_rejected(container: str, video_root: str) -> None:
    data = bytearray(_video("mpeg4", container, video_root).read_bytes())
    at = data.rindex(USER_DATA + GPS_TEXT)
    data[at + 3] = 0xB7  # reserved start code: decoders skip it
    status, reason, out = _run(bytes(data))
    assert (status, reason, out) == ("rejected", errors.UNSAFE_CONTENT, b"")


def test_mpeg4_jpeg_object_type_in_mp4v_rejected(video_root: str) -> None:
    data = bytearray(_video("mpeg4", "mp4", video_root).read_bytes())
    at = data.index(b"esds")
    decoder_config = data.index(b"\x04", at + 12)  # DecoderConfigDescriptor tag
    size_end = decoder_config + 1
    while data[size_end] & 0x80:
        size_end += 1
    assert data[size_end + 1] == 0x20  # MPEG-4 Visual
    data[size_end + 1] = 0x6C  # JPEG frames, each of which may carry EXIF
    status, reason, _out = _run(bytes(data))
    assert (status, reason) == ("rejected", errors.UNSAFE_CONTENT)
