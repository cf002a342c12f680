"""Webhook delivery through a real Celery worker: queued on commit, retried on 500."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from reports import services
from reports.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from reports.roles import ADMIN
from tests.factories.partner_world import build_partner_world
from tests.factories.staff import staff_user
from tests.factories.webhook_receiver import webhook_receiver
from tests.unit.test_webhooks import _verify

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_webhook_delivered_by_worker_after_retry_on_500(
    celery_worker_process: Any, wait_for: Callable[..., Any], settings: Any
) -> None:
    settings.TESTIGO_WEBHOOK_ALLOW_PRIVATE = True
    world = build_partner_world()
    admin_user = staff_user("worker-hooks-admin", ADMIN)
    with webhook_receiver(statuses=[500]) as receiver:
        endpoint = services.webhook_endpoint_save(
            endpoint=WebhookEndpoint(organisation=world.a, url=receiver.url), by=admin_user
        )
        world.share("b", "a")  # the task is queued when this commits
        delivered = wait_for(
            lambda: WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERED).first(),
            timeout=30,
        )
    assert [entry["status_code"] for entry in delivered.log] == [500, 200]
    assert [_verify(endpoint.secret, r.headers, r.body) for r in receiver.received] == [True, True]
