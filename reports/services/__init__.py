"""Every state change of the domain, each writing its audit event.

Views, admin actions, API views and tasks call these; nothing else writes these models.
One module per sub-domain; callers import from the package (``services.report_approve``):

- audit: the audit trail every service writes to
- errors: why a service refuses (ServiceError and its kinds, each with a code and status)
- media: media item rows through the pipeline, and the report queued once they settle
- moderation: a report's arrival, edit lock, redaction, approval or rejection, incidents
- triage: case status, triage fields, notes, messages, the contact reveal
- sharing: shares with partner organisations, the CSV export record
- alerts: urgent reports and failed media, to people on call
- retention: legal hold, the purge, and the retention policy's run
- staff: staff accounts and their one-time enrolment links
- partners: partner organisations, API keys and what partners do through the API
- webhooks: signed event deliveries to partners
- keys: re-sealing contact details and quarantine files under the current key
- publication: publishable copies with faces hidden, their regions and approval
"""

from reports.models import CASE_TRANSITIONS
from reports.services.alerts import (
    AlertNotSent,
    alert_backoff_s,
    alert_give_up,
    alerts_digest_send,
    moderators_alert_failed_media,
    report_alert_enqueue,
    report_alert_send,
    report_is_urgent,
)
from reports.services.audit import audit_actor, audit_record
from reports.services.errors import (
    ContactNotAvailable,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    InvalidTransition,
    PublishNotAllowed,
    ReportLocked,
    ServiceError,
    ShareNotAllowed,
    UploadConflict,
)
from reports.services.keys import (
    contact_keys_rotate,
    media_item_quarantine_resealed,
    quarantine_keys_rotated_record,
)
from reports.services.media import (
    media_item_claim,
    media_item_forget_quarantine,
    media_item_mark_clean,
    media_item_quarantine,
    media_item_reject,
    media_item_reject_on_receipt,
    media_item_release,
    media_item_retry,
    media_item_upload_abandon,
    media_item_upload_append,
    media_item_upload_start,
    media_item_wait,
    media_items_quarantine,
    report_settle_if_ready,
)
from reports.services.moderation import (
    Redaction,
    incident_group,
    incident_rename,
    report_approve,
    report_create,
    report_lock_acquire,
    report_lock_release,
    report_redact,
    report_reject,
)
from reports.services.partners import (
    idempotency_records_purge,
    idempotent_response,
    media_download_record,
    partner_api_key_create,
    partner_api_key_revoke,
    partner_api_key_touch,
    partner_case_read,
    partner_case_update,
    partner_contacts_read,
    partner_create,
    partner_organisation_save,
)
from reports.services.publication import (
    publishable_copy_approve,
    publishable_copy_choose,
    publishable_copy_claim,
    publishable_copy_detect,
    publishable_copy_detected,
    publishable_copy_download_record,
    publishable_copy_fail,
    publishable_copy_progress,
    publishable_copy_publish,
    publishable_copy_region_add,
    publishable_copy_region_remove,
    publishable_copy_requeue,
)
from reports.services.retention import report_legal_hold_set, report_purge, retention_purge
from reports.services.sharing import (
    report_share,
    report_share_contact,
    report_share_revoke,
    reports_export_record,
)
from reports.services.staff import (
    staff_create,
    staff_enrolment_complete,
    staff_enrolment_device,
    staff_enrolment_reset,
    staff_enrolment_user,
    staff_superuser_create,
)
from reports.services.triage import (
    report_case_status_set,
    report_contact_reveal,
    report_message_ask,
    report_message_reply,
    report_note_add,
    report_triage_update,
)
from reports.services.webhooks import (
    webhook_deliver,
    webhook_delivery_enqueue,
    webhook_delivery_retry,
    webhook_endpoint_save,
    webhook_event_emit,
    webhooks_sweep,
)

__all__ = [
    "CASE_TRANSITIONS",
    "AlertNotSent",
    "ContactNotAvailable",
    "IdempotencyKeyInFlight",
    "IdempotencyKeyReused",
    "InvalidTransition",
    "PublishNotAllowed",
    "Redaction",
    "ReportLocked",
    "ServiceError",
    "ShareNotAllowed",
    "UploadConflict",
    "alert_backoff_s",
    "alert_give_up",
    "alerts_digest_send",
    "audit_actor",
    "audit_record",
    "contact_keys_rotate",
    "idempotency_records_purge",
    "idempotent_response",
    "incident_group",
    "incident_rename",
    "media_download_record",
    "media_item_claim",
    "media_item_forget_quarantine",
    "media_item_mark_clean",
    "media_item_quarantine",
    "media_item_quarantine_resealed",
    "media_item_reject",
    "media_item_reject_on_receipt",
    "media_item_release",
    "media_item_retry",
    "media_item_upload_abandon",
    "media_item_upload_append",
    "media_item_upload_start",
    "media_item_wait",
    "media_items_quarantine",
    "moderators_alert_failed_media",
    "partner_api_key_create",
    "partner_api_key_revoke",
    "partner_api_key_touch",
    "partner_case_read",
    "partner_case_update",
    "partner_contacts_read",
    "partner_create",
    "partner_organisation_save",
    "publishable_copy_approve",
    "publishable_copy_choose",
    "publishable_copy_claim",
    "publishable_copy_detect",
    "publishable_copy_detected",
    "publishable_copy_download_record",
    "publishable_copy_fail",
    "publishable_copy_progress",
    "publishable_copy_publish",
    "publishable_copy_region_add",
    "publishable_copy_region_remove",
    "publishable_copy_requeue",
    "quarantine_keys_rotated_record",
    "report_alert_enqueue",
    "report_alert_send",
    "report_approve",
    "report_case_status_set",
    "report_contact_reveal",
    "report_create",
    "report_is_urgent",
    "report_legal_hold_set",
    "report_lock_acquire",
    "report_lock_release",
    "report_message_ask",
    "report_message_reply",
    "report_note_add",
    "report_purge",
    "report_redact",
    "report_reject",
    "report_settle_if_ready",
    "report_share",
    "report_share_contact",
    "report_share_revoke",
    "report_triage_update",
    "reports_export_record",
    "retention_purge",
    "staff_create",
    "staff_enrolment_complete",
    "staff_enrolment_device",
    "staff_enrolment_reset",
    "staff_enrolment_user",
    "staff_superuser_create",
    "webhook_deliver",
    "webhook_delivery_enqueue",
    "webhook_delivery_retry",
    "webhook_endpoint_save",
    "webhook_event_emit",
    "webhooks_sweep",
]
