"""Publishable copies through a real Celery worker process (the "faces" queue) and the
resource-limited child: detect → review → approve → a sanitized copy with faces hidden,
the evidence copy untouched."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.files.storage import storages
from PIL import Image

from intake.faces import detector
from intake.faces.media import probe, read_frames
from reports import services
from reports.models import AuditAction, AuditEvent, CopyStatus, HideMethod, PublishableCopy
from reports.roles import LEGAL_AID
from tests.factories.publication import (
    check_hidden,
    clean_item,
    clean_scene_photo,
    clean_walk_video,
    publishable_report,
)
from tests.factories.staff import staff_user
from tests.factories.tools import require_tool

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _stored(name: str) -> bytes:
    with storages["media"].open(name, "rb") as stored:
        return bytes(stored.read())


def _settled(copy_id: Any, status: CopyStatus) -> Callable[[], bool]:
    return lambda: PublishableCopy.objects.filter(
        id=copy_id, status__in=(status, CopyStatus.FAILED)
    ).exists()


def test_photo_copy_detect_review_approve_hides_faces_and_keeps_evidence(
    celery_worker_process: Any, wait_for: Callable[..., Any]
) -> None:
    lawyer = staff_user("lawyer", LEGAL_AID)
    report = publishable_report(1)
    item, truth = clean_scene_photo(report)
    evidence_before = hashlib.sha256(_stored(item.media_name)).hexdigest()

    copy = services.publishable_copy_detect(item=item, by=lawyer)
    wait_for(_settled(copy.id, CopyStatus.REVIEW), timeout=120)
    copy.refresh_from_db()
    detected = copy.regions.count()
    sample = Image.open(io.BytesIO(_stored(copy.samples[0]["name"])))
    services.publishable_copy_approve(
        copy=copy, method=HideMethod.FILL, distort_voice=False, by=lawyer
    )
    wait_for(_settled(copy.id, CopyStatus.PUBLISHED), timeout=120)
    copy.refresh_from_db()

    published = np.asarray(Image.open(io.BytesIO(_stored(copy.name))).convert("RGB"))
    evidence = np.asarray(Image.open(io.BytesIO(_stored(item.media_name))).convert("RGB"))
    check = check_hidden(published, evidence, truth)
    actions = list(
        AuditEvent.objects.filter(report_id=report.id, action__startswith="copy.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert (
        copy.status,
        detected,
        sample.format,
        copy.content_type,
        copy.name.startswith(f"publication/{report.id}/{copy.id}/"),
        hashlib.sha256(_stored(copy.name)).hexdigest() == copy.sha256,
        hashlib.sha256(_stored(item.media_name)).hexdigest() == evidence_before,
        (check.faces_inside, check.busy_regions, check.outside_difference < 6.0),
        detector.detect(published),
        actions,
    ) == (
        CopyStatus.PUBLISHED,
        len(truth),
        "JPEG",
        "image/jpeg",
        True,
        True,
        True,
        (0, 0, True),
        [],
        [
            AuditAction.COPY_DETECT_REQUESTED,
            AuditAction.COPY_DETECTED,
            AuditAction.COPY_APPROVED,
            AuditAction.COPY_PUBLISHED,
        ],
    )


def test_video_copy_hides_the_face_in_every_frame_with_voice_distorted(
    celery_worker_process: Any, wait_for: Callable[..., Any]
) -> None:
    require_tool("ffmpeg")
    lawyer = staff_user("lawyer", LEGAL_AID)
    report = publishable_report(2)
    item, truth = clean_walk_video(report)
    copy = services.publishable_copy_detect(item=item, by=lawyer)
    wait_for(_settled(copy.id, CopyStatus.REVIEW), timeout=180)
    copy.refresh_from_db()
    services.publishable_copy_approve(
        copy=copy, method=HideMethod.MOSAIC, distort_voice=True, by=lawyer
    )
    wait_for(_settled(copy.id, CopyStatus.PUBLISHED), timeout=180)
    copy.refresh_from_db()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "copy.mp4"
        out.write_bytes(_stored(copy.name))
        frames = list(read_frames(out, probe(out)))
        codecs = [
            s["codec_name"]
            for s in json.loads(
                subprocess.run(
                    ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", str(out)],
                    capture_output=True,
                    check=True,
                ).stdout
            )["streams"]
        ]
    with_faces = [i for i, rgb in enumerate(frames) if detector.detect(rgb, threshold=0.3)]
    assert (
        copy.status,
        copy.kind,
        copy.regions.count(),
        len(copy.samples) >= 10,
        codecs,
        len(frames),
        with_faces,
    ) == (CopyStatus.PUBLISHED, "video", 1, True, ["h264", "aac"], len(truth), [])


def test_copy_of_a_file_the_engine_cannot_read_fails_with_a_reason(
    celery_worker_process: Any, wait_for: Callable[..., Any]
) -> None:
    lawyer = staff_user("lawyer", LEGAL_AID)
    report = publishable_report(3)
    item = clean_item(report, b"\xff\xd8 not really a jpeg", kind="image", fmt="jpeg", ext="jpg")
    copy = services.publishable_copy_detect(item=item, by=lawyer)
    wait_for(_settled(copy.id, CopyStatus.REVIEW), timeout=120)
    copy.refresh_from_db()
    assert (copy.status, copy.error.startswith("Face detection failed"), copy.name) == (
        CopyStatus.FAILED,
        True,
        "",
    )
