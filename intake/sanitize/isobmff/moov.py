"""The 'moov' box: movie and track headers, sample tables, and the metadata around them.

Kept video and audio tracks keep their sample tables; their creation times, handler names
and encoder names are zeroed. Every other track, udta, meta and unknown box becomes 'free'.
The sample tables of kept tracks say which bytes of 'mdat' are copied; a removed track's say
which bytes must not be.
"""

from __future__ import annotations

import contextlib
import re
from array import array

from .. import _m4v, _obu, _sei, _video, errors
from ..errors import Rejected, malformed
from .boxes import (
    Box,
    children,
    clear_hdlr_name,
    fourcc,
    fourccs,
    free_box,
    keep_only,
    make_box,
    neutral_colr,
    only,
    process_dinf,
    s32,
    to_free,
    uint,
    uint_array,
    zero_payload,
)
from .state import Ranges, State, Track

VISUAL_FORMATS = fourccs(
    "avc1 avc2 avc3 avc4 hvc1 hev1 dvh1 dvhe dva1 dvav av01 vp08 vp09 mp4v s263 h263 "
    "apcn apch apcs apco ap4h ap4x"
)

AUDIO_FORMATS = fourccs(
    "mp4a ac-3 ec-3 ac-4 Opus fLaC alac samr sawb sowt twos lpcm in24 in32 fl32 fl64 "
    "ulaw alaw ima4 raw_ .mp3 mha1 mhm1 ipcm fpcm"
)

# Codec configuration and display boxes inside sample entries; anything else is zeroed.
VISUAL_ENTRY_CHILDREN = fourccs(
    "avcC hvcC av1C vpcC dvcC dvvC dvwC lhvC hvcE esds d263 colr pasp clap btrt fiel gama "
    "mdcv clli SmDm CoLL st3d vexu hfov ccst free"
)

AUDIO_ENTRY_CHILDREN = fourccs(
    "esds dOps dfLa alac damr dac3 dec3 dac4 chan chnl srat btrt pcmC mhaC ddts SA3D wave free"
)

# QuickTime 'wave' ends with a terminator atom of type 0.
WAVE_CHILDREN = fourccs("frma mp4a esds enda chan alac") | {bytes(4)}

STBL_CHILDREN = fourccs(
    "stsd stts ctts cslg stss stps sdtp stsc stsz stz2 stco co64 sgpd sbgp subs padb stdp stsh"
)

KEPT_HANDLERS = fourccs("vide soun")

# Sample entries whose samples are length-prefixed H.264 or HEVC NAL units.
AVC_ENTRIES = fourccs("avc1 avc2 avc3 avc4 dva1 dvav")
HEVC_ENTRIES = fourccs("hvc1 hev1 dvh1 dvhe")

# Video samples whose NAL units are read for SEI (16 bytes each in memory): ten hours at
# 60 frames a second.
MAX_NAL_SAMPLES = 2_200_000

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][0-9:.+\-Z]*)?$")

# tkhd matrix (a, b, c, d) in 16.16 units -> EXIF orientation code.
_MATRIX_ORIENTATION = {
    (1, 0, 0, 1): 1,
    (-1, 0, 0, 1): 2,
    (-1, 0, 0, -1): 3,
    (1, 0, 0, -1): 4,
    (0, 1, 1, 0): 5,
    (0, 1, -1, 0): 6,
    (0, -1, -1, 0): 7,
    (0, -1, 1, 0): 8,
}


def process_moov(buf: bytearray, moov: Box, st: State) -> None:
    kids = children(buf, moov.body, moov.end)
    mvhd = only(kids, b"mvhd")
    if mvhd is None:
        raise malformed("moov without mvhd")
    timescale, duration = _clear_times(buf, mvhd, st)
    if timescale and duration not in (0, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF):
        st.ctx.duration_s = duration / timescale

    traks: list[tuple[Box, Track]] = []
    for box in kids:
        if box.type in (b"mvhd", b"iods"):
            continue
        if box.type == b"trak":
            track = _process_trak(buf, box, st)
            if track.track_id in st.tracks:
                raise malformed("duplicate track id")
            st.tracks[track.track_id] = track
            traks.append((box, track))
        elif box.type == b"mvex":
            _process_mvex(buf, box, st)
        elif box.type in (b"free", b"skip"):
            zero_payload(buf, box)
        else:
            if box.type == b"udta":
                _note_udta(buf, box, "moov/udta", st)
            elif box.type == b"meta":
                note_meta(buf, box, "moov/meta", st)
            else:
                st.remove(fourcc(box.type), "moov")
            to_free(buf, box)

    kept = st.kept_ids()
    for box, track in traks:
        if track.kept:
            tref = only(children(buf, box.body, box.end), b"tref")
            if tref is not None:
                _fix_tref(buf, tref, kept, track.track_id, st)


def _clear_times(buf: bytearray, box: Box, st: State) -> tuple[int, int]:
    """Zero creation/modification time of mvhd/tkhd/mdhd; return (timescale, duration).

    For tkhd the "timescale" is the track ID (same position as mvhd's timescale)."""
    version = uint(buf, box.body, 1, box.end)
    width = 8 if version == 1 else 4
    if version > 1:
        raise malformed(f"unknown {fourcc(box.type)} version")
    first = box.body + 4
    for off in (first, first + width):
        value = uint(buf, off, width, box.end)
        if value:
            st.header_times.append(value)
            buf[off : off + width] = bytes(width)
    third = first + 2 * width
    third_value = uint(buf, third, 4, box.end)
    if box.type == b"tkhd":
        # tkhd: track_ID, reserved, duration
        return third_value, uint(buf, third + 8, width, box.end)
    return third_value, uint(buf, third + 4, width, box.end)


def _note_udta(buf: bytearray, box: Box, where: str, st: State) -> None:
    """Record what a removed udta held and take the capture date it states, if any."""
    try:
        kids = children(buf, box.body, box.end)
    except Rejected:
        st.remove("udta", where)
        return
    for kid in kids:
        if kid.type != b"meta":
            st.remove(fourcc(kid.type), where)
        if kid.type == b"\xa9day" and kid.end - kid.body > 4:
            # QuickTime text atom: 16-bit length, 16-bit language, text.
            length = uint(buf, kid.body, 2, kid.end)
            _take_stated_time(bytes(buf[kid.body + 4 : kid.body + 4 + length]), 1, st)
        elif kid.type == b"meta":
            note_meta(buf, kid, where + "/meta", st)
    if not kids:
        st.remove("udta", where)


def note_meta(buf: bytearray, box: Box, where: str, st: State) -> None:
    """Record a removed metadata box (keys/ilst) and the creation date it states."""
    st.remove("meta", where)
    # The box is removed either way; a date is only evidence.
    with contextlib.suppress(Rejected, ValueError, IndexError):
        _read_meta_dates(buf, box, where, st)


def _read_meta_dates(buf: bytearray, box: Box, where: str, st: State) -> None:
    start = box.body
    # QuickTime 'meta' has no version/flags; ISO 'meta' does.
    if bytes(buf[start + 4 : start + 8]) != b"hdlr":
        start += 4
    kids = children(buf, start, box.end)
    key_names: list[bytes] = []
    keys = only(kids, b"keys")
    if keys is not None:
        count = uint(buf, keys.body + 4, 4, keys.end)
        pos = keys.body + 8
        for _ in range(min(count, 10_000)):
            size = uint(buf, pos, 4, keys.end)
            if size < 8 or pos + size > keys.end:
                break
            key_names.append(bytes(buf[pos + 8 : pos + size]))
            pos += size
        for name in key_names:
            st.remove(name.decode("latin-1"), where + "/keys")
    ilst = only(kids, b"ilst")
    if ilst is None:
        return
    for item in children(buf, ilst.body, ilst.end):
        if keys is not None:
            index = int.from_bytes(item.type, "big")
            name = key_names[index - 1] if 0 < index <= len(key_names) else b""
            # Apple's creationdate is local time with its offset: the best evidence.
            priority = 2 if name == b"com.apple.quicktime.creationdate" else 0
        else:
            st.remove(fourcc(item.type), where + "/ilst")
            priority = 1 if item.type == b"\xa9day" else 0
        if not priority:
            continue
        for data in children(buf, item.body, item.end):
            if data.type == b"data" and data.end - data.body > 8:
                _take_stated_time(bytes(buf[data.body + 8 : data.end]), priority, st)


def _take_stated_time(raw: bytes, priority: int, st: State) -> None:
    try:
        text = raw.split(b"\0", 1)[0].decode("utf-8").strip()
    except UnicodeDecodeError:
        return
    if len(text) <= 64 and _ISO_DATE.match(text) and priority > st.stated_priority:
        st.stated_time = text
        st.stated_priority = priority


def _process_mvex(buf: bytearray, mvex: Box, st: State) -> None:
    for box in children(buf, mvex.body, mvex.end):
        if box.type == b"trex":
            track_id = uint(buf, box.body + 4, 4, box.end)
            st.trex_sample_size[track_id] = uint(buf, box.body + 16, 4, box.end)
        elif box.type in (b"mehd", b"leva", b"trep"):
            continue
        elif box.type in (b"free", b"skip"):
            zero_payload(buf, box)
        else:
            st.remove(fourcc(box.type), "moov/mvex")
            to_free(buf, box)


def _process_trak(buf: bytearray, trak: Box, st: State) -> Track:
    kids = children(buf, trak.body, trak.end)
    tkhd = only(kids, b"tkhd")
    mdia = only(kids, b"mdia")
    if tkhd is None or mdia is None:
        raise malformed("track without tkhd or mdia")
    version = uint(buf, tkhd.body, 1, tkhd.end)
    width = 8 if version == 1 else 4
    track_id = uint(buf, tkhd.body + 4 + 2 * width, 4, tkhd.end)
    mdia_kids = children(buf, mdia.body, mdia.end)
    hdlr = only(mdia_kids, b"hdlr")
    if hdlr is None:
        raise malformed("track without handler")
    handler = bytes(buf[hdlr.body + 8 : hdlr.body + 12])
    if len(handler) != 4:
        raise malformed("short hdlr box")
    kept = handler in KEPT_HANDLERS or (handler == b"pict" and st.image_brand)
    st.had_video = st.had_video or handler == b"vide"
    try:
        formats = _sample_formats(buf, mdia)
    except Rejected:
        if kept:
            raise
        formats = set()  # only used to name the removed track
    if kept and not formats:
        # Nothing says how to read the samples, so nothing says what they hold.
        raise malformed("kept track without a sample description")
    if kept and not formats <= (AUDIO_FORMATS if handler == b"soun" else VISUAL_FORMATS):
        # A codec we do not know may carry metadata inside its samples (JPEG frames with
        # Exif, for one): the track goes, and the file is no longer complete.
        kept = False
        st.dropped_media = True
    track = Track(track_id, handler, kept)
    if not kept:
        name = fourcc(min(formats)) if formats else fourcc(handler)
        st.remove("track", f"track {track_id} ({name})")
        _note_removed_samples(buf, mdia, st)
        to_free(buf, trak)
        return track

    _clear_times(buf, tkhd, st)
    if handler in (b"vide", b"pict") and st.track_width is None:
        # creation, modification, track_ID, reserved, duration, reserved[2], layer..volume
        matrix = tkhd.body + 4 + 3 * width + 24
        a, b, c, d = (s32(buf, matrix + 4 * i, tkhd.end) for i in (0, 1, 3, 4))
        unit = 0x10000
        if all(v % unit == 0 for v in (a, b, c, d)):
            key = (a // unit, b // unit, c // unit, d // unit)
            st.track_orientation = _MATRIX_ORIENTATION.get(key)
        w = uint(buf, matrix + 36, 4, tkhd.end) >> 16
        h = uint(buf, matrix + 40, 4, tkhd.end) >> 16
        if w and h:
            st.track_width, st.track_height = w, h

    for box in kids:
        if box.type in (b"tkhd", b"tref"):
            continue
        if box.type == b"mdia":
            _process_mdia(buf, box, mdia_kids, track, st)
        elif box.type == b"edts":
            keep_only(buf, box, {b"elst"}, f"track {track_id}/edts", st)
        elif box.type == b"tapt":
            keep_only(buf, box, {b"clef", b"prof", b"enof"}, f"track {track_id}/tapt", st)
        elif box.type in (b"free", b"skip"):
            zero_payload(buf, box)
        else:
            st.remove(fourcc(box.type), f"track {track_id}")
            to_free(buf, box)
    return track


def _note_removed_samples(buf: bytearray, mdia: Box, st: State) -> None:
    """Remember where a removed track's samples are (best effort: the track goes anyway)."""
    with contextlib.suppress(Rejected):
        for minf in children(buf, mdia.body, mdia.end):
            if minf.type == b"minf":
                for stbl in children(buf, minf.body, minf.end):
                    if stbl.type == b"stbl":
                        kids = children(buf, stbl.body, stbl.end)
                        _collect_samples(buf, kids, st.removed_ranges, st.size)


def _sample_formats(buf: bytearray, mdia: Box) -> set[bytes]:
    """Sample entry formats (codecs) of a track."""
    found: set[bytes] = set()
    for minf in children(buf, mdia.body, mdia.end):
        if minf.type != b"minf":
            continue
        for stbl in children(buf, minf.body, minf.end):
            if stbl.type != b"stbl":
                continue
            for stsd in children(buf, stbl.body, stbl.end):
                if stsd.type == b"stsd":
                    found |= {e.type for e in children(buf, stsd.body + 8, stsd.end)}
    return found


def _process_mdia(buf: bytearray, mdia: Box, kids: list[Box], track: Track, st: State) -> None:
    where = f"track {track.track_id}"
    mdhd = only(kids, b"mdhd")
    minf = only(kids, b"minf")
    if mdhd is None or minf is None:
        raise malformed("media without mdhd or minf")
    for box in kids:
        if box.type == b"mdhd":
            _clear_times(buf, box, st)
        elif box.type == b"hdlr":
            clear_hdlr_name(buf, box)
        elif box.type == b"minf":
            _process_minf(buf, box, track, st)
        elif box.type in (b"free", b"skip"):
            zero_payload(buf, box)
        else:
            st.remove(fourcc(box.type), where + "/mdia")
            to_free(buf, box)


def _process_minf(buf: bytearray, minf: Box, track: Track, st: State) -> None:
    where = f"track {track.track_id}/minf"
    kids = children(buf, minf.body, minf.end)
    stbl = only(kids, b"stbl")
    if stbl is None:
        raise malformed("media without sample table")
    for box in kids:
        if box.type in (b"vmhd", b"smhd", b"nmhd"):
            continue
        if box.type == b"hdlr":
            clear_hdlr_name(buf, box)
        elif box.type == b"dinf":
            process_dinf(buf, box, where, st)
        elif box.type == b"stbl":
            _process_stbl(buf, box, track, st)
        elif box.type in (b"free", b"skip"):
            zero_payload(buf, box)
        else:
            st.remove(fourcc(box.type), where)
            to_free(buf, box)


def _process_stbl(buf: bytearray, stbl: Box, track: Track, st: State) -> None:
    where = f"track {track.track_id}/stbl"
    kids = children(buf, stbl.body, stbl.end)
    for box in kids:
        if box.type == b"stsd":
            _process_stsd(buf, box, track, st)
        elif box.type in STBL_CHILDREN:
            continue
        elif box.type in (b"free", b"skip"):
            zero_payload(buf, box)
        else:
            st.remove(fourcc(box.type), where)
            to_free(buf, box)
    samples = None
    if track.track_id in st.nal_tracks:
        samples = st.nal_samples.setdefault(track.track_id, (array("q"), array("q")))
    _collect_samples(buf, kids, st.ranges, st.size, samples)


def _process_stsd(buf: bytearray, stsd: Box, track: Track, st: State) -> None:
    where = f"track {track.track_id}/stsd"
    audio = track.handler == b"soun"
    for entry in children(buf, stsd.body + 8, stsd.end):
        if audio:
            kids = _audio_entry_children(buf, entry)
            allowed = AUDIO_ENTRY_CHILDREN
        else:
            if entry.body + 78 > entry.end:
                raise malformed("short visual sample entry")
            # Compressor name: encoder text, never needed to decode.
            buf[entry.body + 42 : entry.body + 74] = bytes(32)
            kids = children(buf, entry.body + 78, entry.end)
            allowed = VISUAL_ENTRY_CHILDREN
            _nal_config(buf, entry, kids, track, st)
        for kid in kids:
            if kid.type == b"wave" and audio:
                keep_only(buf, kid, set(WAVE_CHILDREN), where + "/wave", st)
            elif kid.type == b"free":
                zero_payload(buf, kid)
            elif kid.type == b"colr":
                neutral_colr(buf, kid, where, st)
            elif kid.type not in allowed:
                st.remove(fourcc(kid.type), where)
                to_free(buf, kid)


def _nal_config(buf: bytearray, entry: Box, kids: list[Box], track: Track, st: State) -> None:
    """Note a track whose samples are cleaned (H.264/HEVC NAL length size, AV1, MPEG-4 Part
    2) and clean its configuration record."""
    codec: _video.Codec
    if entry.type in AVC_ENTRIES:
        codec = "avc"
    elif entry.type in HEVC_ENTRIES:
        codec = "hevc"
    elif entry.type in (b"av01", b"mp4v"):
        codec = "av1" if entry.type == b"av01" else "mp4v"
        _stream_config(buf, codec, kids, track, st)
        if st.nal_tracks.setdefault(track.track_id, (codec, 0)) != (codec, 0):
            raise Rejected(errors.UNSUPPORTED_FORMAT, "sample entries of different codecs")
        return
    else:
        return
    length_size = 0
    for kid in kids:
        raw = bytes(buf[kid.body : kid.end])
        if kid.type == b"avcC" and codec == "avc":
            length_size = _sei.avcc_length_size(raw)
        elif kid.type in (b"hvcC", b"lhvC") and codec == "hevc":
            cleaned, size, gone = _sei.clean_hvcc(raw, layered=kid.type == b"lhvC")
            if kid.type == b"hvcC" or not length_size:
                length_size = size
            if gone:
                _shorter_record(buf, kid, cleaned)
                st.remove(_sei.removed_label(gone), f"track {track.track_id}/{fourcc(kid.type)}")
    if not length_size:
        raise malformed("H.264/HEVC sample entry without its configuration record")
    if st.nal_tracks.setdefault(track.track_id, (codec, length_size)) != (codec, length_size):
        raise Rejected(errors.UNSUPPORTED_FORMAT, "sample entries of different NAL framing")


def _shorter_record(buf: bytearray, kid: Box, cleaned: bytes) -> None:
    """Rewrite a configuration record shorter; a free box after it keeps the entry's size."""
    new = make_box(kid.type, cleaned)
    if kid.hdr != 8 or kid.size - len(new) < 8:
        raise Rejected(errors.UNSAFE_CONTENT, f"no room to clean {fourcc(kid.type)}")
    buf[kid.start : kid.end] = new + free_box(kid.size - len(new))


def _stream_config(
    buf: bytearray, codec: _video.Codec, kids: list[Box], track: Track, st: State
) -> None:
    """av1C: metadata OBUs out (_obu); esds of mp4v: user data blanked in place (_m4v)."""
    want = b"av1C" if codec == "av1" else b"esds"
    boxes = [kid for kid in kids if kid.type == want]
    if len(boxes) != 1:
        raise malformed(f"{codec} sample entry without exactly one {fourcc(want)}")
    kid = boxes[0]
    raw = bytes(buf[kid.body : kid.end])
    where = f"track {track.track_id}/{fourcc(want)}"
    if codec == "av1":
        cleaned, gone = _obu.clean_av1c(raw)
        if gone:
            _shorter_record(buf, kid, cleaned)
            st.remove(_obu.removed_label(gone), where)
        return
    object_type, at, length = _m4v.esds_dsi(raw)
    if object_type in (0x6C, 0x6D, 0x6E):
        raise Rejected(errors.UNSAFE_CONTENT, "mp4v track of JPEG frames (EXIF)")
    if object_type != _m4v.MPEG4_VISUAL:
        raise Rejected(errors.UNSUPPORTED_FORMAT, f"mp4v object type {object_type:#x}")
    blanked, _count = _m4v.clean_config(raw[at : at + length])
    if blanked is not None:
        buf[kid.body + at : kid.body + at + length] = blanked
        st.remove(_m4v.USER_DATA_NAME, where)


def _audio_entry_children(buf: bytearray, entry: Box) -> list[Box]:
    version = uint(buf, entry.body + 8, 2, entry.end)
    # QuickTime sound descriptions v1/v2 carry 16/36 more bytes; ISO v1 entries do not.
    offsets = {0: [28], 1: [44, 28], 2: [64]}.get(version)
    if offsets is None:
        raise malformed("unknown audio sample entry version")
    for i, off in enumerate(offsets):
        if entry.body + off > entry.end:
            continue
        try:
            return children(buf, entry.body + off, entry.end)
        except Rejected:
            if i == len(offsets) - 1:
                raise
    raise malformed("short audio sample entry")


def _collect_samples(
    buf: bytearray,
    kids: list[Box],
    ranges: Ranges,
    size: int,
    samples: tuple[array[int], array[int]] | None = None,
) -> None:
    """Add the byte range of every chunk of a track to ``ranges``; with ``samples``, also
    each sample's (start, size)."""
    stco = only(kids, b"stco")
    co64 = only(kids, b"co64")
    stsc = only(kids, b"stsc")
    stsz = only(kids, b"stsz")
    stz2 = only(kids, b"stz2")
    offsets_box = stco or co64
    if offsets_box is None or stsc is None or (stsz is None and stz2 is None):
        if offsets_box is None and stsc is None and stsz is None and stz2 is None:
            return
        raise malformed("incomplete sample table")
    if stco is not None and co64 is not None:
        raise malformed("both stco and co64")
    width = 4 if stco is not None else 8
    count = uint(buf, offsets_box.body + 4, 4, offsets_box.end)
    table = offsets_box.body + 8
    if table + count * width > offsets_box.end:
        raise malformed("chunk offset table larger than its box")
    offsets = uint_array(buf[table : table + count * width], width)

    constant, sizes, total = _sample_sizes(buf, stsz, stz2)

    entries = uint(buf, stsc.body + 4, 4, stsc.end)
    if stsc.body + 8 + entries * 12 > stsc.end:
        raise malformed("sample-to-chunk table larger than its box")
    runs = uint_array(buf[stsc.body + 8 : stsc.body + 8 + entries * 12], 4)

    pair = ranges.new_source()
    sample = 0
    for r in range(entries):
        first = runs[3 * r]
        per_chunk = runs[3 * r + 1]
        last = runs[3 * r + 3] - 1 if r + 1 < entries else count
        if first < 1 or (r + 1 < entries and runs[3 * r + 3] <= first):
            raise malformed("sample-to-chunk runs out of order")
        for chunk in range(first, min(last, count) + 1):
            if sample + per_chunk > total:
                raise malformed("sample-to-chunk describes more samples than stsz")
            if sizes is None:
                nbytes = per_chunk * constant
            else:
                nbytes = sum(sizes[sample : sample + per_chunk])
            sample += per_chunk
            start = offsets[chunk - 1]
            if start + nbytes > size:
                raise malformed("chunk runs past the end of the file")
            ranges.add(pair, start, start + nbytes)
            if samples is not None:
                _add_samples(samples, start, sample - per_chunk, per_chunk, constant, sizes)


def _add_samples(
    samples: tuple[array[int], array[int]],
    start: int,
    first: int,
    count: int,
    constant: int,
    sizes: array[int] | None,
) -> None:
    starts, lengths = samples
    if len(starts) + count > MAX_NAL_SAMPLES:
        raise Rejected(errors.TOO_LARGE, "too many video samples")
    for i in range(first, first + count):
        length = constant if sizes is None else sizes[i]
        starts.append(start)
        lengths.append(length)
        start += length


def _sample_sizes(
    buf: bytearray, stsz: Box | None, stz2: Box | None
) -> tuple[int, array[int] | None, int]:
    """(constant size, per-sample sizes or None, sample count)."""
    if stsz is not None:
        constant = uint(buf, stsz.body + 4, 4, stsz.end)
        total = uint(buf, stsz.body + 8, 4, stsz.end)
        if constant:
            return constant, None, total
        table = stsz.body + 12
        if table + 4 * total > stsz.end:
            raise malformed("sample size table larger than its box")
        return 0, uint_array(buf[table : table + 4 * total], 4), total
    assert stz2 is not None
    field_size = uint(buf, stz2.body + 7, 1, stz2.end)
    total = uint(buf, stz2.body + 8, 4, stz2.end)
    table = stz2.body + 12
    if field_size not in (4, 8, 16) or table + (total * field_size + 7) // 8 > stz2.end:
        raise malformed("bad compact sample size table")
    raw = bytes(buf[table : table + (total * field_size + 7) // 8])
    if field_size == 16:
        sizes = array("q", (int.from_bytes(raw[i : i + 2], "big") for i in range(0, 2 * total, 2)))
    elif field_size == 8:
        sizes = array("q", raw[:total])
    else:
        sizes = array("q", ((raw[i // 2] >> (4 - 4 * (i % 2))) & 0xF for i in range(total)))
    return 0, sizes, total


def _fix_tref(buf: bytearray, tref: Box, kept: set[int], track_id: int, st: State) -> None:
    """Drop references to removed tracks so players do not look for them."""
    kids = children(buf, tref.body, tref.end)
    keep: list[bytes] = []
    for ref in kids:
        count = (ref.end - ref.body) // 4
        ids = [uint(buf, ref.body + 4 * i, 4, ref.end) for i in range(count)]
        if all(i in kept for i in ids):
            keep.append(bytes(buf[ref.start : ref.end]))
        else:
            st.remove(f"tref/{fourcc(ref.type)}", f"track {track_id}")
    if len(keep) == len(kids):
        return
    if not keep:
        to_free(buf, tref)
        return
    body = b"".join(keep)
    new_tref = make_box(b"tref", body)
    # Each dropped reference box is at least 12 bytes: room for a free box after tref.
    buf[tref.start : tref.end] = new_tref + free_box(tref.size - len(new_tref))
