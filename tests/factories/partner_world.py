"""Two partner organisations, A and B, each with reports shared through the real
services, clean and unsanitized media, and an API key per organisation."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone
from rest_framework.test import APIClient

from reports import services
from reports.contact import Contact
from reports.models import (
    CopyStatus,
    MediaItem,
    MediaStatus,
    Moderation,
    PartnerOrganisation,
    PublishableCopy,
    Report,
    ReportShare,
)
from reports.roles import LEGAL_AID
from tests.factories.staff import staff_user

# A's profile: a few facts and the publishable copies. B's: two facts. Fields outside
# A's never reach A.
A_FIELDS = ["received_at", "town", "warrant", "agencies", "description", "publishable_copies"]


@dataclasses.dataclass
class PartnerWorld:
    lawyer: User
    a: PartnerOrganisation
    b: PartnerOrganisation
    key_a: str
    key_b: str
    reports: dict[str, Report]
    media: dict[str, MediaItem]
    copies: dict[str, PublishableCopy] = dataclasses.field(default_factory=dict)

    def client(self, org: str = "a") -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {self.key_a if org == 'a' else self.key_b}")
        return client

    def share(self, report: str, org: str) -> ReportShare:
        organisation = self.a if org == "a" else self.b
        return services.report_share(
            report=self.reports[report], organisation=organisation, by=self.lawyer
        )

    def revoke(self, report: str, org: str) -> None:
        organisation = self.a if org == "a" else self.b
        share = ReportShare.objects.get(
            report=self.reports[report], organisation=organisation, revoked_at__isnull=True
        )
        services.report_share_revoke(share=share, by=self.lawyer)


def approved_report(n: int, **facts: Any) -> Report:
    contact = facts.pop("contact", None)
    report = services.report_create(
        receipt_hash=f"{n:064x}",
        description=f"Report {n}: agents at the corner store.",
        facts={
            "consent_share_partners": True,
            "town": f"Town{n}",
            "warrant": "not_shown",
            "agencies": ["ice"],
            "children_present": "yes",
            **facts,
        },
        contact=contact,
    )
    Report.objects.filter(id=report.id).update(
        moderation=Moderation.APPROVED, case_status="new", reviewed_at=timezone.now()
    )
    report.refresh_from_db()
    return report


def clean_media(report: Report, data: bytes = b"\xff\xd8sanitized-jpeg\xff\xd9") -> MediaItem:
    name = storages["media"].save(f"partner-test/{report.id}.jpg", ContentFile(data))
    return MediaItem.objects.create(
        report=report,
        status=MediaStatus.CLEAN,
        media_name=name,
        detected_format="jpeg",
        media_kind="image",
        sha256_sanitized="ab" * 32,
        manifest={"size_out": len(data), "width": 64, "height": 48, "capture_time": "x"},
    )


def published_copy(
    item: MediaItem, data: bytes = b"\xff\xd8faces-hidden\xff\xd9"
) -> PublishableCopy:
    """A publishable copy as the worker leaves it (intake/publication.py): made, stored."""
    name = storages["media"].save(f"publication/{item.report_id}/copy.jpg", ContentFile(data))
    return PublishableCopy.objects.create(
        media_item=item,
        report=item.report,
        status=CopyStatus.PUBLISHED,
        kind="photo",
        name=name,
        content_type="image/jpeg",
        sha256=hashlib.sha256(data).hexdigest(),
        approved_at=timezone.now(),
    )


def build_partner_world() -> PartnerWorld:
    lawyer = staff_user("partner-lawyer", LEGAL_AID)
    a, key_a = services.partner_create(name="Org A", shared_fields=A_FIELDS)
    b, key_b = services.partner_create(name="Org B", shared_fields=["received_at", "town"])
    reports = {
        "a": approved_report(1, contact=Contact(value="+1 555 0101"), consent_contact=True),
        "b": approved_report(2),
        "revoked": approved_report(3),
    }
    media = {
        "a": clean_media(reports["a"]),
        "b": clean_media(reports["b"]),
        "revoked": clean_media(reports["revoked"]),
    }
    # Never listed and never downloadable: still in quarantine.
    MediaItem.objects.create(report=reports["a"], status=MediaStatus.QUARANTINED, position=1)
    world = PartnerWorld(lawyer, a, b, key_a, key_b, reports, media)
    world.copies = {name: published_copy(item) for name, item in media.items()}
    # Never listed: still in review.
    PublishableCopy.objects.create(
        media_item=media["a"], report=reports["a"], status=CopyStatus.REVIEW, kind="photo"
    )
    world.share("a", "a")
    world.share("b", "b")
    world.share("revoked", "a")
    return world
