from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection

from config.var_dirs import var_dirs_ensure
from intake.legal_hold import keypair_new
from reports.roles import ADMIN, LEGAL_AID, MODERATOR
from tests.factories import jpeg_with_gps
from tests.factories.staff import device_of, staff_user

# The object store's fixtures (object_store, storage_backend) for every test directory.
pytest_plugins = ["tests.factories.object_store"]

WORKER_READY_TIMEOUT = 60


def _database_url_for_worker() -> str:
    """The URL of the database the tests are using right now (the test database)."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = quote(db.get("USER") or "")
    password = quote(db.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "localhost"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{db['NAME']}"


@pytest.fixture(scope="session", autouse=True)
def _var_dirs() -> None:
    """The folders under VAR_DIR: the filesystem broker's, which the tests publish to and
    workers read (importing the settings makes none)."""
    var_dirs_ensure()


@pytest.fixture(scope="session")
def legal_hold_keys() -> tuple[str, str]:
    """(private, public): the worker seals originals to this key, as a deployment with
    legal hold does."""
    return keypair_new()


@pytest.fixture(scope="session")
def celery_worker_process(
    _var_dirs: None,
    django_db_setup: None,
    django_db_blocker: Any,
    tmp_path_factory: pytest.TempPathFactory,
    legal_hold_keys: tuple[str, str],
) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker process on the configured broker and the test database."""
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url_for_worker(),
        "TESTIGO_VAR_DIR": str(settings.VAR_DIR),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "TESTIGO_LEGAL_HOLD_PUBLIC_KEY": legal_hold_keys[1],
        # Webhook tests post to a receiver on 127.0.0.1 and retry after a second.
        "TESTIGO_WEBHOOK_ALLOW_PRIVATE": "1",
        "TESTIGO_WEBHOOK_BACKOFF_S": "1",
    }
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "config", "worker",
                "--loglevel", "INFO", "--concurrency", "1", "--pool", "prefork",
                "--without-gossip", "--without-mingle", "--hostname", f"test-{os.getpid()}@%h",
                f"--queues={','.join(settings.TESTIGO_QUEUES)}",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + WORKER_READY_TIMEOUT
    while b" ready." not in log_path.read_bytes():
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            pytest.fail(f"celery worker did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)
    # Tests read what it logged (tests/hostile/test_wire.py).
    worker.log_path = log_path  # type: ignore[attr-defined]
    yield worker
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # Tests create many staff users; production keeps Django's slow default hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def wait_for() -> Callable[..., Any]:
    def wait(predicate: Callable[[], Any], timeout: float = 60, interval: float = 0.25) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        raise AssertionError(f"condition not met within {timeout} s")

    return wait


@pytest.fixture
def moderator(db: None) -> User:
    user = User.objects.create_user(username="mod", password="mod-password-1", is_staff=True)
    user.groups.add(Group.objects.get(name=MODERATOR))
    # Every staff login needs a second factor; tests compute tokens from this device.
    device_of(user)
    return user


@pytest.fixture
def legal_aid(db: None) -> User:
    return staff_user("lawyer", LEGAL_AID)


@pytest.fixture
def administrator(db: None) -> User:
    return staff_user("administrator", ADMIN)


@pytest.fixture
def gps_jpeg() -> bytes:
    return jpeg_with_gps()


@pytest.fixture
def gps_jpeg_file(tmp_path: Path, gps_jpeg: bytes) -> Path:
    path = tmp_path / "IMG_0001.jpg"
    path.write_bytes(gps_jpeg)
    return path


def throttle_reset() -> None:
    """Forget every throttle counter and byte budget (and nothing else: the broker may
    share the Redis db)."""
    from django.core.cache import cache

    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        # Throttle counters and the byte budgets counted per client and hour.
        for pattern in ("*throttle:*", "*budget:*"):
            for key in client.scan_iter(pattern):
                client.delete(key)
    else:
        cache.clear()


@pytest.fixture
def empty_throttle() -> Iterator[None]:
    """No throttle counter or byte budget before the test, and none left after it."""
    throttle_reset()
    yield
    throttle_reset()


def cache_dump() -> str:
    """Every key and value in the cache, whatever the backend: Redis, or the embedded
    default's files (named by a hash of the key; their values are read back)."""
    import pickle
    import zlib

    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        return "".join(f"{k!r}{client.dump(k)!r}" for k in client.scan_iter())
    folder = Path(str(settings.CACHES["default"]["LOCATION"]))
    parts = []
    for path in sorted(folder.glob("*.djcache")):
        with path.open("rb") as f:
            expiry = pickle.load(f)  # noqa: S301 (the test's own cache files)
            value = pickle.loads(zlib.decompress(f.read()))  # noqa: S301
        parts.append(f"{path.name}{expiry!r}{value!r}")
    return "".join(parts)


@pytest.fixture(autouse=True)
def _throttle_out_of_the_way(settings: Any) -> Iterator[None]:
    """Tests all come from one address; only the throttle tests lower the limits."""
    settings.TESTIGO_THROTTLE_REPORTS_PER_HOUR = 1_000_000
    settings.TESTIGO_THROTTLE_CODES_PER_HOUR = 1_000_000
    settings.TESTIGO_THROTTLE_UPLOADS_PER_HOUR = 1_000_000
    settings.TESTIGO_THROTTLE_FOLLOWUPS_PER_HOUR = 1_000_000
    settings.TESTIGO_THROTTLE_UPLOAD_PARTS_PER_HOUR = 1_000_000
    throttle_reset()
    yield
