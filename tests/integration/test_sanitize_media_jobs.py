"""`manage.py sanitize_media --jobs N`: worker processes, the same contract as one by one
(one manifest line per input in input order, same outputs, no file for a rejected input)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from intake.management.commands.sanitize_media import Command
from tests.factories.tools import require_shared_samples

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = (
    "jpeg_phone_full_4032x3024.jpg",
    "mp4_rotated90_xyz.mp4",
    "png_exif_chunk_xmp_text.png",
    "jpeg_orient6_apple_makernote.jpg",
    "flac_vorbis_picture.flac",
    "webm_vp9_matroska_tags.webm",
)


def _inputs(tmp_path: Path) -> list[Path]:
    """Shared samples with a rejected input in the middle, and a name used twice last."""
    files = require_shared_samples() / "files"
    inputs = [files / name for name in SAMPLES[:3]]
    not_media = tmp_path / "in" / "not_media.jpg"
    not_media.parent.mkdir()
    not_media.write_bytes(b"plain text, not a picture\n" * 100)
    twin = tmp_path / "in" / "jpeg_phone_full_4032x3024.jpg"
    shutil.copyfile(files / "jpeg_orient6_apple_makernote.jpg", twin)
    return [*inputs, not_media, *(files / name for name in SAMPLES[3:]), twin]


def _run(inputs: list[Path], out: Path, *jobs: str) -> list[dict[str, Any]]:
    completed = subprocess.run(
        [sys.executable, "manage.py", "sanitize_media", *map(str, inputs), "--out", str(out),
         *jobs],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )  # fmt: skip
    return [json.loads(line) for line in completed.stdout.splitlines()]


def _outputs(out: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir())}


def test_sanitize_media_jobs_manifest_lines_in_input_order(tmp_path: Path) -> None:
    inputs = _inputs(tmp_path)
    manifests = _run(inputs, tmp_path / "out", "--jobs", "3")
    assert [(m["file"], m["sha256_in"]) for m in manifests] == [
        (p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in inputs
    ]


def test_sanitize_media_jobs_same_manifests_and_outputs_as_one_job(tmp_path: Path) -> None:
    inputs = _inputs(tmp_path)
    one = _run(inputs, tmp_path / "one", "--jobs", "1")
    three = _run(inputs, tmp_path / "three", "--jobs", "3")
    assert three == one
    assert _outputs(tmp_path / "three") == _outputs(tmp_path / "one")


def test_sanitize_media_jobs_rejected_input_makes_no_file(tmp_path: Path) -> None:
    inputs = _inputs(tmp_path)
    manifests = _run(inputs, tmp_path / "out", "--jobs", "3")
    rejected = [(m["file"], m["status"], m["reason"]) for m in manifests if m["status"] != "clean"]
    assert rejected == [("not_media.jpg", "rejected", "unsupported_format")]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        {p.name for p in inputs} - {"not_media.jpg"}
    )


def test_sanitize_media_jobs_shared_name_keeps_the_last_input(tmp_path: Path) -> None:
    inputs = _inputs(tmp_path)
    manifests = _run(inputs, tmp_path / "out", "--jobs", "3")
    kept = (tmp_path / "out" / "jpeg_phone_full_4032x3024.jpg").read_bytes()
    assert hashlib.sha256(kept).hexdigest() == manifests[-1]["sha256_out"]
    assert manifests[-1]["sha256_out"] != manifests[0]["sha256_out"]


def test_sanitize_media_jobs_default_is_the_cpu_count() -> None:
    parser = Command().create_parser("manage.py", "sanitize_media")
    options = parser.parse_args(["photo.jpg", "--out", "out"])
    assert options.jobs == os.cpu_count()
