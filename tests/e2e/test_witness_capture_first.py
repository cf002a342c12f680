"""Capture first, nothing lost (issue 13): the first screen offers the camera, the files, a
few words and Send; a photo goes in at most three taps after the camera returns; the
form is checked before anything is sent; no refusal empties a chosen file; without the
script the page names the files to choose again; "When" hides while "happening now" is
ticked. Each at 320x640, 390x844 and 200 % zoom, in real Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reports.models import MediaItem, Report
from tests.e2e.witness_pages import SCREENS, phone

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FIRST_SCREEN = {
    "camera": "label[for=id_camera]",
    "files": "label[for=id_attachments]",
    "words": "#id_description",
    "send": "#send-report",
}


def _box(page: Any, selector: str) -> dict[str, float]:
    box: dict[str, float] = page.locator(selector).bounding_box()
    return box


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_first_screen_offers_camera_files_words_and_send_before_any_question(
    browser: Any, live_server: Any, screen: str
) -> None:
    context = phone(browser, screen, "ht")
    page = context.new_page()
    page.goto(live_server.url + "/")
    assert page.evaluate("window.scrollY") == 0
    boxes = {name: _box(page, selector) for name, selector in FIRST_SCREEN.items()}
    first_question = _box(page, "#report-details")
    # Every optional question comes after Send.
    assert max(box["y"] + box["height"] for box in boxes.values()) <= first_question["y"]
    if screen == "390x844":
        # The first screen: all four without scrolling.
        bottoms = {name: box["y"] + box["height"] <= 844 for name, box in boxes.items()}
        assert bottoms == dict.fromkeys(FIRST_SCREEN, True)
    else:
        # A smaller screen (or larger text) reaches the camera within two screens, before
        # any question.
        assert boxes["camera"]["y"] + boxes["camera"]["height"] <= 2 * SCREENS[screen]["height"]
    context.close()


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_photo_is_sent_in_at_most_three_taps_after_the_camera_returns(
    browser: Any, live_server: Any, gps_jpeg_file: Path, screen: str, wait_for: Any
) -> None:
    context = phone(browser, screen, "es")
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(live_server.url + "/")
    with page.expect_file_chooser() as chooser:
        page.tap(FIRST_SCREEN["camera"])  # the camera opens
    assert chooser.value.element.get_attribute("capture") == "environment"
    chooser.value.set_files(str(gps_jpeg_file))  # ... and returns with a photo
    taps = 0
    page.tap(FIRST_SCREEN["send"])
    taps += 1
    code = page.locator("#receipt-code")
    wait_for(lambda: len(code.inner_text().strip()) == 24, timeout=30)
    row = page.locator("#upload-list li").first
    wait_for(lambda: row.get_attribute("data-state") == "done", timeout=60)
    assert taps <= 3
    assert [url for url in requests if not url.startswith(live_server.url + "/")] == []
    report = Report.objects.get()
    assert (report.description, MediaItem.objects.filter(report=report).count()) == ("", 1)
    context.close()


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_empty_form_is_refused_in_the_browser_in_the_witness_language(
    browser: Any, live_server: Any, screen: str
) -> None:
    context = phone(browser, screen, "pt-BR")
    page = context.new_page()
    posts: list[str] = []
    page.on("request", lambda request: posts.extend([request.url] * (request.method == "POST")))
    page.goto(live_server.url + "/")
    page.tap(FIRST_SCREEN["send"])
    summary = page.locator("#error-summary")
    summary.wait_for()
    message = "Escreva o que aconteceu ou adicione uma foto, um vídeo ou um áudio."
    assert message in summary.inner_text()
    assert page.locator("#id_description_error").inner_text() == message
    assert page.evaluate("document.activeElement.id") == "error-summary"
    page.locator("#id_agents_count").fill("5000")
    page.tap(FIRST_SCREEN["send"])
    assert "Digite um número inteiro, por exemplo 3." in summary.inner_text()
    assert (posts, Report.objects.count()) == ([], 0)
    context.close()


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_server_refusals_keep_every_chosen_file(
    browser: Any, live_server: Any, gps_jpeg_file: Path, screen: str, wait_for: Any
) -> None:
    context = phone(browser, screen, "en")
    page = context.new_page()
    page.goto(live_server.url + "/")
    page.locator("#id_attachments").set_input_files(str(gps_jpeg_file))
    # A refusal only the server can make (a tampered answer), then an outage.
    page.evaluate(
        "(() => { const r = document.querySelector('#id_masks_0');"
        " r.value = 'perhaps'; r.checked = true; })()"
    )
    page.tap(FIRST_SCREEN["send"])
    summary = page.locator("#error-summary")
    summary.wait_for()
    assert "Please choose one of the options shown." in summary.inner_text()
    assert page.evaluate("document.querySelector('#id_attachments').files.length") == 1

    def outage(route: Any) -> None:
        if route.request.method == "POST":
            route.fulfill(status=503, content_type="text/html", body="<p>down</p>")
        else:
            route.continue_()

    page.evaluate("document.querySelector('#id_masks_0').checked = false")
    page.route(live_server.url + "/", outage)
    page.tap(FIRST_SCREEN["send"])
    wait_for(lambda: "Your words and files are still here" in summary.inner_text(), timeout=10)
    assert page.evaluate("document.querySelector('#id_attachments').files.length") == 1
    assert Report.objects.count() == 0

    page.unroute(live_server.url + "/", outage)
    page.tap(FIRST_SCREEN["send"])
    row = page.locator("#upload-list li").first
    wait_for(lambda: row.get_attribute("data-state") == "done", timeout=60)
    assert MediaItem.objects.filter(report=Report.objects.get()).count() == 1
    context.close()


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_without_javascript_the_error_page_names_the_files_to_choose_again(
    browser: Any, live_server: Any, gps_jpeg_file: Path, screen: str
) -> None:
    context = phone(browser, screen, "ht", java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/")
    page.locator("#report-details > summary").click()
    page.locator("#id_contact_value").fill("+1 555 0100")  # no channel, no consent
    page.locator("#id_attachments").set_input_files(str(gps_jpeg_file))
    page.get_by_role("button", name="Voye rapò a").click()
    notice = page.locator("#files-again")
    assert "Tanpri chwazi fichye sa yo ankò:" in notice.inner_text()
    assert notice.locator("li").all_inner_texts() == [gps_jpeg_file.name]
    assert Report.objects.count() == 0
    context.close()


@pytest.mark.parametrize("screen", sorted(SCREENS))
@pytest.mark.parametrize("script", [True, False])
def test_when_is_hidden_while_happening_now_is_ticked(
    browser: Any, live_server: Any, screen: str, script: bool
) -> None:
    context = phone(browser, screen, "en", java_script_enabled=script)
    page = context.new_page()
    page.goto(live_server.url + "/")
    if not script:
        page.locator("#report-details > summary").click()
    when = [page.get_by_label("Date and time"), page.get_by_label("When did it happen?")]
    assert [field.is_visible() for field in when] == [True, True]
    page.get_by_label("It is happening now", exact=True).check()
    assert [field.is_visible() for field in when] == [False, False]
    page.get_by_label("It is happening now", exact=True).uncheck()
    assert [field.is_visible() for field in when] == [True, True]
    context.close()
