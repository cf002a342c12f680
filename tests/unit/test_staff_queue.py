"""The moderation queue for volume and the conversation with the witness (issue 12):
urgency order, excerpts, flags that show only what is true, filters, search by short id
and by text, Approve & next, a reject reason that must be chosen, the lock released by
the page's beacon, "witness replied" in both lists, and the conversation on both report
pages, in order, with who asked and when."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from reports import selectors, services
from reports.models import MediaItem, Moderation, Report
from reports.roles import ROLE_PERMISSIONS
from tests.factories.staff import staff_user, verified_client

pytestmark = pytest.mark.django_db

QUEUE = "/admin/reports/moderationqueue/"
TEMPLATES = Path(__file__).resolve().parents[2] / "reports" / "templates" / "admin" / "reports"


def _pending(n: int, minutes_ago: int, **fields: object) -> Report:
    fields.setdefault("moderation", Moderation.PENDING)
    fields.setdefault("description", f"Report {n} about agents on the corner.")
    return Report.objects.create(
        receipt_hash=f"{n:064x}",
        received_at=timezone.now() - timedelta(minutes=minutes_ago),
        **fields,
    )


def _short(report: Report) -> str:
    return str(report.pk)[:8]


def _listed(client: Client, url: str, **params: str) -> list[str]:
    """The short ids of the rows a list page shows, in order."""
    html = client.get(url, params).content.decode()
    return re.findall(r'<th class="field-short_id"><a href="[^"]+">([0-9a-f]{8})</a>', html)


def test_queue_is_ordered_by_urgency_then_age(moderator: User) -> None:
    oldest = _pending(1, 300)
    newer = _pending(2, 10)
    children = _pending(3, 20, children_present="yes")
    injuries = _pending(4, 30, injuries="yes")
    now = _pending(5, 5, happening_now=True)
    now_and_children = _pending(6, 1, happening_now=True, children_present="yes")
    assert _listed(verified_client(moderator), QUEUE) == [
        _short(r) for r in (now_and_children, now, children, injuries, oldest, newer)
    ]


def test_queue_rows_show_an_excerpt_and_only_true_flags(moderator: User) -> None:
    long_text = "Agents stopped a car on Main Street and took the driver away. " * 5
    _pending(1, 5, description=long_text, happening_now=False, children_present="no")
    html = verified_client(moderator).get(QUEUE).content.decode()
    excerpt = re.search(r'<td class="field-excerpt">(?:<a[^>]*>)?([^<]*)', html)
    assert excerpt is not None
    assert 100 <= len(excerpt.group(1)) <= 121 and excerpt.group(1).endswith("…")
    # Nothing is drawn for what did not happen: no red cross, no "no" flag.
    assert "icon-no" not in html and "testigo-flag-now" not in html
    assert "testigo-flag-children" not in html


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"now": "yes"}, ["now"]),
        ({"children": "yes"}, ["children"]),
        ({"injuries": "yes"}, ["injuries"]),
        ({"media": "yes"}, ["media"]),
        ({"media": "no"}, ["now", "children", "injuries", "warrant", "replied", "spanish"]),
        ({"replied": "yes"}, ["replied"]),
        ({"language__exact": "es"}, ["spanish"]),
        ({"warrant__exact": "not_shown"}, ["warrant"]),
    ],
)
def test_queue_filters(moderator: User, params: dict[str, str], expected: list[str]) -> None:
    reports = {
        "now": _pending(1, 1, happening_now=True),
        "children": _pending(2, 2, children_present="yes"),
        "injuries": _pending(3, 3, injuries="yes"),
        "media": _pending(4, 4),
        "spanish": _pending(5, 5, language="es"),
        "replied": _pending(6, 6),
        "warrant": _pending(7, 7, warrant="not_shown"),
    }
    MediaItem.objects.create(report=reports["media"], status="clean")
    services.report_message_ask(report=reports["replied"], by=moderator, body="Where?")
    services.report_message_reply(report=reports["replied"], body="Elm St.")
    asked_only = reports["now"]
    services.report_message_ask(report=asked_only, by=moderator, body="Still there?")
    listed = _listed(verified_client(moderator), QUEUE, **params)
    assert listed == [_short(reports[name]) for name in expected]


def test_queue_search_by_short_id_and_by_text(moderator: User) -> None:
    vans = _pending(1, 1, description="Three white vans outside the bakery.")
    other = _pending(2, 2, description="Agents at the courthouse.", town="Springfield")
    client = verified_client(moderator)
    assert _listed(client, QUEUE, q=_short(other)) == [_short(other)]
    assert _listed(client, QUEUE, q=str(other.pk)) == [_short(other)]
    assert _listed(client, QUEUE, q="white bakery") == [_short(vans)]
    assert _listed(client, QUEUE, q="springfield") == [_short(other)]
    assert _listed(client, QUEUE, q="nothing like this") == []


def test_reports_list_search_by_short_id(legal_aid: User) -> None:
    report = _pending(1, 1, moderation=Moderation.APPROVED, case_status="new")
    client = verified_client(legal_aid)
    assert _listed(client, "/admin/reports/report/", q=_short(report)) == [_short(report)]


def test_approve_and_next_opens_the_next_report_nobody_holds(moderator: User) -> None:
    first = _pending(1, 30, happening_now=True)
    held = _pending(2, 20, children_present="yes")
    following = _pending(3, 10)
    other = staff_user("mod2", "moderator")
    services.report_lock_acquire(report=held, by=other)
    client = verified_client(moderator)
    client.get(reverse("admin:reports_moderationqueue_change", args=[first.pk]))
    response = client.post(
        reverse("admin:reports_moderationqueue_approve", args=[first.pk]),
        {"_page": "1", "_next": "1", "description_redacted": first.description},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:reports_moderationqueue_change", args=[following.pk]
    )
    first.refresh_from_db()
    assert first.moderation == Moderation.APPROVED
    # The queue's own "Open the next report" goes to the most urgent free one.
    opened = client.get(reverse("admin:reports_moderationqueue_next"))
    assert opened["Location"] == reverse(
        "admin:reports_moderationqueue_change", args=[following.pk]
    )


def test_reject_reason_starts_blank_and_must_be_chosen(moderator: User) -> None:
    report = _pending(1, 1)
    client = verified_client(moderator)
    page = client.get(reverse("admin:reports_moderationqueue_change", args=[report.pk]))
    select = re.search(
        r'<select name="reason"[^>]*>\s*<option value="([^"]*)"', page.content.decode()
    )
    assert select is not None and select.group(1) == ""
    assert "selected>Spam" not in page.content.decode()
    refused = client.post(
        reverse("admin:reports_moderationqueue_reject", args=[report.pk]),
        {"_page": "1", "reason": "", "description_redacted": "[kept]"},
    )
    assert refused.status_code == 200
    assert "Choose why this report is rejected." in refused.content.decode()
    assert "[kept]" in refused.content.decode()
    report.refresh_from_db()
    assert report.moderation == Moderation.PENDING


def test_unlock_beacon_releases_only_the_lock_of_the_page_left(moderator: User) -> None:
    report = _pending(1, 1)
    client = verified_client(moderator)
    client.get(reverse("admin:reports_moderationqueue_change", args=[report.pk]))
    report.refresh_from_db()
    first = report.locked_until
    assert first is not None
    # A reload renewed the lock: the first page's beacon must not free it.
    client.get(reverse("admin:reports_moderationqueue_change", args=[report.pk]))
    report.refresh_from_db()
    assert report.locked_until != first
    url = reverse("admin:reports_moderationqueue_unlock", args=[report.pk])
    assert client.post(url, {"until": first.isoformat()}).status_code == 204
    report.refresh_from_db()
    assert report.locked_by == moderator
    assert report.locked_until is not None
    assert client.post(url, {"until": report.locked_until.isoformat()}).status_code == 204
    assert Report.objects.filter(id=report.id, locked_by=None, locked_until=None).exists()


def test_report_page_has_the_unlock_beacon_and_the_words_first(moderator: User) -> None:
    report = _pending(1, 1)
    html = (
        verified_client(moderator)
        .get(reverse("admin:reports_moderationqueue_change", args=[report.pk]))
        .content.decode()
    )
    report.refresh_from_db()
    assert report.locked_until is not None
    assert f'data-lock-until="{report.locked_until.isoformat()}"' in html
    assert reverse("admin:reports_moderationqueue_unlock", args=[report.pk]) in html
    order = [html.index(marker) for marker in ('id="words-title"', 'id="media-title"',
             'class="testigo-decisions"', 'id="facts-title"')]  # fmt: skip
    assert order == sorted(order)
    assert "Keyboard shortcuts" in html


def test_staff_pages_have_no_inline_style_or_script() -> None:
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert "style=" not in text, template.name
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template.name


def test_conversation_is_shown_in_order_with_who_and_when(moderator: User, legal_aid: User) -> None:
    report = _pending(1, 1)
    services.report_message_ask(report=report, by=moderator, body="Which street?")
    services.report_message_reply(report=report, body="Elm and 4th.")
    services.report_message_ask(report=report, by=moderator, body="How many vans?")
    mod_page = verified_client(moderator).get(
        reverse("admin:reports_moderationqueue_change", args=[report.pk])
    )
    texts = ["Which street?", "Elm and 4th.", "How many vans?"]
    html = mod_page.content.decode()
    assert [html.index(t) for t in texts] == sorted(html.index(t) for t in texts)
    assert "<strong>mod</strong> asked" in html and "<strong>The witness</strong> replied" in html
    assert html.index("Conversation with the witness") < html.index('name="question"')

    services.report_approve(report=report, by=moderator)
    aid_page = verified_client(legal_aid).get(
        reverse("admin:reports_report_change", args=[report.pk])
    )
    html = aid_page.content.decode()
    assert [html.index(t) for t in texts] == sorted(html.index(t) for t in texts)
    first = report.messages.first()
    assert first is not None
    assert f"{timezone.localtime(first.created_at):%Y-%m-%d %H:%M}" in html


def test_report_list_shows_and_filters_witness_replied(moderator: User, legal_aid: User) -> None:
    replied = _pending(1, 1, moderation=Moderation.APPROVED, case_status="new")
    quiet = _pending(2, 2, moderation=Moderation.APPROVED, case_status="new")
    services.report_message_ask(report=replied, by=moderator, body="Where?")
    services.report_message_reply(report=replied, body="Elm St.")
    services.report_message_ask(report=quiet, by=moderator, body="Where?")
    client = verified_client(legal_aid)
    html = client.get("/admin/reports/report/").content.decode()
    assert html.count("testigo-replied") == 1
    assert _listed(client, "/admin/reports/report/", replied="yes") == [_short(replied)]


def test_moderator_and_legal_aid_may_read_the_conversation() -> None:
    for role in ("moderator", "legal_aid"):
        assert "reports.view_reportmessage" in ROLE_PERMISSIONS[role]
        assert staff_user(f"r-{role}", role).has_perm("reports.view_reportmessage")


def test_queue_next_is_none_when_everything_is_held(moderator: User) -> None:
    report = _pending(1, 1)
    services.report_lock_acquire(report=report, by=staff_user("mod2", "moderator"))
    assert selectors.moderation_queue_next(by=moderator) is None
