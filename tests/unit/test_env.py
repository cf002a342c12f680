"""Settings from the environment: strict readers, and no side effect at import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    embedded_default,
    env_bool,
    env_int,
    env_list,
    env_secret,
    env_str,
    env_url,
)
from config.var_dirs import var_dirs_ensure

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "DJANGO_SECRET_KEY": "a-test-secret-key",
    "TESTIGO_QUARANTINE_KEY": "a-test-quarantine-key",
    "TESTIGO_CONTACT_KEY": "a-test-contact-key",
}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("yes", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("no", False),
        ("off", False),
        (" TRUE ", True),
        ("Yes", True),
        ("On\n", True),
        (" False", False),
        ("NO", False),
        ("Off ", False),
    ],
)
def test_env_bool_reads_each_accepted_spelling(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool
) -> None:
    monkeypatch.setenv("TESTIGO_SOME_FLAG", raw)
    assert env_bool("TESTIGO_SOME_FLAG", not expected) is expected


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_env_bool_unset_or_empty_is_the_default(
    monkeypatch: pytest.MonkeyPatch, raw: str | None
) -> None:
    if raw is None:
        monkeypatch.delenv("TESTIGO_SOME_FLAG", raising=False)
    else:
        monkeypatch.setenv("TESTIGO_SOME_FLAG", raw)
    assert env_bool("TESTIGO_SOME_FLAG", True) is True
    assert env_bool("TESTIGO_SOME_FLAG", False) is False


@pytest.mark.parametrize("raw", ["flase", "ture", "2", "-1", "y", "enabled", "True!"])
def test_env_bool_refuses_anything_else_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("TESTIGO_SOME_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match=r"^TESTIGO_SOME_FLAG=.* is not a boolean"):
        env_bool("TESTIGO_SOME_FLAG", False)


def test_env_int_reads_integers_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESTIGO_SOME_COUNT", " 42 ")
    assert env_int("TESTIGO_SOME_COUNT", 7) == 42
    monkeypatch.setenv("TESTIGO_SOME_COUNT", "-3")
    assert env_int("TESTIGO_SOME_COUNT", 7) == -3
    monkeypatch.setenv("TESTIGO_SOME_COUNT", "")
    assert env_int("TESTIGO_SOME_COUNT", 7) == 7
    monkeypatch.delenv("TESTIGO_SOME_COUNT")
    assert env_int("TESTIGO_SOME_COUNT", 7) == 7


@pytest.mark.parametrize("raw", ["ten", "1.5", "1e3", "30/h"])
def test_env_int_refuses_a_non_integer_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("TESTIGO_SOME_COUNT", raw)
    with pytest.raises(ImproperlyConfigured, match=r"^TESTIGO_SOME_COUNT=.* is not an integer"):
        env_int("TESTIGO_SOME_COUNT", 7)


def test_env_secret_without_fallback_must_be_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TESTIGO_SOME_SECRET", raising=False)
    with pytest.raises(ImproperlyConfigured, match="TESTIGO_SOME_SECRET must be set"):
        env_secret("TESTIGO_SOME_SECRET", None)
    monkeypatch.setenv("TESTIGO_SOME_SECRET", "given")
    assert env_secret("TESTIGO_SOME_SECRET", None) == "given"


def _settings_setup(var_dir: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    """Import the settings and set Django up in a fresh process of the embedded default."""
    env = {**os.environ, "TESTIGO_VAR_DIR": str(var_dir), **extra}
    for name in ("DATABASE_URL", "REDIS_URL", "TESTIGO_STORAGE", *SECRETS):
        if name not in extra:
            env.pop(name, None)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('set up')"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_importing_the_settings_creates_no_folder(tmp_path: Path) -> None:
    var_dir = tmp_path / "fresh-var"
    done = _settings_setup(var_dir, **SECRETS)
    assert done.returncode == 0, done.stderr
    assert not var_dir.exists()


def test_only_the_embedded_defaults_missing_secrets_are_written_at_import(
    tmp_path: Path,
) -> None:
    var_dir = tmp_path / "fresh-var"
    done = _settings_setup(var_dir)
    assert done.returncode == 0, done.stderr
    assert [p.relative_to(var_dir).as_posix() for p in sorted(var_dir.rglob("*"))] == [
        "secrets",
        "secrets/contact_key",
        "secrets/django_secret_key",
        "secrets/quarantine_key",
    ]


def test_with_s3_storage_a_missing_secret_is_a_start_up_error(tmp_path: Path) -> None:
    var_dir = tmp_path / "fresh-var"
    done = _settings_setup(var_dir, TESTIGO_STORAGE="s3")
    assert done.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY must be set" in done.stderr
    assert not var_dir.exists()


def test_a_misspelt_boolean_stops_start_up(tmp_path: Path) -> None:
    done = _settings_setup(tmp_path / "fresh-var", DJANGO_DEBUG="flase", **SECRETS)
    assert done.returncode != 0
    assert "ImproperlyConfigured: DJANGO_DEBUG='flase' is not a boolean" in done.stderr


def test_var_dirs_ensure_makes_the_filesystem_brokers_folders(
    settings: Any, tmp_path: Path
) -> None:
    settings.VAR_DIR = tmp_path / "var"
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(tmp_path / "var" / "broker" / "queue"),
        "data_folder_out": str(tmp_path / "var" / "broker" / "queue"),
        "processed_folder": str(tmp_path / "var" / "broker" / "processed"),
        "control_folder": str(tmp_path / "var" / "broker" / "control"),
        "store_processed": False,
    }
    var_dirs_ensure()
    var_dirs_ensure()  # idempotent: every process that starts calls it
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "var",
        "var/broker",
        "var/broker/control",
        "var/broker/processed",
        "var/broker/queue",
    ]


def test_var_dirs_ensure_with_redis_makes_only_the_var_folder(
    settings: Any, tmp_path: Path
) -> None:
    settings.VAR_DIR = tmp_path / "var"
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60}
    var_dirs_ensure()
    assert [p.name for p in tmp_path.iterdir()] == ["var"]
    assert list((tmp_path / "var").iterdir()) == []


def test_env_str_reads_a_file_named_by_the_file_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "secret").write_text("from-a-file\n")
    monkeypatch.delenv("TESTIGO_SOME_SECRET", raising=False)
    monkeypatch.setenv("TESTIGO_SOME_SECRET_FILE", str(tmp_path / "secret"))
    assert env_str("TESTIGO_SOME_SECRET") == "from-a-file"
    assert env_secret("TESTIGO_SOME_SECRET", None) == "from-a-file"


def test_env_list_from_a_file_takes_one_entry_per_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "fallbacks").write_text("old-key-1\nold-key-2\n")
    monkeypatch.setenv("TESTIGO_SOME_KEYS_FILE", str(tmp_path / "fallbacks"))
    assert env_list("TESTIGO_SOME_KEYS") == ["old-key-1", "old-key-2"]


def test_a_variable_and_its_file_variable_together_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "secret").write_text("one")
    monkeypatch.setenv("TESTIGO_SOME_SECRET", "two")
    monkeypatch.setenv("TESTIGO_SOME_SECRET_FILE", str(tmp_path / "secret"))
    with pytest.raises(ImproperlyConfigured, match=r"set TESTIGO_SOME_SECRET or .*_FILE, not both"):
        env_str("TESTIGO_SOME_SECRET")


def test_an_unreadable_file_variable_is_a_start_up_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESTIGO_SOME_SECRET_FILE", "/nonexistent/secret")
    with pytest.raises(ImproperlyConfigured, match=r"TESTIGO_SOME_SECRET_FILE=.* cannot be read"):
        env_str("TESTIGO_SOME_SECRET")


@pytest.mark.parametrize(
    ("storage", "debug", "hosts", "expected"),
    [
        ("local", False, ["localhost", "127.0.0.1", "[::1]"], True),
        ("local", True, ["testigo.example.org"], True),
        ("local", False, ["testigo.example.org"], False),
        ("local", False, ["127.0.0.1", "testigo.example.org"], False),
        ("s3", True, ["localhost"], False),
    ],
)
def test_embedded_default_only_on_local_storage_and_loopback_or_debug(
    storage: str, debug: bool, hosts: list[str], expected: bool
) -> None:
    assert embedded_default(storage=storage, debug=debug, allowed_hosts=hosts) is expected


def test_with_a_public_host_and_debug_off_a_missing_secret_is_a_start_up_error(
    tmp_path: Path,
) -> None:
    var_dir = tmp_path / "fresh-var"
    done = _settings_setup(var_dir, DJANGO_ALLOWED_HOSTS="testigo.example.org")
    assert done.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY must be set (or DJANGO_SECRET_KEY_FILE)" in (
        done.stderr
    )
    assert not var_dir.exists()


def test_every_secret_can_come_from_a_file_and_fallbacks_from_variables(
    tmp_path: Path,
) -> None:
    files = {}
    for name, value in SECRETS.items():
        (tmp_path / name).write_text(value + "\n")
        files[f"{name}_FILE"] = str(tmp_path / name)
    var_dir = tmp_path / "fresh-var"
    env = {
        **{k: v for k, v in os.environ.items() if k not in (*SECRETS, "TESTIGO_STORAGE")},
        **files,
        "TESTIGO_VAR_DIR": str(var_dir),
        "TESTIGO_STORAGE": "s3",
        "DJANGO_SECRET_KEY_FALLBACKS": "older-secret-1,older-secret-2",
        "TESTIGO_CONTACT_KEY_FALLBACKS": "older-contact-key",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    script = (
        "import django; django.setup(); from django.conf import settings as s\n"
        "print(s.SECRET_KEY, s.TESTIGO_QUARANTINE_KEY, s.TESTIGO_CONTACT_KEY)\n"
        "print(s.SECRET_KEY_FALLBACKS, s.TESTIGO_CONTACT_KEY_FALLBACKS)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "a-test-secret-key a-test-quarantine-key a-test-contact-key",
        "['older-secret-1', 'older-secret-2'] ['older-contact-key']",
    ]
    assert not var_dir.exists()


def test_env_url_puts_a_password_from_a_file_into_a_url_without_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "pw").write_text("p@ss:w/rd\n")
    monkeypatch.setenv("TESTIGO_SOME_URL", "redis://redis-cache:6379/0")
    monkeypatch.setenv("TESTIGO_SOME_PASSWORD_FILE", str(tmp_path / "pw"))
    assert env_url("TESTIGO_SOME_URL", "", "TESTIGO_SOME_PASSWORD") == (
        "redis://:p%40ss%3Aw%2Frd@redis-cache:6379/0"
    )
    monkeypatch.setenv("TESTIGO_SOME_URL", "postgres://testigo@postgres:5432/testigo")
    assert env_url("TESTIGO_SOME_URL", "", "TESTIGO_SOME_PASSWORD") == (
        "postgres://testigo:p%40ss%3Aw%2Frd@postgres:5432/testigo"
    )
    # A URL that holds its own password keeps it; no password variable changes nothing.
    monkeypatch.setenv("TESTIGO_SOME_URL", "redis://:given@redis:6379/1")
    assert env_url("TESTIGO_SOME_URL", "", "TESTIGO_SOME_PASSWORD") == "redis://:given@redis:6379/1"
    monkeypatch.delenv("TESTIGO_SOME_PASSWORD_FILE")
    monkeypatch.setenv("TESTIGO_SOME_URL", "redis://redis:6379/1")
    assert env_url("TESTIGO_SOME_URL", "", "TESTIGO_SOME_PASSWORD") == "redis://redis:6379/1"
