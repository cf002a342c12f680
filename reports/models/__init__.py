"""The domain's data, one module per part of the story. Behaviour lives in services/
(writes) and selectors.py (reads); callers import from the package (``from reports.models
import Report``), and Django finds every model because this module imports it.

- facts: the choices of what a witness reports (place, agencies, warrant, answers)
- reports: the report through moderation and case work, incidents, labels, messages, notes
- media: media items and their states (MEDIA_TRANSITIONS)
- audit: the append-only audit trail
- partners: partner organisations, shares, API keys, partner cases, idempotency records
- webhooks: partner endpoints and deliveries
- publication: publishable copies with faces hidden, and their face regions

The recorded vocabularies (RefusalReason, AuditAction) live in reports/vocabulary.py and
are re-exported here.
"""

from reports.models.audit import AuditEvent
from reports.models.facts import (
    REPORTED_FACTS,
    Agency,
    Answer,
    ContactChannel,
    PlaceType,
    Warrant,
    WitnessRelation,
)
from reports.models.media import (
    MEDIA_STAFF_TRANSITIONS,
    MEDIA_TRANSITIONS,
    SETTLED_MEDIA,
    MediaItem,
    MediaStatus,
)
from reports.models.partners import (
    IdempotencyRecord,
    PartnerAPIKey,
    PartnerCase,
    PartnerCaseStatus,
    PartnerOrganisation,
    ReportShare,
)
from reports.models.publication import (
    COPY_TRANSITIONS,
    CopyStatus,
    FaceRegion,
    HideMethod,
    PublishableCopy,
    RegionSource,
)
from reports.models.reports import (
    CASE_TRANSITIONS,
    REDACTABLE_FACTS,
    CaseStatus,
    Incident,
    Label,
    MessageSender,
    Moderation,
    ModerationQueue,
    Priority,
    RejectReason,
    Report,
    ReportMessage,
    ReportNote,
)
from reports.models.webhooks import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from reports.vocabulary import AuditAction, RefusalReason

__all__ = [
    "CASE_TRANSITIONS",
    "COPY_TRANSITIONS",
    "MEDIA_STAFF_TRANSITIONS",
    "MEDIA_TRANSITIONS",
    "REDACTABLE_FACTS",
    "REPORTED_FACTS",
    "SETTLED_MEDIA",
    "Agency",
    "Answer",
    "AuditAction",
    "AuditEvent",
    "CaseStatus",
    "ContactChannel",
    "CopyStatus",
    "DeliveryStatus",
    "FaceRegion",
    "HideMethod",
    "IdempotencyRecord",
    "Incident",
    "Label",
    "MediaItem",
    "MediaStatus",
    "MessageSender",
    "Moderation",
    "ModerationQueue",
    "PartnerAPIKey",
    "PartnerCase",
    "PartnerCaseStatus",
    "PartnerOrganisation",
    "PlaceType",
    "Priority",
    "PublishableCopy",
    "RefusalReason",
    "RegionSource",
    "RejectReason",
    "Report",
    "ReportMessage",
    "ReportNote",
    "ReportShare",
    "Warrant",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "WitnessRelation",
]
