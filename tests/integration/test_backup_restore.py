"""Backup and restore of the embedded default, as docs/operations.md describes them
(issue 15, "Docs and licence"): bin/backup-restore-check backs up a running instance,
wipes it, restores it and finds every report, file and contact intact. The same backup
restored without var/secrets/ loses the contacts: the key is part of the backup."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from importlib.machinery import SourceFileLoader
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bin" / "backup-restore-check"


# Two starts of the embedded default, a worker pass and two migrations: minutes, not seconds.
@pytest.mark.integration
@pytest.mark.timeout(600)
def test_backup_restore_check_finds_every_report_file_and_contact(tmp_path: Path) -> None:
    work = tmp_path / "check"
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DATABASE_URL", "REDIS_URL", "TESTIGO_VAR_DIR")
    }
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--keep", str(work)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr + (work / "serve.log").read_text()
    assert done.stdout.splitlines()[-1] == (
        "OK: 3 reports, 3 files, 3 contacts intact after restore"
    )
    backup = work / "backup"
    assert sorted(path.name for path in backup.iterdir()) == [
        "db.sqlite3",
        "secrets",
        "storage.tar",
    ]

    # Without the secrets the restored database is there, but no contact opens.
    loader = SourceFileLoader("backup_restore_check", str(SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    check = importlib.util.module_from_spec(spec)
    loader.exec_module(check)
    bare = tmp_path / "without-secrets" / "var"
    bare.parent.mkdir()
    check.restore(backup, bare, with_secrets=False)
    opened = subprocess.run(
        [
            sys.executable, "manage.py", "shell", "--no-imports", "-c",
            "from reports.contact import contact_open; from reports.models import Report\n"
            "for r in Report.objects.exclude(contact_sealed=None):\n"
            "    contact_open(report_id=r.id, sealed=r.contact_sealed)",
        ],
        cwd=ROOT,
        env={**env, "TESTIGO_VAR_DIR": str(bare), "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert opened.returncode != 0
    # The embedded default made itself a new key: the sealed contacts name another one.
    assert "which is neither the current key nor a fallback" in opened.stderr
