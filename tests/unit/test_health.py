"""/healthz, /readyz and /metrics, and JSON logs with a request id (issue 15, "Health and
metrics"): health answers a container's probe on any Host over plain HTTP, readiness
names the part that failed, metrics need the token and carry nothing that could identify
a witness, and log lines hold no address and no user agent (promise 4)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from reports.models import (
    DeliveryStatus,
    MediaItem,
    MediaStatus,
    PartnerOrganisation,
    WebhookDelivery,
    WebhookEndpoint,
)
from reports.services import media_item_upload_start, report_create
from tests.factories import quarantined_item
from tests.factories.processes import free_port, wait_until
from tests.factories.tools import require_tool

ROOT = Path(__file__).resolve().parents[2]
CANARY_ADDRESS = "203.0.113.77"
CANARY_AGENT = "CANARY-AGENT/7.7"
UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}")


def _deployed(tmp_path: Path, script: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` under production settings (DEBUG off, HTTPS enforced, one public host
    name), as a container's own health check meets them."""
    unset = ("TESTIGO_HTTPS", "DJANGO_DEBUG", "DATABASE_URL", "REDIS_URL", "TESTIGO_STORAGE")
    env = {
        **{name: value for name, value in os.environ.items() if name not in unset},
        "TESTIGO_VAR_DIR": str(tmp_path),
        "DJANGO_ALLOWED_HOSTS": "testigo.example.org",
        "DJANGO_SECRET_KEY": "a-secret-key-for-the-health-tests-0123456789",
        "TESTIGO_QUARANTINE_KEY": "a-quarantine-key",
        "TESTIGO_CONTACT_KEY": "a-contact-key",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **extra,
    }
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup()\n{script}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


PROBE = (
    "from config.var_dirs import var_dirs_ensure; var_dirs_ensure()\n"
    "from django.test import Client\n"
    "c = Client()\n"
    "for path in ('/healthz', '/readyz', '/'):\n"
    "    r = c.get(path, HTTP_HOST='127.0.0.1:8000')\n"
    "    print(path, r.status_code, r.content.decode().strip() if r.status_code != 400 else '')\n"
)


def test_health_and_readiness_answer_any_host_over_plain_http(tmp_path: Path) -> None:
    done = _deployed(tmp_path, PROBE)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "/healthz 200 ok",
        '/readyz 200 {"ready": true, "checks": {"database": "ok", "cache": "ok", '
        '"broker": "ok", "storage": "ok"}}',
        # Anything else still meets host validation.
        "/ 400 ",
    ]


def test_readiness_names_what_failed_and_not_why(tmp_path: Path) -> None:
    # Nothing listens on port 1: the cache and the broker (one Redis) are down.
    done = _deployed(tmp_path, PROBE, REDIS_URL="redis://:hunter2@127.0.0.1:1/0")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:2] == [
        "/healthz 200 ok",
        '/readyz 503 {"ready": false, "checks": {"database": "ok", "cache": "fail", '
        '"broker": "fail", "storage": "ok"}}',
    ]
    assert "hunter2" not in done.stdout + done.stderr


def test_readiness_fails_when_redis_refuses_the_throttles_commands(tmp_path: Path) -> None:
    # A Redis whose access rules bar scripts (or one older than 7, which refuses SET NX
    # GET) answers PING and SET: every throttle and byte budget would fail open for good.
    port = free_port()
    server = subprocess.Popen(
        [
            require_tool("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(tmp_path),
            "--user", "default", "off",
            "--user", "witness", "on", ">a-password", "~*", "&*", "+@all", "-@scripting",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        url = f"redis://witness:a-password@127.0.0.1:{port}/0"

        def listening() -> bool:
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0

        wait_until(listening, 10, "redis-server start")
        done = _deployed(tmp_path, PROBE, REDIS_URL=url)
    finally:
        server.kill()
        server.wait(10)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:2] == [
        "/healthz 200 ok",
        '/readyz 503 {"ready": false, "checks": {"database": "ok", "cache": "fail", '
        '"broker": "ok", "storage": "ok"}}',
    ]


@pytest.mark.django_db
def test_readiness_fails_when_storage_cannot_be_written(settings: Any, tmp_path: Path) -> None:
    # A volume mounted wrong: where the media folder should be made there is a file.
    (tmp_path / "not-a-folder").write_bytes(b"")
    settings.STORAGES = {
        **settings.STORAGES,
        "media": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "not-a-folder" / "media")},
        },
    }
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["storage"] == "fail"
    assert response.json()["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_metrics_need_the_token_and_are_off_without_one(settings: Any) -> None:
    settings.TESTIGO_METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 404
    settings.TESTIGO_METRICS_TOKEN = "a-metrics-token"
    assert Client().get("/metrics").status_code == 401
    wrong = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert wrong.status_code == 401
    right = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer a-metrics-token")
    assert right.status_code == 200
    assert right["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"


@pytest.mark.django_db
def test_metrics_count_the_pipeline_by_state_and_name_no_witness(settings: Any) -> None:
    settings.TESTIGO_METRICS_TOKEN = "a-metrics-token"
    old = quarantined_item(b"waiting an hour")
    MediaItem.objects.filter(id=old.id).update(created_at=timezone.now() - timedelta(hours=1))
    quarantined_item(b"just arrived")
    failed = quarantined_item(b"failed")
    MediaItem.objects.filter(id=failed.id).update(status=MediaStatus.FAILED)
    uploading = media_item_upload_start(
        report=report_create(receipt_hash=uuid.uuid4().hex * 2, description="Uploading."),
        position=0,
        key_hash=uuid.uuid4().hex,
        length=1000,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    MediaItem.objects.filter(id=uploading.id).update(upload_offset=400)
    organisation = PartnerOrganisation.objects.create(name="Legal aid")
    endpoint = WebhookEndpoint.objects.create(
        organisation=organisation, url="https://partner.example.org/hook", secret="s"
    )
    for status in (DeliveryStatus.FAILED, DeliveryStatus.FAILED, DeliveryStatus.RETRYING):
        WebhookDelivery.objects.create(
            endpoint=endpoint, event="report.shared", payload={}, status=status
        )

    body = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer a-metrics-token").content.decode()

    samples = [line for line in body.splitlines() if not line.startswith("#")]
    oldest = [s for s in samples if s.startswith('testigo_media_oldest_age_seconds{state="q')]
    assert 3599 <= float(oldest[0].split()[-1]) < 3700
    assert [s for s in samples if not s.startswith("testigo_media_oldest_age_seconds")] == [
        'testigo_media_items{state="processing"} 0',
        'testigo_media_items{state="quarantined"} 2',
        'testigo_media_items{state="uploading"} 1',
        "testigo_media_failed_items 1",
        'testigo_webhook_deliveries{status="failed"} 2',
        'testigo_webhook_deliveries{status="pending"} 0',
        'testigo_webhook_deliveries{status="retrying"} 1',
        'testigo_upload_bytes_in_flight{kind="announced"} 1000',
        'testigo_upload_bytes_in_flight{kind="received"} 400',
    ]
    # Labels are states and kinds only: no id of a report, item or delivery.
    assert UUID.search(body) is None
    assert set(re.findall(r'\{(\w+)="', body)) == {"state", "status", "kind"}


def test_json_logs_carry_the_request_id_and_no_address_or_agent(tmp_path: Path) -> None:
    script = (
        "from config.var_dirs import var_dirs_ensure; var_dirs_ensure()\n"
        "from django.test import Client\n"
        f"r = Client(REMOTE_ADDR='{CANARY_ADDRESS}', HTTP_USER_AGENT='{CANARY_AGENT}')"
        ".get('/no-such-page/', HTTP_HOST='testigo.example.org', secure=True)\n"
        "print(r.status_code, r['X-Request-ID'])\n"
    )
    # Python's own warnings (no static folder here) are not log records: keep them out.
    done = _deployed(tmp_path, script, TESTIGO_LOG_JSON="1", PYTHONWARNINGS="ignore")
    assert done.returncode == 0, done.stderr
    status, request_id = done.stdout.split()
    assert status == "404"
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    not_found = [line for line in lines if line["logger"] == "django.request"]
    assert [sorted(line) for line in not_found] == [
        ["level", "logger", "message", "request_id", "time"]
    ]
    assert not_found[0]["request_id"] == request_id
    assert not_found[0]["message"] == "Not Found: /no-such-page/"
    assert CANARY_ADDRESS not in done.stderr
    assert CANARY_AGENT not in done.stderr


@pytest.mark.django_db
def test_request_id_from_a_trusted_proxy_only(settings: Any) -> None:
    settings.TESTIGO_TRUSTED_PROXIES = ["10.0.0.0/8"]
    given = "0123456789abcdef0123456789abcdef"
    proxied = Client(REMOTE_ADDR="10.0.0.2").get("/healthz", HTTP_X_REQUEST_ID=given)
    assert proxied["X-Request-ID"] == given
    direct = Client(REMOTE_ADDR="198.51.100.7").get("/healthz", HTTP_X_REQUEST_ID=given)
    assert direct["X-Request-ID"] != given
    assert re.fullmatch(r"[0-9a-f]{32}", direct["X-Request-ID"])
