"""Setting up a partner, as a new administrator and a partner's developer would (issue
12): the sharing profile as labelled checkboxes, a warning for an empty profile (admin
and command line), an overview chart whose labels stay off their bars, and /api/docs/
written for a partner developer, with a 401 that names the Api-Key scheme."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from reports.charts import LABEL_CHARS, bar_chart
from reports.models import PartnerOrganisation
from reports.policy import SHAREABLE_FIELDS
from tests.factories.staff import verified_client

pytestmark = pytest.mark.django_db


def test_sharing_profile_is_labelled_checkboxes(administrator: User) -> None:
    client = verified_client(administrator)
    page = client.get(reverse("admin:reports_partnerorganisation_add")).content.decode()
    boxes = re.findall(r'<input type="checkbox" name="shared_fields" value="([a-z_]+)"', page)
    assert set(boxes) == set(SHAREABLE_FIELDS) - {"id"}
    assert "What happened (moderated, redacted)" in page
    assert "Town</label>" in page
    response = client.post(
        reverse("admin:reports_partnerorganisation_add"),
        {"name": "Legal Aid East", "active": "on", "shared_fields": ["received_at", "town"]},
    )
    assert response.status_code == 302
    assert PartnerOrganisation.objects.get().shared_fields == ["received_at", "town"]


def test_an_empty_profile_is_warned_about_in_the_admin(administrator: User) -> None:
    client = verified_client(administrator)
    saved = client.post(
        reverse("admin:reports_partnerorganisation_add"),
        {"name": "Legal Aid West", "active": "on"},
        follow=True,
    )
    assert "Legal Aid West has an empty sharing profile" in saved.content.decode()
    organisation = PartnerOrganisation.objects.get()
    page = client.get(reverse("admin:reports_partnerorganisation_change", args=[organisation.pk]))
    assert "has an empty sharing profile" in page.content.decode()
    listing = client.get(reverse("admin:reports_partnerorganisation_changelist"))
    assert "empty: ids only" in listing.content.decode()


def test_create_partner_without_fields_warns() -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_partner", "Legal Aid North", stdout=out, stderr=err)
    assert "receives only the id of each report" in err.getvalue()
    out, err = io.StringIO(), io.StringIO()
    call_command("create_partner", "Legal Aid South", "--fields", "town", stdout=out, stderr=err)
    assert err.getvalue() == ""


def test_overview_labels_are_cut_to_their_column() -> None:
    label = "Administrative (signed by an immigration officer)"
    svg = str(bar_chart([(label, 3)], title="Warrant shown"))
    assert f"<title>{label}</title>" in svg
    shown = re.search(r"</title>([^<]*)</text>", svg)
    assert shown is not None and len(shown.group(1)) <= LABEL_CHARS


def test_api_reference_is_written_for_a_partner_developer() -> None:
    schema = json.loads(APIClient().get("/api/schema/?format=json").content)
    operations = [op for ops in schema["paths"].values() for op in ops.values()]
    assert [op["tags"] for op in operations[:-1]] == [["Partner API"]] * (len(operations) - 1)
    assert operations[-1]["operationId"] == "intake_report_create"
    assert all(op.get("summary") for op in operations)
    assert operations[0]["summary"] == "List the reports shared with you"
    guide = schema["info"]["description"]
    assert "Authorization: Api-Key" in guide
    assert "## Webhooks" in guide
    assert "```python" in guide and "hmac.compare_digest" in guide
    assert "```javascript" in guide and "crypto.timingSafeEqual" in guide
    docs = APIClient().get("/api/docs/")
    assert docs.status_code == 200


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "not_authenticated"),
        ("Bearer abcd1234.secret", "authentication_failed"),
        ("Api-Key nope.nope", "authentication_failed"),
    ],
)
def test_a_401_names_the_expected_scheme(header: str | None, code: str) -> None:
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(reverse("api-partner-reports"))
    body = response.json()
    assert (response.status_code, body["code"]) == (401, code)
    assert "`Authorization: Api-Key <key>`" in body["detail"]
    assert response["WWW-Authenticate"] == "Api-Key"
