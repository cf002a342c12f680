"""Scan a sanitized copy for faces, then render its publishable copy from a reviewed plan.

``scan`` finds the faces (every DETECT_EVERY-th frame of a video, linked into tracks) and
keeps a few sample frames for the review page; ``render`` hides what the plan lists, frame
by frame, and writes the web copy. ``hide_file`` does both with every detection kept
(manage.py hide_faces).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from . import detector, media
from .regions import Box, Method, hide_regions
from .tracks import HandRegion, TemplateFollower, Track, link

Progress = Callable[[int], None]  # percent done


class Kind(enum.StrEnum):
    PHOTO = "photo"
    VIDEO = "video"
    AUDIO = "audio"


@dataclasses.dataclass
class Scan:
    kind: Kind
    width: int = 0
    height: int = 0
    fps: float = 0.0
    frame_count: int = 0
    tracks: list[Track] = dataclasses.field(default_factory=list)
    samples: list[tuple[int, media.RGB]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Plan:
    tracks: list[Track]
    hand: list[HandRegion] = dataclasses.field(default_factory=list)
    method: Method = Method.FILL
    voice: bool = False


SAMPLE_FRAMES = 12
# Video is searched on every second frame, the tracks interpolating between (tracks.py
# covers gaps up to MAX_GAP frames and holds HOLD frames at either end): half the cost,
# so a 30 s 1080p clip stays within minutes on a shared 2-core worker (bench/faces.py).
DETECT_EVERY = 2


def kind_of(src: Path) -> Kind:
    try:
        with Image.open(src) as image:
            image.verify()
        return Kind.PHOTO
    except (UnidentifiedImageError, OSError):
        pass
    info = media.probe(src)
    if info.has_video:
        return Kind.VIDEO
    if info.has_audio:
        return Kind.AUDIO
    raise media.MediaError("neither a photo, a video nor an audio file")


def scan(
    src: Path, kind: Kind, *, progress: Progress | None = None, detect_every: int = DETECT_EVERY
) -> Scan:
    report = progress or (lambda _percent: None)
    if kind is Kind.PHOTO:
        rgb = media.load_photo(src)
        report(100)
        height, width = rgb.shape[:2]
        return Scan(
            kind,
            width,
            height,
            0.0,
            1,
            [Track({0: b}) for b in detector.detect_photo(rgb)],
            [(0, rgb)],
        )
    info = media.probe(src)
    if kind is Kind.AUDIO or not info.has_video:
        report(100)
        return Scan(Kind.AUDIO)
    every_sample = max(1, info.frame_count // SAMPLE_FRAMES)
    found: dict[int, list[Box]] = {}
    samples: list[tuple[int, media.RGB]] = []
    count = 0
    last: media.RGB | None = None
    for index, rgb in enumerate(media.read_frames(src, info)):
        count, last = index + 1, rgb
        if index % detect_every == 0:
            found[index] = detector.detect_frame(rgb)
        if index % every_sample == 0 and len(samples) < SAMPLE_FRAMES:
            samples.append((index, rgb.copy()))
        if index % 10 == 0:
            report(min(99, 100 * index // info.frame_count))
    # The last frame is always searched, so no track ends early only because of the step.
    if last is not None and count - 1 not in found:
        found[count - 1] = detector.detect_frame(last)
    report(100)
    return Scan(kind, info.width, info.height, float(info.fps), count, link(found), samples)


def render(
    src: Path, dst: Path, kind: Kind, plan: Plan, *, progress: Progress | None = None
) -> None:
    report = progress or (lambda _percent: None)
    if kind is Kind.PHOTO:
        rgb = media.load_photo(src)
        boxes = [b for t in plan.tracks if (b := t.box_at(0)) is not None]
        hide_regions(rgb, [b.padded() for b in boxes], plan.method)
        hide_regions(rgb, [h.box for h in plan.hand], plan.method)
        media.save_jpeg(rgb, dst)
        report(100)
        return
    if kind is Kind.AUDIO:
        media.render_audio(src, dst, voice=plan.voice)
        report(100)
        return
    info = media.probe(src)
    encoder = media.start_encoder(src, dst, info, voice=plan.voice)
    assert encoder.stdin is not None
    followers: dict[int, TemplateFollower] = {}
    try:
        for index, rgb in enumerate(media.read_frames(src, info)):
            frame = rgb.copy()
            boxes = [b.padded() for t in plan.tracks if (b := t.box_at(index)) is not None]
            for number, hand in enumerate(plan.hand):
                if not hand.frame <= index <= hand.end_frame:
                    continue
                if hand.follow:
                    follower = followers.get(number)
                    if follower is None:
                        follower = followers[number] = TemplateFollower(frame, hand.box)
                    boxes.append(follower.update(frame) if index > hand.frame else hand.box)
                else:
                    boxes.append(hand.box)
            hide_regions(frame, boxes, plan.method)
            try:
                encoder.stdin.write(frame.tobytes())
            except BrokenPipeError as closed:
                encoder.wait(timeout=60)
                assert encoder.stderr is not None
                error = encoder.stderr.read().decode(errors="replace")[-300:]
                raise media.MediaError(error) from closed
            if index % 10 == 0:
                report(min(99, 100 * index // info.frame_count))
        encoder.stdin.close()
        if encoder.wait(timeout=600) != 0:
            assert encoder.stderr is not None
            raise media.MediaError(encoder.stderr.read().decode(errors="replace")[-300:])
    finally:
        if encoder.poll() is None:
            encoder.kill()
            encoder.wait()
    report(100)


def hide_file(src: Path, dst: Path, *, method: Method = Method.FILL, voice: bool = False) -> Scan:
    """Every face the detector finds in ``src`` hidden in ``dst``: no review."""
    kind = kind_of(src)
    found = scan(src, kind)
    render(src, dst, kind, Plan(found.tracks, [], method, voice))
    return found
