from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.factories.tools import require_tool

PHONE_VIEWPORT = {"width": 390, "height": 844}
# Chromium must not reach out on its own: this machine has no network, and a witness's
# page must make no third-party request either.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


# Module scope: the async-safety override must not outlive the browser tests.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = require_tool("chromium")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop; Django's async-safety check would trip on
    # the ORM calls the tests make between browser steps. Only for the browser tests.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def phone_page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE_VIEWPORT, is_mobile=True, has_touch=True)
    page = context.new_page()
    yield page
    context.close()
