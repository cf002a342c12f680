"""Slow phone networks, many witnesses at once, through the production-like stack (issue
11, promise 9): nginx with deploy/nginx.conf in front of gunicorn with config/gunicorn.py
and a Celery worker, on the test database.

Each slow request outlasts every server limit that could cut it: the 75 s posts run past
gunicorn's default 30 s worker timeout and nginx's default 60 s limits, and a stalled
PATCH stays silent 65 s. The independent slow clients of ``phase_one`` run at the same
time (about 100 s in all), beside 50 clients dripping bodies; each records what it got
and what the database then held, and the tests read those records. A killed web process
and drippers straight at gunicorn are in test_web_process.py, each alone.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connections

from intake.segments import SEGMENT_BYTES
from reports.models import MediaStatus, Moderation, Report, ReportMessage
from tests.factories.processes import multipart
from tests.field.clients import Drippers, Exchange, get_latencies, p95, paced_request, phone_photo
from tests.field.stack import FieldStack
from tests.field.witness_http import (
    TUS_UPLINK,
    api_report,
    browser_form,
    eventually,
    followup_session,
    form_post,
    head_offset,
    item_for,
    media_clean,
    receipt_page,
    settled_offset,
    stored_bytes,
    tus_create,
    tus_patch,
)

# Transactional: the stack's processes must see what is committed, and the database is
# emptied after each test. phase_one observes the database itself, before the first test.
pytestmark = [pytest.mark.field, pytest.mark.django_db(transaction=True)]

PHONE_UPLINK = 40_000  # bytes/s: the no-JavaScript cases of issue 11
PHOTO_BYTES = 3_000_000
DRIP_SECONDS = 95


@pytest.fixture(scope="module")
def photo() -> bytes:
    data = phone_photo(PHOTO_BYTES)
    assert len(data) >= 2_900_000
    return data


def _report_outcome(description: str) -> dict[str, Any]:
    """Where the report with ``description`` got: moderation and its files' states."""
    report = Report.objects.filter(description=description).first()
    if report is None:
        return {"report": False}
    in_flight = (MediaStatus.UPLOADING, MediaStatus.QUARANTINED, MediaStatus.PROCESSING)
    eventually(
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
    eventually(lambda: not items.exclude(status=MediaStatus.CLEAN).exists())
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
            token, cookies = browser_form(address, "/")

            def send() -> dict[str, Any]:
                answer = form_post(
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
                receipt = receipt_page(address, answer, cookies) if answer.status == 302 else ""
                return {"answer": answer, "receipt": receipt, **_report_outcome(description)}

            return send

        timed("form", form(None, "127.0.9.2"))
        # The same form, its connection lost halfway through the photo.
        timed("form_cut", form(PHOTO_BYTES // 2, "127.0.9.3"))

        # The follow-up page, complete and cut a third of the way through the photo.
        def follow_up(name: str, cut: int | None) -> Callable[[], dict[str, Any]]:
            body = f"field {name} message {run}"
            code = api_report(address, f"field {name} report {run}")
            token, cookies = followup_session(address, code)

            def send() -> dict[str, Any]:
                answer = form_post(
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
            path = tus_create(address, api_report(address, f"field {name} {run}"), len(data))

            def send() -> dict[str, Any]:
                outcome: dict[str, Any] = {"data": data}
                if name == "tus":
                    outcome["answer"] = tus_patch(address, path, 0, data, rate=TUS_UPLINK)
                elif name == "tus_stall":
                    outcome["answer"] = tus_patch(
                        address, path, 0, data, rate=TUS_UPLINK, pause_at=300_000, pause_s=65
                    )
                else:
                    outcome["cut"] = tus_patch(
                        address, path, 0, data, rate=TUS_UPLINK, cut_after=1_000_000, reset=True
                    )
                    offset = outcome["offset"] = settled_offset(address, path)
                    outcome["stored"] = stored_bytes(item_for(path), below=offset)
                    outcome["answer"] = tus_patch(
                        address, path, offset, data[offset:], rate=10_000_000
                    )
                outcome["head"] = head_offset(address, path)
                item = item_for(path)
                outcome["clean"] = eventually(lambda: media_clean(item.id))
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
