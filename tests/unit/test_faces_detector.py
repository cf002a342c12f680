"""Face detection recall (issue 17): enlarged passes, tiles for large inputs, the support
rule across passes, and tracks bridging a frame the detector dropped. Scenes are composed
from scikit-image's openly licensed samples (tests/factories/face_scenes.py)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
from django.conf import settings

from intake.faces import Box, detector
from intake.faces.media import save_jpeg
from intake.faces.regions import iou
from intake.faces.tracks import link
from intake.publication import _limit_child_resources
from tests.factories.face_scenes import backgrounds, compose, face_sources


def _found(detections: list[Box], truth: list[Box]) -> int:
    return sum(any(iou(d, box) >= 0.3 for d in detections) for box in truth)


def test_tiles_cover_a_large_input_with_overlap_and_sides_divisible_by_32() -> None:
    width, height = 4800, 2720
    spans = detector.tiles(width, height)
    covered = np.zeros((height, width), bool)
    for left, top, tile_w, tile_h in spans:
        covered[top : top + tile_h, left : left + tile_w] = True
    lefts = sorted({left for left, _top, _w, _h in spans})
    tile_w = spans[0][2]
    assert (
        bool(covered.all()),
        all(w % 32 == 0 and h % 32 == 0 for _l, _t, w, h in spans),
        max(max(w, h) for _l, _t, w, h in spans) <= detector.TILE_SIDE,
        min(a + tile_w - b for a, b in itertools.pairwise(lefts)) >= detector.TILE_OVERLAP,
    ) == (True, True, True, True)


def test_tiles_keep_an_input_up_to_a_tile_whole() -> None:
    assert detector.tiles(2560, 1440) == [(0, 0, 2560, 1440)]


def test_detect_face_across_a_tile_edge_is_found_once_and_whole() -> None:
    # 3840 x 2160 is searched as two tiles, the first ending at x = 2112: it cuts off most
    # of the face, which the first tile found as a narrow box of its own.
    canvas = np.asarray(cv2.resize(backgrounds()[0], (3840, 2160)), np.uint8)
    source = face_sources()[0]
    left, top = 2060, 900
    height, width = source.image.shape[:2]
    canvas[top : top + height, left : left + width] = source.image
    truth = Box(
        source.face.x1 + left, source.face.y1 + top, source.face.x2 + left, source.face.y2 + top
    )
    found = [box for box in detector.detect(canvas) if iou(box, truth) > 0]
    assert (detector.tiles(3840, 2176)[0][2], len(found), iou(found[0], truth) >= 0.5) == (
        2112,
        1,
        True,
    )


def test_detect_photo_finds_a_covered_small_face_the_three_scales_miss() -> None:
    # Bench scene 3: a 37 px LFW face with its lower half masked scores 0.33 only enlarged
    # 2.5 times, and under 0.1 at 1-2x.
    scene = compose(1003, size=(1920, 1080), faces=8, face_sizes=(24, 48))
    face = next(f for f in scene.faces if f.source == "lfw032")
    found = detector.detect_photo(scene.image)
    three_scales = detector.detect_passes(scene.image, scales=(1.0, 1.5, 2.0))
    assert (face.variant, round(face.size), _found(found, [face.box])) == ("covered", 37, 1)
    assert _found(three_scales, [face.box]) == 0


def test_detect_frame_enlarged_finds_small_faces_one_pass_at_frame_size_misses() -> None:
    scene = compose(4, size=(1280, 720), faces=6, face_sizes=(32, 48))
    truth = [face.box for face in scene.faces]
    at_frame_size = detector.detect(scene.image)
    assert (_found(detector.detect_frame(scene.image), truth), len(truth)) == (6, 6)
    assert _found(at_frame_size, truth) < 6


def test_detect_frame_second_look_finds_a_turned_face_the_pass_scores_weak() -> None:
    # Bench scene 52 as a 1280 x 720 video frame: the cameraman turned away, 43 px, scores
    # under 0.2 in the 2x pass; its neighbourhood searched with the face at 80 px, as it
    # is and mirrored, confirms it.
    scene = compose(1052, size=(1920, 1080), faces=5, face_sizes=(24, 160))
    frame = np.asarray(
        cv2.resize(scene.image, None, fx=2 / 3, fy=2 / 3, interpolation=cv2.INTER_AREA), np.uint8
    )
    face = next(f for f in scene.faces if f.source == "cameraman")
    box = face.box.scaled(2 / 3)
    found = detector.detect_frame(frame)
    one_pass = detector.detect_passes(frame, scales=detector.FRAME_SCALES, second_looks=False)
    assert (face.variant, round(max(box.width, box.height)), _found(found, [box])) == (
        "turned",
        43,
        1,
    )
    assert _found(one_pass, [box]) == 0


def test_second_look_stretched_sideways_confirms_a_turned_face() -> None:
    # Bench scene 0: a 40 px LFW face squeezed sideways (turned) scores 0.1-0.14 in the
    # photo passes and under 0.3 in the close-ups as it is and mirrored together; in the
    # one stretched sideways, 0.7.
    scene = compose(1000, size=(1920, 1080), faces=8, face_sizes=(24, 48))
    face = next(f for f in scene.faces if f.source == "lfw032")
    looks = detector.second_look(scene.image, face.box)
    assert (
        face.variant,
        round(face.size),
        len(looks),
        _found(looks[2:], [face.box]),
        sum(look.score for look in looks[:2]) < detector.SECOND_LOOK_SUPPORT,
        sum(look.score for look in looks) >= detector.SECOND_LOOK_SUPPORT,
    ) == ("turned", 40, 3, 1, True, True)


def test_track_fills_a_frame_the_detector_dropped() -> None:
    # Searched frames 0, 2 and 4; the face was missed on 2: frames 1-3 are covered by
    # interpolation between the hits on 0 and 4.
    tracks = link({0: [Box(100, 100, 140, 150, 0.9)], 2: [], 4: [Box(120, 100, 160, 150, 0.8)]})
    assert [(b.x1, b.x2) if (b := tracks[0].box_at(f)) else None for f in range(5)] == [
        (100, 140),
        (105, 145),
        (110, 150),
        (115, 155),
        (120, 160),
    ]
    assert len(tracks) == 1


def test_face_child_scans_a_2048_px_photo_within_its_memory_limit(tmp_path: Path) -> None:
    # Searched whole at 2x, a 2048 x 1536 photo (any phone photo, reduced) needed more than
    # the child's 4096 MB of address space and its copy failed; in tiles it fits.
    photo = np.asarray(cv2.resize(backgrounds()[0], (2048, 1536)), np.uint8)
    source = face_sources()[0]
    height, width = source.image.shape[:2]
    photo[600 : 600 + height, 900 : 900 + width] = source.image
    src = tmp_path / "photo.jpg"
    save_jpeg(photo, src, quality=95)
    out = tmp_path / "scan"
    out.mkdir()
    child = subprocess.run(
        [sys.executable, "-m", "intake.faces.child", "scan", str(src), str(out)],
        capture_output=True,
        preexec_fn=_limit_child_resources,  # the worker's own limits
        cwd=settings.BASE_DIR,
        check=False,
    )
    face = source.face
    truth = Box(face.x1 + 900, face.y1 + 600, face.x2 + 900, face.y2 + 600)
    tracks = json.loads((out / "scan.json").read_text())["tracks"] if child.returncode == 0 else []
    boxes = [Box.from_list(track["boxes"]["0"]) for track in tracks]
    assert (child.returncode, child.stderr[-200:], _found(boxes, [truth])) == (0, b"", 1)
