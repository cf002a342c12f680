"""AV1 and MPEG-4 Part 2 videos with planted metadata OBUs and user data, made with ffmpeg.

AV1: libaom encodes a short clip as IVF (one temporal unit a frame); metadata OBUs (a GPS
fix in private metadata, in a vendor T.35 message and in a timecode; HDR10+ and content
light level that must stay) and a reserved OBU are planted after every temporal delimiter
(ffmpeg's OBU stream reader refuses reserved OBUs; IVF is not parsed); ffmpeg then muxes
the stream without re-encoding into MP4, fragmented MP4, Matroska or WebM (ffmpeg 5.1
writes no AV1 in MOV). MPEG-4 Part 2: ffmpeg's mpeg4 encoder or libxvid writes a raw
stream (``-f m4v``); a user data segment with the GPS fix is planted before every VOP,
then muxed the same way (MP4, MOV, fragmented MP4, Matroska). OBUs are also built by hand
here for unit and property tests.
"""

from __future__ import annotations

from pathlib import Path

from tests.unit.sanitize.av_fixtures import ffmpeg

GPS_TEXT = b"GPS 42.2626N 71.8023W SERIAL CANARY-SN-4242"
HDR10_T35 = bytes.fromhex("b5003c000104") + b"\x01\x02\x03\x04"
VENDOR_T35 = b"\xb5\x00\x99" + b"CANARY dashcam " + GPS_TEXT
HDR_CLL = b"\x03\xe8\x01\x90"  # MaxCLL 1000, MaxFALL 400

CONTAINERS = {
    "mp4": ("mp4", []),
    "mov": ("mov", []),
    "fmp4": ("mp4", ["-movflags", "frag_keyframe+empty_moov"]),
    "mkv": ("mkv", []),
    "webm": ("webm", []),
}

USER_DATA = b"\x00\x00\x01\xb2"  # MPEG-4 Part 2 user_data start code
_TD = b"\x12\x00"  # temporal delimiter OBU: type 2, size field, size 0


def leb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def obu(kind: int, payload: bytes, extension: int | None = None) -> bytes:
    """One OBU with a size field (and an extension byte when given)."""
    head = bytes(((kind << 3) | 0x02 | (0x04 if extension is not None else 0),))
    if extension is not None:
        head += bytes((extension,))
    return head + leb128(len(payload)) + payload


def metadata_obu(metadata_type: int, payload: bytes) -> bytes:
    """A metadata OBU; its payload ends with trailing bits (0x80) like every OBU's."""
    return obu(5, leb128(metadata_type) + payload + b"\x80")


def planted_obus() -> list[bytes]:
    return [
        metadata_obu(6, GPS_TEXT),  # unregistered private metadata
        metadata_obu(4, VENDOR_T35),
        metadata_obu(5, b"\x00" + GPS_TEXT),  # timecode: goes too
        metadata_obu(4, HDR10_T35),  # display: stays
        metadata_obu(1, HDR_CLL),  # display: stays
        obu(12, b"CANARY reserved " + GPS_TEXT),
    ]


def plant_ivf(ivf: bytes, planted: bytes) -> bytes:
    """Insert ``planted`` after the temporal delimiter that opens every frame of an IVF file
    (32-byte header; each frame: 4-byte little-endian size, 8-byte timestamp, data)."""
    out = bytearray(ivf[:32])
    pos = 32
    while pos < len(ivf):
        size = int.from_bytes(ivf[pos : pos + 4], "little")
        frame = ivf[pos + 12 : pos + 12 + size]
        assert frame.startswith(_TD)
        frame = _TD + planted + frame[len(_TD) :]
        out += len(frame).to_bytes(4, "little") + ivf[pos + 4 : pos + 12] + frame
        pos += 12 + size
    return bytes(out)


def _test_pattern(*, seconds: int) -> list[str]:
    """ffmpeg's input arguments for a small test pattern of ``seconds``."""
    return ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", str(seconds)]


def av1_video(directory: Path, container: str) -> Path:
    """A one-second AV1 clip with planted metadata OBUs in every temporal unit."""
    raw = directory / "clip.ivf"
    ffmpeg(
        *_test_pattern(seconds=1),
        "-c:v",
        "libaom-av1",
        "-cpu-used",
        "8",
        "-pix_fmt",
        "yuv420p",
        raw,
    )
    planted = directory / "planted.ivf"
    planted.write_bytes(plant_ivf(raw.read_bytes(), b"".join(planted_obus())))
    return _mux(directory, planted, "ivf", container)


def av1_image(directory: Path) -> Path:
    """An AVIF still image (ffmpeg's avif muxer) whose item data and av1C carry the planted
    metadata OBUs of the first temporal unit."""
    clip = av1_video(directory, "mp4")
    out = directory / "planted.avif"
    ffmpeg("-i", clip, "-c", "copy", "-frames:v", "1", "-f", "avif", out)
    return out


def mpeg4_video(directory: Path, container: str, encoder: str = "mpeg4") -> Path:
    """A two-second MPEG-4 Part 2 clip (ffmpeg's mpeg4 or libxvid, with B-frames) with a
    GPS user data segment before every VOP."""
    raw = directory / "clip.m4v"
    ffmpeg(
        *_test_pattern(seconds=2),
        "-c:v",
        encoder,
        "-bf",
        "1",
        "-f",
        "m4v",
        raw,
    )
    planted = directory / "planted.m4v"
    vop = b"\x00\x00\x01\xb6"
    planted.write_bytes(raw.read_bytes().replace(vop, USER_DATA + GPS_TEXT + vop))
    return _mux(directory, planted, "m4v", container)


def _mux(directory: Path, planted: Path, fmt: str, container: str) -> Path:
    ext, flags = CONTAINERS[container]
    mp4 = directory / f"{fmt}.mp4"
    ffmpeg("-r", "10", "-f", fmt, "-i", planted, "-c", "copy", mp4)
    out = directory / f"{fmt}-{container}.{ext}"
    ffmpeg("-i", mp4, "-c", "copy", *flags, out)
    return out
