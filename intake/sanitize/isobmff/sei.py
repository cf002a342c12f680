"""SEI user data in the samples of kept H.264/HEVC tracks, metadata OBUs in AV1 tracks and
user data in MPEG-4 Part 2 tracks (promise: no location or identity leaves with the media;
dashcams write GPS and serial numbers there).

Runs after the output is written: the layout is the input's, so a sample is at the same
offset in both. NAL headers are read from the input; a sample holding SEI is rewritten in
place in the output at its own size (see _video), so no sample size or offset changes.
"""

from __future__ import annotations

from typing import BinaryIO

from .. import _obu, _video
from .._io import read_at
from .state import State


def clean_samples(src: BinaryIO, dst: BinaryIO, st: State) -> None:
    def read(pos: int, n: int) -> bytes:
        return read_at(src, pos, n)

    for track_id, (codec, length_size) in sorted(st.nal_tracks.items()):
        if not st.tracks[track_id].kept:
            continue
        starts, sizes = st.nal_samples.get(track_id, ((), ()))
        removed: list[str] = []
        count = 0
        for start, size in zip(starts, sizes, strict=True):
            replacement, gone = _video.scan_sample(codec, length_size, read, start, size)
            if replacement is not None:
                dst.seek(start)
                dst.write(replacement)
                removed += gone
                count += 1
        if removed:
            label = _video.label(removed)
            st.remove(f"{label} ({count} samples)", f"track {track_id} samples")
    for start, size in st.av1_items:
        replacement, names = _obu.scan_sample(read, start, size)
        if replacement is not None:
            dst.seek(start)
            dst.write(replacement)
            st.remove(_obu.removed_label(names), "AV1 image item")
    dst.seek(0, 2)
