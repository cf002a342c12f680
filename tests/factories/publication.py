"""Reports whose witness agreed to publication, with a clean photo or video of faces in
the media storage, for the publishable-copy tests."""

from __future__ import annotations

import dataclasses
import io
import tempfile
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from intake.faces import Box, detector
from intake.faces.media import save_jpeg
from reports.models import MediaItem, MediaStatus, Report
from tests.factories.face_scenes import compose, moving_face_video
from tests.factories.partner_world import approved_report


def publishable_report(n: int, *, consent: bool = True) -> Report:
    return approved_report(n, consent_publish=consent)


def clean_item(report: Report, data: bytes, *, kind: str, fmt: str, ext: str) -> MediaItem:
    name = storages["media"].save(f"publication-test/{report.id}.{ext}", ContentFile(data))
    return MediaItem.objects.create(
        report=report,
        status=MediaStatus.CLEAN,
        media_name=name,
        detected_format=fmt,
        media_kind=kind,
        sha256_sanitized="cd" * 32,
    )


def clean_scene_photo(report: Report, seed: int = 11) -> tuple[MediaItem, list[Box]]:
    """A clean JPEG of a scene with faces (scikit-image's open photos) and their boxes."""
    scene = compose(seed, faces=3, face_sizes=(70, 130), variants=("plain", "flipped"), lfw=False)
    buffer = io.BytesIO()
    save_jpeg(scene.image, buffer, quality=92)
    item = clean_item(report, buffer.getvalue(), kind="image", fmt="jpeg", ext="jpg")
    return item, [face.box for face in scene.faces]


def clean_walk_video(report: Report) -> tuple[MediaItem, list[Box]]:
    """A clean MP4 of a face crossing a wall, with audio, and the face's box per frame."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "walk.mp4"
        truth = moving_face_video(path)
        data = path.read_bytes()
    return clean_item(report, data, kind="video", fmt="mp4", ext="mp4"), truth


# A flat fill through JPEG keeps its variance in single digits; a face is in the thousands.
FLAT_VARIANCE = 30.0
# Outside the hidden regions a JPEG re-encode differs by a few levels on average.
ENCODING_TOLERANCE = 6.0


@dataclasses.dataclass
class HiddenCheck:
    faces_inside: int  # detections inside the regions, on the output upscaled 4x
    busy_regions: int  # regions whose pixel variance is above FLAT_VARIANCE
    outside_difference: float  # mean absolute difference from the evidence outside


def check_hidden(
    published: npt.NDArray[np.uint8], evidence: npt.NDArray[np.uint8], regions: list[Box]
) -> HiddenCheck:
    """Compare the published picture with the evidence copy: inside each region (padded
    as the engine pads detections, so a tight box is judged), no face and no detail;
    outside, the same picture within encoding tolerance."""
    height, width = published.shape[:2]
    faces, busy = 0, 0
    outside = np.ones((height, width), bool)
    for region in regions:
        x1, y1, x2, y2 = region.pixels(width, height)
        crop = cv2.resize(published[y1:y2, x1:x2], None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
        canvas = np.full((crop.shape[0] * 2, crop.shape[1] * 2, 3), 128, np.uint8)
        canvas[: crop.shape[0], : crop.shape[1]] = crop
        faces += len(detector.detect(canvas, threshold=0.2))
        busy += float(published[y1:y2, x1:x2].var()) > FLAT_VARIANCE
        px1, py1, px2, py2 = region.padded(0.6).pixels(width, height)
        outside[py1:py2, px1:px2] = False
    diff = np.abs(published.astype(np.int16) - evidence.astype(np.int16))[outside]
    return HiddenCheck(faces, busy, round(float(diff.mean()), 2))


def review_scene() -> tuple[npt.NDArray[np.uint8], dict[str, Box]]:
    """The scene of the review walk-through (tests/e2e/test_publication_review.py): on a
    wall, the astronaut, the cameraman (taken here for a face on a poster, which the
    reviewer leaves visible), an LFW face, and the astronaut behind a scarf pulled up to
    the eyes, which the detector misses and the reviewer draws a box over. Returns the
    picture and each face's box by name."""
    from tests.factories.face_scenes import backgrounds, face_sources

    canvas = np.ascontiguousarray(
        cv2.resize(backgrounds()[0], (1280, 720), interpolation=cv2.INTER_LINEAR), np.uint8
    )
    sources = {s.name: s for s in face_sources()}
    faces: dict[str, Box] = {}
    for name, left, top, face_px in (
        ("astronaut", 80, 80, 130),
        ("cameraman", 440, 330, 110),
        ("lfw015", 760, 80, 100),
        ("scarf", 1000, 380, 120),
    ):
        source = sources.get(name, sources["astronaut"])
        scale = face_px / source.face.height
        patch = np.asarray(
            cv2.resize(source.image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC),
            np.uint8,
        )
        face = source.face.scaled(scale)
        if name == "scarf":
            patch = patch.copy()
            patch[int(patch.shape[0] * 0.35) :, :] = (60, 50, 40)
        canvas[top : top + patch.shape[0], left : left + patch.shape[1]] = patch
        faces[name] = Box(face.x1 + left, face.y1 + top, face.x2 + left, face.y2 + top)
    return canvas, faces
