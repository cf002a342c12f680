"""Webhooks: events from the services, signed delivery to a local receiver, retries with
backoff and their log, the manual retry, and SSRF refusals."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from django.contrib.auth.models import User

from reports import services
from reports.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from reports.roles import ADMIN
from reports.webhooks import TargetRefused, resolve_target
from tests.factories.partner_world import PartnerWorld, build_partner_world
from tests.factories.staff import staff_user
from tests.factories.webhook_receiver import webhook_receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> PartnerWorld:
    return build_partner_world()


@pytest.fixture
def admin_user(db: None) -> User:
    return staff_user("hooks-admin", ADMIN)


@pytest.fixture
def allow_private(settings: Any) -> None:
    settings.TESTIGO_WEBHOOK_ALLOW_PRIVATE = True
    settings.TESTIGO_WEBHOOK_BACKOFF_S = 0  # due again at once, for in-process retries


def _endpoint(world: PartnerWorld, admin_user: User, url: str) -> WebhookEndpoint:
    return services.webhook_endpoint_save(
        endpoint=WebhookEndpoint(organisation=world.a, url=url), by=admin_user
    )


def _verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a partner runs (docs/partners.md)."""
    message = headers["Testigo-Timestamp"].encode() + b"." + body
    expected = "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["Testigo-Signature"])


def test_webhook_delivery_signature_verifies(
    world: PartnerWorld, admin_user: User, allow_private: None
) -> None:
    with webhook_receiver() as receiver:
        endpoint = _endpoint(world, admin_user, receiver.url)
        world.share("b", "a")
        delivery = WebhookDelivery.objects.get()
        assert services.webhook_deliver(delivery_id=delivery.id) is None
    [got] = receiver.received
    assert _verify(endpoint.secret, got.headers, got.body) is True
    assert _verify("another secret", got.headers, got.body) is False
    assert json.loads(got.body)["data"] == {"report_id": str(world.reports["b"].id)}
    assert got.headers["Testigo-Event"] == "report.shared"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)


def test_webhook_delivery_retries_on_500_and_logs_attempts(
    world: PartnerWorld, admin_user: User, allow_private: None
) -> None:
    with webhook_receiver(statuses=[500, 503]) as receiver:
        _endpoint(world, admin_user, receiver.url)
        world.revoke("a", "a")
        delivery = WebhookDelivery.objects.get()
        outcomes = [services.webhook_deliver(delivery_id=delivery.id) for _ in range(3)]
    assert outcomes == [0, 0, None]
    delivery.refresh_from_db()
    assert [entry["status_code"] for entry in delivery.log] == [500, 503, 200]
    assert (delivery.status, delivery.attempts, delivery.event) == (
        DeliveryStatus.DELIVERED,
        3,
        "share.revoked",
    )
    # The same event id on every attempt, so the receiver can drop repeats.
    assert len({r.headers["Testigo-Delivery"] for r in receiver.received}) == 1


def test_webhook_delivery_fails_after_max_attempts_and_manual_retry_requeues(
    world: PartnerWorld, admin_user: User, allow_private: None, settings: Any
) -> None:
    settings.TESTIGO_WEBHOOK_MAX_ATTEMPTS = 2
    with webhook_receiver(statuses=[500, 500]) as receiver:
        _endpoint(world, admin_user, receiver.url)
        world.share("b", "a")
        delivery = WebhookDelivery.objects.get()
        assert [services.webhook_deliver(delivery_id=delivery.id) for _ in range(2)] == [0, None]
        delivery.refresh_from_db()
        assert (delivery.status, delivery.last_error) == (DeliveryStatus.FAILED, "HTTP 500")
        services.webhook_delivery_retry(delivery=delivery, by=admin_user)
        assert services.webhook_deliver(delivery_id=delivery.id) is None
    delivery.refresh_from_db()
    assert (delivery.status, len(delivery.log)) == (DeliveryStatus.DELIVERED, 3)


def test_webhook_backoff_is_exponential(settings: Any) -> None:
    settings.TESTIGO_WEBHOOK_BACKOFF_S = 30
    backoff = services.webhooks._webhook_backoff_s
    assert [backoff(n) for n in (1, 2, 3, 4, 10)] == [30, 60, 120, 240, 3600]


def test_webhook_events_emitted_by_services(
    world: PartnerWorld, admin_user: User, allow_private: None
) -> None:
    _endpoint(world, admin_user, "http://127.0.0.1:9/unused")
    world.share("b", "a")
    services.report_case_status_set(
        report=world.reports["a"], by=world.lawyer, status="in_progress"
    )
    world.revoke("b", "a")
    events = list(WebhookDelivery.objects.order_by("created_at").values_list("event", flat=True))
    assert events == ["report.shared", "report.updated", "share.revoked"]


@pytest.mark.parametrize(
    "url",
    [
        "http://partner.example/hook",  # not HTTPS
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://224.0.0.1/hook",
        "https://0.0.0.0/hook",
        "https://user:pw@93.184.215.14/hook",
        "ftp://93.184.215.14/hook",
    ],
)
def test_webhook_target_refused_without_setting(url: str) -> None:
    with pytest.raises(TargetRefused):
        resolve_target(url, allow_private=False)


def test_webhook_delivery_to_private_address_refused_at_delivery(
    world: PartnerWorld, admin_user: User, allow_private: None, settings: Any
) -> None:
    with webhook_receiver() as receiver:
        _endpoint(world, admin_user, receiver.url)
        world.share("b", "a")
        settings.TESTIGO_WEBHOOK_ALLOW_PRIVATE = False  # e.g. DNS now points inside
        delivery = WebhookDelivery.objects.get()
        services.webhook_deliver(delivery_id=delivery.id)
    assert receiver.received == []
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("refused:")


def test_webhook_endpoint_save_refuses_private_target(
    world: PartnerWorld, admin_user: User
) -> None:
    with pytest.raises(services.ServiceError):
        _endpoint(world, admin_user, "https://127.0.0.1/hook")
    assert WebhookEndpoint.objects.count() == 0


def test_purging_a_shared_report_sends_share_revoked_to_each_partner_holding_it(
    world: PartnerWorld, admin_user: User, allow_private: None
) -> None:
    """Issue 18: a partner keeps its copy of a shared report until told it is gone."""
    endpoint_a = _endpoint(world, admin_user, "http://127.0.0.1:9/a")
    endpoint_b = services.webhook_endpoint_save(
        endpoint=WebhookEndpoint(organisation=world.b, url="http://127.0.0.1:9/b"), by=admin_user
    )
    world.share("a", "b")
    world.revoke("revoked", "a")  # already told once, and no longer shared: not again
    WebhookDelivery.objects.all().delete()
    purged = world.reports["a"]

    assert services.report_purge(report=purged, reason="closed") is True

    deliveries = WebhookDelivery.objects.order_by("endpoint_id")
    assert [(d.endpoint_id, d.event) for d in deliveries] == [
        (endpoint_a.id, "share.revoked"),
        (endpoint_b.id, "share.revoked"),
    ]
    assert [d.payload["data"] for d in deliveries] == [{"report_id": str(purged.id)}] * 2
    # The partner that fetches it now gets 404: the report is gone.
    assert world.client("a").get(f"/api/v1/reports/{purged.id}/").status_code == 404
    # A report whose shares were all revoked (each announced then) goes without another.
    WebhookDelivery.objects.all().delete()
    services.report_purge(report=world.reports["revoked"], reason="closed")
    assert not WebhookDelivery.objects.exists()
