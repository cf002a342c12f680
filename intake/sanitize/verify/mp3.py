"""Independent re-read of a sanitized MPEG audio file.

The whole file must be back-to-back MPEG audio frames of one stream, from the first byte to
the last: no ID3v2/ID3v1/APE/Lyrics3 tag, no junk, no partial frame. (An ID3-prefixed FLAC
is handed to the FLAC stripper, and its output to the FLAC reader.)
"""

from __future__ import annotations

from typing import BinaryIO

_READ = 1 << 20

# kbit/s, rows by bitrate index 1..14.
_L1_V1 = [32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448]
_L2_V1 = [32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384]
_L3_V1 = [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
_L1_V2 = [32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256]
_L23_V2 = [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]
_SAMPLE_RATE = {
    0b11: [44100, 48000, 32000],
    0b10: [22050, 24000, 16000],
    0b00: [11025, 12000, 8000],
}


def _frame_size(b1: int, b2: int, b3: int) -> tuple[int, tuple[int, int, int]] | None:
    version = (b1 & 0x18) >> 3
    layer = (b1 & 0x06) >> 1  # 3 = Layer I, 2 = Layer II, 1 = Layer III
    index = (b2 & 0xF0) >> 4
    rate_index = (b2 & 0x0C) >> 2
    if (b1 & 0xE0) != 0xE0 or version == 0b01 or layer == 0 or rate_index == 3:
        return None
    if not 1 <= index <= 14 or (b3 & 0x03) == 0b10:
        return None
    rate = _SAMPLE_RATE[version][rate_index]
    pad = (b2 & 0x02) >> 1
    if version == 0b11:
        kbps = {3: _L1_V1, 2: _L2_V1, 1: _L3_V1}[layer][index - 1]
    else:
        kbps = (_L1_V2 if layer == 3 else _L23_V2)[index - 1]
    if layer == 3:
        size = 4 * (12000 * kbps // rate + pad)
    elif layer == 1 and version != 0b11:
        size = 72000 * kbps // rate + pad
    else:
        size = 144000 * kbps // rate + pad
    return size, (version, layer, rate_index)


def verify(f: BinaryIO) -> list[str]:
    f.seek(0)
    buf = f.read(_READ)
    at = 0  # index in buf
    consumed = 0  # file offset of buf[0]
    stream: tuple[int, int, int] | None = None
    frames = 0
    while True:
        if len(buf) - at < 8192:
            buf = buf[at:] + f.read(_READ)
            consumed += at
            at = 0
            if not buf:
                break
        offset = consumed + at
        if len(buf) - at < 4 or buf[at] != 0xFF:
            return [f"byte {offset} is not the start of an MPEG audio frame"]
        parsed = _frame_size(buf[at + 1], buf[at + 2], buf[at + 3])
        if parsed is None:
            return [f"invalid MPEG audio frame header at {offset}"]
        size, this_stream = parsed
        if stream is None:
            stream = this_stream
        elif this_stream != stream:
            return [f"frame at {offset} belongs to a different stream"]
        if len(buf) - at < size:
            return [f"frame at {offset} runs past the end of the file"]
        at += size
        frames += 1
    if frames == 0:
        return ["no MPEG audio frames"]
    return []
