"""The compose bucket job (deploy/seaweedfs-init.sh) run for real against `weed server`,
the SeaweedFS of docker-compose.yml: it creates the three buckets and an app identity that
may read, write and list them and do nothing else; run twice, it changes nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.factories.object_store import weed_binary
from tests.factories.processes import free_port, wait_until

pytestmark = pytest.mark.field
ROOT = Path(__file__).resolve().parents[2]
BUCKETS = ("testigo-quarantine", "testigo-media", "testigo-legal-hold")
ACCESS, SECRET = "testigo-app", "an-app-secret-key-0123456789"


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except OSError:
        return False


def _writable(filer: str) -> bool:
    """A first write through the filer succeeds once the volume server took its volumes."""
    request = urllib.request.Request(f"{filer}/readiness-probe", data=b"x", method="PUT")
    try:
        with urllib.request.urlopen(request, timeout=5):
            return True
    except OSError:
        return False


@pytest.fixture
def weed_server(tmp_path: Path) -> Iterator[dict[str, str]]:
    weed = weed_binary()
    ports = {name: free_port() for name in ("master", "volume", "filer", "s3")}
    grpc = {name: free_port() for name in ("master", "volume", "filer", "s3")}
    command = [
        weed, "server", f"-dir={tmp_path / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        "-s3", "-s3.port.iceberg=0", "-s3.port.lance=0",
        # Small volumes, room for several: each bucket is a collection with volumes of its own.
        "-master.volumeSizeLimitMB=64", "-volume.max=100",
        *(f"-{name}.port={port}" for name, port in ports.items()),
        *(f"-{name}.port.grpc={port}" for name, port in grpc.items()),
    ]  # fmt: skip
    (tmp_path / "data").mkdir()
    with (tmp_path / "weed.log").open("wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        s3 = f"http://127.0.0.1:{ports['s3']}"
        wait_until(
            lambda: _writable(f"http://127.0.0.1:{ports['filer']}") and _up(f"{s3}/healthz"),
            60,
            "weed server",
        )
        # host:port.grpcport: the shell would otherwise guess gRPC at port + 10000.
        yield {
            "weed": weed,
            "master": f"127.0.0.1:{ports['master']}.{grpc['master']}",
            "filer": f"127.0.0.1:{ports['filer']}.{grpc['filer']}",
            "s3": s3,
        }
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _run_job(weed_server: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    (tmp_path / "access").write_text(ACCESS)
    (tmp_path / "secret").write_text(SECRET)
    env = {
        **os.environ,
        "WEED": weed_server["weed"],
        "WEED_MASTER": weed_server["master"],
        "WEED_FILER": weed_server["filer"],
        "TESTIGO_BUCKETS": " ".join(BUCKETS),
        "S3_ACCESS_KEY_FILE": str(tmp_path / "access"),
        "S3_SECRET_KEY_FILE": str(tmp_path / "secret"),
    }
    return subprocess.run(
        ["sh", str(ROOT / "deploy" / "seaweedfs-init.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _client(endpoint: str, access: str | None = None, secret: str | None = None) -> object:
    config = Config(retries={"max_attempts": 1})
    if access is None:
        config = config.merge(Config(signature_version=UNSIGNED))
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=config,
    )


def _error(call: object) -> str:
    try:
        call()  # type: ignore[operator]
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return "allowed"


def test_bucket_job_makes_the_buckets_and_a_least_privilege_app_identity(
    weed_server: dict[str, str], tmp_path: Path
) -> None:
    done = _run_job(weed_server, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [line for line in done.stdout.splitlines() if line.startswith("bucket ")] == [
        f"bucket {bucket} created" for bucket in BUCKETS
    ]
    assert SECRET not in done.stdout + done.stderr

    app: Any = _client(weed_server["s3"], ACCESS, SECRET)
    for bucket in BUCKETS:
        app.put_object(Bucket=bucket, Key="tus/part.tq", Body=b"sealed")
        assert app.get_object(Bucket=bucket, Key="tus/part.tq")["Body"].read() == b"sealed"
        listed = app.list_objects_v2(Bucket=bucket, Prefix="tus/")["Contents"]
        assert [entry["Key"] for entry in listed] == ["tus/part.tq"]
        assert app.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200
        app.delete_object(Bucket=bucket, Key="tus/part.tq")
    # Nothing beyond its buckets: no new bucket, no anonymous access, no wrong key.
    assert _error(lambda: app.create_bucket(Bucket="another-bucket")) == "AccessDenied"
    assert _error(lambda: app.delete_bucket(Bucket="testigo-media")) == "AccessDenied"
    anonymous: Any = _client(weed_server["s3"])
    assert _error(lambda: anonymous.list_objects_v2(Bucket="testigo-media")) == "AccessDenied"
    forged: Any = _client(weed_server["s3"], ACCESS, "not-the-secret")
    assert _error(lambda: forged.list_objects_v2(Bucket="testigo-media")) == (
        "SignatureDoesNotMatch"
    )


def test_bucket_job_run_again_keeps_buckets_and_their_objects(
    weed_server: dict[str, str], tmp_path: Path
) -> None:
    assert _run_job(weed_server, tmp_path).returncode == 0
    app: Any = _client(weed_server["s3"], ACCESS, SECRET)
    app.put_object(Bucket="testigo-media", Key="kept", Body=b"kept")
    again = _run_job(weed_server, tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert [line for line in again.stdout.splitlines() if line.startswith("bucket ")] == [
        f"bucket {bucket} exists" for bucket in BUCKETS
    ]
    assert app.get_object(Bucket="testigo-media", Key="kept")["Body"].read() == b"kept"


def test_readiness_asks_each_bucket_with_the_apps_credentials(
    weed_server: dict[str, str], tmp_path: Path
) -> None:
    from storages.backends.s3 import S3Storage

    from reports.health import _storage_ready

    assert _run_job(weed_server, tmp_path).returncode == 0

    def bucket(name: str, secret: str = SECRET) -> Any:
        return S3Storage(
            endpoint_url=weed_server["s3"], access_key=ACCESS, secret_key=secret, bucket_name=name
        )

    for name in BUCKETS:
        _storage_ready(bucket(name))  # raises when the bucket does not answer
    for broken in (bucket("no-such-bucket"), bucket("testigo-media", secret="wrong")):
        with pytest.raises(ClientError):
            _storage_ready(broken)
