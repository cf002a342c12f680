"""The embedded default keeps its secrets to its own user (issue 14, "The local admin's
password and TOTP secret go to stdout and so into serve.log; var/db.sqlite3 is 0644 beside
var/secrets/; expired witness sessions are never cleared")."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from config.var_dirs import var_dirs_ensure

ROOT = Path(__file__).resolve().parents[2]


def _loose(root: Path) -> list[str]:
    """Everything under ``root`` that someone other than its owner could open."""
    return [
        f"{path.relative_to(root)} {stat.filemode(path.lstat().st_mode)}"
        for path in [root, *root.rglob("*")]
        if path.lstat().st_mode & 0o077
    ]


@pytest.fixture
def umask_kept() -> Iterator[None]:
    previous = os.umask(0o022)
    os.umask(previous)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("umask_kept")
def test_var_dirs_ensure_makes_an_older_var_private(settings: Any, tmp_path: Path) -> None:
    var = tmp_path / "var"
    (var / "media" / "report").mkdir(parents=True)
    var.chmod(0o755)
    (var / "media").chmod(0o755)
    (var / "db.sqlite3").write_bytes(b"db")
    (var / "db.sqlite3").chmod(0o644)
    (var / "media" / "report" / "photo.jpg").write_bytes(b"jpeg")
    (var / "media" / "report" / "photo.jpg").chmod(0o664)
    (var / "run.sh").write_text("#!/bin/sh\n")
    (var / "run.sh").chmod(0o755)
    settings.VAR_DIR = var
    settings.CELERY_BROKER_URL = "redis://unused"

    var_dirs_ensure()

    assert _loose(var) == []
    assert stat.S_IMODE((var / "db.sqlite3").stat().st_mode) == 0o600
    assert stat.S_IMODE((var / "run.sh").stat().st_mode) == 0o700
    assert stat.S_IMODE((var / "media").stat().st_mode) == 0o700
    # And whatever this process creates from now on.
    (var / "new.txt").write_text("x")
    (var / "new").mkdir()
    assert _loose(var) == []


_WRITE_LIKE_THE_SERVICE = """
import django
django.setup()
from config.var_dirs import var_dirs_ensure
var_dirs_ensure()
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE t (x INTEGER)")
    cursor.execute("INSERT INTO t VALUES (1)")
storages["media"].save("report/photo.jpg", ContentFile(b"jpeg"))
storages["quarantine"].save("report/item.q", ContentFile(b"sealed"))
cache.set("k", "v")
"""


def test_files_the_embedded_default_writes_are_private(tmp_path: Path) -> None:
    """Secrets (made at settings import), the SQLite database, stored media and quarantine
    files, the cache and the broker's folders: 0600 files, 0700 folders."""
    var = tmp_path / "var"
    # The embedded default, with every secret to be generated under var/secrets/.
    unset = {"DATABASE_URL", "REDIS_URL", "TESTIGO_STORAGE", "DJANGO_SECRET_KEY"}
    env = {
        **{
            name: value
            for name, value in os.environ.items()
            if name not in unset and not (name.startswith("TESTIGO_") and name.endswith("_KEY"))
        },
        "TESTIGO_VAR_DIR": str(var),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    subprocess.run(
        [sys.executable, "-c", _WRITE_LIKE_THE_SERVICE],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),  # the usual login umask
    )
    written = {p.relative_to(var).as_posix() for p in var.rglob("*") if p.is_file()}
    assert {"db.sqlite3", "secrets/django_secret_key", "media/report/photo.jpg"} <= written
    assert any(name.startswith("cache/") for name in written)
    assert _loose(var) == []


def test_serve_script_sets_a_private_umask_before_anything_writes() -> None:
    lines = (ROOT / "bin" / "serve").read_text().splitlines()
    first_command = next(i for i, line in enumerate(lines) if line.startswith("$VENV_PY"))
    assert "umask 077" in lines[:first_command]


@pytest.mark.django_db
def test_local_admin_login_is_not_printed_into_a_log(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path / "var"
    out = io.StringIO()  # what bin/serve > serve.log would get: not a terminal

    call_command("ensure_local_admin", stdout=out)

    secret_file = tmp_path / "var" / "secrets" / "local_admin"
    assert str(secret_file) in out.getvalue()
    assert "/staff/enrol/" not in out.getvalue()
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    [link] = re.findall(r"http://\S+/staff/enrol/\S+/", secret_file.read_text())
    client = Client()
    assert client.get(client.get(urlsplit(link).path)["Location"]).status_code == 200


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.django_db
def test_local_admin_login_is_shown_on_a_terminal_only(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path / "var"
    terminal = _Terminal()

    call_command("ensure_local_admin", stdout=terminal)

    [link] = re.findall(r"http://\S+/staff/enrol/\S+/", terminal.getvalue())
    client = Client()
    assert client.get(client.get(urlsplit(link).path)["Location"]).status_code == 200
    assert not (tmp_path / "var" / "secrets" / "local_admin").exists()


@pytest.mark.django_db
def test_expired_sessions_are_cleared_on_schedule(settings: Any) -> None:
    from config.celery import app
    from intake.tasks import clear_expired_sessions

    entry = settings.CELERY_BEAT_SCHEDULE["clear-sessions"]
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks
    assert entry["schedule"] <= 24 * 3600

    live, expired = SessionStore(), SessionStore()
    for session in (live, expired):
        session["testigo_followup"] = {"report": "r", "until": 0}
        session.create()
    Session.objects.filter(session_key=expired.session_key).update(
        expire_date=timezone.now() - dt.timedelta(minutes=1)
    )

    clear_expired_sessions()

    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
