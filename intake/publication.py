"""The worker side of publishable copies (promise 11): find faces in a sanitized copy, and
render an approved copy, each in the resource-limited child (intake/faces/child.py).

Only the sanitized copy in the media storage is ever read; the evidence copy is never
written. Everything stored here (the sample frames staff review, the finished copy) is
first run through the sanitizer and stored only when it comes out clean. Progress lines
from the child go to the copy's row for staff to watch. A copy is claimed by a
conditional update, so a task delivered twice does the work once; a failure marks the
copy failed, with the reason, and never leaves a partial file behind.
"""

from __future__ import annotations

import json
import logging
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages

from intake import sanitize
from intake.leftovers import work_folder
from reports.models import CopyStatus, PublishableCopy
from reports.services import (
    publishable_copy_claim,
    publishable_copy_detected,
    publishable_copy_fail,
    publishable_copy_progress,
    publishable_copy_publish,
)

logger = logging.getLogger(__name__)

OUTPUT = {
    "photo": ("jpg", "image/jpeg"),
    "video": ("mp4", "video/mp4"),
    "audio": ("m4a", "audio/mp4"),
}


class CopyFailed(Exception):
    pass


def _limit_child_resources() -> None:
    """Runs in the child before exec: cap its memory and CPU time."""
    memory = settings.TESTIGO_FACES_MAX_MEMORY_MB * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = settings.TESTIGO_FACES_MAX_CPU_S
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))


def _run_child(copy_id: Any, *args: str) -> None:
    command = [sys.executable, "-m", "intake.faces.child", *args]
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_limit_child_resources,  # workers are processes, not threads
        cwd=settings.BASE_DIR,
        text=True,
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        last = -1
        for line in child.stdout:
            if line.startswith("progress "):
                percent = int(line.split()[1])
                if percent != last:
                    publishable_copy_progress(copy_id=copy_id, percent=percent)
                    last = percent
        error = child.stderr.read()
        if child.wait() != 0:
            raise CopyFailed(error.strip().splitlines()[-1][:150] if error.strip() else "failed")


def _sanitized_save(path: Path, name: str, workdir: Path) -> tuple[str, str]:
    """Store ``path`` under ``name`` only if the sanitizer passes it clean; the stored
    name and the SHA-256 of what was stored."""
    clean = workdir / ("clean-" + path.name)
    with path.open("rb") as src, clean.open("w+b") as dst:
        manifest = sanitize.sanitize_stream(src, dst)
        if manifest.status != "clean":
            raise CopyFailed(f"the sanitizer refused the output: {manifest.status}")
        dst.seek(0)
        return storages["media"].save(name, File(dst)), manifest.sha256_out


def _fetch_source(copy: PublishableCopy, workdir: Path) -> Path:
    source = workdir / "source"
    with storages["media"].open(copy.media_item.media_name, "rb") as src, source.open("wb") as dst:
        while chunk := src.read(1024 * 1024):
            dst.write(chunk)
    return source


def publishable_copy_detect_run(*, copy_id: Any) -> bool:
    copy = publishable_copy_claim(copy_id=copy_id, status=CopyStatus.DETECTING)
    if copy is None:
        return False
    try:
        with work_folder() as workdir:
            source = _fetch_source(copy, workdir)
            out = workdir / "scan"
            out.mkdir()
            _run_child(copy.id, "scan", str(source), str(out))
            found = json.loads((out / "scan.json").read_text())
            samples = [
                {
                    "frame": sample["frame"],
                    "name": _sanitized_save(
                        out / sample["file"],
                        f"publication/{copy.report_id}/{copy.id}/{sample['file']}",
                        workdir,
                    )[0],
                }
                for sample in found["samples"]
            ]
    except (CopyFailed, OSError, ValueError, KeyError) as error:
        logger.warning("face detection of copy %s failed: %s", copy.id, type(error).__name__)
        publishable_copy_fail(copy=copy, error=f"Face detection failed: {error}")
        return False
    publishable_copy_detected(
        copy=copy,
        kind=found["kind"],
        size=(found["width"], found["height"]),
        fps=found["fps"],
        frame_count=found["frame_count"],
        tracks=found["tracks"],
        samples=samples,
    )
    return True


def _plan(copy: PublishableCopy) -> dict[str, Any]:
    regions = list(copy.regions.filter(removed=False))
    hand = []
    for region in regions:
        if region.source == "added":
            box = next(iter(region.track["boxes"].values()))
            hand.append(
                {
                    "frame": region.frame_start,
                    "end_frame": region.frame_end,
                    "box": box,
                    "follow": region.follow,
                }
            )
    return {
        "kind": copy.kind,
        "method": copy.method,
        "voice": copy.distort_voice,
        "tracks": [r.track for r in regions if r.source == "detected"],
        "hand": hand,
    }


def publishable_copy_render_run(*, copy_id: Any) -> bool:
    copy = publishable_copy_claim(copy_id=copy_id, status=CopyStatus.RENDERING)
    if copy is None:
        return False
    extension, content_type = OUTPUT.get(copy.kind, ("bin", "application/octet-stream"))
    try:
        with work_folder() as workdir:
            source = _fetch_source(copy, workdir)
            plan = workdir / "plan.json"
            plan.write_text(json.dumps(_plan(copy)))
            rendered = workdir / f"copy.{extension}"
            _run_child(copy.id, "render", str(source), str(rendered), str(plan))
            name, digest = _sanitized_save(
                rendered, f"publication/{copy.report_id}/{copy.id}/copy.{extension}", workdir
            )
    except (CopyFailed, OSError, ValueError) as error:
        logger.warning("rendering of copy %s failed: %s", copy.id, type(error).__name__)
        publishable_copy_fail(copy=copy, error=f"Hiding faces failed: {error}")
        return False
    publishable_copy_publish(copy=copy, name=name, content_type=content_type, sha256=digest)
    return True
