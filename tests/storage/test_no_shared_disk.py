"""No shared disk (issue 15): the deployment for organisations that outgrow one machine.
The web process and two Celery workers run with separate temporary and var folders,
sharing only PostgreSQL, Redis and the object store; a report with a photo, a video and
an audio recording goes from submit to pending, is approved and shared, and the partner
downloads every sanitized file through the web process (docs/scaling.md)."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.db import connection

from reports import services
from reports.models import MediaItem, MediaStatus, Moderation, Report
from tests.factories import jpeg_with_gps, noise_video
from tests.factories.object_store import ObjectStore
from tests.factories.processes import http_request, multipart
from tests.factories.tools import need, require_tool
from tests.faults.conftest import Processes

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]


def _audio(path: Path) -> Path:
    subprocess.run(
        [require_tool("ffmpeg"), "-v", "error", "-y", "-f", "lavfi",
         "-i", "sine=frequency=440:duration=3", "-c:a", "aac", str(path)],
        check=True,
    )  # fmt: skip
    return path


def _host(tmp_path: Path, name: str) -> tuple[str, str]:
    """A machine of its own: (its var folder, its temporary folder)."""
    var, tmp = tmp_path / name / "var", tmp_path / name / "tmp"
    var.mkdir(parents=True)
    tmp.mkdir(parents=True)
    return str(var), str(tmp)


def test_web_and_two_workers_share_no_disk_from_submit_to_partner_download(
    object_store: ObjectStore,
    processes: Processes,
    settings: Any,
    tmp_path: Path,
    wait_for: Callable[..., Any],
    moderator: User,
    legal_aid: User,
) -> None:
    if connection.vendor != "postgresql":
        need("the no-shared-disk test needs PostgreSQL (set DATABASE_URL)")
    settings.STORAGES = object_store.storages_setting()
    processes.extra_env.update(object_store.app_env())
    hosts = {name: _host(tmp_path, name) for name in ("web", "worker1", "worker2")}
    web = processes.gunicorn(TESTIGO_VAR_DIR=hosts["web"][0], TMPDIR=hosts["web"][1])
    for name in ("worker1", "worker2"):
        processes.worker(TESTIGO_VAR_DIR=hosts[name][0], TMPDIR=hosts[name][1])
    photo = jpeg_with_gps()
    video = noise_video(tmp_path / "clip.mp4", 2).read_bytes()
    audio = _audio(tmp_path / "voice.m4a").read_bytes()

    body, content_type = multipart(
        {"description": "Three agents took a neighbour away.", "consent_share_partners": "true"},
        [("media", "a.jpg", photo), ("media", "b.mp4", video), ("media", "c.m4a", audio)],
    )
    sent = http_request(
        web, "POST", "/api/v1/intake/reports/", body, {"Content-Type": content_type}, 60
    )
    assert sent.status == 201, sent.body[:500]

    report = Report.objects.get()
    wait_for(
        lambda: (
            Report.objects.filter(id=report.id, moderation=Moderation.PENDING).exists()
            and not MediaItem.objects.filter(report=report).exclude(quarantine_name="").exists()
        ),
        timeout=240,
    )
    items = list(report.media_items.order_by("position"))
    assert [(i.status, i.media_kind) for i in items] == [
        (MediaStatus.CLEAN, "image"),
        (MediaStatus.CLEAN, "video"),
        (MediaStatus.CLEAN, "audio"),
    ]
    assert object_store.keys("quarantine") == []

    services.report_approve(report=report, by=moderator)
    organisation, key = services.partner_create(name="Legal Aid North")
    services.report_share(report=report, organisation=organisation, by=legal_aid)
    auth = {"Authorization": f"Api-Key {key}"}
    listed = http_request(web, "GET", f"/api/v1/reports/{report.id}/media/", b"", auth)
    assert listed.status == 200, listed.body[:500]
    downloads = {}
    for media in listed.json():
        path = urlsplit(media["download_url"]).path
        got = http_request(web, "GET", path, b"", {})
        assert got.status == 200
        downloads[media["kind"]] = (hashlib.sha256(got.body).hexdigest(), media["sha256"])
    assert sorted(downloads) == ["audio", "image", "video"]
    assert all(actual == announced for actual, announced in downloads.values())

    # Nothing of the report was written to any host's var folder: only the store has it.
    for name, (var, _tmp) in hosts.items():
        for alias in ("quarantine", "media", "legal_hold"):
            assert not (Path(var) / alias).exists(), (name, alias)
    assert len(object_store.keys("media")) >= 3
    object_store.empty()
