"""The object store as the app meets it: buckets made by `manage.py create_buckets`
(idempotent, with the admin's credentials), the app's identity limited to its buckets,
reads that stream in ranges, and the store's failures raised as StorageUnavailable."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from reports.storage import ObjectFile, StorageUnavailable
from tests.factories.object_store import BUCKETS, ObjectStore

ROOT = Path(__file__).resolve().parents[2]


def _create_buckets(store: ObjectStore, *, admin: bool) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **store.app_env()}
    if admin:
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = store.admin_key, store.admin_secret
    return subprocess.run(
        [sys.executable, "manage.py", "create_buckets"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_create_buckets_twice_finds_them_existing(object_store: ObjectStore) -> None:
    done = _create_buckets(object_store, admin=True)

    assert (done.returncode, done.stdout.splitlines()) == (
        0,
        [
            "quarantine: bucket testigo-quarantine exists",
            "media: bucket testigo-media exists",
            "legal_hold: bucket testigo-legal-hold exists",
        ],
    )


def test_create_buckets_with_the_app_identity_on_a_missing_bucket_fails_clearly(
    object_store: ObjectStore,
) -> None:
    env_bucket = {"TESTIGO_MEDIA_BUCKET": "testigo-not-made"}
    env = {**os.environ, **object_store.app_env(), **env_bucket}
    done = subprocess.run(
        [sys.executable, "manage.py", "create_buckets"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert done.returncode == 1
    assert "media: bucket testigo-not-made: object store refused" in done.stderr
    assert "Traceback" not in done.stderr


def test_app_identity_cannot_create_buckets_or_touch_another(object_store: ObjectStore) -> None:
    app = object_store.client(admin=False)
    object_store.client().create_bucket(Bucket="someone-elses")
    object_store.client().put_object(Bucket="someone-elses", Key="k", Body=b"private")

    codes = []
    calls: tuple[Callable[[], Any], ...] = (
        lambda: app.create_bucket(Bucket="testigo-extra"),
        lambda: app.get_object(Bucket="someone-elses", Key="k"),
        lambda: app.put_object(Bucket="someone-elses", Key="k2", Body=b"x"),
    )
    for call in calls:
        with pytest.raises(ClientError) as refused:
            call()
        codes.append(refused.value.response["Error"]["Code"])

    assert codes == ["AccessDenied", "AccessDenied", "AccessDenied"]


def test_object_reads_stream_in_ranges_and_seek(object_store: ObjectStore, settings: Any) -> None:
    settings.STORAGES = object_store.storages_setting()
    data = bytes(range(256)) * 40_000  # 10 MB
    name = storages["media"].save("r/ranged.bin", ContentFile(data))

    with storages["media"].open(name, "rb") as opened:
        assert isinstance(opened, ObjectFile)
        assert opened.size == len(data)
        assert opened.read(10) == data[:10]
        opened.seek(5_000_000)
        assert opened.read(7) == data[5_000_000:5_000_007]
        opened.seek(-3, io.SEEK_END)
        assert opened.read() == data[-3:]
    object_store.empty()


def test_a_stopped_store_raises_storage_unavailable_at_once(tmp_path: Path, settings: Any) -> None:
    store = ObjectStore(tmp_path)
    store.start()
    try:
        store.client().create_bucket(Bucket=BUCKETS["quarantine"])
        settings.STORAGES = store.storages_setting()
    finally:
        store.stop()

    with pytest.raises(StorageUnavailable):
        storages["quarantine"].save("x.tq", ContentFile(b"sealed"))
    with pytest.raises(StorageUnavailable):
        storages["quarantine"].open("x.tq")
    assert issubclass(StorageUnavailable, OSError)


def test_a_missing_bucket_is_storage_unavailable_not_a_crash(
    object_store: ObjectStore, settings: Any
) -> None:
    table = object_store.storages_setting()
    options = {**table["quarantine"]["OPTIONS"], "bucket_name": "testigo-never-made"}
    settings.STORAGES = {**table, "quarantine": {**table["quarantine"], "OPTIONS": options}}

    with pytest.raises(StorageUnavailable):
        storages["quarantine"].save("first-upload.tq", ContentFile(b"sealed"))
