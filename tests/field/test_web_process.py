"""The web process itself under issue 11's conditions, each test alone on the
production-like stack: a gunicorn worker killed in the middle of a PATCH (through nginx),
and 50 clients dripping bodies straight at gunicorn, as bin/serve runs it without a proxy.
"""

from __future__ import annotations

import hashlib
import threading
import time

import pytest

from intake.segments import SEGMENT_BYTES
from tests.field.clients import Drippers, Exchange, get_latencies, p95, phone_photo
from tests.field.stack import FieldStack
from tests.field.witness_http import (
    TUS_UPLINK,
    api_report,
    eventually,
    head_offset,
    item_for,
    media_clean,
    stored_bytes,
    tus_create,
    tus_patch,
)

pytestmark = [pytest.mark.field, pytest.mark.django_db(transaction=True)]


def test_web_process_killed_mid_patch_keeps_the_stored_segments_and_resumes(
    field_stack: FieldStack,
) -> None:
    address = field_stack.address
    data = phone_photo(1_500_000, seed=5)
    path = tus_create(address, api_report(address, "field killed"), len(data))
    kill_at = 800_000
    reached = threading.Event()
    sent: dict[str, Exchange] = {}

    def send() -> None:
        sent["patch"] = tus_patch(
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
    offset = head_offset(address, path)
    item = item_for(path)
    assert offset == item.upload_offset == stored_bytes(item)
    assert offset % SEGMENT_BYTES == 0
    assert offset > 0
    assert kill_at - offset <= SEGMENT_BYTES + 64 * 1024, (kill_at, offset)

    resumed = tus_patch(address, path, offset, data[offset:], rate=10_000_000)
    assert resumed.status == 204, resumed.text()[:500]
    assert eventually(lambda: media_clean(item.id)), field_stack.logs()
    item.refresh_from_db()
    assert item.manifest["sha256_in"] == hashlib.sha256(data).hexdigest()


def test_50_drippers_straight_at_gunicorn_leave_the_form_fast_and_are_never_cut(
    field_stack: FieldStack,
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
