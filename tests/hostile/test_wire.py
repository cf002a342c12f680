"""Attacks on the wire side, reproduced against a real gunicorn with two workers (and a real
Celery worker) on whatever backends the suite runs on (issue 14, rows 5 and 7):

- receipt-code guessing spread over both gunicorn workers and both code paths (follow-up
  page and tus creation) meets one limit of 30, not one per process;
- whoever reads the logs (gunicorn's error and access lines at debug level, Django's request
  warnings, the worker's log) finds no upload key and no receipt code after the witness's
  flows: form, tus create / patch / head / delete, follow-up with a code.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from django.conf import settings

from intake.receipts import receipt_code_new
from reports.models import MediaItem, MediaStatus, Report
from tests.conftest import _database_url_for_worker
from tests.factories import jpeg_with_gps
from tests.factories.processes import (
    GUNICORN_CONFIG,
    READY_TIMEOUT,
    free_port,
    http_request,
    multipart,
    wait_until,
)

pytestmark = [pytest.mark.hostile, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
TUS = {"Tus-Resumable": "1.0.0"}
CODE_LIMIT = 30  # the default TESTIGO_THROTTLE_CODES_PER_HOUR, which the server runs with


@dataclass
class Web:
    address: str
    log: Path


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Web]:
    """gunicorn with two workers on the test database and the suite's cache and broker,
    logging everything it can: debug level (each request's path) and an access log."""
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url_for_worker(),
        "TESTIGO_VAR_DIR": str(settings.VAR_DIR),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG),
                "--bind", f"127.0.0.1:{port}", "--workers", "2",
                "--log-level", "debug", "--access-logfile", "-",
                # pid, request line, status: which worker served what, and no address.
                "--access-logformat", '%(p)s "%(r)s" %(s)s',
            ],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
    address = f"127.0.0.1:{port}"

    def up() -> bool:
        try:
            return http_request(address, "GET", "/safety/", b"", {}).status == 200
        except OSError:
            return process.poll() is not None

    try:
        wait_until(up, READY_TIMEOUT, "gunicorn ready")
        assert process.poll() is None, log.read_text()[-3000:]
        yield Web(address, log)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


class Browser:
    """Just enough of a browser: cookies and the CSRF token of the last form."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.cookies: dict[str, str] = {}
        self.token = ""

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Any:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        result = http_request(self.address, method, path, body, sent)
        for name, value in result.headers.items():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', result.body)
        if found:
            self.token = found.group(1).decode()
        return result

    def post_form(self, path: str, fields: dict[str, str]) -> Any:
        body = urlencode({**fields, "csrfmiddlewaretoken": self.token}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Referer": "x"}
        return self.request("POST", path, body, headers)


def _tus_create(address: str, code: str, length: int) -> Any:
    metadata = f"receipt {base64.b64encode(code.encode()).decode()}"
    headers = {**TUS, "Upload-Length": str(length), "Upload-Metadata": metadata}
    return http_request(address, "POST", "/tus/", b"", headers)


def test_code_guessing_over_two_workers_and_both_paths_meets_one_limit(web: Web) -> None:
    """The attack: 59 wrong codes went through before the first 429 (a counter per
    process); codes tried through /tus/ counted under the upload limit instead."""
    browsers = [Browser(web.address) for _ in range(3)]
    for browser in browsers:
        browser.request("GET", "/follow-up/")
    statuses: list[int] = []
    lock = threading.Lock()

    def guess(browser: Browser, count: int) -> None:
        for i in range(count):
            if i % 3 == 2:
                status = _tus_create(web.address, receipt_code_new(), 10).status
            else:
                status = browser.post_form("/follow-up/", {"code": receipt_code_new()}).status
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=guess, args=(b, 15)) for b in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert len(statuses) == 45
    assert statuses.count(429) == 45 - CODE_LIMIT
    assert sorted(set(statuses)) == [200, 403, 429]
    served_by = set(re.findall(r'^<(\d+)> "POST /(?:follow-up|tus)/', web.log.read_text(), re.M))
    assert len(served_by) == 2, "both gunicorn workers answered guesses"


def test_logs_hold_no_upload_key_and_no_receipt_code(
    web: Web, celery_worker_process: Any, wait_for: Callable[..., Any]
) -> None:
    photo = jpeg_with_gps()
    witness = Browser(web.address)
    witness.request("GET", "/")
    body, content_type = multipart(
        {"description": "Two agents at the bus stop.", "csrfmiddlewaretoken": witness.token},
        [("attachments", "IMG_1.jpg", photo)],
    )
    posted = witness.request("POST", "/", body, {"Content-Type": content_type, "Referer": "x"})
    assert posted.status == 302, posted.body[:2000]
    receipt_page = witness.request("GET", "/receipt/")  # post/redirect/get
    found = re.search(rb'id="receipt-code" data-code="([^"]+)"', receipt_page.body)
    assert found, receipt_page.body[:2000]
    code = found.group(1).decode().strip()
    report = Report.objects.get()

    # tus: create, patch in two parts with a head in between, then a second one cancelled.
    created = _tus_create(web.address, code, len(photo))
    assert created.status == 201
    upload_path = urlsplit(created.headers["Location"]).path
    key = upload_path.split("/")[2]
    patch = {**TUS, "Content-Type": "application/offset+octet-stream"}
    half = len(photo) // 2
    first = http_request(
        web.address, "PATCH", upload_path, photo[:half], {**patch, "Upload-Offset": "0"}
    )
    assert first.status == 204
    assert http_request(web.address, "HEAD", upload_path, b"", TUS).status == 200
    second = http_request(
        web.address, "PATCH", upload_path, photo[half:], {**patch, "Upload-Offset": str(half)}
    )
    assert second.status == 204
    cancelled = _tus_create(web.address, code, 1000)
    cancelled_path = urlsplit(cancelled.headers["Location"]).path
    cancelled_key = cancelled_path.split("/")[2]
    assert http_request(web.address, "DELETE", cancelled_path, b"", TUS).status == 204

    # Planted: a key that does not exist, a method tus does not take, a code in a URL.
    planted_key = "PlantedKey_" + "k" * 32
    assert http_request(web.address, "HEAD", f"/tus/{planted_key}/", b"", TUS).status == 404
    assert http_request(web.address, "PUT", upload_path, b"x", TUS).status == 405
    wrong_code = receipt_code_new()
    assert _tus_create(web.address, wrong_code, 10).status == 403
    witness.request("GET", f"/follow-up/?{urlencode({'code': code})}")

    # Follow-up: a wrong code, the right one, a message.
    assert witness.post_form("/follow-up/", {"code": wrong_code}).status == 200
    assert witness.post_form("/follow-up/", {"code": code.lower()}).status == 302
    witness.request("GET", "/follow-up/")
    assert witness.post_form("/follow-up/send/", {"body": "They left at 9."}).status == 200

    wait_for(
        lambda: (
            not MediaItem.objects.filter(
                report=report,
                status__in=[MediaStatus.UPLOADING, MediaStatus.QUARANTINED, MediaStatus.PROCESSING],
            ).exists()
        ),
        timeout=120,
    )
    logs = {
        "gunicorn": web.log.read_text(errors="replace"),
        "worker": Path(celery_worker_process.log_path).read_text(errors="replace"),
    }
    # The requests were logged, with their capability cut out.
    assert '"PATCH /tus/[redacted]/ HTTP/1.1" 204' in logs["gunicorn"]
    assert "Not Found: /tus/[redacted]/" in logs["gunicorn"]
    assert "Method Not Allowed: /tus/[redacted]/" in logs["gunicorn"]
    assert "/follow-up/?code=[redacted]" in logs["gunicorn"]
    codes = [code, code.replace("-", ""), wrong_code]
    secrets = [key, cancelled_key, planted_key, *codes, *(c.lower() for c in codes)]
    for name, text in logs.items():
        for secret in secrets:
            assert secret not in text, f"the {name} log holds {secret}"
