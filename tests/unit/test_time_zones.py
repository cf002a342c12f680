"""Time zones (issue 12): the witness's date and time is read on their phone's clock and
stored with its offset; staff see it with the zone; the partner API gives ISO 8601 with
the real offset. Without the phone's zone, the deployment's TIME_ZONE is the clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from intake.forms import ReportForm, witness_time
from reports import services
from reports.models import Moderation, PartnerOrganisation, Report
from reports.policy import report_fields
from tests.factories.staff import verified_client

pytestmark = pytest.mark.django_db


def _form(zone: str, when: str = "2026-07-04T07:40") -> dict[str, Any]:
    form = ReportForm({"description": "Agents at the bus stop.", "occurred_at": when,
                       "time_zone": zone})  # fmt: skip
    assert form.is_valid(), form.errors
    return form.submission().facts


@pytest.mark.parametrize(
    ("zone", "instant", "offset", "name"),
    [
        ("America/Chicago", datetime(2026, 7, 4, 12, 40, tzinfo=UTC), -300, "America/Chicago"),
        ("America/Sao_Paulo", datetime(2026, 7, 4, 10, 40, tzinfo=UTC), -180, "America/Sao_Paulo"),
        ("UTC-04:00", datetime(2026, 7, 4, 11, 40, tzinfo=UTC), -240, ""),
        ("UTC+05:30", datetime(2026, 7, 4, 2, 10, tzinfo=UTC), 330, ""),
        # Not a zone: the deployment's TIME_ZONE (UTC here), never an error for the witness.
        ("Mars/Olympus_Mons", datetime(2026, 7, 4, 7, 40, tzinfo=UTC), 0, "UTC"),
        ("", datetime(2026, 7, 4, 7, 40, tzinfo=UTC), 0, "UTC"),
    ],
)
def test_the_witness_time_is_read_on_their_clock(
    zone: str, instant: datetime, offset: int, name: str
) -> None:
    facts = _form(zone)
    assert (facts["occurred_at"], facts["occurred_utc_offset"], facts["occurred_time_zone"]) == (
        instant,
        offset,
        name,
    )


def test_winter_time_has_its_own_offset() -> None:
    assert _form("America/Chicago", "2026-01-15T07:40")["occurred_utc_offset"] == -360


def test_deployment_time_zone_is_the_clock_without_the_phones(settings: Any) -> None:
    settings.TIME_ZONE = "America/New_York"
    facts = witness_time(datetime(2026, 7, 4, 7, 40), "")
    assert (facts["occurred_utc_offset"], facts["occurred_time_zone"]) == (-240, "America/New_York")


def _report(**facts: Any) -> Report:
    report = services.report_create(
        receipt_hash="c" * 64, description="Agents at the bus stop.", facts=facts
    )
    Report.objects.filter(id=report.id).update(moderation=Moderation.APPROVED, case_status="new")
    report.refresh_from_db()
    return report


@pytest.mark.parametrize("when", ["0001-01-01T00:00", "9999-12-31T23:59", "1969-12-31T23:59"])
@pytest.mark.parametrize("zone", ["UTC+14:00", "UTC-12:00", "America/Chicago", ""])
def test_witness_time_outside_any_incident_year_is_a_translated_form_error(
    when: str, zone: str
) -> None:
    # Hypothesis found year 1 and 9999 overflowing when read on another clock (a 500).
    form = ReportForm(
        {"description": "Agents at the bus stop.", "occurred_at": when, "time_zone": zone}
    )
    with translation.override("es"):
        assert form.is_valid() is False
        assert form.errors["occurred_at"] == [
            "Escriba una fecha y hora, por ejemplo 2025-06-01 08:30."
        ]


def test_intake_api_year_one_answers_400_not_500() -> None:
    response = APIClient().post(
        "/api/v1/intake/reports/",
        {"description": "Agents.", "occurred_at": "0001-01-01T00:00", "time_zone": "UTC-12:00"},
        format="multipart",
    )
    assert response.status_code == 400, response.content


def test_staff_see_the_witness_time_with_its_zone(legal_aid: User) -> None:
    report = _report(**_form("America/Chicago"))
    page = verified_client(legal_aid).get(reverse("admin:reports_report_change", args=[report.pk]))
    assert "2026-07-04 07:40 UTC-05:00 (America/Chicago)" in page.content.decode()


def test_partner_api_gives_the_real_offset(legal_aid: User) -> None:
    report = _report(**{**_form("America/Chicago"), "consent_share_partners": True})
    assert report_fields(report, ["occurred_at"]) == {"occurred_at": "2026-07-04T07:40:00-05:00"}
    partner = PartnerOrganisation.objects.create(name="P", shared_fields=["occurred_at"])
    services.report_share(report=report, organisation=partner, by=legal_aid)
    _api_key, key = services.partner_api_key_create(organisation=partner, name="k")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    body = api.get(reverse("api-partner-report", args=[report.pk])).json()
    assert body["occurred_at"] == "2026-07-04T07:40:00-05:00"
