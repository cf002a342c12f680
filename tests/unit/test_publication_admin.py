"""The publication pages of the admin: the report page's "hide faces" button, and the
review page (one form): regions drawn, a box added, a false one removed, the method and
voice choices kept with every action, approval; moderators never reach any of it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from reports import services
from reports.models import AuditAction, AuditEvent, CopyStatus, HideMethod, PublishableCopy
from reports.roles import LEGAL_AID, MODERATOR
from tests.factories.publication import clean_item, publishable_report
from tests.factories.staff import staff_user, verified_client

pytestmark = pytest.mark.django_db


def _copy_in_review(n: int) -> PublishableCopy:
    lawyer = staff_user(f"lawyer{n}", LEGAL_AID)
    report = publishable_report(n)
    item = clean_item(report, b"\xff\xd8x\xff\xd9", kind="image", fmt="jpeg", ext="jpg")
    copy = services.publishable_copy_detect(item=item, by=lawyer)
    return services.publishable_copy_detected(
        copy=copy,
        kind="photo",
        size=(640, 480),
        fps=0.0,
        frame_count=1,
        tracks=[{"score": 0.9, "boxes": {"0": [10, 10, 80, 90]}}],
        samples=[],
    )


def _page(copy: PublishableCopy, **fields: str) -> dict[str, str]:
    return {"_page": "1", "method": copy.method, **fields}


def test_report_page_hide_faces_button_starts_a_copy_and_opens_review() -> None:
    lawyer = staff_user("lawyer", LEGAL_AID)
    report = publishable_report(1)
    item = clean_item(report, b"\xff\xd8x\xff\xd9", kind="image", fmt="jpeg", ext="jpg")
    client = verified_client(lawyer)
    page = client.get(reverse("admin:reports_report_change", args=[report.pk]))
    url = reverse("admin:reports_report_publish", args=[report.pk, item.pk])
    response = client.post(url, {"_page": "1", "priority": report.priority})
    copy = PublishableCopy.objects.get()
    assert (
        url in page.content.decode(),
        response.status_code,
        response["Location"],
        copy.status,
    ) == (
        True,
        302,
        reverse("admin:reports_publishablecopy_change", args=[copy.pk]),
        CopyStatus.DETECTING,
    )


def test_review_page_moderator_refused_everywhere() -> None:
    copy = _copy_in_review(2)
    client = verified_client(staff_user("mod", MODERATOR))
    region = copy.regions.get()
    answers = [
        client.get(reverse("admin:reports_publishablecopy_change", args=[copy.pk])).status_code,
        client.post(
            reverse("admin:reports_publishablecopy_approve", args=[copy.pk]), _page(copy)
        ).status_code,
        client.post(
            reverse("admin:reports_publishablecopy_remove_region", args=[copy.pk, region.pk]),
            _page(copy),
        ).status_code,
        client.get(reverse("admin:reports_publishablecopy_frame", args=[copy.pk, 0])).status_code,
    ]
    copy.refresh_from_db()
    assert (answers, copy.status, region.removed) == (
        [403, 403, 403, 403],
        CopyStatus.REVIEW,
        False,
    )


def test_review_page_add_remove_then_approve_keeps_the_method_chosen() -> None:
    copy = _copy_in_review(3)
    lawyer = staff_user("reviewer", LEGAL_AID)
    client = verified_client(lawyer)
    change = reverse("admin:reports_publishablecopy_change", args=[copy.pk])
    page = client.get(change).content.decode()
    region = copy.regions.get()
    added = client.post(
        reverse("admin:reports_publishablecopy_add_region", args=[copy.pk]),
        _page(copy, method=HideMethod.MOSAIC, region_box="100,100,160,170", region_frame="0"),
    )
    removed = client.post(
        reverse("admin:reports_publishablecopy_remove_region", args=[copy.pk, region.pk]),
        _page(copy, method=HideMethod.MOSAIC),
    )
    approved = client.post(
        reverse("admin:reports_publishablecopy_approve", args=[copy.pk]),
        _page(copy, method=HideMethod.MOSAIC),
    )
    copy.refresh_from_db()
    actions = list(
        AuditEvent.objects.filter(action__startswith="copy.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert (
        'id="testigo-regions"' in page,
        [added.status_code, removed.status_code, approved.status_code],
        copy.status,
        copy.method,
        sorted(copy.regions.values_list("source", "removed")),
        actions[2:],
    ) == (
        True,
        [302, 302, 302],
        CopyStatus.RENDERING,
        HideMethod.MOSAIC,
        [("added", False), ("detected", True)],
        [
            AuditAction.COPY_CHOICES_CHANGED,
            AuditAction.COPY_REGION_ADDED,
            AuditAction.COPY_REGION_REMOVED,
            AuditAction.COPY_APPROVED,
        ],
    )


def test_review_page_approve_with_a_drawn_box_not_added_refuses_and_keeps_it() -> None:
    copy = _copy_in_review(4)
    client = verified_client(staff_user("reviewer", LEGAL_AID))
    response = client.post(
        reverse("admin:reports_publishablecopy_approve", args=[copy.pk]),
        _page(copy, region_box="100,100,160,170", region_frame="0"),
    )
    copy.refresh_from_db()
    body = response.content.decode()
    assert (response.status_code, "a box you drew" in body, 'value="100,100,160,170"' in body) == (
        200,
        True,
        True,
    )
    assert copy.status == CopyStatus.REVIEW


def test_review_page_bad_box_gets_a_clear_error_not_a_500() -> None:
    copy = _copy_in_review(5)
    client = verified_client(staff_user("reviewer", LEGAL_AID))
    response = client.post(
        reverse("admin:reports_publishablecopy_add_region", args=[copy.pk]),
        _page(copy, region_box="ten,20", region_frame="0"),
    )
    assert (response.status_code, "four numbers" in response.content.decode()) == (200, True)
