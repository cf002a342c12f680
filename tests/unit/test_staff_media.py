"""Staff media views: sanitized files only, to a session verified with a second factor,
for reports the same user may see on the Reports pages, every view audited."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.test import Client

from reports.models import AuditEvent, MediaItem, MediaStatus, Moderation, Report
from tests.factories.staff import device_of, verified_client

pytestmark = pytest.mark.django_db


def _item(status: str, media_name: str = "") -> MediaItem:
    report = Report.objects.create(receipt_hash="h" * 64, description="x")
    return MediaItem.objects.create(
        report=report, status=status, media_name=media_name, detected_format="jpeg"
    )


def _clean_item() -> MediaItem:
    name = storages["media"].save("test/clean.jpg", ContentFile(b"\xff\xd8sanitized\xff\xd9"))
    return _item(MediaStatus.CLEAN, name)


def test_staff_media_requires_login() -> None:
    item = _clean_item()
    response = Client().get(f"/staff/media/{item.id}/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_staff_media_refuses_staff_without_permission() -> None:
    item = _clean_item()
    user = User.objects.create_user(username="s", password="pw", is_staff=True)
    assert verified_client(user).get(f"/staff/media/{item.id}/").status_code == 403


@pytest.mark.parametrize(
    "status",
    [MediaStatus.QUARANTINED, MediaStatus.PROCESSING, MediaStatus.REJECTED, MediaStatus.FAILED],
)
def test_staff_media_never_serves_unsanitized_items(moderator: User, status: str) -> None:
    item = _item(status, media_name="whatever.jpg")
    client = verified_client(moderator)
    assert client.get(f"/staff/media/{item.id}/").status_code == 404


def test_staff_media_serves_clean_item_and_audits_the_view(moderator: User) -> None:
    item = _clean_item()
    response = verified_client(moderator).get(f"/staff/media/{item.id}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"\xff\xd8sanitized\xff\xd9"  # type: ignore[attr-defined]
    assert response["Content-Type"] == "image/jpeg"
    event = AuditEvent.objects.get(action="media.viewed")
    assert (event.actor, event.media_item_id) == (moderator, item.id)


@pytest.mark.parametrize("path", ["/staff/media/{}/", "/staff/media/{}/preview/"])
@pytest.mark.parametrize(
    ("moderation", "legal_aid_sees"),
    [
        (Moderation.RECEIVED, False),
        (Moderation.PENDING, False),
        (Moderation.REJECTED, False),
        (Moderation.APPROVED, True),
    ],
)
def test_staff_media_follows_the_report_pages_row_visibility(
    legal_aid: User, moderator: User, path: str, moderation: str, legal_aid_sees: bool
) -> None:
    item = _clean_item()
    MediaItem.objects.filter(pk=item.pk).update(preview_name=item.media_name)
    Report.objects.filter(pk=item.report_id).update(moderation=moderation)
    url = path.format(item.id)
    # The same rule as the Reports list: legal aid sees approved reports only...
    report_listed = verified_client(legal_aid).get(
        f"/admin/reports/report/{item.report_id}/change/"
    )
    assert (report_listed.status_code == 200) is legal_aid_sees
    assert verified_client(legal_aid).get(url).status_code == (200 if legal_aid_sees else 404)
    # ...moderators every state.
    assert verified_client(moderator).get(url).status_code == 200


@pytest.mark.parametrize("path", ["/staff/media/{}/", "/staff/media/{}/preview/"])
def test_staff_media_needs_a_session_verified_with_a_device_that_still_exists(
    moderator: User, path: str
) -> None:
    item = _clean_item()
    MediaItem.objects.filter(pk=item.pk).update(preview_name=item.media_name)
    url = path.format(item.id)
    # Password only (no second factor): sent to the login page, as for the admin.
    password_only = Client()
    password_only.force_login(moderator)
    assert password_only.get(url).status_code == 302
    # Verified, then the device is removed (a lost phone): the session is no longer let in.
    client = verified_client(moderator)
    assert client.get(url).status_code == 200
    device_of(moderator).delete()
    response = client.get(url)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_moderation_queue_lists_pending_reports_for_moderator(moderator: User) -> None:
    pending = Report.objects.create(
        receipt_hash="a" * 64, description="pending one", moderation="pending"
    )
    Report.objects.create(receipt_hash="b" * 64, description="still received")
    client = verified_client(moderator)
    response = client.get("/admin/reports/moderationqueue/")
    assert response.status_code == 200
    assert [r.id for r in response.context["cl"].result_list] == [pending.id]
