"""Webhooks: partners' HTTPS endpoints, the events they may receive, and one delivery
row per event and endpoint with every attempt logged."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reports.models.partners import PartnerOrganisation


class WebhookEvent(models.TextChoices):
    REPORT_SHARED = "report.shared", "report.shared"
    REPORT_UPDATED = "report.updated", "report.updated"
    SHARE_REVOKED = "share.revoked", "share.revoked"
    MEDIA_ADDED = "media.added", "media.added"


class WebhookEndpoint(models.Model):
    """An HTTPS URL of a partner that receives signed event notifications."""

    organisation = models.ForeignKey(
        PartnerOrganisation, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(_("URL"), max_length=500)
    # Needed in clear to sign each delivery; only administrators see it.
    secret = models.CharField(_("signing secret"), max_length=64, editable=False)
    events = models.JSONField(
        _("events"), default=list, blank=True, help_text=_("Empty means every event.")
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["organisation__name", "url"]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RETRYING = "retrying", _("Retrying")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(models.Model):
    """One event for one endpoint, with every attempt logged. Created in the same
    transaction as the change it announces, so a lost task cannot lose the event."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    payload = models.JSONField()
    status = models.CharField(
        max_length=10,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.PENDING,
        db_index=True,
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    # [{"at": ..., "status_code": ..., "error": ..., "ms": ...}], one per attempt.
    log = models.JSONField(default=list, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = _("webhook deliveries")

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"
