"""A witness's phone may be seized: no cookie of ours outlives the browser session, and Quick
exit asks the browser to forget the site (issue 14, "Quick exit leaves the 1-year
csrftoken cookie"). Back after Quick exit is tested in real Chromium, tests/e2e."""

from __future__ import annotations

from http.cookies import Morsel
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client

from intake.services import report_submit

pytestmark = pytest.mark.django_db


def _lasts_only_the_browser_session(cookie: Morsel[Any]) -> bool:
    return not cookie["max-age"] and not cookie["expires"]


@pytest.mark.parametrize(
    ("path", "has_form"), [("/", True), ("/follow-up/", True), ("/safety/", False)]
)
def test_witness_pages_set_no_lasting_cookie(path: str, has_form: bool) -> None:
    response = Client().get(path)
    # A page with a form sets the CSRF cookie; the languages are links, not a form.
    assert bool(response.cookies) == has_form
    for name, cookie in response.cookies.items():
        assert _lasts_only_the_browser_session(cookie), name


def test_language_cookie_lasts_only_the_browser_session() -> None:
    response = Client().post("/i18n/setlang/", {"language": "es", "next": "/"})
    assert _lasts_only_the_browser_session(response.cookies[settings.LANGUAGE_COOKIE_NAME])


def test_followup_session_cookie_ends_with_the_followup_session() -> None:
    code = report_submit(description="At the corner shop.").receipt_code
    response = Client().post("/follow-up/", {"code": code})
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert 0 < int(cookie["max-age"]) <= settings.TESTIGO_FOLLOWUP_SESSION_S


def test_quick_exit_clears_site_data_and_deletes_every_cookie() -> None:
    code = report_submit(description="At the corner shop.").receipt_code
    client = Client()
    client.post("/i18n/setlang/", {"language": "es", "next": "/"})
    client.get("/follow-up/")
    client.post("/follow-up/", {"code": code})
    assert Session.objects.count() == 1

    response = client.get("/exit/")

    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "cookies", "storage"'
    for name in (
        settings.SESSION_COOKIE_NAME,
        settings.CSRF_COOKIE_NAME,
        settings.LANGUAGE_COOKIE_NAME,
    ):
        cookie = response.cookies[name]
        assert (cookie.value, cookie["max-age"]) == ("", 0), name
        assert cookie["expires"] == "Thu, 01 Jan 1970 00:00:00 GMT", name
    assert Session.objects.count() == 0
    assert "no-store" in response["Cache-Control"]


def test_report_form_is_not_restored_by_the_browser() -> None:
    html = Client().get("/").content.decode()
    form_tag = next(t for t in html.split("<form")[1:] if 'id="report-form"' in t.split(">")[0])
    assert 'autocomplete="off"' in form_tag.split(">")[0]


def test_followup_message_form_is_not_restored_by_the_browser() -> None:
    code = report_submit(description="At the corner shop.").receipt_code
    client = Client()
    client.post("/follow-up/", {"code": code})
    html = client.get("/follow-up/").content.decode()
    form_tag = next(t for t in html.split("<form")[1:] if "/follow-up/send/" in t.split(">")[0])
    assert 'autocomplete="off"' in form_tag.split(">")[0]
