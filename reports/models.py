"""The domain's data. Behaviour lives in services/ (writes) and selectors.py (reads)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey

from reports.vocabulary import AuditAction as AuditAction
from reports.vocabulary import RefusalReason as RefusalReason


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


class PlaceType(models.TextChoices):
    HOME = "home", _("Home")
    STREET = "street", _("Street")
    VEHICLE = "vehicle", _("Vehicle")
    WORKPLACE = "workplace", _("Workplace")
    COURTHOUSE = "courthouse", _("Courthouse")
    SCHOOL = "school", _("School")
    HOSPITAL = "hospital", _("Hospital")
    PLACE_OF_WORSHIP = "place_of_worship", _("Place of worship")
    OTHER = "other", _("Other")


class Agency(models.TextChoices):
    ICE = "ice", _("ICE")
    HSI = "hsi", _("HSI")
    CBP = "cbp", _("CBP (Border Patrol)")
    FBI = "fbi", _("FBI")
    LOCAL_POLICE = "local_police", _("Local police")
    STATE_POLICE = "state_police", _("State police")
    SHERIFF = "sheriff", _("Sheriff")
    UNKNOWN = "unknown", _("I don't know")


class Warrant(models.TextChoices):
    NOT_SHOWN = "not_shown", _("No warrant was shown")
    ADMINISTRATIVE = "administrative", _("Administrative (signed by an immigration officer)")
    JUDICIAL = "judicial", _("Judicial (signed by a judge)")
    UNKNOWN = "unknown", _("I don't know")


class Answer(models.TextChoices):
    """A yes/no fact the witness may not know; blank means not answered."""

    YES = "yes", _("Yes")
    NO = "no", _("No")
    UNKNOWN = "unknown", _("I don't know")


class WitnessRelation(models.TextChoices):
    SAW = "saw", _("I saw it")
    HAPPENED_TO_ME = "me", _("It happened to me")
    HAPPENED_TO_FAMILY = "family", _("It happened to my family")


class ContactChannel(models.TextChoices):
    PHONE = "phone", _("Phone call or text")
    SIGNAL = "signal", _("Signal")
    WHATSAPP = "whatsapp", _("WhatsApp")
    EMAIL = "email", _("Email")


class RejectReason(models.TextChoices):
    SPAM = "spam", _("Spam")
    FALSE_ALARM = "false_alarm", _("False alarm")
    DUPLICATE = "duplicate", _("Duplicate of another report")
    OUT_OF_SCOPE = "out_of_scope", _("Not in scope")


class CaseStatus(models.TextChoices):
    NEW = "new", _("New")
    IN_PROGRESS = "in_progress", _("In progress")
    WAITING_ON_WITNESS = "waiting_on_witness", _("Waiting on witness")
    REFERRED = "referred", _("Referred")
    CLOSED = "closed", _("Closed")


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

# Which case status may follow which; services.report_case_status_set checks it.
CASE_TRANSITIONS: dict[str, set[str]] = {
    CaseStatus.NEW: {
        CaseStatus.IN_PROGRESS,
        CaseStatus.WAITING_ON_WITNESS,
        CaseStatus.REFERRED,
        CaseStatus.CLOSED,
    },
    CaseStatus.IN_PROGRESS: {CaseStatus.WAITING_ON_WITNESS, CaseStatus.REFERRED, CaseStatus.CLOSED},
    CaseStatus.WAITING_ON_WITNESS: {CaseStatus.IN_PROGRESS, CaseStatus.REFERRED, CaseStatus.CLOSED},
    CaseStatus.REFERRED: {CaseStatus.IN_PROGRESS, CaseStatus.CLOSED},
    CaseStatus.CLOSED: {CaseStatus.IN_PROGRESS},  # reopen
}


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Incident(models.Model):
    """One event seen by several witnesses; a moderator groups their reports into it."""

    title = models.CharField(_("title"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class Label(models.Model):
    name = models.CharField(_("name"), max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# Media in these states is finished with the pipeline; a report whose items are all
# settled moves on to moderation.
SETTLED_MEDIA = (MediaStatus.CLEAN, MediaStatus.REJECTED, MediaStatus.FAILED)

# Report fields the witness answers directly, after the time, place and agencies: the
# intake form stores them as entered and the staff admin shows them, in this order.
REPORTED_FACTS = (
    "local_police_department",
    "agents_count",
    "uniforms",
    "masks",
    "identified_themselves",
    "vehicles",
    "warrant",
    "detained_count",
    "children_present",
    "injuries",
    "force_used",
    "bystanders_arrested",
    "witness_relation",
    "consent_contact",
    "consent_share_partners",
    "consent_contact_partners",
    "consent_publish",
    "contact_channel",
)


class Report(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # SHA-256 of the normalised receipt code; the code itself is shown once, never stored.
    receipt_hash = models.CharField(max_length=64, unique=True, editable=False)
    description = models.TextField(_("what happened"))
    occurred_text = models.CharField(_("when"), max_length=200, blank=True)
    location_text = models.CharField(_("where"), max_length=300, blank=True)
    # Structured facts (SALUTE and what matters legally). Blank means not answered.
    occurred_at = models.DateTimeField(_("date and time"), null=True, blank=True)
    happening_now = models.BooleanField(_("happening now"), default=False, db_index=True)
    town = models.CharField(_("town"), max_length=120, blank=True, db_index=True)
    place_type = models.CharField(
        _("type of place"), max_length=20, choices=PlaceType.choices, blank=True
    )
    agencies = models.JSONField(_("agencies seen"), default=list, blank=True)
    local_police_department = models.CharField(_("police department"), max_length=120, blank=True)
    agents_count = models.PositiveSmallIntegerField(_("number of agents"), null=True, blank=True)
    uniforms = models.CharField(_("uniforms and markings"), max_length=500, blank=True)
    masks = models.CharField(_("masks"), max_length=8, choices=Answer.choices, blank=True)
    identified_themselves = models.CharField(
        _("identified themselves"), max_length=8, choices=Answer.choices, blank=True
    )
    vehicles = models.CharField(_("vehicles and plates"), max_length=500, blank=True)
    warrant = models.CharField(
        _("warrant"), max_length=16, choices=Warrant.choices, blank=True, db_index=True
    )
    detained_count = models.PositiveSmallIntegerField(_("people detained"), null=True, blank=True)
    children_present = models.CharField(
        _("children present"), max_length=8, choices=Answer.choices, blank=True, db_index=True
    )
    injuries = models.CharField(_("injuries"), max_length=8, choices=Answer.choices, blank=True)
    force_used = models.CharField(_("force used"), max_length=8, choices=Answer.choices, blank=True)
    bystanders_arrested = models.CharField(
        _("bystanders arrested"), max_length=8, choices=Answer.choices, blank=True
    )
    witness_relation = models.CharField(
        _("relation"), max_length=8, choices=WitnessRelation.choices, blank=True
    )
    # Consent, each a separate choice of the witness.
    consent_contact = models.BooleanField(_("legal aid may contact me"), default=False)
    consent_share_partners = models.BooleanField(
        _("media may be shared with partner organisations"), default=False
    )
    # Contact details reach a partner only with this consent and a legal-aid decision
    # on the share (ReportShare.contact_shared_at).
    consent_contact_partners = models.BooleanField(
        _("a partner legal organisation may contact me"), default=False
    )
    consent_publish = models.BooleanField(_("may be published with faces hidden"), default=False)
    # Contact details: channel in clear (it says nothing about the person), value and safe
    # times sealed with AES-GCM (reports/contact.py); readable only through an audited reveal.
    contact_channel = models.CharField(
        _("contact channel"), max_length=10, choices=ContactChannel.choices, blank=True
    )
    contact_sealed = models.BinaryField(null=True, blank=True, editable=False)
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

    # --- Moderation (staff side) ---
    # The text everyone downstream of moderation sees; None until a moderator redacts.
    # The witness's original stays in ``description`` behind view_original_text.
    # None (not "") marks "never redacted", so a moderator may redact to an empty text.
    description_redacted = models.TextField(  # noqa: DJ001
        _("what happened (redacted)"), null=True, blank=True
    )
    redacted_at = models.DateTimeField(null=True, blank=True)
    redacted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reject_reason = models.CharField(
        _("reject reason"), max_length=16, choices=RejectReason.choices, blank=True
    )
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The moderation decision (approve or reject): who and when.
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Edit lock: a moderator who opens a report holds it until locked_until.
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    locked_until = models.DateTimeField(null=True, blank=True)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )

    # --- Triage (legal aid, after approval) ---
    case_status = models.CharField(
        _("case status"), max_length=20, choices=CaseStatus.choices, blank=True, db_index=True
    )
    priority = models.CharField(
        _("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_reports",
        verbose_name=_("assignee"),
    )
    labels = models.ManyToManyField(Label, blank=True, related_name="reports")
    follow_up_on = models.DateField(_("follow up on"), null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    # --- Retention ---
    legal_hold = models.BooleanField(
        _("legal hold"), default=False, help_text=_("Never purged while set.")
    )

    class Meta:
        ordering = ["received_at"]
        indexes = [
            models.Index(fields=["moderation", "received_at"]),
            models.Index(fields=["moderation", "reviewed_at"]),
            # The partner API's town filter is case-insensitive, newest first.
            models.Index(Upper("town"), "received_at", name="report_town_received"),
        ]
        permissions = [
            ("reveal_contact", "Can reveal a witness's contact details (audited)"),
            ("moderate_report", "Can moderate: lock, redact, approve, reject, group"),
            ("view_unapproved", "Can see reports before and outside approval"),
            ("view_original_text", "Can read the witness's text before redaction"),
            ("triage_report", "Can triage approved reports"),
            ("share_report", "Can share reports with partner organisations"),
            ("export_reports", "Can export reports to CSV"),
            ("ask_witness", "Can send a question to the witness"),
            ("view_overview", "Can see the overview charts"),
        ]

    def __str__(self) -> str:
        return f"Report {str(self.id)[:8]}"

    @property
    def description_shown(self) -> str:
        """What staff downstream of moderation, exports and partners see."""
        if self.description_redacted is not None:
            return self.description_redacted
        return self.description


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


class ModerationQueue(Report):
    """The pending reports, as moderators see them in the admin."""

    class Meta:
        proxy = True
        verbose_name = _("report awaiting moderation")
        verbose_name_plural = _("moderation queue")


class MessageSender(models.TextChoices):
    WITNESS = "witness", _("Witness")
    STAFF = "staff", _("Staff")


class ReportMessage(models.Model):
    """Two-way messages between staff and the witness, read on the follow-up page."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="messages")
    sender = models.CharField(max_length=8, choices=MessageSender.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_sender_display()} message on {self.report}"


class ReportNote(models.Model):
    """An internal note of legal-aid staff; never shown to the witness or partners."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(_("note"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Note on {self.report}"


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


# --- Partner API and webhooks ------------------------------------------------------------


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
