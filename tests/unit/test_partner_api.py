"""The partner API: A never sees B's reports, revocation is immediate, fields outside a
profile never appear; responses never cached; keys, filters, media, partner cases (read
and write), idempotency, errors, docs. Contact details: test_partner_contact.py."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from reports import services
from reports.api import urls as api_urls
from reports.api.serializers import copy_token, media_token
from reports.models import (
    AuditEvent,
    IdempotencyRecord,
    PartnerAPIKey,
    PartnerCase,
    PartnerOrganisation,
)
from tests.factories.partner_world import (
    A_FIELDS,
    PartnerWorld,
    approved_report,
    build_partner_world,
)
from tests.factories.problems import assert_problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> PartnerWorld:
    return build_partner_world()


def _call(world: PartnerWorld, route: tuple[str, str], target: str, variant: str) -> Any:
    """Call ``route`` (URL name, method) as organisation A about ``target``'s report (a, b
    or revoked)."""
    endpoint, method = route
    client = world.client("a")
    report = world.reports[target]
    if endpoint == "api-partner-reports":
        variants: dict[str, dict[str, Any]] = {
            "plain": {},
            "filter": {"town": report.town, "warrant": "not_shown", "agency": "ice"},
            "ordering": {"ordering": "received_at", "page_size": 1},
            "updated": {"updated_since": (timezone.now() - timedelta(days=1)).isoformat()},
        }
        return client.get(reverse(endpoint), variants[variant])
    if endpoint == "api-partner-media-download":
        token = media_token(media_item_id=world.media[target].id, organisation_id=world.a.id)
        return APIClient().get(reverse(endpoint, args=[token]))
    if endpoint == "api-partner-copy-download":
        token = copy_token(copy_id=world.copies[target].id, organisation_id=world.a.id)
        return APIClient().get(reverse(endpoint, args=[token]))
    url = reverse(endpoint, args=[report.id])
    if method == "PATCH":
        return client.patch(url, {"status": "in_progress", "reference": "A-1"}, format="json")
    return client.get(url)


def _ids(response: Any) -> list[str]:
    """The report ids a response shows, following every cursor page."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=response.wsgi_request.META["HTTP_AUTHORIZATION"])
    ids: list[str] = []
    data = response.json()
    while True:
        ids += [r["id"] for r in data["results"]]
        if not data["next"]:
            return ids
        data = client.get(data["next"]).json()


# Every partner route (URL name, method), with the variants it is called in (filters,
# ordering, paging).
ENDPOINTS: dict[tuple[str, str], list[str]] = {
    ("api-partner-reports", "GET"): ["plain", "filter", "ordering", "updated"],
    ("api-partner-report", "GET"): ["plain"],
    ("api-partner-report-media", "GET"): ["plain"],
    ("api-partner-report-case", "GET"): ["plain"],
    ("api-partner-report-case", "PATCH"): ["plain"],
    ("api-partner-media-download", "GET"): ["plain"],
    ("api-partner-report-copies", "GET"): ["plain"],
    ("api-partner-copy-download", "GET"): ["plain"],
}
CASES = [
    (route, variant, target)
    for route, variants in ENDPOINTS.items()
    for variant in variants
    for target in ("a", "b", "revoked")
]


@pytest.mark.parametrize(("route", "variant", "target"), CASES)
def test_partner_endpoint_shows_only_what_is_shared_now(
    world: PartnerWorld, route: tuple[str, str], variant: str, target: str
) -> None:
    endpoint = route[0]
    own = str(world.reports["a"].id)
    if target == "revoked":
        # Visible while shared, gone the moment the share is revoked.
        before = _call(world, route, target, variant)
        assert before.status_code == 200
        world.revoke("revoked", "a")
    response = _call(world, route, target, variant)
    if endpoint == "api-partner-reports":
        assert response.status_code == 200
        ids = _ids(response)
        assert str(world.reports["b"].id) not in ids
        assert str(world.reports["revoked"].id) not in (ids if target == "revoked" else [])
        if target == "a":
            assert own in ids
        for row in response.json()["results"]:
            assert set(row) <= {"id", *A_FIELDS}
        return
    if target == "a":
        assert response.status_code == 200
        if endpoint == "api-partner-report":
            assert set(response.json()) == {"id", *A_FIELDS}
        if endpoint == "api-partner-report-media":
            assert [m["id"] for m in response.json()] == [str(world.media["a"].id)]
        if endpoint == "api-partner-report-copies":
            assert [c["id"] for c in response.json()] == [str(world.copies["a"].id)]
        return
    assert_problem(response, status=404, code="not_found", detail="Not found.")


def test_every_partner_route_is_in_the_isolation_table() -> None:
    routes = {
        (pattern.name, method.upper())
        for pattern in api_urls.urlpatterns
        if isinstance(pattern, URLPattern)
        for method in pattern.callback.view_class.http_method_names  # type: ignore[attr-defined]
        if method not in ("head", "options") and hasattr(pattern.callback.view_class, method)  # type: ignore[attr-defined]
    }
    assert routes == set(ENDPOINTS)


def test_partner_list_query_count_constant_in_reports(world: PartnerWorld) -> None:
    counts: list[int] = []
    for total in (5, 50):
        for n in range(100 + len(counts) * 100, 100 + len(counts) * 100 + total):
            report = approved_report(n)
            services.report_share(report=report, organisation=world.b, by=world.lawyer)
        client = world.client("b")
        client.get(reverse("api-partner-reports"))  # last-used time written once
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("api-partner-reports"), {"page_size": 100})
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_partner_responses_are_never_stored_by_caches(world: PartnerWorld) -> None:
    for route in ENDPOINTS:
        response = _call(world, route, "a", "plain")
        assert response.status_code == 200, route
        assert "no-store" in response["Cache-Control"], route


def test_partner_filter_outside_profile_answers_400(world: PartnerWorld) -> None:
    response = world.client("a").get(reverse("api-partner-reports"), {"children_present": "yes"})
    assert_problem(
        response,
        status=400,
        code="invalid",
        detail="The request is not valid; see errors.",
        errors={
            "children_present": [
                "This filter is on a field outside your organisation's sharing profile."
            ]
        },
    )


def test_partner_list_filters_narrow(world: PartnerWorld) -> None:
    world.share("b", "a")
    client = world.client("a")
    town = client.get(reverse("api-partner-reports"), {"town": "town2"})
    assert [r["id"] for r in town.json()["results"]] == [str(world.reports["b"].id)]
    later = (timezone.now() + timedelta(days=1)).isoformat()
    none = client.get(reverse("api-partner-reports"), {"received_after": later})
    assert none.json()["results"] == []
    agency = client.get(reverse("api-partner-reports"), {"agency": "cbp"})
    assert agency.json()["results"] == []


def test_partner_key_revoked_or_expired_answers_401(world: PartnerWorld) -> None:
    url = reverse("api-partner-reports")
    assert world.client("a").get(url).status_code == 200
    api_key = PartnerAPIKey.objects.get(organisation=world.a)
    assert api_key.last_used_at is not None
    PartnerAPIKey.objects.filter(pk=api_key.pk).update(expiry_date=timezone.now())
    expired = world.client("a").get(url)
    assert_problem(
        expired,
        status=401,
        code="authentication_failed",
        detail="The API key is not valid, has expired or was revoked. Send your "
        "organisation's key as the header `Authorization: Api-Key <key>`.",
    )
    services.partner_api_key_revoke(api_key=api_key)
    PartnerAPIKey.objects.filter(pk=api_key.pk).update(expiry_date=None)
    assert world.client("a").get(url).status_code == 401
    anonymous = APIClient().get(url)
    assert_problem(
        anonymous,
        status=401,
        code="not_authenticated",
        detail="No API key. Send your organisation's key as the header "
        "`Authorization: Api-Key <key>`.",
    )
    assert anonymous["WWW-Authenticate"] == "Api-Key"


def test_partner_key_stored_only_as_hash(world: PartnerWorld) -> None:
    api_key = PartnerAPIKey.objects.get(organisation=world.a)
    assert world.key_a not in api_key.hashed_key
    assert api_key.hashed_key == "sha512$$" + hashlib.sha512(world.key_a.encode()).hexdigest()


def test_partner_throttle_per_key_answers_429(world: PartnerWorld, settings: Any) -> None:
    settings.TESTIGO_PARTNER_RATE = "2/min"
    url = reverse("api-partner-reports")
    statuses = [world.client("a").get(url).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    throttled = world.client("a").get(url)
    assert_problem(
        throttled,
        status=429,
        code="throttled",
        detail=re.compile(r"Request was throttled\. Expected available in \d+ seconds?\."),
    )
    assert int(throttled["Retry-After"]) > 0
    # Another organisation's key has its own budget.
    assert world.client("b").get(url).status_code == 200


def test_partner_case_patch_sets_status_and_shows_in_admin_record(world: PartnerWorld) -> None:
    url = reverse("api-partner-report-case", args=[world.reports["a"].id])
    response = world.client("a").patch(
        url, {"status": "represented", "reference": "ACLU-7", "notes": "Called."}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["reference"]) == ("represented", "ACLU-7")
    case = PartnerCase.objects.get()
    assert (case.organisation, case.status, case.notes) == (world.a, "represented", "Called.")
    assert AuditEvent.objects.filter(action="partner.case_updated").count() == 1


def test_partner_case_get_reads_back_its_own_record(world: PartnerWorld) -> None:
    url = reverse("api-partner-report-case", args=[world.reports["a"].id])
    blank = world.client("a").get(url)
    assert blank.json() == {
        "report_id": str(world.reports["a"].id),
        "status": "received",
        "reference": "",
        "notes": "",
        "updated_at": None,
    }
    assert not PartnerCase.objects.exists()  # reading writes nothing
    written = world.client("a").patch(url, {"reference": "LAE-2026-0042"}, format="json")
    read = world.client("a").get(url)
    assert read.json() == written.json()
    assert read.json()["reference"] == "LAE-2026-0042"
    # Each organisation reads its own record of a report shared with both, never another's.
    world.share("a", "b")
    assert world.client("b").get(url).json()["reference"] == ""
    world.client("b").patch(url, {"reference": "B-9"}, format="json")
    assert world.client("a").get(url).json()["reference"] == "LAE-2026-0042"
    assert world.client("b").get(url).json()["reference"] == "B-9"


def test_partner_case_idempotency_key_repeat_returns_first_response(world: PartnerWorld) -> None:
    url = reverse("api-partner-report-case", args=[world.reports["a"].id])
    client = world.client("a")
    first = client.patch(url, {"reference": "R-1"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    # Someone changes the case in between; the repeat still answers what the first did.
    client.patch(url, {"reference": "R-2"}, format="json")
    repeat = client.patch(url, {"reference": "R-1"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert (repeat.status_code, repeat.json()) == (first.status_code, first.json())
    assert repeat["Idempotent-Replayed"] == "true"
    assert PartnerCase.objects.get().reference == "R-2"


def test_partner_case_idempotency_key_other_body_answers_422(world: PartnerWorld) -> None:
    url = reverse("api-partner-report-case", args=[world.reports["a"].id])
    client = world.client("a")
    client.patch(url, {"reference": "R-1"}, format="json", HTTP_IDEMPOTENCY_KEY="k2")
    other = client.patch(url, {"reference": "X"}, format="json", HTTP_IDEMPOTENCY_KEY="k2")
    assert_problem(
        other,
        status=422,
        code="idempotency_key_reused",
        detail="This Idempotency-Key was used with a different request.",
    )
    # Keys are per organisation: B may use the same key for its own request.
    world.share("a", "b")
    url_b = reverse("api-partner-report-case", args=[world.reports["a"].id])
    ok = world.client("b").patch(
        url_b, {"reference": "B"}, format="json", HTTP_IDEMPOTENCY_KEY="k2"
    )
    assert ok.status_code == 200


def test_partner_case_idempotency_key_still_running_answers_409(world: PartnerWorld) -> None:
    url = reverse("api-partner-report-case", args=[world.reports["a"].id])
    client = world.client("a")
    client.patch(url, {"reference": "R-1"}, format="json", HTTP_IDEMPOTENCY_KEY="k3")
    # As if the first request had not finished yet.
    IdempotencyRecord.objects.filter(key="k3").update(response_status=None, response_body=None)
    repeat = client.patch(url, {"reference": "R-1"}, format="json", HTTP_IDEMPOTENCY_KEY="k3")
    assert_problem(
        repeat,
        status=409,
        code="idempotency_key_in_flight",
        detail="The first request with this Idempotency-Key is still running.",
    )


def test_partner_case_invalid_status_answers_400(world: PartnerWorld) -> None:
    url = reverse("api-partner-report-case", args=[world.reports["a"].id])
    response = world.client("a").patch(url, {"status": "won"}, format="json")
    assert_problem(
        response,
        status=400,
        code="invalid",
        detail="The request is not valid; see errors.",
        errors={"status": ['"won" is not a valid choice.']},
    )


def test_partner_media_list_describes_clean_items_only(world: PartnerWorld) -> None:
    response = world.client("a").get(
        reverse("api-partner-report-media", args=[world.reports["a"].id])
    )
    [item] = response.json()
    assert {k: item[k] for k in ("kind", "content_type", "size", "sha256", "width", "height")} == {
        "kind": "image",
        "content_type": "image/jpeg",
        "size": 18,
        "sha256": "ab" * 32,
        "width": 64,
        "height": 48,
    }
    download = APIClient().get(item["download_url"])
    content = b"".join(download.streaming_content)  # type: ignore[attr-defined]
    assert (download.status_code, content) == (200, b"\xff\xd8sanitized-jpeg\xff\xd9")
    assert (
        AuditEvent.objects.filter(
            action="media.downloaded_by_partner", media_item_id=world.media["a"].id
        ).count()
        == 1
    )


def test_partner_media_download_expired_link_answers_410(
    world: PartnerWorld, settings: Any
) -> None:
    token = media_token(media_item_id=world.media["a"].id, organisation_id=world.a.id)
    settings.TESTIGO_MEDIA_URL_MAX_AGE_S = -1
    response = APIClient().get(reverse("api-partner-media-download", args=[token]))
    assert_problem(
        response,
        status=410,
        code="link_expired",
        detail="This download link has expired; list the media again for a new one.",
    )


def test_partner_media_download_tampered_token_answers_404(world: PartnerWorld) -> None:
    token = media_token(media_item_id=world.media["a"].id, organisation_id=world.a.id)
    response = APIClient().get(reverse("api-partner-media-download", args=[token[:-2] + "xx"]))
    assert_problem(response, status=404, code="not_found", detail="Not found.")


def test_create_partner_command_prints_key_once() -> None:
    out = StringIO()
    call_command("create_partner", "Legal Aid East", "--fields", "town,warrant", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    organisation = PartnerOrganisation.objects.get(name="Legal Aid East")
    assert organisation.shared_fields == ["town", "warrant"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert client.get(reverse("api-partner-reports")).status_code == 200


def test_api_docs_served_without_third_party_assets(client: Any) -> None:
    from django.contrib.staticfiles import finders

    response = client.get("/api/docs/")
    html = response.content.decode()
    assert response.status_code == 200
    # No absolute or protocol-relative URL: nothing is loaded from another origin.
    assert re.findall(r"""(?:src|href)=["'](?:https?:)?//""", html) == []
    script = html.split('<script src="')[1].split('"')[0]
    assert script.startswith("/static/")
    assert finders.find(script.removeprefix("/static/")) is not None
    assert "'self'" in response["Content-Security-Policy"]
