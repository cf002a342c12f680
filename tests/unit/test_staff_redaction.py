"""Redaction covers every free-text fact and the witness's messages, and every exit past
the moderation screen carries the redacted text (issue 12): the legal-aid view and its
search, the CSV export, the partner API (and its town filter), webhooks, the audit trail.
A name is planted in each field, redacted on the moderator's page, and looked for
everywhere."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from rest_framework.test import APIClient

from reports import services
from reports.models import (
    REDACTABLE_FACTS,
    AuditEvent,
    Moderation,
    PartnerOrganisation,
    Report,
    WebhookDelivery,
    WebhookEndpoint,
)
from reports.policy import SHAREABLE_FIELDS
from tests.factories.staff import verified_client

pytestmark = pytest.mark.django_db

NAME = "Marisol Quintanilla"
PLANTED = {
    "description": f"Agents took {NAME} from her home.",
    "occurred_text": f"when {NAME} left for work",
    "location_text": f"outside {NAME}'s house",
    "town": f"{NAME} Heights",
    "local_police_department": f"Officer {NAME}'s precinct",
    "uniforms": f"a badge saying {NAME}",
    "vehicles": f"a van registered to {NAME}",
}
MESSAGE = f"It was {NAME}, my neighbour."


def _redacted(text: str) -> str:
    return text.replace(NAME, "[name]")


def _planted_report(moderator: User) -> Report:
    report = services.report_create(
        receipt_hash="f" * 64,
        description=PLANTED["description"],
        occurred_text=PLANTED["occurred_text"],
        location_text=PLANTED["location_text"],
        facts={
            **{f: PLANTED[f] for f in ("town", "local_police_department", "uniforms", "vehicles")},
            "consent_share_partners": True,
        },
    )
    services.report_settle_if_ready(report=report)
    services.report_message_reply(report=report, body=MESSAGE)
    return report


def _approve_on_the_page(moderator: User, report: Report) -> None:
    """What the moderator's browser posts: the page's one form, to the Approve button."""
    client = verified_client(moderator)
    page = client.get(reverse("admin:reports_moderationqueue_change", args=[report.pk]))
    assert NAME in page.content.decode()  # the moderator reads the witness's own words
    message = report.messages.get()
    data = {f"{fact}_redacted": _redacted(text) for fact, text in PLANTED.items()}
    data |= {f"message_{message.pk}": _redacted(MESSAGE), "_page": "1"}
    response = client.post(reverse("admin:reports_moderationqueue_approve", args=[report.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]


def test_every_free_text_fact_is_redactable() -> None:
    text_fields = {
        f.name
        for f in Report._meta.get_fields()
        if f.get_internal_type() in ("CharField", "TextField")
        and not getattr(f, "choices", None)
        and not f.name.endswith("_redacted")
    }
    # The rest are not the witness's words: a hash, a language code, a zone name.
    assert text_fields - set(REDACTABLE_FACTS) == {
        "receipt_hash",
        "language",
        "occurred_time_zone",
    }


def test_a_name_planted_in_every_field_leaves_by_no_exit(
    moderator: User, legal_aid: User, settings: object
) -> None:
    report = _planted_report(moderator)
    _approve_on_the_page(moderator, report)
    report.refresh_from_db()
    assert report.moderation == Moderation.APPROVED
    assert {fact: report.shown(fact) for fact in REDACTABLE_FACTS} == {
        fact: _redacted(text) for fact, text in PLANTED.items()
    }
    assert report.description == PLANTED["description"]  # the witness's words are kept

    partner = PartnerOrganisation.objects.create(
        name="Partner", shared_fields=list(SHAREABLE_FIELDS)
    )
    WebhookEndpoint.objects.create(
        organisation=partner, url="https://partner.example/hook", secret="s" * 64
    )
    services.report_share(report=report, organisation=partner, by=legal_aid)
    services.report_case_status_set(report=report, by=legal_aid, status="in_progress")

    lawyer = verified_client(legal_aid)
    exits = {
        "legal-aid page": lawyer.get(reverse("admin:reports_report_change", args=[report.pk])),
        "legal-aid list": lawyer.get(reverse("admin:reports_report_changelist")),
        "csv": lawyer.get(reverse("admin:reports_report_export")),
    }
    for name, response in exits.items():
        assert response.status_code == 200, name
        body = response.content.decode("utf-8-sig")
        assert NAME not in body, name
    assert "[name] Heights" in exits["legal-aid page"].content.decode()
    assert "It was [name], my neighbour." in exits["legal-aid page"].content.decode()
    rows = list(csv.DictReader(io.StringIO(exits["csv"].content.decode("utf-8-sig"))))
    assert {fact: rows[0][fact] for fact in PLANTED} == {
        fact: _redacted(text) for fact, text in PLANTED.items()
    }

    # Legal aid's search looks only at what legal aid is shown.
    found = lawyer.get(reverse("admin:reports_report_changelist"), {"q": "Quintanilla"})
    assert str(report.pk)[:8] not in found.content.decode()
    found = lawyer.get(reverse("admin:reports_report_changelist"), {"q": "Heights"})
    assert str(report.pk)[:8] in found.content.decode()

    _api_key, key = services.partner_api_key_create(organisation=partner, name="k")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    listing = api.get(reverse("api-partner-reports"))
    detail = api.get(reverse("api-partner-report", args=[report.pk]))
    for api_response in (listing, detail):
        assert api_response.status_code == 200
        assert NAME not in api_response.content.decode()
    assert {fact: detail.json()[fact] for fact in PLANTED} == {
        fact: _redacted(text) for fact, text in PLANTED.items()
    }
    # The town filter matches the town as shown, never the words it hid.
    by_original = api.get(reverse("api-partner-reports"), {"town": PLANTED["town"]})
    by_shown = api.get(reverse("api-partner-reports"), {"town": "[name] heights"})
    assert (len(by_original.json()["results"]), len(by_shown.json()["results"])) == (0, 1)

    payloads = [json.dumps(d.payload) for d in WebhookDelivery.objects.all()]
    assert len(payloads) == 2  # report.shared, report.updated
    assert all(NAME not in payload for payload in payloads)
    assert all(NAME not in json.dumps(e.data) for e in AuditEvent.objects.all())
    redacted = AuditEvent.objects.get(action="report.redacted", report_id=report.id)
    assert set(redacted.data) == {*PLANTED, f"message:{report.messages.get().pk}"}
