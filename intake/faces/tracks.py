"""Faces across frames: detections linked into tracks, and boxes added by hand followed.

A face the detector misses for a few frames (a turn, motion blur) stays hidden: a track
covers its gaps up to MAX_GAP frames by interpolation and is held HOLD frames before its
first and after its last detection. A reviewer removes a false detection once, as a track,
not frame by frame. A box drawn by hand is either held still for its time span or followed
by template matching (TemplateFollower); when the match is lost it stays where it was
last seen, so losing the face never uncovers it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from .regions import Box, interpolate, iou

MAX_GAP = 12
HOLD = 3
LINK_OVERLAP = 0.2
# Below this normalised correlation the follower keeps its last position.
MATCH_FLOOR = 0.5


@dataclasses.dataclass
class Track:
    boxes: dict[int, Box]

    @property
    def first(self) -> int:
        return min(self.boxes)

    @property
    def last(self) -> int:
        return max(self.boxes)

    @property
    def score(self) -> float:
        return max(box.score for box in self.boxes.values())

    def box_at(self, frame: int) -> Box | None:
        if frame in self.boxes:
            return self.boxes[frame]
        if frame < self.first - HOLD or frame > self.last + HOLD:
            return None
        before = [f for f in self.boxes if f < frame]
        after = [f for f in self.boxes if f > frame]
        if not before:
            return self.boxes[self.first]
        if not after:
            return self.boxes[self.last]
        a, b = max(before), min(after)
        return interpolate(self.boxes[a], self.boxes[b], (frame - a) / (b - a))

    def to_json(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 3),
            "boxes": {str(frame): box.as_list() for frame, box in sorted(self.boxes.items())},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Track:
        score = float(data.get("score", 1.0))
        return cls({int(f): Box.from_list(v, score) for f, v in data["boxes"].items()})


def link(frames: dict[int, list[Box]]) -> list[Track]:
    """Per-frame detections (frame index → boxes) linked greedily by overlap."""
    open_tracks: list[Track] = []
    done: list[Track] = []
    for frame in sorted(frames):
        still_open: list[Track] = []
        for track in open_tracks:
            (still_open if frame - track.last <= MAX_GAP else done).append(track)
        open_tracks = still_open
        for box in sorted(frames[frame], key=lambda b: b.score, reverse=True):
            best, best_overlap = None, LINK_OVERLAP
            for track in open_tracks:
                if track.last == frame:
                    continue
                overlap = iou(track.boxes[track.last], box)
                if overlap > best_overlap:
                    best, best_overlap = track, overlap
            if best is None:
                open_tracks.append(Track({frame: box}))
            else:
                best.boxes[frame] = box
    return done + open_tracks


class TemplateFollower:
    """Follows what is inside ``box`` from one frame to the next."""

    def __init__(self, rgb: npt.NDArray[np.uint8], box: Box) -> None:
        self.box = box
        self._template = self._patch(rgb, box)

    @staticmethod
    def _grey(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)  # type: ignore[return-value]

    def _patch(self, rgb: npt.NDArray[np.uint8], box: Box) -> npt.NDArray[np.uint8] | None:
        x1, y1, x2, y2 = box.pixels(rgb.shape[1], rgb.shape[0])
        if x2 - x1 < 4 or y2 - y1 < 4:
            return None
        return self._grey(rgb[y1:y2, x1:x2])

    def update(self, rgb: npt.NDArray[np.uint8]) -> Box:
        if self._template is None:
            return self.box
        height, width = rgb.shape[:2]
        th, tw = self._template.shape
        # Search a window one box wide around the last position.
        sx1, sy1, sx2, sy2 = (
            Box(self.box.x1 - tw, self.box.y1 - th, self.box.x2 + tw, self.box.y2 + th)
        ).pixels(width, height)
        window = self._grey(rgb[sy1:sy2, sx1:sx2])
        if window.shape[0] < th or window.shape[1] < tw:
            return self.box
        scores = cv2.matchTemplate(window, self._template, cv2.TM_CCOEFF_NORMED)
        _low, high, _low_at, (mx, my) = cv2.minMaxLoc(scores)
        if high >= MATCH_FLOOR:
            self.box = Box(sx1 + mx, sy1 + my, sx1 + mx + tw, sy1 + my + th, self.box.score)
            self._template = self._patch(rgb, self.box)
        return self.box


@dataclasses.dataclass(frozen=True)
class HandRegion:
    """A box drawn by a reviewer on ``frame``, hidden until ``end_frame`` (inclusive);
    ``follow`` tracks it, otherwise it is held still."""

    frame: int
    end_frame: int
    box: Box
    follow: bool = False
