"""The partner API and witnesses' contact details: given only with the witness's consent to
partner contact and legal aid's decision for that partner, never cached, and decrypted only
for what is given (promise 5)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from reports import services
from reports.contact import Contact, contact_open
from reports.models import AuditEvent, Report, ReportShare, WebhookDelivery, WebhookEndpoint
from reports.services import partners as partner_services
from tests.factories.partner_world import PartnerWorld, approved_report, build_partner_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> PartnerWorld:
    return build_partner_world()


def _contact_world(world: PartnerWorld) -> ReportShare:
    """Report "a" (shared with A) whose witness left contact details and agreed that a
    partner organisation may contact them; returns A's share of it."""
    Report.objects.filter(id=world.reports["a"].id).update(consent_contact_partners=True)
    return ReportShare.objects.get(report=world.reports["a"], organisation=world.a)


def test_partner_contact_only_with_partner_consent_and_legal_aid_decision(
    world: PartnerWorld,
) -> None:
    share = _contact_world(world)
    url = reverse("api-partner-report", args=[world.reports["a"].id])
    # The witness's consent alone gives nothing: legal aid decides, partner by partner.
    assert "contact" not in world.client("a").get(url).json()
    endpoint = WebhookEndpoint.objects.create(
        organisation=world.a, url="https://a.example/hook", secret="s" * 64
    )
    services.report_share_contact(share=share, by=world.lawyer)
    services.report_share_contact(share=share, by=world.lawyer)  # twice: one decision
    [told] = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert (told.event, told.payload["data"]) == (
        "report.updated",
        {"report_id": str(world.reports["a"].id)},
    )
    decided = AuditEvent.objects.get(action="report.contact_shared")
    assert (decided.actor, decided.report_id, decided.data) == (
        world.lawyer,
        world.reports["a"].id,
        {"organisation_id": world.a.id},
    )
    response = world.client("a").get(url)
    assert response.json()["contact"] == {"channel": "", "value": "+1 555 0101", "safe_times": ""}
    assert response["Cache-Control"] == "no-store"
    listed = world.client("a").get(reverse("api-partner-reports"))
    contacts = {r["id"]: r.get("contact") for r in listed.json()["results"]}
    assert contacts == {
        str(world.reports["a"].id): response.json()["contact"],
        str(world.reports["revoked"].id): None,
    }
    assert listed["Cache-Control"] == "no-store"
    reads = AuditEvent.objects.filter(action="contact.read_by_partner")
    assert set(reads.values_list("report_id", "actor_label")) == {
        (world.reports["a"].id, f"partner:{world.a.id}")
    }
    assert reads.count() == 2
    # Another partner of the same report has no decision of its own: nothing.
    world.share("a", "b")
    other = world.client("b").get(url)
    assert (other.status_code, "contact" in other.json()) == (200, False)
    # A revoked share takes the decision with it; sharing again starts without one.
    world.revoke("a", "a")
    world.share("a", "a")
    assert "contact" not in world.client("a").get(url).json()


def test_partner_contact_never_without_the_witness_partner_consent(world: PartnerWorld) -> None:
    # The witness agreed that legal aid may contact them, not a partner organisation.
    share = ReportShare.objects.get(report=world.reports["a"], organisation=world.a)
    with pytest.raises(services.ShareNotAllowed, match="contacted by a partner organisation"):
        services.report_share_contact(share=share, by=world.lawyer)
    # Even a decision recorded by other means is not enough at read time.
    ReportShare.objects.filter(id=share.id).update(contact_shared_at=timezone.now())
    url = reverse("api-partner-report", args=[world.reports["a"].id])
    assert "contact" not in world.client("a").get(url).json()
    assert not AuditEvent.objects.filter(action="contact.read_by_partner").exists()


def test_partner_contact_decision_is_legal_aids_alone(
    world: PartnerWorld, administrator: Any, moderator: Any
) -> None:
    share = _contact_world(world)
    for user in (administrator, moderator):
        with pytest.raises(PermissionDenied):
            services.report_share_contact(share=share, by=user)
    share.refresh_from_db()
    assert share.contact_shared_at is None


def test_partner_list_decrypts_only_the_contacts_it_gives(
    world: PartnerWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(10, 30):
        report = approved_report(n, contact=Contact(value=f"+1 555 01{n}"), consent_contact=True)
        Report.objects.filter(id=report.id).update(consent_contact_partners=True)
        services.report_share(report=report, organisation=world.a, by=world.lawyer)
    services.report_share_contact(share=_contact_world(world), by=world.lawyer)
    opened: list[Any] = []

    def counting_open(**kw: Any) -> Contact:
        opened.append(kw["report_id"])
        return contact_open(**kw)

    monkeypatch.setattr(partner_services, "contact_open", counting_open)
    response = world.client("a").get(reverse("api-partner-reports"), {"page_size": 100})
    assert len(response.json()["results"]) == 22
    assert opened == [world.reports["a"].id]
