"""Admin list pages keep a constant number of queries as rows grow."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports.models import AuditEvent, Moderation, Report
from tests.factories.staff import verified_client

pytestmark = pytest.mark.django_db

PAGES = [
    ("/admin/reports/moderationqueue/", Moderation.PENDING),
    ("/admin/reports/report/", Moderation.APPROVED),
    ("/admin/reports/report/?view=urgent", Moderation.APPROVED),
    ("/admin/reports/auditevent/", Moderation.APPROVED),
]


def _make(n: int, start: int, moderation: str, user: User) -> None:
    Report.objects.bulk_create(
        Report(
            receipt_hash=f"{start + i:064x}",
            description="x",
            moderation=moderation,
            case_status="new" if moderation == Moderation.APPROVED else "",
            assignee=user,
            locked_by=user,
            town="Springfield",
        )
        for i in range(n)
    )
    AuditEvent.objects.bulk_create(AuditEvent(action="x.test", actor=user) for _ in range(n))


def _queries(client: object, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)  # type: ignore[attr-defined]
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize(("url", "moderation"), PAGES)
def test_admin_list_queries_constant_from_10_to_200_rows(
    url: str,
    moderation: str,
    moderator: User,
    legal_aid: User,
    administrator: User,
    django_assert_num_queries: Any,
) -> None:
    user = administrator if "auditevent" in url else (moderator if "queue" in url else legal_aid)
    client = verified_client(user)
    _make(10, 0, moderation, legal_aid)
    with_10 = _queries(client, url)
    _make(190, 10, moderation, legal_aid)
    with django_assert_num_queries(with_10):
        assert client.get(url).status_code == 200
