"""The partner API's reads: only what is shared with the calling organisation."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from django.db.models import (
    Exists,
    OuterRef,
    Prefetch,
    QuerySet,
)

from reports.models import (
    CopyStatus,
    MediaItem,
    MediaStatus,
    Moderation,
    PartnerAPIKey,
    PartnerOrganisation,
    PublishableCopy,
    Report,
    ReportShare,
)

# --- Partner API --------------------------------------------------------------------------


def partner_api_key_from(key: str) -> PartnerAPIKey | None:
    """The usable key (not revoked, not expired, organisation active) for ``key``."""
    prefix, _dot, _rest = key.partition(".")
    api_key = (
        PartnerAPIKey.objects.filter(prefix=prefix, revoked=False, organisation__active=True)
        .select_related("organisation")
        .first()
    )
    if api_key is None or api_key.has_expired or not api_key.is_valid(key):
        return None
    found: PartnerAPIKey = api_key
    return found


def partner_reports(*, organisation: PartnerOrganisation) -> QuerySet[Report]:
    """THE set of reports a partner may see: approved, with an active (never revoked)
    share to this organisation. Every partner read starts here (design promise 6)."""
    active_share = ReportShare.objects.filter(
        report_id=OuterRef("pk"), organisation_id=organisation.id, revoked_at__isnull=True
    )
    # Contact details are read only for the reports that qualify (partner_contacts_read).
    published = PublishableCopy.objects.filter(status=CopyStatus.PUBLISHED).only("id", "report")
    return (
        Report.objects.filter(Exists(active_share), moderation=Moderation.APPROVED)
        .defer("contact_sealed")
        .prefetch_related(Prefetch("publishable_copies", published, to_attr="published_copies"))
    )


def partner_contact_report_ids(
    *, organisation: PartnerOrganisation, report_ids: Iterable[UUID]
) -> set[UUID]:
    """Of ``report_ids``, those whose contact details the organisation may read now: an
    active share with legal aid's decision to give them (services.report_share_contact),
    and the witness's consent to be contacted by a partner, with details left."""
    return set(
        ReportShare.objects.filter(
            organisation_id=organisation.id,
            report_id__in=list(report_ids),
            revoked_at__isnull=True,
            contact_shared_at__isnull=False,
            report__consent_contact_partners=True,
            report__contact_sealed__isnull=False,
        ).values_list("report_id", flat=True)
    )


def partner_report(*, organisation: PartnerOrganisation, report_id: Any) -> Report | None:
    try:
        report_uuid = UUID(str(report_id))
    except ValueError:
        return None
    return partner_reports(organisation=organisation).filter(id=report_uuid).first()


def partner_media_items(*, report: Report) -> QuerySet[MediaItem]:
    """Media a partner may have: clean, with a sanitized file. Nothing else is listed."""
    return (
        MediaItem.objects.filter(report=report, status=MediaStatus.CLEAN)
        .exclude(media_name="")
        .order_by("position", "id")
    )


def partner_media_item(
    *, organisation: PartnerOrganisation, media_item_id: Any
) -> MediaItem | None:
    """A clean item of a report shared with the organisation right now, else None."""
    try:
        item_uuid = UUID(str(media_item_id))
    except ValueError:
        return None
    return (
        MediaItem.objects.filter(
            id=item_uuid,
            status=MediaStatus.CLEAN,
            report__in=partner_reports(organisation=organisation),
        )
        .exclude(media_name="")
        .first()
    )


# A report's publishable copies reach a partner only when its sharing profile includes
# them: the same "publishable_copies" field that lists their ids on the report.
COPIES_FIELD = "publishable_copies"


def partner_publishable_copies(
    *, organisation: PartnerOrganisation, report: Report
) -> QuerySet[PublishableCopy]:
    """The report's made copies, if the organisation's profile includes them; else none."""
    if COPIES_FIELD not in (organisation.shared_fields or []):
        return PublishableCopy.objects.none()
    return PublishableCopy.objects.filter(report=report, status=CopyStatus.PUBLISHED).order_by(
        "approved_at", "id"
    )


def partner_publishable_copy(
    *, organisation: PartnerOrganisation, copy_id: Any
) -> PublishableCopy | None:
    """A made copy of a report shared with the organisation right now, its profile
    including copies; else None."""
    try:
        copy_uuid = UUID(str(copy_id))
    except ValueError:
        return None
    if COPIES_FIELD not in (organisation.shared_fields or []):
        return None
    return PublishableCopy.objects.filter(
        id=copy_uuid,
        status=CopyStatus.PUBLISHED,
        report__in=partner_reports(organisation=organisation),
    ).first()
