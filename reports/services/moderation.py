"""A report from arrival to a moderator's decision: received → pending (services.media
settles it once its media is done) → approved | rejected, under an edit lock; incidents
group reports of one event."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from reports import policy
from reports.contact import Contact, contact_seal
from reports.models import (
    REDACTABLE_FACTS,
    AuditAction,
    CaseStatus,
    Incident,
    MessageSender,
    Moderation,
    RejectReason,
    Report,
    ReportMessage,
    WebhookEvent,
)
from reports.services.alerts import report_alert_enqueue, report_is_urgent
from reports.services.audit import audit_record
from reports.services.errors import InvalidTransition, ReportLocked, ServiceError, require
from reports.services.webhooks import webhook_event_emit_to_sharing_partners


def report_create(
    *,
    receipt_hash: str,
    description: str,
    occurred_text: str = "",
    location_text: str = "",
    language: str = "en",
    facts: dict[str, Any] | None = None,
    contact: Contact | None = None,
) -> Report:
    """Store a witness's report. ``facts`` are further Report fields (town, warrant,
    consent flags, ...); ``contact`` is sealed before it is saved."""
    report = Report(
        receipt_hash=receipt_hash,
        description=description,
        occurred_text=occurred_text,
        location_text=location_text,
        language=language,
        **(facts or {}),
    )
    if contact is not None and contact.value:
        report.contact_sealed = contact_seal(report_id=report.id, contact=contact)
    report.save(force_insert=True)
    audit_record(action=AuditAction.REPORT_RECEIVED, actor_label="witness", report_id=report.id)
    if report_is_urgent(report):
        # At once, not after the media is sanitized: someone may be detained right now.
        transaction.on_commit(partial(report_alert_enqueue, report_id=report.id))
    return report


def _lock_free_for(by: User, now: datetime) -> Q:
    return Q(locked_by__isnull=True) | Q(locked_until__lt=now) | Q(locked_by=by)


def report_lock_acquire(*, report: Report, by: User) -> bool:
    """Take (or extend) the edit lock of a report. False when another moderator holds a
    lock that has not expired; the report then shows as taken."""
    if not policy.can_moderate(by):
        raise PermissionDenied
    now = timezone.now()
    until = now + timedelta(minutes=settings.TESTIGO_EDIT_LOCK_MINUTES)
    held = Report.objects.filter(id=report.id, locked_by=by, locked_until__gte=now)
    if held.update(locked_until=until):
        report.locked_until = until
        return True
    taken = Report.objects.filter(_lock_free_for(by, now), id=report.id).update(
        locked_by=by, locked_until=until
    )
    if not taken:
        report.refresh_from_db(fields=["locked_by", "locked_until"])
        return False
    report.locked_by, report.locked_until = by, until
    audit_record(action=AuditAction.REPORT_LOCKED, actor=by, report_id=report.id)
    return True


def report_lock_release(*, report: Report, by: User, until: datetime | None = None) -> bool:
    """Give up ``by``'s own edit lock; a lock someone else holds is left alone (the update
    is conditional on the holder). With ``until``, only the lock taken when the page that
    asks was shown: a page left after a reload must not free the lock the reload renewed.
    True when a lock was released."""
    if not policy.can_moderate(by):
        raise PermissionDenied
    held = Report.objects.filter(id=report.id, locked_by=by)
    if until is not None:
        held = held.filter(locked_until=until)
    if not held.update(locked_by=None, locked_until=None):
        return False
    audit_record(action=AuditAction.REPORT_UNLOCKED, actor=by, report_id=report.id)
    return True


@dataclasses.dataclass(frozen=True)
class Redaction:
    """A moderator's redactions, applied together: free-text facts by name (each of
    REDACTABLE_FACTS) and the witness's messages by id. Only what the moderator changed."""

    facts: Mapping[str, str] = dataclasses.field(default_factory=dict)
    messages: Mapping[int, str] = dataclasses.field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.facts or self.messages)


def _moderation_update(*, report: Report, by: User, **changes: Any) -> None:
    """Apply a moderation change to a pending report not locked by someone else."""
    now = timezone.now()
    updated = Report.objects.filter(
        _lock_free_for(by, now), id=report.id, moderation=Moderation.PENDING
    ).update(**changes)
    if updated == 1:
        return
    current = Report.objects.select_related("locked_by").get(id=report.id)
    if current.moderation != Moderation.PENDING:
        raise InvalidTransition(f"This report is already {current.get_moderation_display()}.")
    raise ReportLocked(f"This report is being handled by {current.locked_by}.")


def _redaction_changes(*, report: Report, by: User, redaction: Redaction) -> dict[str, Any]:
    """The report's column changes for ``redaction`` (empty when it names no fact)."""
    unknown = set(redaction.facts) - set(REDACTABLE_FACTS)
    if unknown:
        raise ServiceError(f"Not a free-text fact: {', '.join(sorted(unknown))}.")
    if not redaction:
        return {}
    changes: dict[str, Any] = {f"{fact}_redacted": text for fact, text in redaction.facts.items()}
    return {**changes, "redacted_at": timezone.now(), "redacted_by": by}


def _redaction_record(*, report: Report, by: User, redaction: Redaction) -> None:
    """Redact the witness's messages and audit the whole redaction (within the caller's
    transaction, after the report's own conditional update succeeded)."""
    lengths: dict[str, dict[str, int]] = {
        fact: {"original_length": len(str(getattr(report, fact))), "redacted_length": len(text)}
        for fact, text in redaction.facts.items()
    }
    messages = ReportMessage.objects.filter(
        report=report, sender=MessageSender.WITNESS, id__in=list(redaction.messages)
    ).in_bulk()
    if set(messages) != set(redaction.messages):
        raise ServiceError("Only the witness's messages on this report can be redacted.")
    for message_id, text in redaction.messages.items():
        ReportMessage.objects.filter(id=message_id).update(body_redacted=text)
        lengths[f"message:{message_id}"] = {
            "original_length": len(messages[message_id].body),
            "redacted_length": len(text),
        }
    # Lengths only: the audit trail never holds the witness's words.
    audit_record(action=AuditAction.REPORT_REDACTED, actor=by, report_id=report.id, data=lengths)


def _decide(*, report: Report, by: User, redaction: Redaction | None, **changes: Any) -> None:
    """One moderation update carrying the redaction with the decision's own changes."""
    redaction = redaction or Redaction()
    columns = _redaction_changes(report=report, by=by, redaction=redaction)
    _moderation_update(report=report, by=by, **columns, **changes)
    if redaction:
        _redaction_record(report=report, by=by, redaction=redaction)


def report_redact(*, report: Report, by: User, redaction: Redaction) -> Report:
    """Set the redacted text everyone downstream sees; the witness's words are kept."""
    if not policy.can_moderate(by):
        raise PermissionDenied
    if not redaction:
        return report
    with transaction.atomic():
        _decide(report=report, by=by, redaction=redaction)
    report.refresh_from_db()
    return report


def report_approve(*, report: Report, by: User, redaction: Redaction | None = None) -> Report:
    """Approve a pending report, with the moderator's redaction in the same update: the
    redaction and the approval are one decision, never one without the other."""
    if not policy.can_moderate(by):
        raise PermissionDenied
    now = timezone.now()
    with transaction.atomic():
        _decide(
            report=report,
            by=by,
            redaction=redaction,
            moderation=Moderation.APPROVED,
            case_status=CaseStatus.NEW,
            reviewed_at=now,
            reviewed_by=by,
            locked_by=None,
            locked_until=None,
        )
        audit_record(action=AuditAction.REPORT_APPROVED, actor=by, report_id=report.id)
    report.refresh_from_db()
    return report


def report_reject(
    *,
    report: Report,
    by: User,
    reason: str,
    duplicate_of: Report | None = None,
    redaction: Redaction | None = None,
) -> Report:
    """Reject a pending report for ``reason``; a redaction made on the way is kept too."""
    if not policy.can_moderate(by):
        raise PermissionDenied
    if reason not in RejectReason.values:
        raise ServiceError(f"Unknown reason {reason!r}." if reason else "Choose a reason.")
    if reason == RejectReason.DUPLICATE:
        if duplicate_of is None or duplicate_of.id == report.id:
            raise ServiceError("A duplicate needs the report it duplicates.")
    else:
        duplicate_of = None
    now = timezone.now()
    with transaction.atomic():
        _decide(
            report=report,
            by=by,
            redaction=redaction,
            moderation=Moderation.REJECTED,
            reject_reason=reason,
            duplicate_of=duplicate_of,
            reviewed_at=now,
            reviewed_by=by,
            locked_by=None,
            locked_until=None,
        )
        audit_record(
            action=AuditAction.REPORT_REJECTED,
            actor=by,
            report_id=report.id,
            data={
                "reason": reason,
                "duplicate_of": str(duplicate_of.id) if duplicate_of is not None else None,
            },
        )
    report.refresh_from_db()
    return report


def incident_group(
    *, reports: Sequence[Report], by: User, incident: Incident | None = None, title: str = ""
) -> Incident:
    """Group reports a moderator has confirmed describe one event. Joins the incident one
    of them is already in, or starts a new one."""
    if not policy.can_moderate(by):
        raise PermissionDenied
    if len(reports) < 2 and incident is None:
        raise ServiceError("Grouping needs at least two reports.")
    with transaction.atomic():
        if incident is None:
            existing = [r.incident_id for r in reports if r.incident_id is not None]
            if existing:
                incident = Incident.objects.get(id=existing[0])
            else:
                first = min(reports, key=lambda r: r.received_at)
                incident = Incident.objects.create(
                    title=title or f"Incident of {first.received_at:%Y-%m-%d} {first.town}".strip(),
                    created_by=by,
                )
                audit_record(
                    action=AuditAction.INCIDENT_CREATED, actor=by, data={"incident_id": incident.id}
                )
        for report in reports:
            if report.incident_id == incident.id:
                continue
            Report.objects.filter(id=report.id).update(incident=incident)
            report.incident = incident
            audit_record(
                action=AuditAction.INCIDENT_GROUPED,
                actor=by,
                report_id=report.id,
                data={"incident_id": incident.id},
            )
            webhook_event_emit_to_sharing_partners(
                event=WebhookEvent.REPORT_UPDATED, report_id=report.id
            )
    return incident


def incident_rename(*, incident: Incident, by: User, title: str) -> Incident:
    require(by, "reports.change_incident")
    Incident.objects.filter(id=incident.id).update(title=title)
    audit_record(action=AuditAction.INCIDENT_RENAMED, actor=by, data={"incident_id": incident.id})
    incident.refresh_from_db()
    return incident
