from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.test import Client

from reports.models import AuditEvent, MediaItem, MediaStatus, Report
from tests.staff import verified_client

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
    client = Client()
    client.force_login(user)
    assert client.get(f"/staff/media/{item.id}/").status_code == 403


@pytest.mark.parametrize(
    "status",
    [MediaStatus.QUARANTINED, MediaStatus.PROCESSING, MediaStatus.REJECTED, MediaStatus.FAILED],
)
def test_staff_media_never_serves_unsanitized_items(moderator: User, status: str) -> None:
    item = _item(status, media_name="whatever.jpg")
    client = Client()
    client.force_login(moderator)
    assert client.get(f"/staff/media/{item.id}/").status_code == 404


def test_staff_media_serves_clean_item_and_audits_the_view(moderator: User) -> None:
    item = _clean_item()
    client = Client()
    client.force_login(moderator)
    response = client.get(f"/staff/media/{item.id}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"\xff\xd8sanitized\xff\xd9"  # type: ignore[attr-defined]
    assert response["Content-Type"] == "image/jpeg"
    event = AuditEvent.objects.get(action="media.viewed")
    assert (event.actor, event.media_item_id) == (moderator, item.id)


def test_moderation_queue_lists_pending_reports_for_moderator(moderator: User) -> None:
    pending = Report.objects.create(
        receipt_hash="a" * 64, description="pending one", moderation="pending"
    )
    Report.objects.create(receipt_hash="b" * 64, description="still received")
    client = verified_client(moderator)
    response = client.get("/admin/reports/moderationqueue/")
    assert response.status_code == 200
    assert [r.id for r in response.context["cl"].result_list] == [pending.id]
