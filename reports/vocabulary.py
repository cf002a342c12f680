"""The words the domain records: why a file was refused, and what the audit trail says
happened. Values are stored and sent as they are, so they never change; the labels are
what staff read. reports.models re-exports both.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RefusalReason(models.TextChoices):
    """Why a media item or upload was refused. The witness is told in their language
    (intake/messages.py); the sanitizer's error codes (intake/sanitize/errors.py, a
    library that imports nothing from here) are the same values."""

    EMPTY = "empty", _("Empty file")
    TOO_LARGE = "too_large", _("Too large")
    UNSUPPORTED_FORMAT = "unsupported_format", _("Unsupported format")
    MALFORMED = "malformed", _("Damaged or malformed")
    UNSAFE_CONTENT = "unsafe_content", _("Could not be made safe")
    VERIFY_FAILED = "verify_failed", _("Failed the independent check")
    STORAGE_ERROR = "storage_error", _("Could not be stored")
    TOO_MANY_FILES = "too_many_files", _("Too many files")
    PROCESSING_FAILED = "processing_failed", _("Processing failed")
    CANCELLED = "cancelled", _("Cancelled by the witness")
    UPLOAD_EXPIRED = "upload_expired", _("Upload not finished in time")
    # Budgets (intake/budgets.py): what one report, one client and the disk may take.
    REPORT_BUDGET = "report_budget", _("Over the report's byte budget")
    CLIENT_BUDGET = "client_budget", _("Over the client's hourly byte budget")
    STORAGE_FULL = "storage_full", _("Refused: disk space below the floor")


class AuditAction(models.TextChoices):
    """Every action the audit trail records, as ``subject.event``."""

    REPORT_RECEIVED = "report.received", _("Report received")
    REPORT_QUEUED = "report.queued", _("Report queued for moderation")
    REPORT_LOCKED = "report.locked", _("Report locked for editing")
    REPORT_UNLOCKED = "report.unlocked", _("Report unlocked")
    REPORT_REDACTED = "report.redacted", _("Report redacted")
    REPORT_APPROVED = "report.approved", _("Report approved")
    REPORT_REJECTED = "report.rejected", _("Report rejected")
    REPORT_SHARED = "report.shared", _("Report shared with a partner")
    REPORT_SHARE_REVOKED = "report.share_revoked", _("Share with a partner revoked")
    REPORT_CONTACT_SHARED = "report.contact_shared", _("Contact details given to a partner")
    REPORT_LEGAL_HOLD_SET = "report.legal_hold_set", _("Legal hold set")
    REPORT_LEGAL_HOLD_LIFTED = "report.legal_hold_lifted", _("Legal hold lifted")
    REPORT_PURGED = "report.purged", _("Report purged")
    REPORTS_EXPORTED = "reports.exported", _("Reports exported")

    MEDIA_UPLOAD_STARTED = "media.upload_started", _("Upload started")
    MEDIA_QUARANTINED = "media.quarantined", _("Media received into quarantine")
    MEDIA_PROCESSING = "media.processing", _("Media processing started")
    MEDIA_CLEAN = "media.clean", _("Media sanitized")
    MEDIA_REJECTED = "media.rejected", _("Media refused")
    MEDIA_RETRY = "media.retry", _("Media processing to be retried")
    MEDIA_FAILED = "media.failed", _("Media processing failed")
    MEDIA_WAITING_FOR_STORAGE = "media.waiting_for_storage", _("Media waiting for storage")
    MEDIA_RERUN = "media.rerun", _("Media processing re-run by staff")
    MEDIA_QUARANTINE_DESTROYED = "media.quarantine_destroyed", _("Quarantine copy destroyed")
    MEDIA_VIEWED = "media.viewed", _("Media viewed by staff")
    MEDIA_DOWNLOADED_BY_PARTNER = "media.downloaded_by_partner", _("Media downloaded by a partner")

    KEYS_ROTATED = "keys.rotated", _("Sealed data re-sealed under the current key")
    COPY_DETECT_REQUESTED = "copy.detect_requested", _("Face detection started for publication")
    COPY_DETECTED = "copy.detected", _("Faces found; copy waiting for review")
    COPY_REGION_ADDED = "copy.region_added", _("Face region added by hand")
    COPY_REGION_REMOVED = "copy.region_removed", _("Detected face region removed")
    COPY_CHOICES_CHANGED = "copy.choices_changed", _("Publication method or voice choice changed")
    COPY_APPROVED = "copy.approved", _("Publishable copy approved")
    COPY_PUBLISHED = "copy.published", _("Publishable copy made, sanitized and stored")
    COPY_FAILED = "copy.failed", _("Publishable copy failed")
    COPY_DOWNLOADED_BY_PARTNER = (
        "copy.downloaded_by_partner",
        _("Publishable copy downloaded by a partner"),
    )

    CONTACT_REVEALED = "contact.revealed", _("Contact details revealed")
    CONTACT_READ_BY_PARTNER = "contact.read_by_partner", _("Contact details read by a partner")
    MESSAGE_ASKED = "message.asked", _("Question sent to the witness")
    MESSAGE_REPLIED = "message.replied", _("Witness replied")

    CASE_STATUS_CHANGED = "case.status_changed", _("Case status changed")
    CASE_UPDATED = "case.updated", _("Triage fields changed")
    CASE_NOTE_ADDED = "case.note_added", _("Note added")

    INCIDENT_CREATED = "incident.created", _("Incident created")
    INCIDENT_GROUPED = "incident.grouped", _("Report grouped into an incident")
    INCIDENT_RENAMED = "incident.renamed", _("Incident renamed")

    ALERT_SENT = "alert.sent", _("Urgent report alert sent")
    ALERT_SUPPRESSED = "alert.suppressed", _("Urgent report alert suppressed (hourly limit)")
    ALERT_MEDIA_FAILED = "alert.media_failed", _("Moderators alerted to failed media")
    ALERT_DIGEST_SENT = "alert.digest_sent", _("On-call told how many alerts were suppressed")
    ALERT_FAILED = "alert.failed", _("Alert could not be sent after every retry")

    STAFF_CREATED = "staff.created", _("Staff account created")
    STAFF_OTP_ENROLLED = "staff.otp_enrolled", _("Two-factor device enrolled")
    STAFF_OTP_CHANGED = "staff.otp_changed", _("Two-factor device changed")
    STAFF_OTP_REMOVED = "staff.otp_removed", _("Two-factor device removed")
    STAFF_PASSWORD_SET = "staff.password_set", _("Staff password set")
    STAFF_ROLES_CHANGED = "staff.roles_changed", _("Staff roles changed")
    STAFF_PERMISSIONS_CHANGED = "staff.permissions_changed", _("Staff permissions changed")
    STAFF_ACCOUNT_CHANGED = "staff.account_changed", _("Staff account status changed")
    STAFF_ENROLMENT_ISSUED = "staff.enrolment_issued", _("One-time enrolment link issued")
    STAFF_LOGIN = "staff.login", _("Staff login")
    STAFF_LOGIN_FAILED = "staff.login_failed", _("Staff login failed")

    PARTNER_CREATED = "partner.created", _("Partner organisation created")
    PARTNER_CHANGED = "partner.changed", _("Partner organisation changed")
    PARTNER_KEY_CREATED = "partner.key_created", _("Partner API key created")
    PARTNER_KEY_REVOKED = "partner.key_revoked", _("Partner API key revoked")
    PARTNER_CASE_UPDATED = "partner.case_updated", _("Partner updated its case record")

    WEBHOOK_ENDPOINT_CREATED = "webhook.endpoint_created", _("Webhook endpoint created")
    WEBHOOK_ENDPOINT_CHANGED = "webhook.endpoint_changed", _("Webhook endpoint changed")
    WEBHOOK_RETRIED = "webhook.retried", _("Webhook delivery retried")
