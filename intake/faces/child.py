"""The face engine in a child process, under the limits its parent sets.

Usage: python -m intake.faces.child scan SRC OUTDIR
       python -m intake.faces.child render SRC DST PLAN_JSON
``scan`` writes OUTDIR/scan.json (kind, web size, frame rate and count, tracks, sample
frames) and one JPEG per sample frame; ``render`` writes the publishable copy to DST from
the reviewed plan. Both print ``progress N`` lines on stdout as they go.

Every pixel of a publishable copy is decoded here, apart from the worker (as the
previews are, intake/preview.py): the parent (intake/publication.py) caps address space
and CPU time, so a hostile file costs only this process. No Django here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .engine import Kind, Plan, kind_of, render, scan
from .media import MediaError, save_jpeg
from .regions import Box, Method
from .tracks import HandRegion, Track

EXIT_UNREADABLE = 3


def _progress(percent: int) -> None:
    print(f"progress {percent}", flush=True)


def plan_from_json(data: dict[str, Any]) -> Plan:
    return Plan(
        tracks=[Track.from_json(track) for track in data.get("tracks", [])],
        hand=[
            HandRegion(
                frame=int(hand["frame"]),
                end_frame=int(hand["end_frame"]),
                box=Box.from_list(hand["box"]),
                follow=bool(hand.get("follow", False)),
            )
            for hand in data.get("hand", [])
        ],
        method=Method(data.get("method", Method.FILL)),
        voice=bool(data.get("voice", False)),
    )


def main(argv: list[str]) -> int:
    command, *args = argv
    try:
        if command == "scan":
            src, out_dir = Path(args[0]), Path(args[1])
            found = scan(src, kind_of(src), progress=_progress)
            samples = []
            for frame, rgb in found.samples:
                name = f"frame-{frame:06d}.jpg"
                save_jpeg(rgb, out_dir / name)
                samples.append({"frame": frame, "file": name})
            result = {
                "kind": found.kind.value,
                "width": found.width,
                "height": found.height,
                "fps": found.fps,
                "frame_count": found.frame_count,
                "tracks": [track.to_json() for track in found.tracks],
                "samples": samples,
            }
            (out_dir / "scan.json").write_text(json.dumps(result))
        elif command == "render":
            src, dst = Path(args[0]), Path(args[1])
            data = json.loads(Path(args[2]).read_text())
            render(src, dst, Kind(data["kind"]), plan_from_json(data), progress=_progress)
        else:
            return 2
    except MediaError as error:
        print(f"unreadable: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
