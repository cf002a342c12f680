"""The receipt code (issue 13): groups that never break across lines, copy and share, a
sentence in every language that it cannot be recovered, kept in the tab so a reload shows
it above the files still being sent (and forgotten at Quick exit), and without the script
a post/redirect/get that shows it once and never posts twice. At 320x640, 390x844 and
200 % zoom, in real Chromium."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reports.models import Report
from tests.e2e.test_witness_phone import mp4_like
from tests.e2e.witness_pages import LANGUAGES, SCREENS, phone

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LOST = {
    "en": "If you lose this code, no one can find it again, not even our team. You can always "
    "send a new report instead.",
    "es": "Si pierde este código, nadie puede recuperarlo, ni siquiera nuestro equipo. Siempre "
    "puede enviar un reporte nuevo.",
    "pt-BR": "Se você perder este número, ninguém consegue recuperá-lo, nem a nossa equipe. "
    "Você sempre pode enviar um novo relato.",
    "ht": "Si ou pèdi kòd sa a, pèsonn pa ka jwenn li ankò, menm ekip nou an. Ou ka toujou "
    "voye yon nouvo rapò pito.",
}
# Records what the page hands to the phone's share sheet (headless Chromium has none).
SHARE_SHEET = (
    "window.shared = [];"
    "navigator.share = (data) => { shared.push(data); return Promise.resolve(); };"
)


def _send_words(page: Any, base: str) -> str:
    """A report without a file: the plain post and its receipt page."""
    page.goto(base + "/")
    page.locator("#id_description").fill("Agents at the laundromat.")
    with page.expect_navigation():
        page.locator("#send-report").click()
    return str(page.locator("#receipt-code").get_attribute("data-code"))


def _lines_per_group(page: Any, selector: str) -> list[int]:
    lines: list[int] = page.locator(f"{selector} .group").evaluate_all(
        "(groups) => groups.map((g) => new Set([...g.getClientRects()].map((r) => r.top)).size)"
    )
    return lines


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_receipt_code_groups_never_break_across_lines(
    browser: Any, live_server: Any, screen: str, gps_jpeg_file: Path, wait_for: Callable[..., Any]
) -> None:
    context = phone(browser, screen, "es")
    page = context.new_page()
    code = _send_words(page, live_server.url)
    assert _lines_per_group(page, "#receipt-code") == [1] * 5
    assert page.locator("#receipt-code").inner_text().replace("\n", "") == code
    # The script's receipt, after a photo.
    page.goto(live_server.url + "/")
    page.locator("#id_attachments").set_input_files(str(gps_jpeg_file))
    page.locator("#send-report").click()
    wait_for(lambda: page.locator("#receipt-code").get_attribute("data-code"), timeout=30)
    assert _lines_per_group(page, "#receipt-code") == [1] * 5
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    context.close()


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_copy_and_share_buttons_hand_over_the_code(
    browser: Any, live_server: Any, screen: str
) -> None:
    context = phone(browser, screen, "en")
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    plain = context.new_page()
    code = _send_words(plain, live_server.url)
    # Without a share sheet there is no share button; copy is always there.
    assert plain.evaluate("'share' in navigator") == plain.locator(".receipt-share").is_visible()
    plain.get_by_role("button", name="Copy code").click()
    assert plain.evaluate("navigator.clipboard.readText()") == code
    assert plain.locator(".receipt-copy").inner_text() == "Copied"

    # A phone with a share sheet; the page read again shows the tab's kept code.
    plain.add_init_script(SHARE_SHEET)
    plain.goto(live_server.url + "/receipt/")
    plain.get_by_role("button", name="Share code").click()
    assert plain.evaluate("window.shared") == [{"text": code}]
    context.close()


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_receipt_says_a_lost_code_cannot_be_recovered_in_every_language(
    browser: Any, live_server: Any, screen: str
) -> None:
    found = {}
    for language in LANGUAGES:
        context = phone(browser, screen, language)
        page = context.new_page()
        _send_words(page, live_server.url)
        found[language] = page.locator(".receipt-box p").last.inner_text()
        context.close()
    assert found == LOST


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_reload_mid_upload_shows_the_code_above_the_files_still_sending(
    browser: Any, live_server: Any, screen: str, tmp_path: Path, wait_for: Callable[..., Any]
) -> None:
    context = phone(browser, screen, "ht")
    page = context.new_page()
    video = mp4_like(tmp_path / "VID_0003.mp4", 4 * 1024 * 1024)
    page.route(
        "**/tus/*/",
        lambda route: (
            route.abort("connectionreset") if route.request.method == "PATCH" else route.continue_()
        ),
    )
    page.goto(live_server.url + "/")
    page.locator("#id_camera").set_input_files(str(video))
    page.locator("#send-report").click()
    wait_for(lambda: page.locator("#receipt-code").get_attribute("data-code"), timeout=30)
    code = page.locator("#receipt-code").get_attribute("data-code")
    wait_for(lambda: page.wait_for_timeout(100) or Report.objects.exists(), timeout=30)

    page.reload()
    kept = page.locator("#receipt-kept")
    status = page.locator("#upload-status")
    wait_for(lambda: kept.is_visible() and status.is_visible(), timeout=30)
    assert kept.locator(".receipt").get_attribute("data-code") == code
    assert kept.bounding_box()["y"] < status.bounding_box()["y"]
    assert _lines_per_group(page, "#receipt-kept-code") == [1] * 5
    context.close()


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_quick_exit_forgets_the_kept_code(
    browser: Any, live_server: Any, screen: str, settings: Any, neutral_site: str
) -> None:
    settings.TESTIGO_QUICK_EXIT_URL = neutral_site
    context = phone(browser, screen, "es")
    page = context.new_page()
    _send_words(page, live_server.url)
    page.goto(live_server.url + "/")
    assert page.locator("#receipt-kept").is_visible()
    page.locator("#quick-exit").click()
    page.wait_for_url(neutral_site)
    page.goto(live_server.url + "/")
    assert page.evaluate("sessionStorage.length") == 0
    assert page.locator("#receipt-kept").is_visible() is False
    context.close()


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_without_javascript_the_receipt_is_shown_once_and_a_reload_never_posts_again(
    browser: Any, live_server: Any, screen: str
) -> None:
    context = phone(browser, screen, "pt-BR", java_script_enabled=False)
    page = context.new_page()
    posts: list[str] = []
    page.on("request", lambda request: posts.extend([request.url] * (request.method == "POST")))
    page.goto(live_server.url + "/")
    page.locator("#id_description").fill("Agentes na padaria.")
    page.get_by_role("button", name="Enviar relato").click()
    assert page.url == live_server.url + "/receipt/"
    code = page.locator("#receipt-code").get_attribute("data-code")
    assert len(code or "") == 24
    assert _lines_per_group(page, "#receipt-code") == [1] * 5
    page.reload()
    assert page.url == live_server.url + "/receipt/"
    assert page.locator("#receipt-code").count() == 0
    shown = "Seu número de protocolo apareceu só uma vez, quando você enviou seu relato."
    assert page.locator("#receipt-shown").inner_text() == shown
    assert code not in page.content()
    assert (len(posts), Report.objects.count()) == (1, 1)
    context.close()
