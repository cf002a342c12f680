"""A witness's phone in Chromium: the three screens issue 13 measures (a small phone, a
common one, and a common one at 200 % text zoom), the four languages, and a walk through
every witness page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

LANGUAGES = ["en", "es", "pt-BR", "ht"]
# 200 % zoom on a 390 x 844 phone lays the page out on half as many CSS pixels.
SCREENS = {
    "320x640": {"width": 320, "height": 640},
    "390x844": {"width": 390, "height": 844},
    "390x844 at 200%": {"width": 195, "height": 422},
}


def phone(browser: Any, screen: str, language: str = "en", **options: Any) -> Any:
    """A new phone-like browser context; close it when done."""
    return browser.new_context(
        viewport=SCREENS[screen], is_mobile=True, has_touch=True, locale=language, **options
    )


def submit_plain(page: Any, form: str = "#report-form") -> None:
    """Post a form as the browser does without its script (form.submit() skips handlers)."""
    with page.expect_navigation():
        page.evaluate(f"document.querySelector({form!r}).submit()")


def every_page(page: Any, base: str) -> Iterator[str]:
    """Visit each witness page in turn; yields its name once it is loaded."""
    for path in ("/", "/follow-up/", "/safety/"):
        page.goto(base + path)
        yield path
    page.goto(base + "/")
    submit_plain(page)  # nothing filled in: the form's errors
    yield "form errors"
    page.locator("#id_description").fill("Agents at the bus stop.")
    submit_plain(page)
    receipt = page.locator("#receipt-code").inner_text().replace("\n", "").strip()
    yield "receipt"
    page.goto(base + "/follow-up/")
    page.locator("#id_code").fill(receipt)
    submit_plain(page, "main form")
    yield "follow-up report"


def horizontal_overflow(page: Any) -> int:
    """CSS pixels the page is wider than the screen (0: nothing to scroll sideways)."""
    width: int = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return width
