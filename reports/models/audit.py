"""The audit trail's rows: append-only (on PostgreSQL a trigger refuses any change,
migration 0005); what they say is one of reports.vocabulary.AuditAction."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from reports.vocabulary import AuditAction


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
    action = models.CharField(max_length=60, choices=AuditAction.choices, db_index=True)
    # Plain ids, not foreign keys: the trail outlives purged rows.
    report_id = models.UUIDField(null=True, blank=True, db_index=True)
    media_item_id = models.UUIDField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"
