"""Movie fragments: 'moof' boxes of fragmented recordings and the 'mfra' index.

Each fragment's track runs say which bytes of 'mdat' belong to which track; fragments of
removed tracks become 'free', and their bytes are zeroed like any removed track's.
"""

from __future__ import annotations

from array import array

from .. import errors
from ..errors import Rejected, malformed
from .boxes import Box, children, fourcc, keep_only, only, s32, to_free, uint, zero_payload
from .moov import MAX_NAL_SAMPLES
from .state import State


def process_moof(buf: bytearray, moof_pos: int, hdr: int, st: State, collect: bool) -> None:
    """Sanitize one movie fragment; with ``collect``, record its kept sample ranges."""
    if collect and st.moof_ranges is None:
        st.moof_ranges = st.ranges.new_source()
        st.moof_removed = st.removed_ranges.new_source()
    data_end = moof_pos  # implicit base offset of the first traf is the moof start
    kept_before_missing_base = False
    dropped_before = False
    for box in children(buf, hdr, len(buf)):
        if box.type == b"mfhd":
            continue
        if box.type == b"traf":
            track_id, data_end, implicit = _traf_ranges(buf, box, moof_pos, data_end, st, collect)
            track = st.tracks.get(track_id)
            if track is None or not track.kept:
                st.remove("track fragment", f"moof/traf (track {track_id})")
                to_free(buf, box)
                dropped_before = True
            else:
                if implicit and dropped_before:
                    kept_before_missing_base = True
                keep_only(
                    buf,
                    box,
                    {b"tfhd", b"tfdt", b"trun", b"sbgp", b"sgpd", b"subs", b"saiz", b"saio"},
                    "moof/traf",
                    st,
                )
        elif box.type in (b"free", b"skip"):
            zero_payload(buf, box)
        else:
            st.remove(fourcc(box.type), "moof")
            to_free(buf, box)
    if kept_before_missing_base:
        # Its data position is defined by the removed fragment before it.
        raise Rejected(errors.UNSUPPORTED_FORMAT, "fragment relies on a removed track's data")


def _traf_ranges(
    buf: bytearray, traf: Box, moof_pos: int, prev_end: int, st: State, collect: bool
) -> tuple[int, int, bool]:
    """(track id, end of this traf's data, base offset implied by a previous traf)."""
    kids = children(buf, traf.body, traf.end)
    tfhd = only(kids, b"tfhd")
    if tfhd is None:
        raise malformed("traf without tfhd")
    flags = uint(buf, tfhd.body, 4, tfhd.end) & 0xFFFFFF
    track_id = uint(buf, tfhd.body + 4, 4, tfhd.end)
    pos = tfhd.body + 8
    implicit = False
    if flags & 0x1:
        base = uint(buf, pos, 8, tfhd.end)
        pos += 8
    elif flags & 0x20000:
        base = moof_pos
    else:
        base = prev_end
        implicit = prev_end != moof_pos
    if flags & 0x2:
        pos += 4
    if flags & 0x8:
        pos += 4
    track = st.tracks.get(track_id)
    default_size = st.trex_sample_size.get(track_id, 0)
    if flags & 0x10:
        default_size = uint(buf, pos, 4, tfhd.end)

    kept = track is not None and track.kept
    data_end = base
    for run in kids:
        if run.type != b"trun":
            continue
        rflags = uint(buf, run.body, 4, run.end) & 0xFFFFFF
        count = uint(buf, run.body + 4, 4, run.end)
        p = run.body + 8
        start = data_end
        if rflags & 0x1:
            start = base + s32(buf, p, run.end)
            p += 4
        if rflags & 0x4:
            p += 4
        fields = [bit for bit in (0x100, 0x200, 0x400, 0x800) if rflags & bit]
        stride = 4 * len(fields)
        if p + count * stride > run.end:
            raise malformed("trun larger than its box")
        if rflags & 0x200:
            skip = 4 * fields.index(0x200)
            nbytes = sum(uint(buf, p + i * stride + skip, 4, run.end) for i in range(count))
        else:
            nbytes = count * default_size
        end = start + nbytes
        if start < 0 or end > st.size:
            raise malformed("fragment data runs past the end of the file")
        if collect and kept and track_id in st.nal_tracks:
            starts, lengths = st.nal_samples.setdefault(track_id, (array("q"), array("q")))
            if len(starts) + count > MAX_NAL_SAMPLES:
                raise Rejected(errors.TOO_LARGE, "too many video samples")
            at = start
            for i in range(count):
                length = default_size
                if rflags & 0x200:
                    length = uint(buf, p + i * stride + 4 * fields.index(0x200), 4, run.end)
                starts.append(at)
                lengths.append(length)
                at += length
        if collect and kept:
            assert st.moof_ranges is not None
            st.ranges.add(st.moof_ranges, start, end)
        elif collect:
            assert st.moof_removed is not None
            st.removed_ranges.add(st.moof_removed, start, end)
        data_end = end
    return track_id, data_end, implicit


def process_mfra(buf: bytearray, mfra: Box, st: State) -> None:
    keep_only(buf, mfra, {b"tfra", b"mfro"}, "mfra", st)
