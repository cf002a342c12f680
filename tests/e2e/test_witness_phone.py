"""A witness on a phone: Spanish, three files with a large video cut midway, follow-up,
no-JavaScript, accessibility in every language, quick exit, CSP, and no trace of the
witness's address or browser anywhere."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection

from reports.models import MediaItem, MediaStatus, MessageSender, Report
from reports.services import report_message_ask
from tests.conftest import cache_dump
from tests.e2e.chromium import PHONE_VIEWPORT
from tests.e2e.witness_pages import submit_plain

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CANARY_UA = "Mozilla/5.0 (CANARY-UA-7Q3) Mobile"
VIDEO_BYTES = 50 * 1024 * 1024 + 12345
LANGUAGES = ["en", "es", "pt-BR", "ht"]


def mp4_like(path: Path, size: int) -> Path:
    """An ISO-BMFF header and a large mdat of random bytes: a video by its first bytes."""
    ftyp = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    with path.open("wb") as out:
        out.write(ftyp)
        out.write((size - len(ftyp)).to_bytes(4, "big") + b"mdat")
        left = size - len(ftyp) - 8
        while left:
            step = min(left, 4 * 1024 * 1024)
            out.write(os.urandom(step))
            left -= step
    return path


@pytest.fixture
def spanish_phone(browser: Any) -> Iterator[tuple[Any, Any, list[str], list[str]]]:
    context = browser.new_context(
        viewport=PHONE_VIEWPORT,
        is_mobile=True,
        has_touch=True,
        locale="es-ES",
        user_agent=CANARY_UA,
    )
    page = context.new_page()
    requests: list[str] = []
    console: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: console.append(message.text))
    yield context, page, requests, console
    context.close()


def test_spanish_witness_sends_three_files_with_video_cut_midway_and_follows_up(
    spanish_phone: tuple[Any, Any, list[str], list[str]],
    live_server: Any,
    moderator: User,
    gps_jpeg_file: Path,
    tmp_path: Path,
    wait_for: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _context, page, requests, console = spanish_phone
    video = mp4_like(tmp_path / "VID_0001.mp4", VIDEO_BYTES)
    second_photo = tmp_path / "IMG_0002.jpg"
    second_photo.write_bytes(gps_jpeg_file.read_bytes())

    # Cut the video's second chunk once: the server keeps what it has, the client asks
    # for the offset and goes on from there.
    cut: list[str] = []

    def cut_once(route: Any) -> None:
        request = route.request
        offset = request.headers.get("upload-offset", "0")
        if request.method == "PATCH" and offset != "0" and not cut:
            cut.append(offset)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/tus/*/", cut_once)
    response = page.goto(live_server.url + "/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert page.locator("html").get_attribute("lang") == "es"
    page.get_by_label("¿Qué pasó?").fill("Cuatro agentes se llevaron a un vecino.")
    page.get_by_role("checkbox", name="Está pasando ahora").check()
    page.get_by_label("Pueblo o ciudad").fill("Springfield")
    page.get_by_label("Administrativa (firmada por un oficial de inmigración)").check()
    page.get_by_label("Fotos, videos o audio").set_input_files(
        [str(gps_jpeg_file), str(second_photo), str(video)]
    )
    page.get_by_role("button", name="Enviar reporte").click()

    code = page.locator("#receipt-code")
    code.wait_for()
    wait_for(lambda: code.inner_text().strip(), timeout=20)
    receipt = code.inner_text().strip()
    rows = page.locator("#upload-list li")
    wait_for(
        lambda: (
            rows.count() == 3
            and all(rows.nth(i).get_attribute("data-state") == "done" for i in range(3))
        ),
        timeout=180,
    )
    assert len(cut) == 1
    assert [rows.nth(i).locator(".upload-state").inner_text() for i in range(3)] == ["Listo"] * 3
    report = Report.objects.get()
    assert (report.language, report.town, report.warrant) == ("es", "Springfield", "administrative")
    sizes = sorted(MediaItem.objects.values_list("upload_offset", flat=True))
    assert sizes[-1] == VIDEO_BYTES
    assert MediaItem.objects.filter(status=MediaStatus.UPLOADING).count() == 0
    assert receipt not in page.url

    report_message_ask(report=report, by=moderator, body="¿En qué calle exactamente?")
    page.unroute("**/tus/*/")
    page.goto(live_server.url + "/follow-up/")
    page.get_by_label("Su código de seguimiento").fill(receipt)
    page.get_by_role("button", name="Abrir mi reporte").click()
    assert "¿En qué calle exactamente?" in page.locator("main").inner_text()
    assert receipt not in page.url
    page.get_by_label("Responda una pregunta o agregue información").fill("Calle Elm.")
    page.get_by_role("button", name="Enviar", exact=True).click()
    page.get_by_text("Gracias. Recibimos lo que envió.").wait_for()
    assert list(report.messages.values_list("sender", "body")) == [
        (MessageSender.STAFF, "¿En qué calle exactamente?"),
        (MessageSender.WITNESS, "Calle Elm."),
    ]

    assert [url for url in requests if not url.startswith(live_server.url)] == []
    assert [text for text in console if "Content Security Policy" in text] == []
    _assert_canary_nowhere(CANARY_UA, caplog, tmp_path)


def test_refused_upload_shows_the_servers_reason_in_the_witness_language(
    spanish_phone: tuple[Any, Any, list[str], list[str]],
    live_server: Any,
    tmp_path: Path,
    wait_for: Callable[..., Any],
) -> None:
    # The script reads the `detail` of the tus problem document (reports.problems).
    _context, page, _requests, _console = spanish_phone
    not_a_photo = tmp_path / "IMG_0003.jpg"
    not_a_photo.write_bytes(b"<html><script>alert(1)</script>" + b" " * 200)
    page.goto(live_server.url + "/")
    page.get_by_label("¿Qué pasó?").fill("Un archivo que no es una foto.")
    page.get_by_label("Fotos, videos o audio").set_input_files(str(not_a_photo))
    page.get_by_role("button", name="Enviar reporte").click()
    row = page.locator("#upload-list li").first
    wait_for(lambda: row.get_attribute("data-state") == "failed", timeout=30)
    assert row.locator(".upload-state").inner_text() == (
        "Este tipo de archivo no es compatible. Envíe fotos, videos o grabaciones de audio."
    )
    assert Report.objects.get().media_items.get().reject_reason == "unsupported_format"


def test_witness_without_javascript_reports_and_follows_up(
    browser: Any, live_server: Any, gps_jpeg_file: Path
) -> None:
    context = browser.new_context(
        viewport=PHONE_VIEWPORT, is_mobile=True, java_script_enabled=False, locale="es-ES"
    )
    page = context.new_page()
    page.goto(live_server.url + "/")
    page.get_by_label("¿Qué pasó?").fill("Agentes en la escuela.")
    page.get_by_label("Fotos, videos o audio").set_input_files(str(gps_jpeg_file))
    page.get_by_role("button", name="Enviar reporte").click()
    receipt = page.locator("#receipt-code").inner_text().strip()
    assert len(receipt) == 24
    item = Report.objects.get().media_items.get()
    assert item.status in (MediaStatus.QUARANTINED, MediaStatus.PROCESSING, MediaStatus.CLEAN)

    page.get_by_role("link", name="Dar seguimiento a un reporte").first.click()
    page.get_by_label("Su código de seguimiento").fill(receipt)
    page.get_by_role("button", name="Abrir mi reporte").click()
    assert page.locator("#report-status").is_visible()
    page.get_by_label("Responda una pregunta o agregue información").fill("Más detalles.")
    page.get_by_role("button", name="Enviar", exact=True).click()
    page.get_by_text("Gracias. Recibimos lo que envió.").wait_for()
    assert Report.objects.get().messages.get().body == "Más detalles."
    context.close()


def test_quick_exit_replaces_page_with_neutral_site_leaving_no_back_trail(
    browser: Any, live_server: Any, settings: Any, neutral_site: str
) -> None:
    context = browser.new_context(viewport=PHONE_VIEWPORT, is_mobile=True)
    page = context.new_page()
    settings.TESTIGO_QUICK_EXIT_URL = neutral = neutral_site
    page.goto(live_server.url + "/")
    page.goto(live_server.url + "/safety/")
    length_before = page.evaluate("history.length")
    page.get_by_role("link", name="Quick exit").click()
    page.wait_for_url(neutral)
    assert page.evaluate("history.length") == length_before
    page.go_back()
    assert page.url != live_server.url + "/safety/"
    context.close()


def test_every_public_page_in_every_language_has_no_axe_violations(
    browser: Any, live_server: Any
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    found: dict[str, str] = {}
    for language in LANGUAGES:
        context = browser.new_context(viewport=PHONE_VIEWPORT, is_mobile=True, locale=language)
        page = context.new_page()
        pages = ["/", "/follow-up/", "/safety/"]
        for path in pages:
            page.goto(live_server.url + path)
            _axe(axe, page, f"{language} {path}", found)
        page.goto(live_server.url + "/")
        page.get_by_role("button", name=_SEND[language]).click()  # empty: checked here
        page.locator("#error-summary").wait_for()
        _axe(axe, page, f"{language} form errors from the script", found)
        submit_plain(page)  # as without the script: the server's errors
        _axe(axe, page, f"{language} form errors", found)
        page.locator("#id_description").fill("x")
        # No file: the plain post, answered with the receipt's page (post/redirect/get).
        with page.expect_navigation():
            page.get_by_role("button", name=_SEND[language]).click()
        receipt = page.locator("#receipt-code").inner_text().strip()
        _axe(axe, page, f"{language} receipt", found)
        page.reload()  # the code was shown once; the tab's kept copy is shown instead
        _axe(axe, page, f"{language} receipt read again", found)
        page.goto(live_server.url + "/")  # the form, with the code kept in the tab
        _axe(axe, page, f"{language} form with a kept code", found)
        page.goto(live_server.url + "/follow-up/")
        page.locator("#id_code").fill(receipt)
        with page.expect_navigation():
            page.locator("main form button").click()
        _axe(axe, page, f"{language} follow-up report", found)
        context.close()
    assert found == {}


_SEND = {"en": "Send report", "es": "Enviar reporte", "pt-BR": "Enviar relato", "ht": "Voye rapò a"}


def _axe(axe: Any, page: Any, name: str, found: dict[str, str]) -> None:
    page.wait_for_load_state("load")
    results = axe.run(page)
    if results.violations_count:
        found[name] = results.generate_report()


def _assert_canary_nowhere(canary: str, caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    database = _database_dump(tmp_path)
    assert "Cuatro agentes" in database  # the dump does hold the report
    assert canary not in database
    assert "127.0.0.1" not in database
    assert canary not in cache_dump()
    assert canary not in caplog.text
    for log in _log_files():
        assert canary not in log.read_text(errors="replace")


def _database_dump(tmp_path: Path) -> str:
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return "\n".join(connection.connection.iterdump())
    env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
    return subprocess.run(
        ["pg_dump", "-h", db["HOST"] or "localhost", "-p", str(db["PORT"] or 5432),
         "-U", db["USER"] or "postgres", "--data-only", db["NAME"]],
        capture_output=True, text=True, check=True, env=env,
    ).stdout  # fmt: skip


def _log_files() -> list[Path]:
    """The worker's log and anything the service wrote under its var directory."""
    base = (
        Path(os.environ.get("PYTEST_BASETEMP", "")) if os.environ.get("PYTEST_BASETEMP") else None
    )
    roots = [Path(settings.VAR_DIR)] + ([base] if base else [])
    found = [p for root in roots for p in root.rglob("*.log")]
    import tempfile

    found += list(Path(tempfile.gettempdir()).glob("pytest-of-*/pytest-current/worker*/worker.log"))
    return found


def test_upload_interrupted_by_reload_resumes_from_the_servers_offset(
    browser: Any, live_server: Any, tmp_path: Path, wait_for: Callable[..., Any]
) -> None:
    context = browser.new_context(viewport=PHONE_VIEWPORT, is_mobile=True, has_touch=True)
    page = context.new_page()
    video = mp4_like(tmp_path / "VID_0002.mp4", 20 * 1024 * 1024)
    patches: list[int] = []

    def stall_after_first_megabyte(route: Any) -> None:
        offset = int(route.request.headers.get("upload-offset", "0"))
        if route.request.method == "PATCH":
            patches.append(offset)
            if offset >= 1024 * 1024:
                route.abort("connectionreset")  # the signal is gone after the first megabyte
                return
        route.continue_()

    page.route("**/tus/*/", stall_after_first_megabyte)
    page.goto(live_server.url + "/")
    page.get_by_label("What happened?").fill("Agents at the bus stop.")
    page.get_by_label("Photos, videos or audio").set_input_files(str(video))
    page.get_by_role("button", name="Send report").click()
    # Route handlers run only while Playwright is called: wait through the page.
    wait_for(lambda: page.wait_for_timeout(100) or any(o >= 1024 * 1024 for o in patches), 60)
    item = MediaItem.objects.get()
    kept = item.upload_offset
    assert 1024 * 1024 <= kept < video.stat().st_size

    # The witness reloads: the page goes on by itself with the file the browser kept,
    # from the server's offset, without choosing it again.
    page.unroute("**/tus/*/")
    resumed: list[int] = []

    def note_patch(request: Any) -> None:
        if request.method == "PATCH":
            resumed.append(int(request.headers["upload-offset"]))

    page.on("request", note_patch)
    page.reload()
    row = page.locator("#upload-status-list li")
    wait_for(lambda: row.count() == 1 and row.get_attribute("data-state") == "done", timeout=120)

    assert resumed[0] == kept
    assert resumed == sorted(resumed)
    item.refresh_from_db()
    assert (MediaItem.objects.count(), item.upload_offset) == (1, video.stat().st_size)
    assert item.status != MediaStatus.UPLOADING
    context.close()
