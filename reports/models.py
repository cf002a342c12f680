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

    class Meta:
        ordering = ["received_at"]
        indexes = [models.Index(fields=["moderation", "received_at"])]
        permissions = [("reveal_contact", "Can reveal a witness's contact details (audited)")]

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
    # A small JPEG made from the sanitized file in a resource-limited child process.
    preview_name = models.CharField(max_length=200, blank=True)
    # The original sealed to the legal-hold public key, when the deployment keeps one.
    sealed_original_name = models.CharField(max_length=200, blank=True)
    size_received = models.BigIntegerField(default=0)
    sha256_received = models.CharField(max_length=64, blank=True)
    sha256_sanitized = models.CharField(max_length=64, blank=True)
    detected_format = models.CharField(max_length=16, blank=True)
    media_kind = models.CharField(max_length=8, blank=True)
    reject_reason = models.CharField(max_length=40, blank=True)
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
