"""Small screens and languages (issue 13, "Layout"): no page scrolls sideways at 320 px,
390 px or 200 % zoom in any language; the languages are four links in their own names
that wrap; a French phone is offered Kreyòl first; the footer promises only what is true."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.witness_pages import LANGUAGES, SCREENS, every_page, horizontal_overflow, phone

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LANGUAGE_NAMES = ["English", "Español", "Português (Brasil)", "Kreyòl ayisyen"]
FOOTER = {
    "en": "Quick exit leaves this site at once. What you already sent is kept.",
    "es": "«Salida rápida» lo saca de este sitio al instante. Lo que ya envió no se pierde.",
    "pt-BR": (
        "O botão Saída rápida fecha este site na hora. O que você já enviou continua guardado."
    ),
    "ht": "Soti vit fè w kite sit sa a touswit. Sa ou te deja voye a rete anrejistre.",
}


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_no_witness_page_scrolls_sideways_on_screen_in_any_language(
    browser: Any, live_server: Any, screen: str
) -> None:
    wider: dict[str, int] = {}
    for language in LANGUAGES:
        context = phone(browser, screen, language)
        page = context.new_page()
        for name in every_page(page, live_server.url):
            overflow = horizontal_overflow(page)
            if overflow:
                wider[f"{language} {name}"] = overflow
        context.close()
    assert wider == {}


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_languages_are_four_links_in_their_own_names_that_wrap_on_screen(
    browser: Any, live_server: Any, screen: str
) -> None:
    context = phone(browser, screen, "es")
    page = context.new_page()
    page.goto(live_server.url + "/")
    links = page.locator("nav.languages a")
    assert links.all_inner_texts() == LANGUAGE_NAMES
    assert links.evaluate_all("(as) => as.map((a) => a.lang)") == ["en", "es", "pt-br", "ht"]
    width = page.evaluate("document.documentElement.clientWidth")
    for box in (links.nth(i).bounding_box() for i in range(4)):
        assert (box["x"] >= 0, box["x"] + box["width"] <= width) == (True, True)
    assert page.locator("nav.languages a[aria-current]").inner_text() == "Español"
    page.get_by_role("link", name="Kreyòl ayisyen").click()
    assert page.locator("html").get_attribute("lang") == "ht"
    assert page.url == live_server.url + "/"
    context.close()


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_french_phone_is_offered_kreyol_first_on_screen(
    browser: Any, live_server: Any, screen: str
) -> None:
    context = phone(browser, screen, "fr-FR")
    page = context.new_page()
    page.goto(live_server.url + "/")
    first = page.locator("nav.languages a").first
    assert (first.inner_text(), first.is_visible()) == ("Kreyòl ayisyen", True)
    assert first.bounding_box()["y"] < SCREENS[screen]["height"]
    context.close()
    english = phone(browser, screen, "en-US").new_page()
    english.goto(live_server.url + "/")
    assert english.locator("nav.languages a").all_inner_texts() == LANGUAGE_NAMES
    english.context.close()


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_footer_says_what_was_sent_is_kept_in_every_language_on_screen(
    browser: Any, live_server: Any, screen: str
) -> None:
    found = {}
    for language in LANGUAGES:
        context = phone(browser, screen, language)
        page = context.new_page()
        page.goto(live_server.url + "/")
        found[language] = page.locator("footer p").inner_text()
        context.close()
    assert found == FOOTER
