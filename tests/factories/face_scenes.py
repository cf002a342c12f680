"""Labelled scenes with faces, composed from openly licensed images that ship in
scikit-image: the astronaut Eileen Collins (NASA, public domain), the cameraman (CC0,
Lav Varshney, a head turned three-quarters) and the 100 face crops of its LFW subset
(research data set shipped with scikit-image). Backgrounds are its textures and photos
without people. Used by the face tests and bench/faces.py.

Every face has a ground-truth box; variants cover the hard cases of street footage:
small faces (24-48 px), turned faces (squeezed sideways), partly covered faces (a mask
over the lower half) and motion blur.
"""

from __future__ import annotations

import dataclasses
import functools
import random
import subprocess
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from skimage import data

from intake.faces import Box

RGB = npt.NDArray[np.uint8]


LFW_SIDE = 25


@dataclasses.dataclass(frozen=True)
class FaceSource:
    name: str
    image: RGB  # the head with some margin
    face: Box  # the face inside ``image``


def sample(name: str) -> RGB:
    """One of scikit-image's sample images, RGB (scikit-image ships no type hints)."""
    image = np.asarray(getattr(data, name)())
    if name == "lfw_subset":
        return image
    if image.ndim == 2:
        image = np.stack([image] * 3, -1)
    return np.ascontiguousarray(image[..., :3], dtype=np.uint8)


def _u8(image: object) -> RGB:
    return np.asarray(image, dtype=np.uint8)


@functools.cache
def face_sources() -> tuple[FaceSource, ...]:
    astronaut = sample("astronaut")[30:210, 150:300]
    camera = sample("camera")[95:225, 175:285]
    sources = [
        FaceSource("astronaut", np.ascontiguousarray(astronaut), Box(31, 28, 120, 148)),
        FaceSource("cameraman", np.ascontiguousarray(camera), Box(27, 24, 83, 102)),
    ]
    lfw = sample("lfw_subset")[:100]  # the first 100 are faces
    # Each crop is the face with a thin margin of brow, cheek and chin: the face is its
    # inner 21 x 21 pixels.
    for index, face in enumerate(lfw):
        grey = (face * 255).astype(np.uint8) if face.dtype != np.uint8 else face
        sources.append(FaceSource(f"lfw{index:03d}", np.stack([grey] * 3, -1), Box(2, 2, 23, 23)))
    return tuple(sources)


@functools.cache
def backgrounds() -> tuple[RGB, ...]:
    names = ("brick", "grass", "gravel", "coffee", "rocket", "chelsea", "hubble_deep_field")
    return tuple(sample(name) for name in names)


@dataclasses.dataclass
class LabelledFace:
    box: Box
    source: str
    variant: str

    @property
    def size(self) -> float:
        return max(self.box.width, self.box.height)


@dataclasses.dataclass
class Scene:
    image: RGB
    faces: list[LabelledFace]


def _variant(patch: RGB, face: Box, variant: str, rng: random.Random) -> tuple[RGB, Box]:
    if variant == "turned":
        # A head turned away shows a narrower face: squeeze it sideways.
        height, width = patch.shape[:2]
        narrow = max(2, int(width * 0.6))
        patch = _u8(cv2.resize(patch, (narrow, height), interpolation=cv2.INTER_AREA))
        face = Box(face.x1 * 0.6, face.y1, face.x2 * 0.6, face.y2)
    elif variant == "covered":
        patch = patch.copy()
        top = int(face.y1 + face.height * 0.6)
        patch[top : int(face.y2), int(face.x1) : int(face.x2)] = (40, 60, 120)  # a mask
    elif variant == "blurred":
        length = rng.choice((7, 9, 11))
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1.0 / length
        patch = _u8(cv2.filter2D(patch, -1, kernel))
    elif variant == "flipped":
        patch = np.ascontiguousarray(patch[:, ::-1])
        width = patch.shape[1]
        face = Box(width - face.x2, face.y1, width - face.x1, face.y2)
    return patch, face


VARIANTS = ("plain", "flipped", "turned", "covered", "blurred")


def compose(
    seed: int,
    *,
    size: tuple[int, int] = (1280, 720),
    faces: int = 6,
    face_sizes: tuple[int, int] = (24, 160),
    variants: tuple[str, ...] = VARIANTS,
    lfw: bool = True,
) -> Scene:
    """A background with ``faces`` faces pasted without overlap, each labelled."""
    rng = random.Random(seed)  # noqa: S311 - scenes, not secrets
    width, height = size
    background = rng.choice(backgrounds())
    canvas = _u8(cv2.resize(background, (width, height), interpolation=cv2.INTER_LINEAR))
    placed: list[tuple[int, int, int, int]] = []
    labelled: list[LabelledFace] = []
    sources = face_sources()
    for _ in range(faces * 20):
        if len(labelled) == faces:
            break
        whole = not lfw or rng.random() < 0.4
        source = rng.choice(sources[:2]) if whole else rng.choice(sources[2:])
        variant = rng.choice(variants)
        face_px = rng.randint(*face_sizes)
        if source.image.shape[0] <= LFW_SIDE:
            # A 25-pixel crop blown up past four times is a smear, not a face.
            face_px = min(face_px, LFW_SIDE * 4)
        scale = face_px / source.face.height
        patch = _u8(
            cv2.resize(
                source.image,
                (
                    max(2, round(source.image.shape[1] * scale)),
                    max(2, round(source.image.shape[0] * scale)),
                ),
                interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC,
            )
        )
        patch, face = _variant(patch, source.face.scaled(scale), variant, rng)
        ph, pw = patch.shape[:2]
        if pw >= width or ph >= height:
            continue
        left, top = rng.randint(0, width - pw), rng.randint(0, height - ph)
        spot = (left - 8, top - 8, left + pw + 8, top + ph + 8)
        if any(
            not (spot[2] <= p[0] or p[2] <= spot[0] or spot[3] <= p[1] or p[3] <= spot[1])
            for p in placed
        ):
            continue
        placed.append(spot)
        canvas[top : top + ph, left : left + pw] = patch
        labelled.append(
            LabelledFace(
                Box(face.x1 + left, face.y1 + top, face.x2 + left, face.y2 + top),
                source.name,
                variant,
            )
        )
    return Scene(canvas, labelled)


def moving_face_video(
    path: Path, *, seconds: float = 2.0, fps: int = 15, size: tuple[int, int] = (640, 360)
) -> list[Box]:
    """An H.264 MP4 of the astronaut's face crossing a brick wall, with a tone for audio;
    returns the face's box in each frame."""
    width, height = size
    source = face_sources()[0]
    scale = 110 / source.face.height
    patch = _u8(cv2.resize(source.image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))
    face = source.face.scaled(scale)
    wall = _u8(cv2.resize(backgrounds()[0], (width, height)))
    frames = int(seconds * fps)
    boxes = []
    command = [
        "ffmpeg", "-nostdin", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps),
        "-i", "pipe:",
        "-f", "lavfi", "-i", f"sine=frequency=220:duration={seconds}",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-shortest", str(path),
    ]  # fmt: skip
    with subprocess.Popen(command, stdin=subprocess.PIPE) as encoder:
        assert encoder.stdin is not None
        for index in range(frames):
            frame = wall.copy()
            left = int(20 + (width - patch.shape[1] - 40) * index / max(1, frames - 1))
            top = (height - patch.shape[0]) // 2
            frame[top : top + patch.shape[0], left : left + patch.shape[1]] = patch
            boxes.append(Box(face.x1 + left, face.y1 + top, face.x2 + left, face.y2 + top))
            encoder.stdin.write(frame.tobytes())
        encoder.stdin.close()
    return boxes
