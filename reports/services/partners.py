"""Partner organisations and what they do through the API: keys, sharing profiles,
audited reads of contact details and downloads, their own case records, and
Idempotency-Key replays. A partner's actions are audited as ``partner:<id>``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from reports import selectors
from reports.contact import Contact, contact_open
from reports.models import (
    AuditAction,
    AuditEvent,
    IdempotencyRecord,
    MediaItem,
    PartnerAPIKey,
    PartnerCase,
    PartnerOrganisation,
    Report,
)
from reports.services.audit import audit_record
from reports.services.errors import IdempotencyKeyInFlight, IdempotencyKeyReused, require
from reports.services.triage import UNCHANGED


def _partner_label(organisation_id: int) -> str:
    # The audit trail's actor for what a partner does through the API.
    return f"partner:{organisation_id}"


def partner_organisation_save(
    *, organisation: PartnerOrganisation, by: User
) -> PartnerOrganisation:
    """Create or change a partner organisation and its sharing profile."""
    require(
        by,
        "reports.change_partnerorganisation"
        if organisation.pk
        else "reports.add_partnerorganisation",
    )
    created = organisation.pk is None
    organisation.save()
    audit_record(
        action=AuditAction.PARTNER_CREATED if created else AuditAction.PARTNER_CHANGED,
        actor=by,
        data={
            "organisation_id": organisation.id,
            "fields": list(organisation.shared_fields),
            "active": organisation.active,
        },
    )
    return organisation


def partner_api_key_create(
    *,
    organisation: PartnerOrganisation,
    name: str,
    expiry_date: datetime | None = None,
    by: User | None = None,
) -> tuple[PartnerAPIKey, str]:
    """A new API key; the key in clear is returned for the one time it is shown."""
    api_key, key = PartnerAPIKey.objects.create_key(
        organisation=organisation, name=name[:50], expiry_date=expiry_date
    )
    audit_record(
        action=AuditAction.PARTNER_KEY_CREATED,
        actor=by,
        actor_label="" if by else "system",
        data={"organisation_id": organisation.id, "prefix": api_key.prefix},
    )
    return api_key, key  # type: ignore[return-value]


def partner_api_key_revoke(*, api_key: PartnerAPIKey, by: User | None = None) -> None:
    if PartnerAPIKey.objects.filter(pk=api_key.pk, revoked=False).update(revoked=True):
        audit_record(
            action=AuditAction.PARTNER_KEY_REVOKED,
            actor=by,
            actor_label="" if by else "system",
            data={"organisation_id": api_key.organisation_id, "prefix": api_key.prefix},
        )
    api_key.refresh_from_db()


def partner_api_key_touch(*, api_key: PartnerAPIKey) -> None:
    """Record when a key was last used; at most one write a minute per key."""
    now = timezone.now()
    if api_key.last_used_at is None or api_key.last_used_at < now - timedelta(minutes=1):
        PartnerAPIKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now


def partner_create(
    *, name: str, shared_fields: Sequence[str] | None = None
) -> tuple[PartnerOrganisation, str]:
    """A partner organisation (from the command line) and its first API key, in clear."""
    with transaction.atomic():
        organisation = PartnerOrganisation.objects.create(
            name=name, shared_fields=list(shared_fields or [])
        )
        audit_record(
            action=AuditAction.PARTNER_CREATED,
            actor_label="system",
            data={"organisation_id": organisation.id, "fields": organisation.shared_fields},
        )
        _api_key, key = partner_api_key_create(organisation=organisation, name="first key")
    return organisation, key


def partner_contacts_read(
    *, reports: Sequence[Report], organisation: PartnerOrganisation
) -> dict[Any, Contact]:
    """Contact details of those of ``reports`` whose witness agreed to be contacted by a
    partner organisation and whose share with this one carries legal aid's decision to
    give them (selectors.partner_contact_report_ids). Only those are decrypted, and each
    read is audited, in one insert."""
    report_ids = selectors.partner_contact_report_ids(
        organisation=organisation, report_ids=[report.id for report in reports]
    )
    sealed = Report.objects.filter(id__in=report_ids).values_list("id", "contact_sealed")
    contacts = {
        report_id: contact_open(report_id=report_id, sealed=blob)
        for report_id, blob in sealed
        if blob
    }
    AuditEvent.objects.bulk_create(
        AuditEvent(
            action=AuditAction.CONTACT_READ_BY_PARTNER,
            actor_label=_partner_label(organisation.id),
            report_id=report_id,
            data={"organisation_id": organisation.id},
        )
        for report_id in contacts
    )
    return contacts


def partner_case_read(*, report: Report, organisation: PartnerOrganisation) -> PartnerCase:
    """The partner's own record on a report shared with it; a blank one (not stored, no
    ``updated_at``) until it first writes. The caller has checked the share."""
    case = PartnerCase.objects.filter(report=report, organisation=organisation).first()
    if case is None:
        case = PartnerCase(report=report, organisation=organisation)
        case.updated_at = None  # type: ignore[assignment]  # never written: no time
    return case


def partner_case_update(
    *,
    report: Report,
    organisation: PartnerOrganisation,
    status: str = UNCHANGED,
    reference: str = UNCHANGED,
    notes: str = UNCHANGED,
) -> PartnerCase:
    """Set the partner's own status, reference or notes on a report shared with it.
    The caller has checked the share (selectors.partner_report)."""
    with transaction.atomic():
        case, _created = PartnerCase.objects.select_for_update().get_or_create(
            report=report, organisation=organisation
        )
        changed = []
        for name, value in (("status", status), ("reference", reference), ("notes", notes)):
            if value is not UNCHANGED and getattr(case, name) != value:
                setattr(case, name, value)
                changed.append(name)
        if changed or _created:
            case.save()
            audit_record(
                action=AuditAction.PARTNER_CASE_UPDATED,
                actor_label=_partner_label(organisation.id),
                report_id=report.id,
                # Names of what changed and the status; never the partner's free text.
                data={
                    "organisation_id": organisation.id,
                    "changed": changed,
                    "status": case.status,
                },
            )
    return case


def idempotent_response(
    *,
    organisation: PartnerOrganisation,
    key: str,
    request_hash: str,
    run: Any,
) -> tuple[int, Any, bool]:
    """Run ``run()`` -> (status, body) once per (organisation, key): a repeat with the same
    request gets the first response back (replayed True), a different request with the
    key is refused.
    The record is made first, so a concurrent repeat waits on its row and then replays."""
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                organisation=organisation, key=key, request_hash=request_hash
            )
            status, body = run()
            record.response_status, record.response_body = status, body
            record.save(update_fields=["response_status", "response_body"])
            return status, body, False
    except IntegrityError:
        pass
    first = IdempotencyRecord.objects.get(organisation=organisation, key=key)
    if first.request_hash != request_hash:
        raise IdempotencyKeyReused("This Idempotency-Key was used with a different request.")
    if first.response_status is None:
        raise IdempotencyKeyInFlight(
            "The first request with this Idempotency-Key is still running."
        )
    return first.response_status, first.response_body, True


def idempotency_records_purge(*, older_than: datetime) -> int:
    return IdempotencyRecord.objects.filter(created_at__lt=older_than).delete()[0]


def media_download_record(*, item: MediaItem, organisation: PartnerOrganisation) -> None:
    audit_record(
        action=AuditAction.MEDIA_DOWNLOADED_BY_PARTNER,
        actor_label=_partner_label(organisation.id),
        report_id=item.report_id,
        media_item_id=item.id,
        data={"organisation_id": organisation.id},
    )
