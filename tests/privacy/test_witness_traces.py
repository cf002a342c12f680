"""No witness address, User-Agent or original file survives anywhere (promises 2, 4, 5):
every public flow is driven with canary values, then the database dump, every Redis key
and value, the log file and every stored file are searched for them. The tests that read
stored files do so on local files and on the object store alike (``storage_backend``)."""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from intake.quarantine import master_key
from reports.contact import Contact, contact_keyring
from reports.models import AuditEvent, MediaItem, MediaStatus
from reports.roles import LEGAL_AID, MODERATOR
from reports.services import (
    partner_create,
    report_approve,
    report_create,
    report_settle_if_ready,
    report_share,
    report_share_contact,
)
from tests.factories import jpeg_with_gps
from tests.factories.object_store import StorageBackend
from tests.factories.processes import http_request, multipart
from tests.factories.staff import staff_user
from tests.factories.tools import need, require_tool
from tests.faults.conftest import Processes

pytestmark = [pytest.mark.privacy, pytest.mark.django_db(transaction=True)]

CANARY_IP = "203.0.113.77"
CANARY_UA = "CanaryPhone/9.9 (witness-device-7Q4Z)"
CANARY_CONTACT = "+1-555-0199 canary-contact"
CANARY_SAFE_TIMES = "evenings canary-safe-times"
CANARIES = [CANARY_IP.encode(), CANARY_UA.encode(), b"witness-device-7Q4Z"]
ORIGINAL_MARKERS = [b"CANARY"]  # every planted tag of tests.factories.jpeg_with_gps


@pytest.fixture
def own_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Upload spooling and the worker's scratch space in a directory of this test's own, so
    it can be searched and checked empty (the system one is shared with other runs)."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return scratch


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """Everything the application logs, at every level, into a file to search."""
    path = tmp_path / "app.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield path
    root.removeHandler(handler)
    root.setLevel(old_level)
    handler.close()


def _witness() -> Client:
    return Client(
        REMOTE_ADDR=CANARY_IP,
        HTTP_USER_AGENT=CANARY_UA,
        HTTP_X_FORWARDED_FOR=CANARY_IP,
        HTTP_X_REAL_IP=CANARY_IP,
        HTTP_ACCEPT_LANGUAGE="es",
        raise_request_exception=False,
    )


def _pg_dump() -> bytes:
    if connection.vendor != "postgresql":
        need("the database dump check needs PostgreSQL (set DATABASE_URL)")
    tool = require_tool("pg_dump")
    db = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
    return subprocess.run(
        [
            tool, "--data-only", "-h", db.get("HOST") or "localhost",
            "-p", str(db.get("PORT") or 5432), "-U", db.get("USER") or "postgres", db["NAME"],
        ],
        capture_output=True, check=True, env=env,
    ).stdout  # fmt: skip


def _redis_everything(url: str) -> bytes:
    """Every key and every value in this Redis database, concatenated."""
    client: Any = redis.Redis.from_url(url)  # bytes in, bytes out (no decode_responses)
    out = bytearray()
    for key in client.scan_iter(count=1000):
        out += key + b"\n"
        kind = client.type(key)
        if kind == b"string":
            out += client.get(key) or b""
        elif kind == b"list":
            out += b"\n".join(client.lrange(key, 0, -1))
        elif kind == b"hash":
            out += b"\n".join(k + b"=" + v for k, v in client.hgetall(key).items())
        elif kind == b"set":
            out += b"\n".join(client.smembers(key))
        elif kind == b"zset":
            out += b"\n".join(client.zrange(key, 0, -1))
        out += b"\n"
    return bytes(out)


def _files_under(*roots: Path) -> Iterator[Path]:
    for root in roots:
        if root.exists():
            yield from (p for p in root.rglob("*") if p.is_file())


def _found_in_files(markers: list[bytes], *roots: Path) -> list[str]:
    return [
        f"{path}: {marker!r}"
        for path in _files_under(*roots)
        for marker in markers
        if marker in path.read_bytes()
    ]


def _every_name(backend: StorageBackend) -> list[str]:
    """Every stored file's or object's name, in every storage."""
    aliases = ("quarantine", "media", "legal_hold")
    return [name for alias in aliases for name in backend.names(alias)]


def _every_public_flow(client: Client, own_tempdir: Path) -> list[int]:
    statuses = []

    def after(response: Any) -> None:
        statuses.append(response.status_code)
        assert list(own_tempdir.iterdir()) == [], "temporary files left after a request"

    after(client.get("/"))
    # Post/redirect/get (issue 13): followed, so the receipt page is driven too.
    after(client.post("/", {"description": "Form report.", "attachments": [
        SimpleUploadedFile("IMG_1.jpg", jpeg_with_gps())
    ]}, follow=True))  # fmt: skip
    after(client.post("/", {"description": ""}))  # form error
    after(client.post("/api/v1/intake/reports/", {
        "description": "API report.",
        "media": [SimpleUploadedFile("a.jpg", jpeg_with_gps()),
                  # over the 8 MB spool: goes through a temporary file, still encrypted
                  SimpleUploadedFile("big.jpg", b"\xff\xd8\xff\xe0" + os.urandom(9 << 20))],
    }))  # fmt: skip
    after(client.post("/api/v1/intake/reports/", {"description": ""}))  # 400
    after(client.post("/api/v1/intake/reports/", b"{}", content_type="application/json"))
    after(client.get("/no-such-page/"))  # 404
    after(client.get("/privacy-test/boom/"))  # forced 500
    return statuses


def test_canary_address_and_agent_appear_nowhere_after_every_public_flow(
    storage_backend: StorageBackend, settings: Any, own_tempdir: Path, log_file: Path
) -> None:
    settings.ROOT_URLCONF = "tests.privacy.urls_with_error"

    statuses = _every_public_flow(_witness(), own_tempdir)

    assert statuses == [200, 200, 200, 201, 400, 415, 404, 500]
    # Three files received (one by the form, two by the API): what is searched below, in
    # quarantine or, once a worker has processed them, in the media storage.
    assert MediaItem.objects.count() == 3
    stored = storage_backend.stored_bytes() + "\n".join(_every_name(storage_backend)).encode()
    assert [marker for marker in CANARIES if marker in stored] == []
    assert log_file.read_text() != ""  # the logs did record the requests' troubles
    for marker in CANARIES:
        assert marker not in log_file.read_bytes(), marker
    assert _found_in_files(CANARIES, Path(settings.VAR_DIR), own_tempdir) == []
    dump = _pg_dump()
    for marker in CANARIES:
        assert marker not in dump, marker
    if settings.REDIS_URL:
        everything = _redis_everything(settings.REDIS_URL)
        for marker in CANARIES:
            assert marker not in everything, marker


def test_contact_details_are_not_in_the_dump_and_neither_is_any_key() -> None:
    report_create(
        receipt_hash="c" * 64,
        description="Contact me.",
        facts={"consent_contact": True, "contact_channel": "signal"},
        contact=Contact(value=CANARY_CONTACT, safe_times=CANARY_SAFE_TIMES),
    )

    dump = _pg_dump()

    assert b"Contact me." in dump  # the dump does hold the report
    assert CANARY_CONTACT.encode() not in dump
    assert CANARY_SAFE_TIMES.encode() not in dump
    for secret in (settings.TESTIGO_CONTACT_KEY, settings.TESTIGO_QUARANTINE_KEY):
        assert secret.encode() not in dump
    for derived in (contact_keyring().current.secret, master_key()):
        assert derived.hex().encode() not in dump


def test_contact_read_by_a_partner_leaves_no_copy_in_logs_trail_or_cache(
    settings: Any, log_file: Path
) -> None:
    """Promise 5 past the API: the only places a witness's contact details are in clear
    are the response to the one partner legal aid chose, and never a cache of it."""
    report = report_create(
        receipt_hash="d" * 64,
        description="Contact me through a partner.",
        facts={
            "consent_contact": True,
            "consent_share_partners": True,
            "consent_contact_partners": True,
            "contact_channel": "signal",
        },
        contact=Contact(value=CANARY_CONTACT, safe_times=CANARY_SAFE_TIMES),
    )
    report_settle_if_ready(report=report)
    moderator, lawyer = staff_user("p-mod", MODERATOR), staff_user("p-lawyer", LEGAL_AID)
    report = report_approve(report=report, by=moderator)
    organisation, key = partner_create(name="Partner", shared_fields=["town"])
    share = report_share(report=report, organisation=organisation, by=lawyer)
    report_share_contact(share=share, by=lawyer)
    partner = Client(HTTP_AUTHORIZATION=f"Api-Key {key}")

    detail = partner.get(f"/api/v1/reports/{report.id}/")
    listed = partner.get("/api/v1/reports/")

    assert detail.json()["contact"]["value"] == CANARY_CONTACT  # it did go to the partner
    assert listed.json()["results"][0]["contact"]["safe_times"] == CANARY_SAFE_TIMES
    assert detail["Cache-Control"] == listed["Cache-Control"] == "no-store"
    markers = [CANARY_CONTACT.encode(), CANARY_SAFE_TIMES.encode()]
    for marker in markers:
        assert marker not in log_file.read_bytes(), marker
    trail = repr(list(AuditEvent.objects.values())).encode()
    assert b"contact.read_by_partner" in trail
    assert [marker for marker in markers if marker in trail] == []
    assert _found_in_files(markers, Path(settings.VAR_DIR)) == []
    if settings.REDIS_URL:
        everything = _redis_everything(settings.REDIS_URL)
        assert [marker for marker in markers if marker in everything] == []


def test_no_readable_original_anywhere_after_sanitizing(
    storage_backend: StorageBackend,
    processes: Processes,
    wait_for: Callable[..., Any],
    tmp_path: Path,
) -> None:
    """On local files and on the object store (issue 15): a real web process and worker,
    each with a scratch folder of its own, then every stored object read back."""
    web_scratch, worker_scratch = tmp_path / "web-scratch", tmp_path / "worker-scratch"
    web_scratch.mkdir()
    worker_scratch.mkdir()
    quarantine_before = set(storage_backend.quarantine_names())
    processes.extra_env.update(storage_backend.env)
    processes.worker(TMPDIR=str(worker_scratch))
    web = processes.gunicorn(workers=1, TMPDIR=str(web_scratch))
    body, content_type = multipart(
        {"description": "Photo with location."}, [("media", "a.jpg", jpeg_with_gps())]
    )
    headers = {"Content-Type": content_type, "User-Agent": CANARY_UA, "Accept-Language": "es"}
    response = http_request(web, "POST", "/api/v1/intake/reports/", body, headers)
    assert response.status == 201, response.body[:500]
    item = MediaItem.objects.get()

    # The quarantine copy is destroyed just after the report settles: wait for both.
    wait_for(
        lambda: MediaItem.objects.filter(
            id=item.id, status=MediaStatus.CLEAN, quarantine_name=""
        ).exists(),
        timeout=120,
    )

    item.refresh_from_db()
    assert item.media_name in storage_backend.names("media")  # the store was searched
    stored = storage_backend.stored_bytes()
    with storages["media"].open(item.media_name) as sanitized:
        assert sanitized.read() in stored  # the search does see what the worker stored
    assert [marker for marker in ORIGINAL_MARKERS if marker in stored] == []
    assert set(storage_backend.quarantine_names()) - quarantine_before == set()
    assert _found_in_files(ORIGINAL_MARKERS, Path(settings.VAR_DIR), web_scratch) == []
    assert list(web_scratch.iterdir()) == []
    # Only the pool's own empty multiprocessing directory may remain in the worker's.
    assert [p.name for p in worker_scratch.iterdir() if not p.name.startswith("pymp-")] == []
    assert [p for p in worker_scratch.rglob("*") if p.is_file()] == []


def test_bandit_finds_nothing_of_medium_severity_or_higher() -> None:
    bandit = Path(settings.BASE_DIR, ".venv", "bin", "bandit")
    if not bandit.exists():
        need("bandit is a dev dependency: run bin/test to install it")
    done = subprocess.run(
        [str(bandit), "-q", "-r", "config", "intake", "reports", "-ll"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_no_server_command_turns_on_an_access_log() -> None:
    base = Path(settings.BASE_DIR)
    for name in ("docker-compose.yml", "Dockerfile", "intake/management/commands/serve.py"):
        text = (base / name).read_text()
        assert "access-log" not in text, name
        assert "access_log" not in text, name
