"""Publishable copies through the partner API: listed and downloadable only by an
organisation whose sharing profile includes them, for a report shared with it now;
anything else a problem+json 404; every download audited."""

from __future__ import annotations

import hashlib

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from reports import services
from reports.api.serializers import copy_token
from reports.models import AuditAction, AuditEvent, PartnerOrganisation
from tests.factories.partner_world import PartnerWorld, build_partner_world
from tests.factories.problems import assert_problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> PartnerWorld:
    return build_partner_world()


def test_copies_listed_with_a_working_link_and_the_download_audited(world: PartnerWorld) -> None:
    report = world.reports["a"]
    copy = world.copies["a"]
    listed = world.client("a").get(reverse("api-partner-report-copies", args=[report.id]))
    detail = world.client("a").get(reverse("api-partner-report", args=[report.id])).json()
    row = listed.json()[0]
    download = APIClient().get(row["download_url"])
    body = b"".join(download.streaming_content)  # type: ignore[attr-defined]
    audited = AuditEvent.objects.filter(action=AuditAction.COPY_DOWNLOADED_BY_PARTNER).get()
    assert (
        listed.status_code,
        detail["publishable_copies"],
        (row["id"], row["kind"], row["content_type"], row["media_item_id"]),
        download.status_code,
        hashlib.sha256(body).hexdigest() == row["sha256"],
        (audited.actor_label, audited.data["copy_id"]),
    ) == (
        200,
        [str(copy.id)],
        (str(copy.id), "photo", "image/jpeg", str(world.media["a"].id)),
        200,
        True,
        (f"partner:{world.a.id}", str(copy.id)),
    )


def test_copies_outside_the_sharing_profile_answer_404(world: PartnerWorld) -> None:
    fields = [f for f in world.a.shared_fields if f != "publishable_copies"]
    PartnerOrganisation.objects.filter(id=world.a.id).update(shared_fields=fields)
    report = world.reports["a"]
    token = copy_token(copy_id=world.copies["a"].id, organisation_id=world.a.id)
    listed = world.client("a").get(reverse("api-partner-report-copies", args=[report.id]))
    detail = world.client("a").get(reverse("api-partner-report", args=[report.id])).json()
    download = APIClient().get(reverse("api-partner-copy-download", args=[token]))
    assert_problem(listed, status=404, code="not_found", detail="Not found.")
    assert_problem(download, status=404, code="not_found", detail="Not found.")
    assert "publishable_copies" not in detail


def test_copy_link_stops_when_the_share_is_revoked(world: PartnerWorld) -> None:
    url = reverse(
        "api-partner-copy-download",
        args=[copy_token(copy_id=world.copies["revoked"].id, organisation_id=world.a.id)],
    )
    before = APIClient().get(url).status_code
    world.revoke("revoked", "a")
    assert_problem(APIClient().get(url), status=404, code="not_found", detail="Not found.")
    assert before == 200


def test_copy_link_forged_or_for_another_organisation_answers_404(world: PartnerWorld) -> None:
    theirs = copy_token(copy_id=world.copies["b"].id, organisation_id=world.a.id)
    for token in ("not-a-token", theirs):
        response = APIClient().get(reverse("api-partner-copy-download", args=[token]))
        assert_problem(response, status=404, code="not_found", detail="Not found.")


def test_copies_of_a_report_shared_after_publication_appear(world: PartnerWorld) -> None:
    world.share("b", "a")
    listed = world.client("a").get(
        reverse("api-partner-report-copies", args=[world.reports["b"].id])
    )
    assert [c["id"] for c in listed.json()] == [str(world.copies["b"].id)]
    services.report_share_revoke(
        share=world.reports["b"].shares.get(organisation=world.a, revoked_at__isnull=True),
        by=world.lawyer,
    )
