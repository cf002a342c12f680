"""A report from the witness's words through moderation to case work: the report, the
moderation queue (a proxy of it), incidents grouping reports of one event, labels,
messages with the witness and legal aid's internal notes."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reports.models.facts import Answer, ContactChannel, PlaceType, Warrant, WitnessRelation

# The witness's free-text facts: each has a ``<fact>_redacted`` twin a moderator sets,
# and everything after moderation reads ``Report.shown(fact)``. Witness messages are
# redacted the same way (ReportMessage.body_redacted).
REDACTABLE_FACTS = (
    "description",
    "occurred_text",
    "location_text",
    "town",
    "local_police_department",
    "uniforms",
    "vehicles",
)


class Moderation(models.TextChoices):
    RECEIVED = "received", _("Received")  # media still being sanitized
    PENDING = "pending", _("Pending moderation")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


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


class Report(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # SHA-256 of the normalised receipt code; the code itself is shown once, never stored.
    receipt_hash = models.CharField(max_length=64, unique=True, editable=False)
    description = models.TextField(_("what happened"))
    occurred_text = models.CharField(_("when"), max_length=200, blank=True)
    location_text = models.CharField(_("where"), max_length=300, blank=True)
    # Structured facts (SALUTE and what matters legally). Blank means not answered.
    occurred_at = models.DateTimeField(_("date and time"), null=True, blank=True)
    # The witness's own clock when they gave occurred_at: its offset from UTC in minutes
    # (null when unknown) and, when the phone told us, its IANA zone. occurred_at itself
    # is an instant; these say how to show it as the witness's local time.
    occurred_utc_offset = models.SmallIntegerField(_("UTC offset (minutes)"), null=True, blank=True)
    occurred_time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
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
    # For each free-text fact (REDACTABLE_FACTS), the text everyone downstream of
    # moderation sees; None until a moderator redacts it. The witness's original stays in
    # the fact's own field, behind view_original_text. None (not "") marks "never
    # redacted", so a moderator may redact to an empty text. Read through ``shown()``.
    description_redacted = models.TextField(  # noqa: DJ001
        _("what happened (redacted)"), null=True, blank=True
    )
    occurred_text_redacted = models.TextField(  # noqa: DJ001
        _("when (redacted)"), null=True, blank=True
    )
    location_text_redacted = models.TextField(  # noqa: DJ001
        _("where (redacted)"), null=True, blank=True
    )
    town_redacted = models.TextField(_("town (redacted)"), null=True, blank=True)  # noqa: DJ001
    local_police_department_redacted = models.TextField(  # noqa: DJ001
        _("police department (redacted)"), null=True, blank=True
    )
    uniforms_redacted = models.TextField(  # noqa: DJ001
        _("uniforms and markings (redacted)"), null=True, blank=True
    )
    vehicles_redacted = models.TextField(  # noqa: DJ001
        _("vehicles and plates (redacted)"), null=True, blank=True
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
            ("publish", "Can make publishable copies with faces hidden"),
        ]

    def __str__(self) -> str:
        return f"Report {str(self.id)[:8]}"

    def shown(self, fact: str) -> str:
        """A free-text fact as staff downstream of moderation, exports and partners see
        it: the moderator's redaction when there is one, else the witness's words."""
        assert fact in REDACTABLE_FACTS, fact
        redacted: str | None = getattr(self, f"{fact}_redacted")
        return redacted if redacted is not None else str(getattr(self, fact))

    @property
    def description_shown(self) -> str:
        return self.shown("description")


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
    # A moderator's redaction of a witness's message; None when never redacted.
    body_redacted = models.TextField(null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_sender_display()} message on {self.report}"

    @property
    def body_shown(self) -> str:
        """The message as staff who may not read the witness's own words see it."""
        return self.body_redacted if self.body_redacted is not None else self.body


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
