"""Publishable copies, the domain: who may make them (legal aid and admin, never a
moderator), only with the witness's consent, only of clean media of approved reports;
regions added and removed only in review; every step audited and one-way."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction

from reports import policy, services
from reports.models import (
    AuditAction,
    AuditEvent,
    CopyStatus,
    FaceRegion,
    HideMethod,
    PublishableCopy,
    RegionSource,
)
from reports.roles import ADMIN, LEGAL_AID, MODERATOR
from reports.services import InvalidTransition, PublishNotAllowed, ServiceError
from tests.factories.publication import clean_item, publishable_report
from tests.factories.staff import staff_user

pytestmark = pytest.mark.django_db


def _in_review(copy: PublishableCopy, tracks: int = 2) -> PublishableCopy:
    """As the worker leaves it after detection (intake/publication.py)."""
    return services.publishable_copy_detected(
        copy=copy,
        kind="photo",
        size=(640, 480),
        fps=0.0,
        frame_count=1,
        tracks=[
            {"score": 0.9, "boxes": {"0": [10 + 100 * i, 10, 80 + 100 * i, 90]}}
            for i in range(tracks)
        ],
        samples=[],
    )


def _copy(n: int, by: Any) -> PublishableCopy:
    report = publishable_report(n)
    item = clean_item(report, b"\xff\xd8x\xff\xd9", kind="image", fmt="jpeg", ext="jpg")
    return services.publishable_copy_detect(item=item, by=by)


def test_publish_permission_roles_legal_aid_and_admin_not_moderator() -> None:
    users = {role: staff_user(f"user-{role}", role) for role in (MODERATOR, LEGAL_AID, ADMIN)}
    assert {role: policy.can_publish(user) for role, user in users.items()} == {
        MODERATOR: False,
        LEGAL_AID: True,
        ADMIN: True,
    }


def test_publishable_copy_detect_moderator_refused_and_nothing_made() -> None:
    moderator = staff_user("mod", MODERATOR)
    report = publishable_report(1)
    item = clean_item(report, b"\xff\xd8x\xff\xd9", kind="image", fmt="jpeg", ext="jpg")
    with pytest.raises(PermissionDenied):
        services.publishable_copy_detect(item=item, by=moderator)
    assert PublishableCopy.objects.count() == 0


def test_publishable_copy_region_changes_by_moderator_refused() -> None:
    lawyer, moderator = staff_user("lawyer", LEGAL_AID), staff_user("mod", MODERATOR)
    copy = _in_review(_copy(2, lawyer))
    region = copy.regions.first()
    assert region is not None
    refused = []
    for attempt in (
        lambda: services.publishable_copy_region_remove(region=region, by=moderator),
        lambda: services.publishable_copy_region_add(
            copy=copy, box=[1, 1, 20, 20], frame_start=0, frame_end=0, follow=False, by=moderator
        ),
        lambda: services.publishable_copy_approve(
            copy=copy, method=HideMethod.FILL, distort_voice=False, by=moderator
        ),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
        refused.append(True)
    copy.refresh_from_db()
    assert (refused, copy.status, copy.regions.filter(removed=True).count()) == (
        [True, True, True],
        CopyStatus.REVIEW,
        0,
    )


def test_publishable_copy_detect_without_consent_refused() -> None:
    lawyer = staff_user("lawyer", LEGAL_AID)
    report = publishable_report(3, consent=False)
    item = clean_item(report, b"\xff\xd8x\xff\xd9", kind="image", fmt="jpeg", ext="jpg")
    with pytest.raises(PublishNotAllowed, match="did not consent"):
        services.publishable_copy_detect(item=item, by=lawyer)


def test_publishable_copy_detect_of_unclean_item_refused() -> None:
    lawyer = staff_user("lawyer", LEGAL_AID)
    report = publishable_report(4)
    item = clean_item(report, b"x", kind="image", fmt="jpeg", ext="jpg")
    item.status = "failed"
    item.save()
    with pytest.raises(PublishNotAllowed, match="sanitized"):
        services.publishable_copy_detect(item=item, by=lawyer)


def test_publishable_copy_detect_queues_after_commit_and_audits(
    django_capture_on_commit_callbacks: Any,
) -> None:
    lawyer = staff_user("lawyer", LEGAL_AID)
    report = publishable_report(5)
    item = clean_item(report, b"\xff\xd8x\xff\xd9", kind="image", fmt="jpeg", ext="jpg")
    with django_capture_on_commit_callbacks() as callbacks:
        copy = services.publishable_copy_detect(item=item, by=lawyer)
    events = list(
        AuditEvent.objects.filter(action__startswith="copy.").values_list("action", flat=True)
    )
    assert (copy.status, len(callbacks), events) == (
        CopyStatus.DETECTING,
        1,
        [AuditAction.COPY_DETECT_REQUESTED],
    )


def test_publishable_copy_review_add_remove_approve_audited() -> None:
    lawyer = staff_user("lawyer", LEGAL_AID)
    copy = _in_review(_copy(6, lawyer))
    detected = copy.regions.order_by("id").first()
    assert detected is not None
    services.publishable_copy_region_remove(region=detected, by=lawyer)
    added = services.publishable_copy_region_add(
        copy=copy, box=[300, 200, 360, 280], frame_start=0, frame_end=0, follow=False, by=lawyer
    )
    with transaction.atomic():
        services.publishable_copy_approve(
            copy=copy, method=HideMethod.MOSAIC, distort_voice=True, by=lawyer
        )
    copy.refresh_from_db()
    actions = list(
        AuditEvent.objects.filter(action__startswith="copy.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert (
        copy.status,
        copy.method,
        copy.distort_voice,
        copy.approved_by,
        added.source,
        sorted(
            FaceRegion.objects.filter(copy=copy, removed=False).values_list("source", flat=True)
        ),
        actions,
    ) == (
        CopyStatus.RENDERING,
        HideMethod.MOSAIC,
        True,
        lawyer,
        RegionSource.ADDED,
        [RegionSource.ADDED, RegionSource.DETECTED],
        [
            AuditAction.COPY_DETECT_REQUESTED,
            AuditAction.COPY_DETECTED,
            AuditAction.COPY_REGION_REMOVED,
            AuditAction.COPY_REGION_ADDED,
            AuditAction.COPY_APPROVED,
        ],
    )


def test_publishable_copy_after_approval_regions_frozen_and_second_approval_refused() -> None:
    lawyer = staff_user("lawyer", LEGAL_AID)
    copy = _in_review(_copy(7, lawyer))
    services.publishable_copy_approve(
        copy=copy, method=HideMethod.FILL, distort_voice=False, by=lawyer
    )
    region = copy.regions.first()
    assert region is not None
    with pytest.raises(InvalidTransition):
        services.publishable_copy_region_remove(region=region, by=lawyer)
    with pytest.raises(InvalidTransition):
        services.publishable_copy_approve(
            copy=copy, method=HideMethod.FILL, distort_voice=False, by=lawyer
        )
    assert copy.regions.filter(removed=True).count() == 0


def test_publishable_copy_region_add_outside_picture_refused() -> None:
    lawyer = staff_user("lawyer", LEGAL_AID)
    copy = _in_review(_copy(8, lawyer))
    with pytest.raises(ServiceError, match="inside the picture"):
        services.publishable_copy_region_add(
            copy=copy, box=[600, 400, 700, 500], frame_start=0, frame_end=0, follow=False, by=lawyer
        )
    assert copy.regions.filter(source=RegionSource.ADDED).count() == 0


def test_publishable_copy_claim_twice_only_first_gets_it() -> None:
    lawyer = staff_user("lawyer", LEGAL_AID)
    copy = _copy(9, lawyer)
    first = services.publishable_copy_claim(copy_id=copy.id, status=CopyStatus.DETECTING)
    second = services.publishable_copy_claim(copy_id=copy.id, status=CopyStatus.DETECTING)
    assert (first is not None, second) == (True, None)


def test_report_purge_removes_publishable_copies_and_review_frames() -> None:
    from django.core.files.base import ContentFile
    from django.core.files.storage import storages

    lawyer = staff_user("lawyer", LEGAL_AID)
    copy = _copy(10, lawyer)
    media = storages["media"]
    frame = media.save(
        f"publication/{copy.report_id}/{copy.id}/frame-000000.jpg", ContentFile(b"x")
    )
    made = media.save(f"publication/{copy.report_id}/{copy.id}/copy.jpg", ContentFile(b"y"))
    purged = services.report_purge(report=copy.report, reason="retention")
    assert (purged, media.exists(frame), media.exists(made), PublishableCopy.objects.count()) == (
        True,
        False,
        False,
        0,
    )
