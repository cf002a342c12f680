"""Videos whose H.264/HEVC SEI carries a planted GPS fix and serial number, made with ffmpeg.

ffmpeg encodes a short clip as a raw Annex B stream; SEI NAL units are planted before every
picture's first slice (and, for HEVC, x265 puts its own in the hvcC record); ffmpeg then
muxes the stream without re-encoding into MP4, MOV, fragmented MP4 or Matroska.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.factories.tools import require_tool
from tests.unit.sanitize.av_fixtures import ffmpeg

GPS_TEXT = b"GPS 42.2626N 71.8023W SERIAL CANARY-SN-4242"
UUID = bytes.fromhex("086f3693b7b34f2c965321492feee5b8")
# A T.35 message that is not display metadata (a vendor's), and one that is (HDR10+ prefix).
VENDOR_T35 = b"\xb5\x00\x99" + b"CANARY dashcam " + GPS_TEXT
HDR10_T35 = bytes.fromhex("b5003c000104") + b"\x01\x02\x03\x04"

CONTAINERS = {
    "mp4": ("mp4", []),
    "mov": ("mov", []),
    "fmp4": ("mp4", ["-movflags", "frag_keyframe+empty_moov"]),
    "mkv": ("mkv", []),
}

_START = re.compile(b"\x00\x00\x01")


def _escape(rbsp: bytes) -> bytes:
    out = bytearray()
    zeros = 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def sei_message(ptype: int, payload: bytes) -> bytes:
    def coded(value: int) -> bytes:
        return b"\xff" * (value // 255) + bytes((value % 255,))

    return coded(ptype) + coded(len(payload)) + payload


def sei_nal(codec: str, messages: list[bytes]) -> bytes:
    header = b"\x06" if codec == "h264" else bytes((39 << 1, 1))
    return header + _escape(b"".join(messages) + b"\x80")


def planted_messages() -> list[bytes]:
    return [
        sei_message(5, UUID + GPS_TEXT),
        sei_message(4, VENDOR_T35),
        sei_message(4, HDR10_T35),
        sei_message(6, b"\x84"),  # recovery point: kept
    ]


def plant(annexb: bytes, codec: str, nal: bytes) -> bytes:
    """Insert ``nal`` before the first slice of every picture of an Annex B stream."""
    starts = [m.end() for m in _START.finditer(annexb)]
    units = [
        annexb[s : (n - 3 if i + 1 < len(starts) else len(annexb))]
        for i, (s, n) in enumerate(zip(starts, [*starts[1:], len(annexb) + 3], strict=True))
    ]
    out = bytearray()
    for unit in units:
        unit = unit.rstrip(b"\x00")
        kind = unit[0] & 0x1F if codec == "h264" else (unit[0] >> 1) & 0x3F
        vcl = kind in (1, 5) if codec == "h264" else kind < 32
        first_slice = vcl and (unit[1 if codec == "h264" else 2] & 0x80)
        if first_slice:
            out += b"\x00\x00\x00\x01" + nal
        out += b"\x00\x00\x00\x01" + unit
    return bytes(out)


def sei_video(directory: Path, codec: str, container: str) -> Path:
    """A one-second clip with planted SEI user data in every picture."""
    raw = directory / f"clip.{codec}"
    encoder = (
        ["-c:v", "libx264"]
        if codec == "h264"
        else ["-c:v", "libx265", "-x265-params", "log-level=error"]
    )
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=160x120:rate=10",
        "-t",
        "1",
        *encoder,
        "-pix_fmt",
        "yuv420p",
        "-f",
        codec,
        raw,
    )
    planted = directory / f"planted.{codec}"
    planted.write_bytes(plant(raw.read_bytes(), codec, sei_nal(codec, planted_messages())))
    ext, flags = CONTAINERS[container]
    out = directory / f"sei-{codec}-{container}.{ext}"
    # Matroska needs timestamps that a raw stream lacks: mux to MP4 first.
    mp4 = directory / f"sei-{codec}.mp4"
    ffmpeg("-r", "10", "-f", codec, "-i", planted, "-c", "copy", mp4)
    ffmpeg("-i", mp4, "-c", "copy", *flags, out)
    return out


def framemd5(path: Path) -> str:
    """MD5 of every decoded frame, one line each (``ffmpeg -f framemd5``)."""
    completed = subprocess.run(
        [
            require_tool("ffmpeg"),
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(path),
            "-map",
            "0:v",
            "-f",
            "framemd5",
            "-",
        ],
        capture_output=True,
        check=True,
    )
    return "\n".join(
        line for line in completed.stdout.decode().splitlines() if not line.startswith("#")
    )
