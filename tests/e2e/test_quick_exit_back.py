"""Back after Quick exit shows no report content (issue 18), in real Chromium with its
back-forward cache on (Playwright turns it off by default), with and without JavaScript.

Without JavaScript, Quick exit is a plain link, so Back returns to the page it was pressed
on; with it, the page is replaced and Back returns to its predecessor, which may be another
of our pages. Either way the page must be fetched afresh (not restored from the cache) and
no form may come back with what the witness typed, and no cookie of ours may remain."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User

from reports.models import Report
from reports.services import report_message_ask
from tests.e2e.chromium import CHROMIUM_ARGS, PHONE_VIEWPORT
from tests.factories.tools import require_tool

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
TYPED = "Cuatro agentes en la parada del autobús"
QUESTION = "Which street was the van on?"


@pytest.fixture(autouse=True)
def _quick_exit_to_the_neutral_site(settings: Any, neutral_site: str) -> None:
    settings.TESTIGO_QUICK_EXIT_URL = neutral_site


@pytest.fixture(scope="module")
def bfcache_browser() -> Iterator[Any]:
    executable = require_tool("chromium")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable,
                args=CHROMIUM_ARGS,
                ignore_default_args=["--disable-back-forward-cache"],
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _phone(browser: Any, javascript: bool) -> Any:
    context = browser.new_context(
        viewport=PHONE_VIEWPORT, is_mobile=True, java_script_enabled=javascript
    )
    page = context.new_page()
    return page


def _quick_exit_then_back(page: Any, live_server: Any) -> None:
    # Set on the page the witness leaves: still there after Back only if the page was
    # restored from the back-forward cache instead of fetched again.
    page.evaluate("window.testigoLeftHere = true")
    page.get_by_role("link", name="Quick exit").click()
    page.wait_for_url(settings.TESTIGO_QUICK_EXIT_URL)
    assert page.context.cookies(live_server.url) == []
    from playwright.sync_api import Error as PlaywrightError

    try:
        page.go_back()
    except PlaywrightError as error:
        # Back to the answer of a post (the receipt without JavaScript): Chromium will not
        # post again, nor show a stored copy (no-store), and shows its own error page.
        assert "ERR_CACHE_MISS" in str(error), error
        # Its error page is still being committed: wait until it settles.
        page.wait_for_timeout(1000)
    page.wait_for_load_state()


def _assert_nothing_of_the_report(page: Any, *secrets: str) -> None:
    assert page.evaluate("window.testigoLeftHere === undefined"), "restored from bfcache"
    shown = page.content() + " ".join(
        page.locator(selector).nth(i).input_value()
        for selector in ("input", "textarea")
        for i in range(page.locator(selector).count())
    )
    for secret in secrets:
        assert secret not in shown


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_back_after_quick_exit_from_a_typed_report_shows_none_of_it(
    bfcache_browser: Any, live_server: Any, javascript: bool
) -> None:
    page = _phone(bfcache_browser, javascript)
    page.goto(live_server.url + "/safety/")
    page.goto(live_server.url + "/")
    page.locator("#id_description").fill(TYPED)
    _quick_exit_then_back(page, live_server)
    assert page.url.startswith(live_server.url)
    _assert_nothing_of_the_report(page, TYPED)
    page.context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_back_after_quick_exit_from_the_receipt_shows_neither_code_nor_report(
    bfcache_browser: Any, live_server: Any, javascript: bool
) -> None:
    page = _phone(bfcache_browser, javascript)
    page.goto(live_server.url + "/")
    page.locator("#id_description").fill(TYPED)
    page.get_by_role("button", name="Send report").click()
    code = page.locator("#receipt-code").inner_text().strip()
    assert Report.objects.get().description == TYPED
    _quick_exit_then_back(page, live_server)
    _assert_nothing_of_the_report(page, TYPED, code)
    page.context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_back_after_quick_exit_from_the_followup_page_asks_for_the_code_again(
    bfcache_browser: Any, live_server: Any, javascript: bool, moderator: User
) -> None:
    page = _phone(bfcache_browser, javascript)
    page.goto(live_server.url + "/")
    page.locator("#id_description").fill(TYPED)
    page.get_by_role("button", name="Send report").click()
    code = page.locator("#receipt-code").inner_text().strip()
    report_message_ask(report=Report.objects.get(), by=moderator, body=QUESTION)
    page.goto(live_server.url + "/follow-up/")
    page.locator("#id_code").fill(code)
    page.locator("main form button").click()
    page.get_by_text(QUESTION).wait_for()
    _quick_exit_then_back(page, live_server)
    assert page.url == live_server.url + "/follow-up/"
    assert page.locator("#id_code").count() == 1  # the session is over: the code again
    _assert_nothing_of_the_report(page, TYPED, code, QUESTION)
    page.context.close()
