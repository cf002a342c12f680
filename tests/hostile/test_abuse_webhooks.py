"""A partner endpoint that answers one byte a second cannot hold a worker: every delivery
attempt has an overall deadline, the delivery is retried later, and webhooks run on a
queue of their own (issue 14, "Anonymous abuse", row 4)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from config.celery import app
from reports import services
from reports.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from reports.roles import ADMIN
from tests.factories.partner_world import build_partner_world
from tests.factories.staff import staff_user

pytestmark = [pytest.mark.hostile, pytest.mark.django_db]

DEADLINE_S = 3


class DripServer:
    """Reads a request, then answers ``HTTP/1.1 200 OK`` one byte per second while
    ``drip`` is set; answers at once otherwise."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hooks"
        self.drip = True
        self.requests = 0
        self.stopped = threading.Event()

    def serve(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        with conn:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(4096)
            self.requests += 1
            if not self.drip:
                conn.sendall(answer)
                return
            for byte in answer * 100:  # far longer than any deadline
                if self.stopped.is_set():
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return  # the sender gave up: what we want
                time.sleep(1)


@contextmanager
def drip_server() -> Iterator[DripServer]:
    server = DripServer()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopped.set()
        thread.join(5)
        server.listener.close()


@pytest.fixture
def admin_user(db: None) -> User:
    return staff_user("drip-admin", ADMIN)


def test_dripping_endpoint_is_abandoned_at_the_deadline_and_retried_later(
    settings: Any, admin_user: User
) -> None:
    settings.TESTIGO_WEBHOOK_ALLOW_PRIVATE = True
    settings.TESTIGO_WEBHOOK_TIMEOUT_S = DEADLINE_S
    settings.TESTIGO_WEBHOOK_BACKOFF_S = 30
    world = build_partner_world()
    with drip_server() as server:
        services.webhook_endpoint_save(
            endpoint=WebhookEndpoint(organisation=world.a, url=server.url), by=admin_user
        )
        world.share("b", "a")
        delivery = WebhookDelivery.objects.get()

        started = time.monotonic()
        retry_in = services.webhook_deliver(delivery_id=delivery.id)
        took = time.monotonic() - started

        # Abandoned at the deadline (with the first bytes of "HTTP/1.1 200" already in),
        # not when the endpoint pleases, and due again after the backoff.
        assert DEADLINE_S - 0.5 <= took < DEADLINE_S + 1.5, took
        assert retry_in == 30
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.RETRYING
        assert delivery.last_status_code is None
        assert delivery.last_error.startswith("deadline")
        assert delivery.next_attempt_at is not None
        assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=20)

        # Later the endpoint answers properly: the same delivery goes through.
        server.drip = False
        WebhookDelivery.objects.filter(id=delivery.id).update(next_attempt_at=timezone.now())
        assert services.webhook_deliver(delivery_id=delivery.id) is None
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, server.requests) == (
        DeliveryStatus.DELIVERED,
        2,
        2,
    )


def test_default_deadline_is_at_most_15_seconds() -> None:
    from django.conf import settings

    assert 1 <= settings.TESTIGO_WEBHOOK_TIMEOUT_S <= 15


def test_webhooks_have_a_queue_of_their_own() -> None:
    route = app.amqp.router.route({}, "reports.tasks.deliver_webhook")
    assert route["queue"].name == "webhooks"
    for task in ("intake.tasks.process_media", "intake.tasks.sweep_quarantine"):
        assert app.amqp.router.route({}, task)["queue"].name != "webhooks"
