"""A report's media items: the states a file goes through from upload to clean (or
refused), and the row that tracks it through quarantine, the worker and storage."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reports.models.reports import Report
from reports.vocabulary import RefusalReason


class MediaStatus(models.TextChoices):
    UPLOADING = "uploading", _("Uploading")
    QUARANTINED = "quarantined", _("Quarantined")
    PROCESSING = "processing", _("Processing")
    CLEAN = "clean", _("Clean")
    REJECTED = "rejected", _("Rejected")
    FAILED = "failed", _("Failed")


# Which media status may follow which; every change in services/media.py is checked
# against it (intake/pipeline.py's docstring names the function behind each arrow). New
# items start as uploading, quarantined, or rejected on receipt. processing → processing
# is a claim taken back from a dead or interrupted try, counted as a new attempt.
MEDIA_TRANSITIONS: dict[str, set[str]] = {
    MediaStatus.UPLOADING: {MediaStatus.QUARANTINED, MediaStatus.REJECTED},
    MediaStatus.QUARANTINED: {MediaStatus.PROCESSING},
    MediaStatus.PROCESSING: {
        MediaStatus.PROCESSING,
        MediaStatus.CLEAN,
        MediaStatus.REJECTED,
        MediaStatus.QUARANTINED,
        MediaStatus.FAILED,
    },
    MediaStatus.CLEAN: set(),
    MediaStatus.REJECTED: set(),
    MediaStatus.FAILED: set(),
}


# The one way out of a settled state, and not the pipeline's: staff re-run a failed item
# (reports.services.media_item_retry), which puts it back in quarantine with fresh attempts.
MEDIA_STAFF_TRANSITIONS: dict[str, set[str]] = {MediaStatus.FAILED: {MediaStatus.QUARANTINED}}


# Media in these states is finished with the pipeline; a report whose items are all
# settled moves on to moderation.
SETTLED_MEDIA = (MediaStatus.CLEAN, MediaStatus.REJECTED, MediaStatus.FAILED)


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
    # Name in the quarantine storage (encrypted bytes), empty once destroyed. For a
    # resumable upload it is the prefix of its parts, listed in order in quarantine_parts.
    quarantine_name = models.CharField(max_length=200, blank=True)
    quarantine_parts = models.JSONField(default=list, blank=True)
    # Resumable (tus) upload state while status is "uploading". The upload's URL holds a
    # random key; only its SHA-256 is stored.
    upload_key_hash = models.CharField(max_length=64, blank=True, db_index=True)
    upload_length = models.BigIntegerField(null=True, blank=True)
    upload_offset = models.BigIntegerField(default=0)
    upload_expires_at = models.DateTimeField(null=True, blank=True)
    # Name in the media storage (sanitized bytes), set only when clean.
    media_name = models.CharField(max_length=200, blank=True)
    # A small JPEG made from the sanitized file in a resource-limited child process.
    preview_name = models.CharField(max_length=200, blank=True)
    # The original sealed to the legal-hold public key, when the deployment keeps one.
    sealed_original_name = models.CharField(max_length=200, blank=True)
    size_received = models.BigIntegerField(default=0)
    sha256_received = models.CharField(max_length=64, blank=True)
    sha256_sanitized = models.CharField(max_length=64, blank=True, db_index=True)
    # 64-bit difference hash of a sanitized image (hex), for near-duplicate suggestions.
    dhash = models.CharField(max_length=16, blank=True, db_index=True)
    detected_format = models.CharField(max_length=16, blank=True)
    media_kind = models.CharField(max_length=8, blank=True)
    reject_reason = models.CharField(max_length=40, choices=RefusalReason.choices, blank=True)
    manifest = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Which worker process holds the claim ("host:pid:start:thread"), so a redelivered task
    # can tell that the claimant was killed and take the item over at once.
    claimed_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["report", "position"]

    def __str__(self) -> str:
        return f"Media {str(self.id)[:8]} ({self.status})"
