"""The domain's data. Behaviour lives in services.py (writes) and selectors.py (reads)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Moderation(models.TextChoices):
    RECEIVED = "received", _("Received")  # media still being sanitized
    PENDING = "pending", _("Pending moderation")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class MediaStatus(models.TextChoices):
    UPLOADING = "uploading", _("Uploading")
    QUARANTINED = "quarantined", _("Quarantined")
    PROCESSING = "processing", _("Processing")
    CLEAN = "clean", _("Clean")
    REJECTED = "rejected", _("Rejected")
    FAILED = "failed", _("Failed")
    PURGED = "purged", _("Purged")


# Media in these states is finished with the pipeline; a report whose items are all
# settled moves on to moderation.
SETTLED_MEDIA = (MediaStatus.CLEAN, MediaStatus.REJECTED, MediaStatus.FAILED, MediaStatus.PURGED)


class Report(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # SHA-256 of the normalised receipt code; the code itself is shown once, never stored.
    receipt_hash = models.CharField(max_length=64, unique=True, editable=False)
    description = models.TextField(_("what happened"))
    occurred_text = models.CharField(_("when"), max_length=200, blank=True)
    location_text = models.CharField(_("where"), max_length=300, blank=True)
    language = models.CharField(_("language"), max_length=10, default="en")
    moderation = models.CharField(
        _("moderation"),
        max_length=16,
        choices=Moderation.choices,
        default=Moderation.RECEIVED,
        db_index=True,
    )
    received_at = models.DateTimeField(_("received"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["received_at"]
        indexes = [models.Index(fields=["moderation", "received_at"])]

    def __str__(self) -> str:
        return f"Report {str(self.id)[:8]}"


class MediaItem(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="media_items")
    position = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(
        max_length=16,
        choices=MediaStatus.choices,
        default=MediaStatus.QUARANTINED,
        db_index=True,
    )
    # Name in the quarantine storage (encrypted bytes), empty once destroyed.
    quarantine_name = models.CharField(max_length=200, blank=True)
    # Name in the media storage (sanitized bytes), set only when clean.
    media_name = models.CharField(max_length=200, blank=True)
    size_received = models.BigIntegerField(default=0)
    sha256_received = models.CharField(max_length=64, blank=True)
    sha256_sanitized = models.CharField(max_length=64, blank=True)
    detected_format = models.CharField(max_length=16, blank=True)
    media_kind = models.CharField(max_length=8, blank=True)
    reject_reason = models.CharField(max_length=40, blank=True)
    manifest = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["report", "position"]

    def __str__(self) -> str:
        return f"Media {str(self.id)[:8]} ({self.status})"


class AuditEvent(models.Model):
    """Append-only record of who did what. Never holds a witness's address or agent."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # "witness", "worker", "system" when there is no staff user.
    actor_label = models.CharField(max_length=40, blank=True)
    action = models.CharField(max_length=60, db_index=True)
    # Plain ids, not foreign keys: the trail outlives purged rows.
    report_id = models.UUIDField(null=True, blank=True, db_index=True)
    media_item_id = models.UUIDField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"


class ModerationQueue(Report):
    """The pending reports, as moderators see them in the admin."""

    class Meta:
        proxy = True
        verbose_name = _("report awaiting moderation")
        verbose_name_plural = _("moderation queue")
