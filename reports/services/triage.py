"""Legal aid's work on an approved report: case status, triage fields, internal notes,
questions to the witness and the audited reveal of their contact details."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from reports import policy
from reports.contact import Contact, contact_open
from reports.models import (
    CASE_TRANSITIONS,
    AuditAction,
    CaseStatus,
    Label,
    MessageSender,
    Priority,
    Report,
    ReportMessage,
    ReportNote,
    WebhookEvent,
)
from reports.services.audit import audit_record
from reports.services.errors import ContactNotAvailable, InvalidTransition, ServiceError
from reports.services.webhooks import webhook_event_emit_to_sharing_partners

# Marks a keyword argument the caller did not pass (None is a real value here).
UNCHANGED: Any = object()


def report_contact_reveal(*, report: Report, by: User) -> Contact:
    """Open the witness's contact details for a legal-aid user; every reveal is audited."""
    if not policy.can_reveal_contact(by):
        raise PermissionDenied
    # The predicate refuses a report with nothing sealed; "is None" only tells mypy so.
    if not policy.can_reveal_contact(by, report) or report.contact_sealed is None:
        raise ContactNotAvailable
    contact = contact_open(report_id=report.id, sealed=report.contact_sealed)
    audit_record(action=AuditAction.CONTACT_REVEALED, actor=by, report_id=report.id)
    return contact


def report_message_ask(*, report: Report, by: User, body: str) -> ReportMessage:
    """A staff member asks the witness a question, shown on the follow-up page."""
    if not policy.can_ask_witness(by):
        raise PermissionDenied
    if not body.strip():
        raise ServiceError("A question cannot be empty.")
    message = ReportMessage.objects.create(
        report=report, sender=MessageSender.STAFF, author=by, body=body
    )
    audit_record(action=AuditAction.MESSAGE_ASKED, actor=by, report_id=report.id)
    return message


def report_message_reply(*, report: Report, body: str) -> ReportMessage:
    """The witness writes on the follow-up page (no account: the receipt code is the key)."""
    message = ReportMessage.objects.create(report=report, sender=MessageSender.WITNESS, body=body)
    audit_record(action=AuditAction.MESSAGE_REPLIED, actor_label="witness", report_id=report.id)
    return message


def report_case_status_set(*, report: Report, by: User, status: str) -> Report:
    if not policy.can_triage(by):
        raise PermissionDenied
    with transaction.atomic():
        current = Report.objects.select_for_update().get(id=report.id)
        if not policy.can_triage(by, current):
            raise InvalidTransition("Only approved reports have a case status.")
        if status not in CASE_TRANSITIONS.get(current.case_status, set()):
            raise InvalidTransition(
                f"A case cannot go from {current.get_case_status_display()} to {status}."
            )
        previous = current.case_status
        current.case_status = status
        current.closed_at = timezone.now() if status == CaseStatus.CLOSED else None
        current.save(update_fields=["case_status", "closed_at", "updated_at"])
        audit_record(
            action=AuditAction.CASE_STATUS_CHANGED,
            actor=by,
            report_id=report.id,
            data={"from": previous, "to": status},
        )
        webhook_event_emit_to_sharing_partners(
            event=WebhookEvent.REPORT_UPDATED, report_id=report.id
        )
    report.refresh_from_db()
    return report


def report_triage_update(
    *,
    report: Report,
    by: User,
    priority: str = UNCHANGED,
    assignee: User | None = UNCHANGED,
    follow_up_on: date | None = UNCHANGED,
    labels: Iterable[Label] = UNCHANGED,
) -> Report:
    """Change triage fields; the audit event names what changed."""
    if not policy.can_triage(by):
        raise PermissionDenied
    changed: dict[str, Any] = {}
    with transaction.atomic():
        current = Report.objects.select_for_update().get(id=report.id)
        if not policy.can_triage(by, current):
            raise InvalidTransition("Only approved reports are triaged.")
        if priority is not UNCHANGED and priority != current.priority:
            if priority not in Priority.values:
                raise ServiceError(f"Unknown priority {priority!r}.")
            current.priority = priority
            changed["priority"] = priority
        if assignee is not UNCHANGED and (assignee.pk if assignee else None) != current.assignee_id:
            current.assignee = assignee
            changed["assignee"] = assignee.pk if assignee else None
        if follow_up_on is not UNCHANGED and follow_up_on != current.follow_up_on:
            current.follow_up_on = follow_up_on
            changed["follow_up_on"] = follow_up_on.isoformat() if follow_up_on else None
        current.save(update_fields=["priority", "assignee", "follow_up_on", "updated_at"])
        if labels is not UNCHANGED:
            wanted = {label.pk for label in labels}
            if wanted != set(current.labels.values_list("pk", flat=True)):
                current.labels.set(wanted)
                changed["labels"] = sorted(wanted)
        if changed:
            audit_record(
                action=AuditAction.CASE_UPDATED, actor=by, report_id=report.id, data=changed
            )
    report.refresh_from_db()
    return report


def report_note_add(*, report: Report, by: User, body: str) -> ReportNote:
    if not policy.can_triage(by):
        raise PermissionDenied
    if not body.strip():
        raise ServiceError("A note cannot be empty.")
    note = ReportNote.objects.create(report=report, author=by, body=body)
    audit_record(action=AuditAction.CASE_NOTE_ADDED, actor=by, report_id=report.id)
    return note
