"""Slow and cut phone networks against the production-like stack (issue 11, promise 9):
nginx with deploy/nginx.conf in front of gunicorn with config/gunicorn.py and a Celery
worker, on the test database.

Each slow request outlasts every server limit that could cut it: the 75 s posts run past
gunicorn's default 30 s worker timeout and nginx's default 60 s limits, and a stalled
PATCH stays silent 65 s. The independent slow clients of ``phase_one`` run at the same
time (about 100 s in all), beside 50 clients dripping bodies; each records what it got
and what the database then held, and the tests read those records. Killing a web
process and dripping straight at gunicorn come after, each alone.
"""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import http.client
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

import pytest
from django.core.files.storage import storages
from django.db import connections

from intake.quarantine import plaintext_size
from intake.resumable import upload_key_hash
from intake.segments import SEGMENT_BYTES
from reports.models import MediaItem, MediaStatus, Moderation, Report, ReportMessage
from tests.factories.processes import multipart
from tests.field.clients import (
    Drippers,
    Exchange,
    get_latencies,
    p95,
    paced_request,
    phone_photo,
    request,
)
from tests.field.stack import FieldStack

# Transactional: the stack's processes must see what is committed, and the database is
# emptied after each test. phase_one observes the database itself, before the first test.
pytestmark = [pytest.mark.field, pytest.mark.django_db(transaction=True)]

PHONE_UPLINK = 40_000  # bytes/s: the no-JavaScript cases of issue 11
TUS_UPLINK = 48_000
PHOTO_BYTES = 3_000_000
DRIP_SECONDS = 95
TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture(scope="module")
def photo() -> bytes:
    data = phone_photo(PHOTO_BYTES)
    assert len(data) >= 2_900_000
    return data


# --- Helpers -------------------------------------------------------------------------------


def _eventually(predicate: Callable[[], Any], timeout: float = 180) -> bool:
    """Whether ``predicate`` comes true within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


def _cookies(response: http.client.HTTPResponse) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return {name: morsel.value for name, morsel in jar.items()}


def _page(address: str, path: str, cookies: dict[str, str]) -> tuple[str, dict[str, str]]:
    host, port = address.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    response = connection.getresponse()
    html = response.read().decode()
    connection.close()
    return html, {**cookies, **_cookies(response)}


def _receipt_page(address: str, answer: Exchange, cookies: dict[str, str]) -> str:
    """The page a browser reads after the form's redirect (post/redirect/get), with the
    session cookie the post's answer set."""
    jar: SimpleCookie = SimpleCookie()
    jar.load(answer.headers.get("set-cookie", ""))
    cookies = {**cookies, **{name: morsel.value for name, morsel in jar.items()}}
    host, port = address.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request(
        "GET",
        answer.headers["location"],
        headers={
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
            "Accept-Language": "es",
        },
    )
    html = connection.getresponse().read().decode()
    connection.close()
    return html


def _csrf(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def _browser_form(address: str, path: str) -> tuple[str, dict[str, str]]:
    """What a browser holds after loading a form page: its CSRF token and cookies."""
    html, cookies = _page(address, path, {})
    return _csrf(html), cookies


def _followup_session(address: str, code: str) -> tuple[str, dict[str, str]]:
    token, cookies = _browser_form(address, "/follow-up/")
    host, port = address.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request(
        "POST",
        "/follow-up/",
        body=f"csrfmiddlewaretoken={token}&code={code}",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        },
    )
    response = connection.getresponse()
    response.read()
    assert response.status == 302, response.status
    cookies = {**cookies, **_cookies(response)}
    html, cookies = _page(address, "/follow-up/", cookies)
    return _csrf(html), cookies


def _form_post(
    address: str,
    path: str,
    fields: dict[str, str],
    data: bytes,
    *,
    token: str,
    cookies: dict[str, str],
    source: str,
    **pace: Any,
) -> Exchange:
    body, content_type = multipart(
        {"csrfmiddlewaretoken": token, **fields}, [("attachments", "IMG_0001.jpg", data)]
    )
    headers = {
        "Content-Type": content_type,
        "Accept-Language": "es",
        "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
    }
    return paced_request(address, "POST", path, headers, body, source=source, **pace)


def _api_report(address: str, description: str) -> str:
    body, content_type = multipart({"description": description}, [])
    host, port = address.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("POST", "/api/v1/intake/reports/", body, {"Content-Type": content_type})
    answer = connection.getresponse()
    data = answer.read()
    connection.close()
    assert answer.status == 201, data
    code: str = json.loads(data)["receipt_code"]
    return code


def _tus_create(address: str, code: str, length: int) -> str:
    metadata = "receipt " + base64.b64encode(code.encode()).decode()
    response = request(
        address,
        "POST",
        "/tus/",
        {**TUS, "Upload-Length": str(length), "Upload-Metadata": metadata},
    )
    assert response.status == 201, response.status
    location = response.getheader("Location") or ""
    return re.sub(r"^https?://[^/]+", "", location)


def _tus_patch(address: str, path: str, offset: int, data: bytes, **pace: Any) -> Exchange:
    headers = {
        **TUS,
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
    }
    return paced_request(address, "PATCH", path, headers, data, **pace)


def _head_offset(address: str, path: str) -> int:
    response = request(address, "HEAD", path, TUS)
    assert response.status == 200, response.status
    return int(response.getheader("Upload-Offset") or -1)


def _settled_offset(address: str, path: str) -> int:
    """HEAD once the request that was cut has finished storing what it got."""
    previous = -1
    while True:
        time.sleep(1.5)
        offset = _head_offset(address, path)
        if offset == previous:
            return offset
        previous = offset


def _stored_bytes(item: MediaItem, below: int | None = None) -> int:
    """Plaintext bytes in the upload's stored parts (those starting below ``below``)."""
    quarantine = storages["quarantine"]
    return sum(
        plaintext_size(quarantine.size(name))
        for name in item.quarantine_parts
        if below is None or int(name.rsplit("/", 1)[1][:13]) < below
    )


def _item_for(path: str) -> MediaItem:
    return MediaItem.objects.get(upload_key_hash=upload_key_hash(path.rstrip("/").split("/")[-1]))


# --- Phase one: independent slow clients at the same time ------------------------------------


def _clean(item_id: Any) -> bool:
    return MediaItem.objects.filter(id=item_id, status=MediaStatus.CLEAN).exists()


def _report_outcome(description: str) -> dict[str, Any]:
    """Where the report with ``description`` got: moderation and its files' states."""
    report = Report.objects.filter(description=description).first()
    if report is None:
        return {"report": False}
    in_flight = (MediaStatus.UPLOADING, MediaStatus.QUARANTINED, MediaStatus.PROCESSING)
    _eventually(
        lambda: (
            not report.media_items.filter(status__in=in_flight).exists()
            and Report.objects.filter(id=report.id, moderation=Moderation.PENDING).exists()
        )
    )
    report.refresh_from_db()
    return {
        "report": True,
        "moderation": report.moderation,
        "media": list(report.media_items.values_list("status", flat=True)),
    }


def _message_outcome(body: str) -> dict[str, Any]:
    message = ReportMessage.objects.filter(body=body).first()
    if message is None:
        return {"message": False}
    items = message.report.media_items
    _eventually(lambda: not items.exclude(status=MediaStatus.CLEAN).exists())
    return {"message": True, "media": list(items.values_list("status", flat=True))}


@dataclass
class PhaseOne:
    """What each slow client of phase one got, and how long it took."""

    futures: dict[str, concurrent.futures.Future[tuple[dict[str, Any], float]]]

    def result(self, name: str) -> dict[str, Any]:
        outcome, seconds = self.futures[name].result(timeout=600)
        print(f"field {name}: {seconds:.0f} s")
        return outcome


@pytest.fixture(scope="module")
def phase_one(
    django_db_setup: None, django_db_blocker: Any, field_stack: FieldStack, photo: bytes
) -> Iterator[PhaseOne]:
    address = field_stack.address
    run = uuid.uuid4().hex[:6]
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=12)
    futures: dict[str, concurrent.futures.Future[tuple[dict[str, Any], float]]] = {}

    def timed(name: str, work: Callable[[], dict[str, Any]]) -> None:
        def go() -> tuple[dict[str, Any], float]:
            started = time.monotonic()
            try:
                return work(), time.monotonic() - started
            finally:
                connections.close_all()  # this thread's

        futures[name] = pool.submit(go)

    with django_db_blocker.unblock():
        # Without JavaScript: the intake API and the web form, 3 MB at 40 KB/s (75 s).
        def api() -> dict[str, Any]:
            description = f"field api {run}"
            body, content_type = multipart(
                {"description": description}, [("media", "IMG_0001.jpg", photo)]
            )
            answer = paced_request(
                address,
                "POST",
                "/api/v1/intake/reports/",
                {"Content-Type": content_type, "Accept": "application/json"},
                body,
                rate=PHONE_UPLINK,
                source="127.0.9.1",
            )
            return {"answer": answer, **_report_outcome(description)}

        timed("api", api)

        def form(cut: int | None, source: str) -> Callable[[], dict[str, Any]]:
            description = f"field form {cut} {run}"
            token, cookies = _browser_form(address, "/")

            def send() -> dict[str, Any]:
                answer = _form_post(
                    address,
                    "/",
                    {"description": description},
                    photo,
                    token=token,
                    cookies=cookies,
                    source=source,
                    rate=PHONE_UPLINK,
                    cut_after=cut,
                )
                receipt = _receipt_page(address, answer, cookies) if answer.status == 302 else ""
                return {"answer": answer, "receipt": receipt, **_report_outcome(description)}

            return send

        timed("form", form(None, "127.0.9.2"))
        # The same form, its connection lost halfway through the photo.
        timed("form_cut", form(PHOTO_BYTES // 2, "127.0.9.3"))

        # The follow-up page, complete and cut a third of the way through the photo.
        def follow_up(name: str, cut: int | None) -> Callable[[], dict[str, Any]]:
            body = f"field {name} message {run}"
            code = _api_report(address, f"field {name} report {run}")
            token, cookies = _followup_session(address, code)

            def send() -> dict[str, Any]:
                answer = _form_post(
                    address,
                    "/follow-up/send/",
                    {"body": body},
                    photo,
                    token=token,
                    cookies=cookies,
                    source="127.0.9.4",
                    rate=PHONE_UPLINK,
                    cut_after=cut,
                )
                return {"answer": answer, **_message_outcome(body)}

            return send

        timed("followup", follow_up("followup", None))
        timed("followup_cut", follow_up("followup_cut", PHOTO_BYTES // 3))

        # With JavaScript: one PATCH of 3 MB at 48 KB/s (63 s); one reset after 1 MB,
        # then resumed; one that goes silent for 65 s halfway (a tunnel), then goes on.
        def tus(name: str, data: bytes) -> Callable[[], dict[str, Any]]:
            path = _tus_create(address, _api_report(address, f"field {name} {run}"), len(data))

            def send() -> dict[str, Any]:
                outcome: dict[str, Any] = {"data": data}
                if name == "tus":
                    outcome["answer"] = _tus_patch(address, path, 0, data, rate=TUS_UPLINK)
                elif name == "tus_stall":
                    outcome["answer"] = _tus_patch(
                        address, path, 0, data, rate=TUS_UPLINK, pause_at=300_000, pause_s=65
                    )
                else:
                    outcome["cut"] = _tus_patch(
                        address, path, 0, data, rate=TUS_UPLINK, cut_after=1_000_000, reset=True
                    )
                    offset = outcome["offset"] = _settled_offset(address, path)
                    outcome["stored"] = _stored_bytes(_item_for(path), below=offset)
                    outcome["answer"] = _tus_patch(
                        address, path, offset, data[offset:], rate=10_000_000
                    )
                outcome["head"] = _head_offset(address, path)
                item = _item_for(path)
                outcome["clean"] = _eventually(lambda: _clean(item.id))
                item.refresh_from_db()
                outcome["sha256_in"] = item.manifest.get("sha256_in")
                return outcome

            return send

        timed("tus", tus("tus", photo))
        timed("tus_cut", tus("tus_cut", photo))
        timed("tus_stall", tus("tus_stall", phone_photo(600_000, seed=11)))

        # 50 clients dripping a body one byte every 3 s, while everyone else loads the form.
        def drip() -> dict[str, Any]:
            drippers = Drippers(address, 50, subnet=5)
            drippers.start()
            time.sleep(5)
            latencies = get_latencies(address, seconds=DRIP_SECONDS - 5)
            connected = drippers.connected
            drippers.stop()
            return {"latencies": latencies, "cut": drippers.cut, "connected": connected}

        timed("drippers", drip)
        pool.shutdown(wait=True)
        yield PhaseOne(futures)


def test_form_without_javascript_3mb_at_40kbs_answers_the_receipt_and_reaches_moderation(
    phase_one: PhaseOne,
) -> None:
    outcome = phase_one.result("form")
    answer: Exchange = outcome["answer"]

    # Post/redirect/get: the receipt is the next page, read once from the session.
    assert (answer.status, answer.headers["location"]) == (302, "/receipt/"), answer.text()[:500]
    assert answer.seconds > 60  # longer than every total limit that used to cut it
    assert 'id="receipt-code"' in outcome["receipt"]
    assert '<html lang="es">' in outcome["receipt"]
    assert outcome["moderation"] == Moderation.PENDING
    assert outcome["media"] == [MediaStatus.CLEAN]


def test_intake_api_3mb_at_40kbs_answers_201_with_a_receipt(phase_one: PhaseOne) -> None:
    outcome = phase_one.result("api")
    answer: Exchange = outcome["answer"]

    assert answer.status == 201, answer.text()[:500]
    assert answer.seconds > 60
    assert json.loads(answer.body)["receipt_code"]
    assert outcome["moderation"] == Moderation.PENDING
    assert outcome["media"] == [MediaStatus.CLEAN]


def test_form_cut_mid_file_keeps_the_text_and_it_reaches_moderation(
    phase_one: PhaseOne,
) -> None:
    outcome = phase_one.result("form_cut")

    assert outcome["answer"].status == 0  # no answer: the connection was gone
    assert outcome["report"]
    assert outcome["moderation"] == Moderation.PENDING
    assert outcome["media"] == []


def test_followup_file_3mb_at_40kbs_is_received_with_the_message(phase_one: PhaseOne) -> None:
    outcome = phase_one.result("followup")
    answer: Exchange = outcome["answer"]

    assert answer.status == 200, answer.text()[:500]
    assert answer.seconds > 60
    assert "Gracias. Recibimos lo que envió." in answer.text()
    assert outcome["message"]
    assert outcome["media"] == [MediaStatus.CLEAN]


def test_followup_cut_mid_file_keeps_the_typed_message(phase_one: PhaseOne) -> None:
    outcome = phase_one.result("followup_cut")

    assert outcome["answer"].status == 0
    assert outcome["message"]
    assert outcome["media"] == []


def test_tus_patch_3mb_at_48kbs_is_stored_whole(phase_one: PhaseOne) -> None:
    outcome = phase_one.result("tus")
    answer: Exchange = outcome["answer"]

    assert answer.status == 204, answer.text()[:500]
    assert answer.seconds > 60
    assert outcome["head"] == len(outcome["data"])
    assert outcome["clean"]


def test_tus_patch_cut_mid_body_keeps_what_arrived_and_resumes(phase_one: PhaseOne) -> None:
    outcome = phase_one.result("tus_cut")
    cut: Exchange = outcome["cut"]
    offset = outcome["offset"]

    assert cut.status == 0
    # HEAD said exactly what was stored: all that arrived, but what was still in flight.
    assert outcome["stored"] == offset
    assert 0 < offset <= cut.sent
    assert cut.sent - offset <= SEGMENT_BYTES
    assert outcome["answer"].status == 204, outcome["answer"].text()[:500]
    assert outcome["head"] == len(outcome["data"])
    assert outcome["clean"]
    assert outcome["sha256_in"] == hashlib.sha256(outcome["data"]).hexdigest()


def test_tus_patch_silent_for_65s_goes_on_and_completes(phase_one: PhaseOne) -> None:
    outcome = phase_one.result("tus_stall")
    answer: Exchange = outcome["answer"]

    # The idle limits (nginx 90 s, gunicorn 120 s) are longer than a tunnel.
    assert answer.status == 204, answer.text()[:500]
    assert answer.seconds > 65
    assert outcome["head"] == len(outcome["data"])


def test_50_drippers_through_the_proxy_leave_the_form_fast_and_are_never_cut(
    phase_one: PhaseOne,
) -> None:
    outcome = phase_one.result("drippers")
    latencies = outcome["latencies"]

    print(f"GET / through nginx with 50 drippers: p95 {p95(latencies):.3f} s")
    assert outcome["connected"] == 50
    assert outcome["cut"] == 0  # moving for 95 s, past every default limit: never cut
    assert len(latencies) > 50
    assert p95(latencies) < 1.0


# --- Alone: a killed web process; drippers straight at gunicorn -------------------------------


def test_web_process_killed_mid_patch_keeps_the_stored_segments_and_resumes(
    field_stack: FieldStack, phase_one: PhaseOne
) -> None:
    address = field_stack.address
    data = phone_photo(1_500_000, seed=5)
    path = _tus_create(address, _api_report(address, "field killed"), len(data))
    kill_at = 800_000
    reached = threading.Event()
    sent: dict[str, Exchange] = {}

    def send() -> None:
        sent["patch"] = _tus_patch(
            address, path, 0, data, rate=TUS_UPLINK, on_sent={kill_at: reached}
        )

    thread = threading.Thread(target=send)
    thread.start()
    assert reached.wait(60)
    killed = field_stack.kill_web_worker_serving()
    thread.join(180)

    assert len(killed) == 1
    # The client got the proxy's page in the witnesses' languages, or nothing.
    assert sent["patch"].status in (0, 503)
    offset = _head_offset(address, path)
    item = _item_for(path)
    assert offset == item.upload_offset == _stored_bytes(item)
    assert offset % SEGMENT_BYTES == 0
    assert offset > 0
    assert kill_at - offset <= SEGMENT_BYTES + 64 * 1024, (kill_at, offset)

    resumed = _tus_patch(address, path, offset, data[offset:], rate=10_000_000)
    assert resumed.status == 204, resumed.text()[:500]
    assert _eventually(lambda: _clean(item.id)), field_stack.logs()
    item.refresh_from_db()
    assert item.manifest["sha256_in"] == hashlib.sha256(data).hexdigest()


def test_50_drippers_straight_at_gunicorn_leave_the_form_fast_and_are_never_cut(
    field_stack: FieldStack, phase_one: PhaseOne
) -> None:
    """bin/serve's configuration, with no proxy in front."""
    drippers = Drippers(field_stack.direct_address, 50, subnet=6)
    drippers.start()
    time.sleep(5)
    latencies = get_latencies(field_stack.direct_address, seconds=65)
    connected = drippers.connected
    drippers.stop()

    print(f"GET / on gunicorn with 50 drippers: p95 {p95(latencies):.3f} s")
    assert connected == 50
    assert drippers.cut == 0  # moving for 70 s: past gunicorn's default 30 s, never cut
    assert p95(latencies) < 1.0
