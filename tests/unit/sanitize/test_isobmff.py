"""ISO base media files (MP4, MOV, 3GP, M4A): stripper and verifier. HEIC and AVIF:
test_heif.py."""

from __future__ import annotations

import io
import json
import random
import shutil
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from intake.sanitize import sanitize
from intake.sanitize.verify import isobmff as verify_isobmff
from tests.factories.tools import require_shared_samples, require_tool
from tests.unit.sanitize import isobmff_fixtures as fx
from tests.unit.sanitize.isobmff_checks import (
    box_times,
    exif_leaks,
    ffmpeg_clip,
    packet_hashes,
    raw_canaries,
    rotation,
    run,
    sanitize_bytes,
    sanitize_path,
    stream_kinds,
    strip_bytes,
)
from tests.unit.sanitize.sei_fixtures import framemd5

# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def tagged_mp4(media_dir: Path) -> Path:
    """ffmpeg metadata (keys, loci), a tx3g subtitle track with GPS text, rotation 90, then
    ExifTool's XMP (uuid box), Keys and UserData GPS."""
    srt = media_dir / "gps.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,500\nCANARY GPS 42.2626 -71.8023\n\n")
    first = ffmpeg_clip(
        media_dir / "tagged0.mp4",
        "-metadata", "title=CANARY title", "-metadata", "artist=CANARY artist",
        "-metadata", "location=+42.2626-071.8023/", "-movflags", "use_metadata_tags",
        subtitles=srt,
    )  # fmt: skip
    out = media_dir / "tagged.mp4"
    run(
        require_tool("ffmpeg"), "-v", "error", "-y", "-i", str(first), "-map", "0", "-c", "copy",
        "-metadata:s:v:0", "rotate=90", "-metadata", "creation_time=2023-07-04T17:37:42Z",
        "-metadata", "location=+42.2626-071.8023/", "-movflags", "use_metadata_tags", str(out),
    )  # fmt: skip
    run(
        require_tool("exiftool"), "-q", "-overwrite_original",
        "-XMP:GPSLatitude=42.2626 N", "-XMP:GPSLongitude=71.8023 W", "-XMP:Creator=CANARY",
        "-Keys:GPSCoordinates=42.2626 N, 71.8023 W, 150 m", "-Keys:Model=CANARY model",
        "-UserData:GPSCoordinates=42.2626 N, 71.8023 W", "-UserData:Make=CANARY make",
        "-ItemList:Comment=CANARY comment", str(out),
    )  # fmt: skip
    return out


def telemetry_movie(plain: bytes) -> fx.Movie:
    """A phone-like MP4: GoPro GPMF, Google camm, Apple mebx, Pixel mett and timecode tracks
    with canary samples in mdat; udta/meta/uuid/ID32/jumb boxes; a tref to the timecode."""
    movie = fx.Movie.load(plain)
    next_id = movie.next_track_id()
    tracks = [
        (b"meta", fx.sample_entry(b"gpmd"), [fx.gpmf_sample(i) for i in range(3)]),
        (b"camm", fx.sample_entry(b"camm"), [fx.camm_sample() for _ in range(3)]),
        (b"meta", fx.sample_entry(b"mebx", fx.box(b"keys", b"CANARY still-image-time")), [
            b"\x00\x00\x00\x09\x00\x00\x00\x01\xff" + fx.ISO6709,
        ]),
        (b"meta", fx.sample_entry(b"mett", b"application/microvideo-meta-stream\x00"), [
            b"CANARY pixel " + fx.GPMF_LAT,
        ]),
        (b"tmcd", fx.sample_entry(b"tmcd", bytes(16)), [struct.pack(">I", 0)]),
    ]  # fmt: skip
    ids = []
    for handler, entry, samples in tracks:
        offsets = movie.add_samples(samples)
        trak_udta = fx.Node(b"udta", children=[fx.Node(b"name", b"CANARY track name")])
        trak = fx.data_trak(
            next_id, handler, entry, offsets, [len(s) for s in samples], extra=[trak_udta]
        )
        movie.moov.children = [*(movie.moov.children or []), trak]
        ids.append(next_id)
        next_id += 1
    video = next(t for t in movie.traks() if movie.handler_of(t) == b"vide")
    assert video.children is not None
    video.children.append(fx.Node(b"tref", fx.box(b"tmcd", struct.pack(">I", ids[-1]))))
    video.children.append(
        fx.Node(b"udta", children=[fx.Node(b"\xa9xyz", b"\x00\x1a\x15\xc7" + fx.ISO6709)])
    )
    video.children.append(
        fx.keys_meta([(b"com.apple.quicktime.camera.lens_model", b"CANARY")], True)
    )
    udta = fx.Node(
        b"udta",
        children=[
            fx.parse(fx.loci())[0],
            fx.parse(fx.qt_text(b"\xa9xyz", fx.ISO6709))[0],
            fx.parse(fx.qt_text(b"\xa9mak", b"CANARY make"))[0],
            fx.parse(fx.qt_text(b"\xa9mod", b"CANARY model"))[0],
            fx.parse(fx.qt_text(b"\xa9swr", b"CANARY 17.5"))[0],
            fx.parse(fx.qt_text(b"\xa9day", b"2023-07-04T13:37:42-0400"))[0],
            fx.Node(b"auth", b"\x00\x00\x00\x00\x15\xc7CANARY OWNER\x00"),
            fx.Node(b"GPMF", b"CASN" + b"CANARY-SERIAL-02"),
        ],
    )
    meta = fx.keys_meta(
        [
            (b"com.apple.quicktime.location.ISO6709", fx.ISO6709),
            (b"com.apple.quicktime.content.identifier", b"CANARY-CONTENT-ID"),
            (b"com.apple.quicktime.make", b"CANARY"),
            (b"com.apple.quicktime.creationdate", b"2023-07-04T13:37:42-04:00"),
        ]
    )
    id32 = fx.Node(b"meta", prefix=bytes(4), children=[
        fx.Node(b"hdlr", bytes(8) + b"ID32" + bytes(13)),
        fx.Node(b"ID32", bytes(4) + b"\x15\xc7ID3\x03\x00\x00\x00\x00\x00\x10TPE1CANARY"),
    ])  # fmt: skip
    movie.moov.children = [
        *(movie.moov.children or []),
        udta,
        meta,
        id32,
        fx.Node(b"uuid", fx.XMP_UUID + fx.XMP),
        fx.Node(b"jumb", fx.box(b"jumd", b"c2pa CANARY manifest")),
        fx.Node(b"free", b"CANARY in free space"),
    ]
    movie.trailer = [fx.box(b"uuid", fx.XMP_UUID + fx.XMP), fx.box(b"skip", b"CANARY skip")]
    return movie


@pytest.fixture(scope="module")
def telemetry_mp4(media_dir: Path, plain_mp4: bytes) -> Path:
    path = media_dir / "telemetry.mp4"
    path.write_bytes(telemetry_movie(plain_mp4).encode())
    return path


# --------------------------------------------------------------------------- MP4 / MOV


def test_tagged_mp4_leaves_no_location_or_identity(tagged_mp4: Path, tmp_path: Path) -> None:
    assert exif_leaks(tagged_mp4) != []
    manifest, out = sanitize_path(tagged_mp4, tmp_path)
    assert (manifest.status, manifest.reason) == ("clean", "")
    assert exif_leaks(out) == []
    assert raw_canaries(out.read_bytes()) == []


def test_tagged_mp4_keeps_audio_video_packets_and_rotation(
    tagged_mp4: Path, tmp_path: Path
) -> None:
    manifest, out = sanitize_path(tagged_mp4, tmp_path)
    assert manifest.status == "clean"
    assert stream_kinds(tagged_mp4) == ["video", "audio", "subtitle"]
    assert stream_kinds(out) == ["video", "audio"]
    assert packet_hashes(out) == packet_hashes(tagged_mp4)
    assert rotation(out) == rotation(tagged_mp4) == 90
    assert out.stat().st_size == tagged_mp4.stat().st_size


def test_tagged_mp4_manifest_describes_file(tagged_mp4: Path, tmp_path: Path) -> None:
    manifest, _out = sanitize_path(tagged_mp4, tmp_path)
    assert (manifest.format, manifest.media_kind, manifest.lossless) == ("mp4", "video", True)
    assert (manifest.width, manifest.height, manifest.duration_s) == (160, 120, 2.0)
    assert manifest.orientation == 8  # ffmpeg rotation 90 = a quarter turn anticlockwise
    assert manifest.capture_time == "2023-07-04T17:37:42Z"
    removed = {(r.what, r.where) for r in manifest.removed}
    assert ("uuid", "top level") in removed
    assert ("track", "track 3 (tx3g)") in removed
    assert ("loci", "moov/udta") in removed
    assert ("com.apple.quicktime.location.ISO6709", "moov/meta/keys") in removed


def test_telemetry_tracks_removed_and_samples_zeroed(telemetry_mp4: Path, tmp_path: Path) -> None:
    original = telemetry_mp4.read_bytes()
    assert "gpmf lat" in raw_canaries(original)
    manifest, out = sanitize_path(telemetry_mp4, tmp_path)
    assert (manifest.status, manifest.reason) == ("clean", "")
    assert raw_canaries(out.read_bytes()) == []
    assert exif_leaks(out) == []
    dropped = sorted(r.where for r in manifest.removed if r.what == "track")
    assert dropped == [
        "track 3 (gpmd)",
        "track 4 (camm)",
        "track 5 (mebx)",
        "track 6 (mett)",
        "track 7 (tmcd)",
    ]


def test_telemetry_mp4_keeps_packets_and_drops_dangling_tref(
    telemetry_mp4: Path, tmp_path: Path
) -> None:
    manifest, out = sanitize_path(telemetry_mp4, tmp_path)
    assert manifest.status == "clean"
    assert stream_kinds(out) == ["video", "audio"]
    assert packet_hashes(out) == packet_hashes(telemetry_mp4)
    assert b"tref" not in out.read_bytes()
    assert ("tref/tmcd", "track 1") in {(r.what, r.where) for r in manifest.removed}


def test_telemetry_mp4_capture_time_from_creationdate(telemetry_mp4: Path, tmp_path: Path) -> None:
    manifest, out = sanitize_path(telemetry_mp4, tmp_path)
    assert manifest.capture_time == "2023-07-04T13:37:42-04:00"
    assert set(box_times(out.read_bytes())) == {0}


def test_version1_headers_and_co64_are_handled(plain_mp4: bytes) -> None:
    movie = telemetry_movie(plain_mp4)
    fx.with_v1_headers(movie.moov)
    fx.with_co64(movie.moov)
    # No stated date: the earliest header time becomes the capture time.
    movie.moov.children = [c for c in movie.moov.children or [] if c.kind != b"meta"]
    for udta in movie.moov.all(b"udta"):
        udta.children = [c for c in udta.children or [] if c.kind not in (b"\xa9day", b"meta")]
    data = movie.encode()
    assert struct.pack(">Q", fx.CANARY_TIME) in data
    manifest, out = sanitize_bytes(data)
    assert (manifest.status, manifest.reason) == ("clean", "")
    assert manifest.capture_time == "2023-07-04T17:37:42Z"
    assert raw_canaries(out) == []
    assert set(box_times(out)) == {0}
    assert b"co64" in out


def test_telemetry_mp4_strip_is_offset_stable(telemetry_mp4: Path) -> None:
    original = telemetry_mp4.read_bytes()
    _ctx, out = strip_bytes(original)
    assert len(out) == len(original)
    # The first mdat (the audio/video data) comes through byte for byte.
    mdat_at = original.index(b"mdat") - 4
    (mdat_size,) = struct.unpack_from(">I", original, mdat_at)
    assert out[mdat_at : mdat_at + mdat_size] == original[mdat_at : mdat_at + mdat_size]


@pytest.mark.parametrize("flags", ["frag_keyframe+empty_moov+default_base_moof", "frag_keyframe"])
def test_fragmented_mp4_is_cleaned_losslessly(media_dir: Path, tmp_path: Path, flags: str) -> None:
    srt = media_dir / "frag.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,500\nCANARY GPS 42.2626 -71.8023\n\n")
    src = ffmpeg_clip(
        tmp_path / "frag.mp4",
        "-metadata", "title=CANARY title", "-metadata", "creation_time=2023-07-04T17:37:42Z",
        "-metadata", "location=+42.2626-071.8023/", "-movflags", f"{flags}+use_metadata_tags",
        subtitles=srt,
    )  # fmt: skip
    assert b"moof" in src.read_bytes()
    manifest, out = sanitize_path(src, tmp_path)
    assert (manifest.status, manifest.reason) == ("clean", "")
    assert stream_kinds(out) == ["video", "audio"]
    assert packet_hashes(out) == packet_hashes(src)
    assert exif_leaks(out) == []
    assert raw_canaries(out.read_bytes()) == []


def test_mov_keys_and_userdata_removed(media_dir: Path, tmp_path: Path) -> None:
    src = ffmpeg_clip(
        media_dir / "clip.mov",
        "-metadata", "creation_time=2023-07-04T17:37:42Z", "-metadata", "title=CANARY",
        "-movflags", "use_metadata_tags", "-f", "mov",
    )  # fmt: skip
    run(
        require_tool("exiftool"), "-q", "-overwrite_original",
        "-Keys:GPSCoordinates=42.2626 N, 71.8023 W, 150 m", "-Keys:Make=CANARY",
        "-Keys:ContentIdentifier=CANARY-ID", "-Keys:CreationDate=2023:07:04 13:37:42-04:00",
        "-UserData:GPSCoordinates=42.2626 N, 71.8023 W", "-UserData:Software=CANARY",
        str(src),
    )  # fmt: skip
    manifest, out = sanitize_path(src, tmp_path)
    assert (manifest.status, manifest.format, manifest.media_kind) == ("clean", "mov", "video")
    assert manifest.capture_time == "2023-07-04T13:37:42-0400"  # as ExifTool wrote it
    assert exif_leaks(out) == []
    assert raw_canaries(out.read_bytes()) == []
    assert packet_hashes(out) == packet_hashes(src)


def test_3gp_loci_and_author_removed(media_dir: Path, plain_mp4: bytes, tmp_path: Path) -> None:
    src = ffmpeg_clip(media_dir / "clip.3gp", "-metadata", "title=CANARY", "-f", "3gp")
    movie = fx.Movie.load(src.read_bytes())
    movie.moov.children = [
        *(movie.moov.children or []),
        fx.Node(b"udta", children=[
            fx.parse(fx.loci())[0], fx.Node(b"auth", bytes(4) + b"\x15\xc7CANARY\x00"),
        ]),
    ]  # fmt: skip
    src.write_bytes(movie.encode())
    manifest, out = sanitize_path(src, tmp_path)
    assert (manifest.status, manifest.format, manifest.media_kind) == ("clean", "3gp", "video")
    assert exif_leaks(out) == []
    assert raw_canaries(out.read_bytes()) == []
    assert packet_hashes(out) == packet_hashes(src)


def test_m4a_tags_cover_art_and_location_removed(media_dir: Path, tmp_path: Path) -> None:
    cover = media_dir / "cover.jpg"
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (42.0, 15.0, 45.36), 3: "W", 4: (71.0, 48.0, 8.28)}
    exif[0x010F] = "CANARY"
    Image.new("RGB", (32, 32), (1, 2, 3)).save(cover, exif=exif.tobytes())
    src = media_dir / "memo.m4a"
    run(
        require_tool("ffmpeg"), "-v", "error", "-y", "-f", "lavfi",
        "-i", "sine=frequency=300:duration=2", "-i", str(cover), "-map", "0", "-map", "1",
        "-c:a", "aac", "-b:a", "32k", "-c:v", "copy", "-disposition:v", "attached_pic",
        "-metadata", "artist=CANARY", "-metadata", "comment=CANARY comment",
        "-metadata", "date=2023-07-04", "-f", "ipod", str(src),
    )  # fmt: skip
    run(
        require_tool("exiftool"), "-q", "-overwrite_original",
        "-Keys:GPSCoordinates=42.2626 N, 71.8023 W",
        "-UserData:GPSCoordinates=42.2626 N, 71.8023 W", str(src),
    )  # fmt: skip
    assert b"covr" in src.read_bytes()
    manifest, out = sanitize_path(src, tmp_path)
    assert (manifest.status, manifest.format, manifest.media_kind) == ("clean", "m4a", "audio")
    assert manifest.duration_s is not None and abs(manifest.duration_s - 2.0) < 0.1
    assert exif_leaks(out) == []
    assert raw_canaries(out.read_bytes()) == []
    assert b"\xff\xd8\xff" not in out.read_bytes()  # the cover JPEG is gone
    assert stream_kinds(src) == ["audio", "video"]
    assert stream_kinds(out) == ["audio"]
    assert packet_hashes(out, ("0:a",)) == packet_hashes(src, ("0:a",))


def test_unknown_audio_codec_track_dropped_and_not_lossless(plain_mp4: bytes) -> None:
    movie = fx.Movie.load(plain_mp4)
    sample = b"CANARY spatial audio " + fx.GPMF_LAT
    offsets = movie.add_samples([sample])
    entry = fx.sample_entry(b"apac", bytes(20))
    trak = fx.data_trak(movie.next_track_id(), b"soun", entry, offsets, [len(sample)])
    movie.moov.children = [*(movie.moov.children or []), trak]
    manifest, out = sanitize_bytes(movie.encode())
    assert (manifest.status, manifest.media_kind, manifest.lossless) == ("clean", "video", False)
    assert ("track", "track 3 (apac)") in {(r.what, r.where) for r in manifest.removed}
    assert raw_canaries(out) == []


def test_only_video_track_with_unknown_codec_rejected(plain_mp4: bytes) -> None:
    data = plain_mp4.replace(b"avc1", b"mjpa")  # the brand list says avc1 too; harmless
    manifest, out = sanitize_bytes(data)
    assert (manifest.status, manifest.reason) == ("rejected", "unsupported_format")
    assert out == b""


def test_telemetry_sharing_bytes_with_video_rejected(plain_mp4: bytes) -> None:
    movie = fx.Movie.load(plain_mp4)
    stco = movie.traks()[0].find(b"mdia", b"minf", b"stbl", b"stco")
    (first_video_chunk,) = struct.unpack_from(">I", stco.payload, 8)
    # A GPMF track whose sample lies inside video data: zeroing it would damage the video,
    # keeping it would publish whatever the track says is there.
    entry = fx.sample_entry(b"gpmd")
    trak = fx.data_trak(movie.next_track_id(), b"meta", entry, [first_video_chunk + 16], [32])
    movie.moov.children = [*(movie.moov.children or []), trak]
    manifest, out = sanitize_bytes(movie.encode())
    assert (manifest.status, manifest.reason) == ("rejected", "unsafe_content")
    assert out == b""


def test_tref_keeps_references_to_kept_tracks(plain_mp4: bytes) -> None:
    movie = telemetry_movie(plain_mp4)
    video = movie.traks()[0]
    tref = video.find(b"tref")
    tref.payload += fx.box(b"sync", struct.pack(">I", 2))  # the audio track, which stays
    manifest, out = sanitize_bytes(movie.encode())
    assert (manifest.status, manifest.reason) == ("clean", "")
    at = out.index(b"tref") - 4
    (size,) = struct.unpack_from(">I", out, at)
    assert out[at : at + size] == fx.box(b"tref", fx.box(b"sync", struct.pack(">I", 2)))
    assert out[at + size + 4 : at + size + 8] == b"free"


def test_audio_only_mp4_reported_as_m4a(media_dir: Path) -> None:
    src = ffmpeg_clip(media_dir / "audio.mp4", video=False)
    manifest, _out = sanitize_bytes(src.read_bytes())
    assert (manifest.status, manifest.format, manifest.media_kind) == ("clean", "m4a", "audio")
    assert (manifest.width, manifest.height, manifest.orientation) == (None, None, None)


# --------------------------------------------------------------------------- hostile input


def _set_u32(data: bytes, at: int, value: int) -> bytes:
    return data[:at] + struct.pack(">I", value) + data[at + 4 :]


def _box_at(data: bytes, kind: bytes) -> int:
    return data.index(kind) - 4


def _truncated(d: bytes) -> bytes:
    return d[: len(d) * 2 // 3]


def _mdat_too_big(d: bytes) -> bytes:
    return _set_u32(d, _box_at(d, b"mdat"), len(d) * 4)


def _size_zero_mid_file(d: bytes) -> bytes:
    return _set_u32(d, _box_at(d, b"mdat"), 0)


def _size_zero_inside_moov(d: bytes) -> bytes:
    return _set_u32(d, _box_at(d, b"mvhd"), 0)


def _depth_bomb(d: bytes) -> bytes:
    """100 000 'trak' boxes nested inside each other at the end of moov."""
    moov_at = _box_at(d, b"moov")
    depth = 100_000
    bomb = b"".join(struct.pack(">I", 8 * (depth - i)) + b"trak" for i in range(depth))
    return d[:moov_at] + fx.box(b"moov", d[moov_at + 8 :] + bomb)


def _huge_sample_count(d: bytes) -> bytes:
    at = _box_at(d, b"stsz")
    return _set_u32(d, at + 16, 1_000_000_000)


def _huge_constant_samples(d: bytes) -> bytes:
    at = _box_at(d, b"stsz")
    d = _set_u32(d, at + 12, 1000)  # constant size
    d = _set_u32(d, at + 16, 1_000_000_000)
    stsc = _box_at(d, b"stsc")
    return _set_u32(d, stsc + 20, 1_000_000_000)  # samples per chunk of the first run


def _no_moov(d: bytes) -> bytes:
    at = _box_at(d, b"moov")
    return d[:at]


def _chunk_outside_file(d: bytes) -> bytes:
    return _set_u32(d, _box_at(d, b"stco") + 16, len(d) + 100)


def _chunk_in_moov(d: bytes) -> bytes:
    return _set_u32(d, _box_at(d, b"stco") + 16, _box_at(d, b"moov") + 8)


def _garbage_after_last_box(d: bytes) -> bytes:
    return d + b"\x00\x00\x00\x30CANARY"


def _binary_ftyp_brand(d: bytes) -> bytes:
    return d[:8] + b"\x00\xffCA" + d[12:]


def _external_data_reference(d: bytes) -> bytes:
    at = _box_at(d, b"url ")
    return d[: at + 8] + b"\x00\x00\x00\x00" + d[at + 12 :]


HOSTILE = [
    _truncated,
    _mdat_too_big,
    _size_zero_mid_file,
    _size_zero_inside_moov,
    _depth_bomb,
    _huge_sample_count,
    _huge_constant_samples,
    _no_moov,
    _chunk_outside_file,
    _chunk_in_moov,
    _garbage_after_last_box,
    _binary_ftyp_brand,
    _external_data_reference,
]


@pytest.mark.parametrize("mutate", HOSTILE, ids=[m.__name__.strip("_") for m in HOSTILE])
def test_hostile_mp4_rejected(plain_mp4: bytes, mutate: Callable[[bytes], bytes]) -> None:
    data = mutate(plain_mp4)
    manifest, out = sanitize_bytes(data)
    assert manifest.status == "rejected"
    assert out == b""


def test_random_corruption_never_raises(plain_mp4: bytes, media_dir: Path) -> None:
    rng = random.Random(20230704)  # noqa: S311 - a fixed, reproducible corruption pattern
    originals = [plain_mp4, fx.hand_built_heic(media_dir)]
    statuses = set()
    for data in originals:
        meta_end = min(len(data), 4096) if data[8:12] == b"heic" else len(data)
        moov_at = data.rfind(b"moov") - 4 if b"moov" in data else 0
        for _ in range(150):
            mutated = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                at = rng.randrange(moov_at, meta_end) if moov_at else rng.randrange(meta_end)
                mutated[at] = rng.randrange(256)
            manifest, out = sanitize_bytes(bytes(mutated))
            statuses.add(manifest.status)
            if manifest.status == "rejected":
                assert out == b""
    assert statuses <= {"clean", "rejected"}


# --------------------------------------------------------------------------- verifier


def test_verifier_flags_every_planted_trace(telemetry_mp4: Path) -> None:
    findings = verify_isobmff.verify(io.BytesIO(telemetry_mp4.read_bytes()))
    text = "\n".join(findings)
    for expected in [
        "moov/udta is not allowed",
        "moov/meta is not allowed",
        "moov/uuid is not allowed",
        "moov/jumb is not allowed",
        "trak/udta is not allowed",
        "has handler meta",
        "has handler camm",
        "has handler tmcd",
        "top-level box uuid",
        "creation or modification time is set",
        "handler name is not empty",
        "non-zero padding",
    ]:
        assert expected in text, expected


def test_verifier_accepts_sanitized_output(telemetry_mp4: Path) -> None:
    _ctx, out = strip_bytes(telemetry_mp4.read_bytes())
    assert verify_isobmff.verify(io.BytesIO(out)) == []


def test_verifier_flags_nonzero_byte_in_unreferenced_mdat(telemetry_mp4: Path) -> None:
    _ctx, out = strip_bytes(telemetry_mp4.read_bytes())
    second_mdat = out.rindex(b"mdat") + 4  # the telemetry samples, now zeroed
    poked = out[:second_mdat] + b"X" + out[second_mdat + 1 :]
    findings = verify_isobmff.verify(io.BytesIO(poked))
    assert len(findings) == 1
    assert "not used by any kept media" in findings[0]


def test_verifier_flags_restored_creation_time(telemetry_mp4: Path) -> None:
    _ctx, out = strip_bytes(telemetry_mp4.read_bytes())
    mvhd = out.index(b"mvhd") + 4
    poked = out[: mvhd + 4] + struct.pack(">I", fx.CANARY_TIME) + out[mvhd + 8 :]
    assert verify_isobmff.verify(io.BytesIO(poked)) == [
        "mvhd: creation or modification time is set"
    ]


def test_verifier_reports_garbage_instead_of_raising() -> None:
    assert verify_isobmff.verify(io.BytesIO(b"\x00\x00\x00\x10ftypisom\xff\xff\xff\xff")) != []
    assert verify_isobmff.verify(io.BytesIO(b"")) != []


# --------------------------------------------------------------------------- shared samples


def _iso_samples() -> list[Path]:
    root = require_shared_samples() / "files"
    paths = sorted([*root.glob("*"), *(root / "real").glob("*")])
    return [p for p in paths if p.is_file() and _head(p)[4:8] == b"ftyp"]


def _head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(8)


SAMPLE_NAMES = [
    "3gp_loci_author.3gp",
    "heic_iphone_like.heic",
    "m4a_voice_memo.m4a",
    "mov_iphone_hevc_livephoto.mov",
    "mp4_rotated90_xyz.mp4",
    "real/exifsamples_HMD_Nokia_8.3_5G.heif",
    "real/exifsamples_IMG_5195.HEIC",
    "real/exifsamples_iphone_13_pro_max.HEIC",
]


def test_shared_samples_iso_set_is_known() -> None:
    root = require_shared_samples() / "files"
    assert [str(p.relative_to(root)) for p in _iso_samples()] == SAMPLE_NAMES


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_shared_sample_clean_lossless_and_oriented(name: str, tmp_path: Path) -> None:
    require_tool("exiftool")
    require_tool("ffmpeg")
    shared = require_shared_samples()
    src = shared / "files" / name
    out = tmp_path / Path(name).name
    manifest = sanitize(src, out)
    assert (manifest.status, manifest.reason, manifest.lossless) == ("clean", "", True)
    report = tmp_path / "report.json"
    run(
        sys.executable, str(shared / "check_clean.py"), str(out),
        "--orig", str(src), "--json", str(report), "--quiet",
    )  # fmt: skip
    result = json.loads(report.read_text())["results"][0]
    assert result["findings"] == []
    lossless = result["lossless"]
    if any("user data" in r.what for r in manifest.removed):
        # SEI user data removed: the coded packets the checker compares changed by design;
        # every decoded frame and every audio packet must not have.
        identical = result.get("streams_identical", {})
        lossless = framemd5(out) == framemd5(src) and identical.get("audio", True)
    assert (result["clean"], lossless, result["orientation_ok"]) == (True, True, True)


# --------------------------------------------------------------------------- performance

# Peak memory is read from VmHWM: ru_maxrss of a child also counts the parent's memory at
# fork time (here, the whole pytest process).
PERF_SCRIPT = """
import re, sys, time
sys.path.insert(0, sys.argv[3])
from intake.sanitize import sanitize
start = time.perf_counter()
manifest = sanitize(sys.argv[1], sys.argv[2])
elapsed = time.perf_counter() - start
with open("/proc/self/status") as status:
    peak_kb = re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1)
print(manifest.status, elapsed, peak_kb)
"""


def _big_movie(path: Path, payload_mb: int) -> int:
    """A 1-track MP4 whose samples fill ``payload_mb`` MiB of mdat, with a GPMF telemetry
    sample at the start of every 64th MiB. Samples are not decodable; only the container
    matters here. Returns where mdat's payload starts."""
    chunk, slot, every = 1 << 20, 128, 64
    ftyp = fx.box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41")
    starts = [len(ftyp) + 8 + i * chunk for i in range(payload_mb)]
    offsets = [s + (slot if i % every == 0 else 0) for i, s in enumerate(starts)]
    sizes = [chunk - (slot if i % every == 0 else 0) for i in range(payload_mb)]
    gps_offsets = starts[::every]
    # avcC with 4-byte NAL lengths and no parameter sets; each sample is one NAL unit.
    avcc = bytes((1, 66, 0, 30, 0xFF, 0xE0, 0))
    entry = fx.box(b"avc1", bytes(6) + b"\x00\x01" + bytes(70) + fx.box(b"avcC", avcc))
    video = fx.data_trak(1, b"vide", entry, offsets, sizes, name=b"")
    gps = fx.data_trak(2, b"meta", fx.sample_entry(b"gpmd"), gps_offsets, [slot] * len(gps_offsets))
    mvhd = fx.Node(b"mvhd", bytes(12) + struct.pack(">II", 1000, 1000) + bytes(80))
    moov = fx.Node(b"moov", children=[mvhd, video, gps]).encode()
    # High-entropy bytes, like coded video (and unlike text, which the marker scan dwells on).
    block = bytearray(random.Random(1).randbytes(chunk))  # noqa: S311
    for at, size in ((0, chunk), (slot, chunk - slot)):  # an IDR slice NAL unit
        block[at : at + 5] = (size - 4).to_bytes(4, "big") + b"\x65"
    telemetry = fx.gpmf_sample(0).ljust(slot, b"\x00")
    with open(path, "wb") as f:
        f.write(ftyp + struct.pack(">I", 8 + payload_mb * chunk) + b"mdat")
        for i in range(payload_mb):
            f.write(telemetry + block[slot:] if i % every == 0 else block)
        f.write(moov)
    return starts[0]


def test_large_file_streams_with_bounded_memory(tmp_path: Path) -> None:
    if not Path("/proc/self/status").exists():
        pytest.skip("peak memory is read from /proc (Linux)")
    src = tmp_path / "big.mp4"
    data_start = _big_movie(src, 256)
    start = time.perf_counter()
    shutil.copyfile(src, tmp_path / "copy.mp4")
    copy_time = time.perf_counter() - start
    (tmp_path / "copy.mp4").unlink()
    root = str(Path(__file__).resolve().parents[3])
    out = tmp_path / "big-out.mp4"
    result = run(sys.executable, "-c", PERF_SCRIPT, str(src), str(out), root).decode().split()
    status, elapsed, peak_kb = result[0], float(result[1]), int(result[2])
    assert status == "clean"
    assert peak_kb < 100 * 1024
    # sanitize() reads the input twice (hash, strip) and the output twice (verify, hash):
    # allow a generous multiple of one plain copy.
    assert elapsed < 12 * copy_time + 2.0
    with open(out, "rb") as f:
        f.seek(data_start)
        assert f.read(128) == bytes(128)  # the telemetry sample is zeroed
        kept = bytearray(random.Random(1).randbytes(256)[128:])  # noqa: S311
        kept[:5] = ((1 << 20) - 128 - 4).to_bytes(4, "big") + b"\x65"  # its NAL header
        assert f.read(128) == kept
