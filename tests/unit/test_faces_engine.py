"""The face engine (intake/faces/) on real images: scikit-image's openly licensed sample
photos and scenes composed from them (tests/factories/face_scenes.py), real ffmpeg."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from django.core.management import call_command
from PIL import Image

from intake.faces import Box, Method, detector, hide_regions
from intake.faces.engine import Kind, Plan, hide_file, render, scan
from intake.faces.media import (
    VOICE_FILTER,
    VOICE_FILTER_FALLBACK,
    load_photo,
    probe,
    read_frames,
    save_jpeg,
)
from intake.faces.regions import MOSAIC_CELLS
from intake.faces.tracks import HandRegion
from tests.factories.face_scenes import compose, moving_face_video, sample
from tests.factories.tools import require_tool

# A flat fill through JPEG keeps its variance in single digits; a face is in the thousands.
FLAT_VARIANCE = 30.0
# Outside the hidden regions a JPEG re-encode differs by a few levels on average.
ENCODING_TOLERANCE = 6.0


def _faces_inside(rgb: np.ndarray, box: Box) -> list[Box]:
    """Detections inside ``box`` of ``rgb``, the crop upscaled 4x on a grey margin, as an
    attacker with a super-resolution model would try."""
    x1, y1, x2, y2 = box.pixels(rgb.shape[1], rgb.shape[0])
    crop = cv2.resize(rgb[y1:y2, x1:x2], None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
    canvas = np.full((crop.shape[0] * 2, crop.shape[1] * 2, 3), 128, np.uint8)
    canvas[: crop.shape[0], : crop.shape[1]] = crop
    return detector.detect(canvas, threshold=0.2)


def _scene_jpeg(tmp_path: Path, seed: int) -> tuple[Path, list[Box]]:
    scene = compose(seed, faces=4, face_sizes=(64, 140), variants=("plain", "flipped"), lfw=False)
    path = tmp_path / "scene.jpg"
    save_jpeg(scene.image, path, quality=95)
    return path, [face.box for face in scene.faces]


def test_detector_model_ships_inside_the_installed_wheel() -> None:
    path = detector.model_path()
    assert (path.name, "site-packages" in path.parts, path.stat().st_size > 1_000_000) == (
        "centerface.onnx",
        True,
        True,
    )


def test_detect_astronaut_finds_her_face() -> None:
    found = detector.detect(sample("astronaut"))
    assert [(round(b.x1, -1), round(b.y1, -1)) for b in found] == [(180.0, 60.0)]


def test_hide_fill_leaves_no_face_and_a_flat_region(tmp_path: Path) -> None:
    source, truth = _scene_jpeg(tmp_path, seed=3)
    out = tmp_path / "out.jpg"
    hide_file(source, out, method=Method.FILL)
    hidden = np.asarray(Image.open(out).convert("RGB"))
    assert detector.detect(hidden) == []
    for box in truth:
        x1, y1, x2, y2 = box.pixels(hidden.shape[1], hidden.shape[0])
        assert (_faces_inside(hidden, box), float(hidden[y1:y2, x1:x2].var()) < FLAT_VARIANCE) == (
            [],
            True,
        )


def test_hide_mosaic_cannot_be_upscaled_back_into_a_face(tmp_path: Path) -> None:
    face = sample("astronaut")[30:210, 150:300].copy()
    box = Box(20, 20, 130, 160)
    hide_regions(face, [box], Method.MOSAIC)
    x1, y1, x2, y2 = box.pixels(face.shape[1], face.shape[0])
    region = face[y1:y2, x1:x2]
    colours = {tuple(int(c) for c in px) for px in region.reshape(-1, 3)}
    assert (_faces_inside(face, box), len(colours) <= MOSAIC_CELLS * MOSAIC_CELLS) == ([], True)


def test_hide_photo_outside_regions_matches_the_source(tmp_path: Path) -> None:
    source, truth = _scene_jpeg(tmp_path, seed=5)
    out = tmp_path / "out.jpg"
    found = hide_file(source, out)
    before = load_photo(source).astype(np.int16)
    after = np.asarray(Image.open(out).convert("RGB")).astype(np.int16)
    outside = np.ones(before.shape[:2], bool)
    for track in found.tracks:
        x1, y1, x2, y2 = track.boxes[0].padded().pixels(before.shape[1], before.shape[0])
        outside[max(0, y1 - 8) : y2 + 8, max(0, x1 - 8) : x2 + 8] = False
    assert (
        len(found.tracks),
        float(np.abs(before - after)[outside].mean()) < ENCODING_TOLERANCE,
    ) == (
        len(truth),
        True,
    )


def test_hide_video_every_frame_h264_aac_faststart(tmp_path: Path) -> None:
    require_tool("ffmpeg")
    source = tmp_path / "walk.mp4"
    truth = moving_face_video(source)
    out = tmp_path / "out.mp4"
    found = hide_file(source, out)
    streams = json.loads(
        subprocess.run(
            ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", str(out)],
            capture_output=True,
            check=True,
        ).stdout
    )["streams"]
    head = out.read_bytes()[:4096]
    info = probe(out)
    frames = list(read_frames(out, info))
    faces_left = [i for i, rgb in enumerate(frames) if detector.detect(rgb, threshold=0.2)]
    flat = [
        float(rgb[int(b.y1) : int(b.y2), int(b.x1) : int(b.x2)].var()) < FLAT_VARIANCE
        for rgb, b in zip(frames, truth, strict=False)
    ]
    assert (
        [s["codec_name"] for s in streams],
        head.find(b"moov") < head.find(b"mdat") or b"mdat" not in head,
        len(found.tracks),
        len(frames),
        faces_left,
        all(flat),
    ) == (["h264", "aac"], True, 1, len(truth), [], True)


def test_hand_region_followed_keeps_a_moving_face_hidden(tmp_path: Path) -> None:
    require_tool("ffmpeg")
    source = tmp_path / "walk.mp4"
    truth = moving_face_video(source)
    last = len(truth) - 1
    results = {}
    for follow in (True, False):
        out = tmp_path / f"follow-{follow}.mp4"
        hand = HandRegion(frame=0, end_frame=last, box=truth[0].padded(0.15), follow=follow)
        render(source, out, Kind.VIDEO, Plan(tracks=[], hand=[hand]))
        frames = list(read_frames(out, probe(out)))
        results[follow] = len([rgb for rgb in frames if detector.detect(rgb, threshold=0.3)])
    # Held still, the box loses the face once it walks away; followed, it never does.
    assert (results[True], results[False] > len(truth) // 2) == (0, True)


def _dominant_hz(path: Path) -> float:
    pcm = subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", str(path), "-map", "0:a:0", "-ac", "1",
         "-ar", "16000", "-f", "s16le", "pipe:"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    samples = np.frombuffer(pcm, np.int16).astype(np.float64)[4000:20000]
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / 16000)[int(spectrum.argmax())])


def test_voice_distortion_lowers_the_pitch_only_when_asked(tmp_path: Path) -> None:
    require_tool("ffmpeg")
    source = tmp_path / "walk.mp4"
    moving_face_video(source)
    plain, voiced = tmp_path / "plain.mp4", tmp_path / "voiced.mp4"
    render(source, plain, Kind.VIDEO, Plan(tracks=[]))
    render(source, voiced, Kind.VIDEO, Plan(tracks=[], voice=True))
    assert (round(_dominant_hz(plain) / 10), _dominant_hz(voiced) < 200) == (22, True)


@pytest.mark.parametrize("voice_filter", [VOICE_FILTER, VOICE_FILTER_FALLBACK])
def test_voice_filter_encodes_a_phone_aac_track_every_time(
    tmp_path: Path, voice_filter: str
) -> None:
    require_tool("ffmpeg")
    source = tmp_path / "walk.mp4"
    moving_face_video(source)
    command = [
        "ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(source), "-map", "0:a:0",
        "-af", voice_filter, "-c:a", "aac", "-f", "mp4", str(tmp_path / "voiced.m4a"),
    ]  # fmt: skip
    errors = [subprocess.run(command, capture_output=True, check=False).stderr for _ in range(5)]
    assert errors == [b""] * 5


def test_scan_video_keeps_sample_frames_and_tracks(tmp_path: Path) -> None:
    require_tool("ffmpeg")
    source = tmp_path / "walk.mp4"
    truth = moving_face_video(source)
    found = scan(source, Kind.VIDEO)
    track = found.tracks[0]
    assert (
        found.frame_count,
        len(found.samples) >= 10,
        (track.first, track.last),
        (found.width, found.height),
    ) == (len(truth), True, (0, len(truth) - 1), (640, 360))


def test_hide_faces_command_writes_the_copy(tmp_path: Path) -> None:
    source, truth = _scene_jpeg(tmp_path, seed=7)
    out = tmp_path / "published.jpg"
    printed = io.StringIO()
    call_command("hide_faces", str(source), "--out", str(out), "--method", "mosaic", stdout=printed)
    record = json.loads(printed.getvalue())
    hidden = np.asarray(Image.open(out).convert("RGB"))
    assert ((record["kind"], record["faces"]), detector.detect(hidden)) == (
        ("photo", len(truth)),
        [],
    )


def test_hide_faces_command_refuses_a_file_that_is_not_media(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not a photo")
    with pytest.raises(Exception, match="cannot read"):
        call_command("hide_faces", str(junk), "--out", str(tmp_path / "x.jpg"))


def test_face_engine_imports_nothing_from_django_or_the_project() -> None:
    package = Path(detector.__file__).parent
    imports = [
        line.strip()
        for path in sorted(package.glob("*.py"))
        for line in path.read_text().splitlines()
        if line.startswith(("import ", "from "))
        and any(name in line for name in ("django", "reports", "intake."))
    ]
    assert imports == []


def test_audio_only_copy_is_aac_with_the_voice_lowered(tmp_path: Path) -> None:
    require_tool("ffmpeg")
    source = tmp_path / "voice.wav"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=220:duration=2",
         str(source)],
        check=True,
    )  # fmt: skip
    found = scan(source, Kind.AUDIO)
    out = tmp_path / "voice.m4a"
    render(source, out, Kind.AUDIO, Plan(tracks=[], voice=True))
    streams = json.loads(
        subprocess.run(
            ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", str(out)],
            capture_output=True,
            check=True,
        ).stdout
    )["streams"]
    assert (found.kind, [s["codec_name"] for s in streams], _dominant_hz(out) < 200) == (
        Kind.AUDIO,
        ["aac"],
        True,
    )


def test_scan_video_searches_every_second_frame_and_the_last(tmp_path: Path) -> None:
    require_tool("ffmpeg")
    source = tmp_path / "walk.mp4"
    truth = moving_face_video(source)
    found = scan(source, Kind.VIDEO)
    searched = sorted({frame for track in found.tracks for frame in track.boxes})
    covered = [i for i in range(len(truth)) if found.tracks[0].box_at(i) is not None]
    assert (searched, covered) == (
        [*range(0, len(truth), 2), len(truth) - 1],
        list(range(len(truth))),
    )
