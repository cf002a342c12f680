"""One row of every admin model and a user of every role, for the role-by-view table."""

from __future__ import annotations

import dataclasses
from typing import Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import Group, User
from django.utils import timezone

from reports.contact import Contact
from reports.models import (
    AuditEvent,
    CopyStatus,
    FaceRegion,
    Incident,
    Label,
    MediaItem,
    MediaStatus,
    Moderation,
    PartnerOrganisation,
    PublishableCopy,
    Report,
    ReportShare,
    WebhookDelivery,
    WebhookEndpoint,
)
from reports.services import partner_api_key_create, report_create
from tests.factories.publication import clean_item
from tests.factories.staff import device_of, staff_user


@dataclasses.dataclass
class World:
    users: dict[str, User | None]
    # One object per admin model (the role table's URLs); the failed item is the media one.
    objects: dict[str, Any]
    # A clean photo of the approved report: what "hide faces" (publish) starts from.
    publishable_item: Any


def build_world() -> World:
    users: dict[str, User | None] = {
        "anonymous": None,
        "moderator": staff_user("w-moderator", "moderator"),
        "legal_aid": staff_user("w-legal", "legal_aid"),
        "admin": staff_user("w-admin", "admin"),
    }
    approved = report_create(
        receipt_hash="a" * 64,
        description="approved",
        facts={
            "consent_contact": True,
            "consent_share_partners": True,
            "consent_contact_partners": True,
            "consent_publish": True,
            "town": "X",
        },
        contact=Contact(value="+1 555 0100"),
    )
    Report.objects.filter(id=approved.id).update(
        moderation=Moderation.APPROVED, case_status="new", reviewed_at=timezone.now()
    )
    pending = Report.objects.create(receipt_hash="b" * 64, description="p", moderation="pending")
    # A file whose processing failed, for the moderator's "re-run" button.
    failed = MediaItem.objects.create(
        report=pending, status=MediaStatus.FAILED, quarantine_name="failed.tq", attempts=3
    )
    organisation = PartnerOrganisation.objects.create(name="Partner", shared_fields=["id"])
    share = ReportShare.objects.create(report=approved, organisation=organisation)
    api_key, _key = partner_api_key_create(organisation=organisation, name="k")
    endpoint = WebhookEndpoint.objects.create(
        organisation=organisation, url="https://partner.example/hook", secret="s" * 64
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event="report.shared", payload={"event": "report.shared"}
    )
    device = device_of(users["moderator"])  # type: ignore[arg-type]
    item = clean_item(approved, b"\xff\xd8x\xff\xd9", kind="image", fmt="jpeg", ext="jpg")
    copy = PublishableCopy.objects.create(
        media_item=item,
        report=approved,
        status=CopyStatus.REVIEW,
        kind="photo",
        width=64,
        height=48,
        frame_count=1,
        samples=[{"frame": 0, "name": item.media_name}],
    )
    region = FaceRegion.objects.create(
        copy=copy, source="detected", track={"boxes": {"0": [1, 1, 20, 20]}}
    )
    objects: dict[str, Any] = {
        "reports_report": approved,
        "reports_moderationqueue": pending,
        "reports_mediaitem": failed,
        "reports_incident": Incident.objects.create(title="I"),
        "reports_label": Label.objects.create(name="L"),
        "reports_partnerorganisation": organisation,
        "reports_reportshare": share,
        "reports_partnerapikey": api_key,
        "reports_webhookendpoint": endpoint,
        "reports_webhookdelivery": delivery,
        "reports_auditevent": AuditEvent.objects.create(action="x.test"),
        "reports_publishablecopy": copy,
        "reports_faceregion": region,
        "auth_user": users["moderator"],
        "auth_group": Group.objects.get(name="moderator"),
        "otp_totp_totpdevice": device,
        "axes_accessattempt": AccessAttempt.objects.create(
            username="someone",
            ip_address="192.0.2.1",
            attempt_time=timezone.now(),
            failures_since_start=1,
        ),
        "axes_accesslog": AccessLog.objects.create(
            username="someone", ip_address="192.0.2.1", attempt_time=timezone.now()
        ),
        "axes_accessfailurelog": AccessFailureLog.objects.create(
            username="someone", ip_address="192.0.2.1", attempt_time=timezone.now()
        ),
    }
    return World(users=users, objects=objects, publishable_item=item)
