"""Boxes and how a region is hidden.

Both methods destroy what was inside; neither can be undone. ``FILL`` paints the region one
flat colour. ``MOSAIC`` replaces it with at most MOSAIC_CELLS x MOSAIC_CELLS flat cells, the
mean colour of each: three cells across a face leave no eyes, nose or mouth for an
upscaler or a detector to find (tests/unit/test_faces_engine.py runs the detector on the
output upscaled 4x). A Gaussian blur is not offered: deconvolution can reverse it.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

MOSAIC_CELLS = 3
FILL_COLOUR = (0, 0, 0)
# A detector's box hugs the face; hair, ears and a chin turned away lie outside it.
PADDING = 0.25


class Method(enum.StrEnum):
    FILL = "fill"
    MOSAIC = "mosaic"


@dataclasses.dataclass(frozen=True)
class Box:
    x1: float
    y1: float
    x2: float
    y2: float
    score: float = 1.0

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    def clipped(self, width: int, height: int) -> Box:
        return Box(
            min(max(self.x1, 0.0), width),
            min(max(self.y1, 0.0), height),
            min(max(self.x2, 0.0), width),
            min(max(self.y2, 0.0), height),
            self.score,
        )

    def padded(self, fraction: float = PADDING) -> Box:
        dx, dy = self.width * fraction, self.height * fraction
        return Box(self.x1 - dx, self.y1 - dy, self.x2 + dx, self.y2 + dy, self.score)

    def scaled(self, factor: float) -> Box:
        return Box(
            self.x1 * factor, self.y1 * factor, self.x2 * factor, self.y2 * factor, self.score
        )

    def pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """Whole pixels covering the box (rounded outwards), inside the image."""
        return (
            max(0, math.floor(self.x1)),
            max(0, math.floor(self.y1)),
            min(width, math.ceil(self.x2)),
            min(height, math.ceil(self.y2)),
        )

    def as_list(self) -> list[float]:
        return [round(self.x1, 1), round(self.y1, 1), round(self.x2, 1), round(self.y2, 1)]

    @classmethod
    def from_list(cls, values: Iterable[float], score: float = 1.0) -> Box:
        x1, y1, x2, y2 = (float(v) for v in values)
        return cls(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2), score)


def iou(a: Box, b: Box) -> float:
    inter_w = max(0.0, min(a.x2, b.x2) - max(a.x1, b.x1))
    inter_h = max(0.0, min(a.y2, b.y2) - max(a.y1, b.y1))
    inter = inter_w * inter_h
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0


def interpolate(a: Box, b: Box, t: float) -> Box:
    return Box(
        a.x1 + (b.x1 - a.x1) * t,
        a.y1 + (b.y1 - a.y1) * t,
        a.x2 + (b.x2 - a.x2) * t,
        a.y2 + (b.y2 - a.y2) * t,
        min(a.score, b.score),
    )


def non_max_suppression(boxes: list[Box], *, overlap: float) -> list[Box]:
    kept: list[Box] = []
    for box in sorted(boxes, key=lambda b: b.score, reverse=True):
        if all(iou(box, other) < overlap for other in kept):
            kept.append(box)
    return kept


def hide_regions(
    rgb: npt.NDArray[np.uint8], boxes: Iterable[Box], method: Method
) -> npt.NDArray[np.uint8]:
    """``rgb`` with every box hidden, in place (and returned). Boxes are used as given:
    pad detections before (Box.padded)."""
    height, width = rgb.shape[:2]
    for box in boxes:
        x1, y1, x2, y2 = box.pixels(width, height)
        if x2 <= x1 or y2 <= y1:
            continue
        if method is Method.FILL:
            rgb[y1:y2, x1:x2] = FILL_COLOUR
        else:
            _mosaic(rgb[y1:y2, x1:x2])
    return rgb


def _mosaic(region: npt.NDArray[np.uint8]) -> None:
    height, width = region.shape[:2]
    cell = max(math.ceil(max(width, height) / MOSAIC_CELLS), 1)
    for top in range(0, height, cell):
        for left in range(0, width, cell):
            block = region[top : top + cell, left : left + cell]
            block[...] = block.reshape(-1, block.shape[-1]).mean(axis=0).astype(np.uint8)
