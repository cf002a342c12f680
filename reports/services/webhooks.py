"""Signed event notifications to partner organisations: endpoints, events, deliveries.

A delivery row is written in the same transaction as the change it announces; the task
that posts it is queued after commit, and a sweeper re-queues any whose task was lost.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from reports.jobs import DELIVER_WEBHOOK, enqueue
from reports.models import (
    AuditAction,
    DeliveryStatus,
    ReportShare,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from reports.services.audit import audit_record
from reports.services.errors import ServiceError, require
from reports.webhooks import TargetRefused, post, resolve_target


def webhook_endpoint_save(*, endpoint: WebhookEndpoint, by: User) -> WebhookEndpoint:
    """Create or change an endpoint. The URL must pass the SSRF check now (and again at
    every delivery); a new endpoint gets a random signing secret."""
    require(
        by,
        "reports.change_webhookendpoint" if endpoint.pk else "reports.add_webhookendpoint",
    )
    try:
        resolve_target(endpoint.url)
    except TargetRefused as error:
        raise ServiceError(str(error)) from error
    unknown = set(endpoint.events) - set(WebhookEvent.values)
    if unknown:
        raise ServiceError(f"Unknown events: {sorted(unknown)}")
    created = endpoint.pk is None
    if created:
        endpoint.secret = secrets.token_hex(32)
    endpoint.save()
    changed = AuditAction.WEBHOOK_ENDPOINT_CHANGED
    audit_record(
        action=AuditAction.WEBHOOK_ENDPOINT_CREATED if created else changed,
        actor=by,
        data={"organisation_id": endpoint.organisation_id, "endpoint_id": endpoint.id},
    )
    return endpoint


def webhook_event_emit(
    *, event: str, report_id: Any, organisation_ids: Iterable[int], media_item_id: Any = None
) -> list[WebhookDelivery]:
    """One delivery per subscribed endpoint of each organisation, queued after commit.
    The payload names the event and ids only: the partner fetches the report with its
    key, so a misdirected webhook carries nothing about a witness."""
    now = timezone.now()
    data: dict[str, Any] = {"report_id": str(report_id)}
    if media_item_id is not None:
        data["media_item_id"] = str(media_item_id)
    deliveries = []
    for endpoint in WebhookEndpoint.objects.filter(
        organisation_id__in=list(organisation_ids), organisation__active=True, active=True
    ):
        if endpoint.events and event not in endpoint.events:
            continue
        delivery = WebhookDelivery(endpoint=endpoint, event=event, created_at=now)
        delivery.payload = {
            "id": str(delivery.id),
            "event": event,
            "created_at": now.isoformat(),
            "data": data,
        }
        deliveries.append(delivery)
    WebhookDelivery.objects.bulk_create(deliveries)
    for delivery in deliveries:
        transaction.on_commit(partial(webhook_delivery_enqueue, delivery_id=delivery.id))
    return deliveries


def webhook_event_emit_to_sharing_partners(
    *, event: str, report_id: Any, media_item_id: Any = None
) -> None:
    """``webhook_event_emit`` to every organisation the report is shared with right now."""
    organisation_ids = ReportShare.objects.filter(
        report_id=report_id, revoked_at__isnull=True
    ).values_list("organisation_id", flat=True)
    webhook_event_emit(
        event=event,
        report_id=report_id,
        organisation_ids=list(organisation_ids),
        media_item_id=media_item_id,
    )


def webhook_delivery_enqueue(*, delivery_id: Any, countdown: float = 0) -> None:
    """Queue a delivery; a broker outage is logged and the sweeper queues it later."""
    enqueue(DELIVER_WEBHOOK, countdown=countdown, delivery_id=str(delivery_id))


def _webhook_backoff_s(attempts: int) -> int:
    return int(min(settings.TESTIGO_WEBHOOK_BACKOFF_S * 2 ** max(attempts - 1, 0), 3600))


def webhook_deliver(*, delivery_id: Any) -> int | None:
    """Attempt one delivery. Returns the seconds until the next attempt when it should be
    retried, else None (delivered, failed for good, or not due / claimed elsewhere)."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.TESTIGO_WEBHOOK_TIMEOUT_S + 30)
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    # Claim with a lease, so a duplicate task does not post twice at the same time.
    claimed = WebhookDelivery.objects.filter(
        due,
        id=delivery_id,
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING],
    ).update(next_attempt_at=lease)
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(id=delivery_id)
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    outcome = post(
        url=delivery.endpoint.url,
        secret=delivery.endpoint.secret,
        body=body,
        event=delivery.event,
        delivery_id=str(delivery.id),
        timeout=settings.TESTIGO_WEBHOOK_TIMEOUT_S,
    )
    attempts = delivery.attempts + 1
    finished = timezone.now()
    retry_in: int | None = None
    if outcome.ok:
        status = DeliveryStatus.DELIVERED
    elif attempts >= settings.TESTIGO_WEBHOOK_MAX_ATTEMPTS or not delivery.endpoint.active:
        status = DeliveryStatus.FAILED
    else:
        status, retry_in = DeliveryStatus.RETRYING, _webhook_backoff_s(attempts)
    entry = {
        "at": finished.isoformat(),
        "status_code": outcome.status_code,
        "error": outcome.error,
        "ms": outcome.ms,
    }
    WebhookDelivery.objects.filter(id=delivery.id).update(
        status=status,
        attempts=attempts,
        last_status_code=outcome.status_code,
        last_error=outcome.error,
        log=[*delivery.log, entry],
        next_attempt_at=finished + timedelta(seconds=retry_in) if retry_in is not None else None,
        delivered_at=finished if outcome.ok else None,
    )
    return retry_in


def webhook_delivery_retry(*, delivery: WebhookDelivery, by: User) -> None:
    """Manual retry from the admin: the delivery is due now, with a fresh attempt budget."""
    require(by, "reports.change_webhookdelivery")
    WebhookDelivery.objects.filter(id=delivery.id).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=None
    )
    audit_record(
        action=AuditAction.WEBHOOK_RETRIED,
        actor=by,
        data={"delivery_id": str(delivery.id), "endpoint_id": delivery.endpoint_id},
    )
    transaction.on_commit(partial(webhook_delivery_enqueue, delivery_id=delivery.id))


def webhooks_sweep(*, now: datetime | None = None) -> int:
    """Queue deliveries whose task was lost (a broker outage, a killed worker)."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=60)
    ids = list(
        WebhookDelivery.objects.filter(
            Q(next_attempt_at__lte=stale) | Q(next_attempt_at__isnull=True, created_at__lte=stale),
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING],
        ).values_list("id", flat=True)[:1000]
    )
    for delivery_id in ids:
        webhook_delivery_enqueue(delivery_id=delivery_id)
    return len(ids)
