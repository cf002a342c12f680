"""Partner organisations: their sharing profile, the reports shared with them, their API
keys, their own case records, and the Idempotency-Key replays of their writes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey

from reports.models.reports import Report


class PartnerOrganisation(models.Model):
    """A partner legal organisation and its sharing profile: what it may see."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    active = models.BooleanField(_("active"), default=True)
    # Names from reports.policy.SHAREABLE_FIELDS; anything else is never sent.
    shared_fields = models.JSONField(_("fields shared"), default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ReportShare(models.Model):
    """A report shared with one partner organisation; revoked shares are kept as history."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="shares")
    organisation = models.ForeignKey(
        PartnerOrganisation, on_delete=models.CASCADE, related_name="shares"
    )
    shared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    shared_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Legal aid's decision to give this partner the witness's contact details (audited);
    # it counts only while the witness's consent_contact_partners holds.
    contact_shared_at = models.DateTimeField(null=True, blank=True)
    contact_shared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-shared_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "organisation"],
                condition=models.Q(revoked_at__isnull=True),
                name="one_active_share_per_report_and_organisation",
            )
        ]
        indexes = [
            # The partner API's every read: the active shares of one organisation.
            models.Index(
                fields=["organisation", "report"],
                condition=models.Q(revoked_at__isnull=True),
                name="active_shares_by_organisation",
            )
        ]

    def __str__(self) -> str:
        return f"{self.report} → {self.organisation}"


class PartnerAPIKey(AbstractAPIKey):
    """A partner organisation's API key: only a hash is stored (djangorestframework-api-key);
    the key itself is shown once, when it is made."""

    organisation = models.ForeignKey(
        PartnerOrganisation, on_delete=models.PROTECT, related_name="api_keys"
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "partner API key"
        verbose_name_plural = "partner API keys"


class PartnerCaseStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    IN_PROGRESS = "in_progress", _("In progress")
    REPRESENTED = "represented", _("Represented")
    REFERRED = "referred", _("Referred elsewhere")
    DECLINED = "declined", _("Declined")
    CLOSED = "closed", _("Closed")


class PartnerCase(models.Model):
    """A partner organisation's own record of a shared report, written through the API."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="partner_cases")
    organisation = models.ForeignKey(
        PartnerOrganisation, on_delete=models.CASCADE, related_name="cases"
    )
    status = models.CharField(
        _("partner status"),
        max_length=20,
        choices=PartnerCaseStatus.choices,
        default=PartnerCaseStatus.RECEIVED,
    )
    reference = models.CharField(_("partner reference"), max_length=100, blank=True)
    notes = models.TextField(_("partner notes"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organisation__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "organisation"], name="one_partner_case_per_report"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation} case on {self.report}"


class IdempotencyRecord(models.Model):
    """The first response to a write with an Idempotency-Key, replayed on a repeat."""

    organisation = models.ForeignKey(
        PartnerOrganisation, on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    # Null while the first request is still running.
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "key"], name="one_idempotency_key_per_organisation"
            )
        ]

    def __str__(self) -> str:
        return f"Idempotency-Key {self.key[:20]}"
