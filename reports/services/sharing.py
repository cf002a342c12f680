"""What leaves for partner organisations by a staff decision: shares, revocations, the
decision to give a partner the witness's contact details, and the audited CSV export."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from reports import policy
from reports.models import (
    AuditAction,
    PartnerOrganisation,
    Report,
    ReportShare,
    WebhookEvent,
)
from reports.services.audit import audit_record
from reports.services.errors import ShareNotAllowed
from reports.services.webhooks import webhook_event_emit


def report_share(*, report: Report, organisation: PartnerOrganisation, by: User) -> ReportShare:
    """Share an approved report with one partner organisation, if the witness consented."""
    if not policy.can_share(by):
        raise PermissionDenied
    current = Report.objects.get(id=report.id)
    if not policy.can_share(by, current, organisation):
        raise ShareNotAllowed(policy.share_refusal(current, organisation))
    try:
        with transaction.atomic():
            share = ReportShare.objects.create(
                report=report, organisation=organisation, shared_by=by
            )
    except IntegrityError:
        # Already shared and not revoked: sharing again changes nothing.
        return ReportShare.objects.get(
            report=report, organisation=organisation, revoked_at__isnull=True
        )
    audit_record(
        action=AuditAction.REPORT_SHARED,
        actor=by,
        report_id=report.id,
        data={"organisation_id": organisation.id},
    )
    webhook_event_emit(
        event=WebhookEvent.REPORT_SHARED, report_id=report.id, organisation_ids=[organisation.id]
    )
    return share


def report_share_revoke(*, share: ReportShare, by: User) -> ReportShare:
    if not policy.can_share(by):
        raise PermissionDenied
    now = timezone.now()
    if ReportShare.objects.filter(id=share.id, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=by
    ):
        audit_record(
            action=AuditAction.REPORT_SHARE_REVOKED,
            actor=by,
            report_id=share.report_id,
            data={"organisation_id": share.organisation_id},
        )
        webhook_event_emit(
            event=WebhookEvent.SHARE_REVOKED,
            report_id=share.report_id,
            organisation_ids=[share.organisation_id],
        )
    share.refresh_from_db()
    return share


def report_share_contact(*, share: ReportShare, by: User) -> ReportShare:
    """Legal aid's decision to give the partner of ``share`` the witness's contact details,
    which it then reads through the API (each read audited). Only while the share lasts,
    and only when the witness agreed to be contacted by a partner organisation (policy).
    Deciding twice changes nothing."""
    if not policy.can_share_contact(by):
        raise PermissionDenied
    current = ReportShare.objects.select_related("report").get(id=share.id)
    refusal = policy.contact_share_refusal(current)
    if refusal is not None:
        raise ShareNotAllowed(refusal)
    with transaction.atomic():
        decided = ReportShare.objects.filter(
            id=share.id, revoked_at__isnull=True, contact_shared_at__isnull=True
        ).update(contact_shared_at=timezone.now(), contact_shared_by=by)
        if decided:
            audit_record(
                action=AuditAction.REPORT_CONTACT_SHARED,
                actor=by,
                report_id=current.report_id,
                data={"organisation_id": current.organisation_id},
            )
            webhook_event_emit(
                event=WebhookEvent.REPORT_UPDATED,
                report_id=current.report_id,
                organisation_ids=[current.organisation_id],
            )
    share.refresh_from_db()
    return share


def reports_export_record(*, by: User, count: int, query: str) -> None:
    """Audit a CSV export: who, how many rows, with which filters."""
    if not policy.can_export(by):
        raise PermissionDenied
    audit_record(
        action=AuditAction.REPORTS_EXPORTED, actor=by, data={"rows": count, "query": query[:500]}
    )
