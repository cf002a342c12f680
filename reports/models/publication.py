"""Publishable copies (promise 11): a copy of a clean media item with faces hidden, made
only from the sanitized copy, only when the witness consented to publication, and only
after staff reviewed what the detector found. The evidence copy (MediaItem.media_name) is
never altered; a publishable copy has its own file (``name``), itself sanitized before it
is stored, and its own audit events.

States (COPY_TRANSITIONS): detecting → review → rendering → published; detecting and
rendering may end in failed. A region is a face to hide: found by the detector (a track
over frames) or added by hand (held still or followed over a time span); a false
detection is removed (kept, marked, audited), never deleted.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reports.models.media import MediaItem
from reports.models.reports import Report


class CopyStatus(models.TextChoices):
    DETECTING = "detecting", _("Finding faces")
    REVIEW = "review", _("Waiting for review")
    RENDERING = "rendering", _("Hiding faces")
    PUBLISHED = "published", _("Ready to publish")
    FAILED = "failed", _("Failed")


COPY_TRANSITIONS: dict[str, set[str]] = {
    CopyStatus.DETECTING: {CopyStatus.REVIEW, CopyStatus.FAILED},
    CopyStatus.REVIEW: {CopyStatus.RENDERING},
    CopyStatus.RENDERING: {CopyStatus.PUBLISHED, CopyStatus.FAILED},
    CopyStatus.PUBLISHED: set(),
    CopyStatus.FAILED: set(),
}


class HideMethod(models.TextChoices):
    # The values are intake.faces.Method's.
    FILL = "fill", _("Solid box")
    MOSAIC = "mosaic", _("Mosaic (coarse)")


class RegionSource(models.TextChoices):
    DETECTED = "detected", _("Found by the detector")
    ADDED = "added", _("Added by hand")


class PublishableCopy(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    media_item = models.ForeignKey(
        MediaItem, on_delete=models.CASCADE, related_name="publishable_copies"
    )
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="publishable_copies")
    status = models.CharField(
        max_length=16, choices=CopyStatus.choices, default=CopyStatus.DETECTING, db_index=True
    )
    method = models.CharField(max_length=8, choices=HideMethod.choices, default=HideMethod.FILL)
    distort_voice = models.BooleanField(_("distort voices"), default=False)
    # Percent of the running step (detecting or rendering), for staff to watch.
    progress = models.PositiveSmallIntegerField(default=0)
    # photo, video or audio (intake.faces.engine.Kind), and the web size regions refer to.
    kind = models.CharField(max_length=8, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    fps = models.FloatField(default=0)
    frame_count = models.PositiveIntegerField(default=0)
    # Sampled frames for review: [{"frame": n, "name": "<media storage name>"}].
    samples = models.JSONField(default=list, blank=True)
    # The publishable file in the media storage, set only when published.
    name = models.CharField(max_length=200, blank=True)
    content_type = models.CharField(max_length=40, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    error = models.CharField(max_length=200, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["report", "media_item", "-created_at"]
        verbose_name = _("publishable copy")
        verbose_name_plural = _("publishable copies")

    def __str__(self) -> str:
        return f"Publishable copy {str(self.id)[:8]} ({self.status})"


class FaceRegion(models.Model):
    copy = models.ForeignKey(PublishableCopy, on_delete=models.CASCADE, related_name="regions")
    source = models.CharField(max_length=8, choices=RegionSource.choices)
    # intake.faces.tracks.Track.to_json(): {"score": s, "boxes": {"frame": [x1, y1, x2, y2]}},
    # in the copy's web-size pixels. A hand region has one box, on frame_start.
    track = models.JSONField(default=dict)
    frame_start = models.PositiveIntegerField(default=0)
    frame_end = models.PositiveIntegerField(default=0)
    follow = models.BooleanField(default=False)
    removed = models.BooleanField(default=False)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["copy", "frame_start", "id"]

    def __str__(self) -> str:
        return f"{self.get_source_display()} region {self.id}"
