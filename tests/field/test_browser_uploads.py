"""Issue 11, the browser's side: a witness's phone on a slow or broken uplink sends every
file, in real Chromium through the production stack: nginx with deploy/nginx.conf in
front of gunicorn with config/gunicorn.py, and a Celery worker (tests/field/stack.py).

Each test is one condition of the issue's table. The link is shaped and cut through the
DevTools protocol (tests/field/phone.py); that throttles request bodies too, which the
Slow 3G test checks by measuring that nothing went faster than the link.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reports.models import (
    MediaItem,
    MediaStatus,
    MessageSender,
    Moderation,
    Report,
    ReportMessage,
)
from tests.e2e.chromium import PHONE_VIEWPORT
from tests.e2e.conftest import browser, neutral_site  # noqa: F401  (the fixtures)
from tests.factories.tools import require_tool
from tests.field.phone import (
    EDGE,
    FAST_3G,
    RECORD_WAKE_LOCK,
    SEGMENT,
    SLOW_3G,
    Link,
    TusLog,
    kept_files,
    noise_jpeg,
    noise_video,
    send_report,
    upload_rows,
)
from tests.field.stack import FieldStack
from tests.field.witness_http import api_report

pytestmark = [pytest.mark.field, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def field_stack_env(neutral_site: str) -> dict[str, str]:  # noqa: F811
    return {"TESTIGO_QUICK_EXIT_URL": neutral_site}


@pytest.fixture
def witness_site(field_stack: FieldStack) -> str:
    """The base URL the phone connects to: the proxy, with gunicorn and a worker behind."""
    return field_stack.url


@pytest.fixture
def phone(browser: Any) -> Iterator[tuple[Any, Any]]:  # noqa: F811
    context = browser.new_context(viewport=PHONE_VIEWPORT, is_mobile=True, has_touch=True)
    page = context.new_page()
    yield context, page
    context.close()


@pytest.fixture
def ffmpeg() -> str:
    return require_tool("ffmpeg")


def until(page: Any, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll through the page: Playwright delivers its events only while it is called."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        page.wait_for_timeout(250)
    raise AssertionError(f"{what}: not within {timeout} s; rows: {upload_rows(page)}")


def all_done(page: Any, count: int) -> bool:
    rows = upload_rows(page)
    return len(rows) == count and all(row["state"] == "done" for row in rows)


def states_seen(page: Any) -> set[str]:
    return {state for _name, state in page.evaluate("window.testigoStates || []")}


def test_slow_3g_photo_and_video_reach_pending_at_link_speed(
    witness_site: str, phone: tuple[Any, Any], ffmpeg: str, tmp_path: Path, wait_for: Any
) -> None:
    context, page = phone
    photo = noise_jpeg(tmp_path / "IMG_2041.jpg", 1_200_000)
    video = noise_video(tmp_path / "VID_2042.mp4", 2_000_000, ffmpeg)
    total = photo.stat().st_size + video.stat().st_size
    log = TusLog(page)
    Link(context, page, SLOW_3G)

    send_report(page, witness_site, [photo, video], "Two agents at the corner store.")
    until(page, lambda: all_done(page, 2), 150, "both files sent")

    goodput = total / log.sending_time()
    # The emulation throttles bodies (nothing beat the link) and the client keeps the link
    # busy: small first chunks, then a few seconds each, no stalls taken for failures.
    assert 0.8 * SLOW_3G.up <= goodput <= 1.05 * SLOW_3G.up, goodput
    patches = log.patches()
    assert all(p.status == 204 for p in patches)
    firsts = [p for p in patches if p.offset == 0]
    assert len(firsts) == 2
    assert all((p.answered_offset or 0) <= SEGMENT for p in firsts)
    assert max((p.ended or 0) - p.started for p in patches) < 15
    assert states_seen(page) <= {"waiting", "uploading", "done"}

    report = Report.objects.get()
    wait_for(
        lambda: Report.objects.filter(id=report.id, moderation=Moderation.PENDING).exists(), 90
    )
    items = list(report.media_items.order_by("position"))
    assert [(i.media_kind, i.status) for i in items] == [
        ("image", MediaStatus.CLEAN),
        ("video", MediaStatus.CLEAN),
    ]


PROGRESS = re.compile(r"^([\d.,]+) of ([\d.,]+) MB(?: · About (\d+) (s|min) left)?$")


def test_64_kbit_photo_arrives_and_the_page_says_how_far_and_how_long(
    witness_site: str, phone: tuple[Any, Any], tmp_path: Path, wait_for: Any
) -> None:
    context, page = phone
    photo = noise_jpeg(tmp_path / "IMG_3001.jpg", 300_000)
    size = photo.stat().st_size
    Link(context, page, EDGE)
    page.add_init_script(RECORD_WAKE_LOCK)

    send_report(page, witness_site, [photo], "Agents at the laundromat.")
    seen: list[tuple[float, str]] = []
    awake: list[list[str]] = []

    def sample() -> bool:
        row = (upload_rows(page) or [{}])[0]
        if row.get("state") == "uploading":
            seen.append((time.monotonic(), row["progress"]))
            awake.append(page.evaluate("window.testigoWake"))
        return row.get("state") == "done"

    until(page, sample, 120, "the photo sent")
    done_at = time.monotonic()
    # The screen stays on while the photo goes, and is let go once it is sent.
    assert awake and all(calls == ["request screen"] for calls in awake), awake
    until(page, lambda: page.evaluate("window.testigoWake").count("release") == 1, 5, "release")

    texts = list(dict.fromkeys(text for _t, text in seen))
    assert len(texts) >= 6, texts  # it moves, visibly, several times a minute
    parsed = [(t, PROGRESS.match(text)) for t, text in seen]
    assert all(match for _t, match in parsed), texts
    assert {m.group(2) for _t, m in parsed if m} == {f"{size / 1e6:.2f}"}
    estimates = [
        (done_at - t, int(m.group(3)) * (60 if m.group(4) == "min" else 1))
        for t, m in parsed
        if m and m.group(3)
    ]
    assert len(estimates) >= 10, texts
    for actual, said in estimates:
        if actual >= 10:  # an honest estimate: within half and one and a half times
            assert 0.5 * actual - 5 <= said <= 1.5 * actual + 5, (actual, said, texts)

    item = MediaItem.objects.get()
    assert item.upload_offset == size
    wait_for(lambda: MediaItem.objects.filter(id=item.id, status=MediaStatus.CLEAN).exists(), 60)


def test_upload_completes_though_the_link_drops_10_s_every_30_s(
    witness_site: str, phone: tuple[Any, Any], ffmpeg: str, tmp_path: Path, wait_for: Any
) -> None:
    context, page = phone
    video = noise_video(tmp_path / "VID_4001.mp4", 9_000_000, ffmpeg)
    size = video.stat().st_size
    log = TusLog(page)
    link = Link(context, page, FAST_3G)

    send_report(page, witness_site, [video], "They stopped the bus on Route 9.")
    until(page, lambda: log.patches(), 30, "the first PATCH")
    began = time.monotonic()
    drops: list[dict[str, Any]] = []
    cut = False

    def step() -> bool:
        nonlocal cut
        row = upload_rows(page)[0]
        if row["state"] == "done":
            return True
        phase = (time.monotonic() - began) % 30
        if phase >= 20 and not cut:
            link.cut()
            cut = True
            drops.append({"at": time.time(), "said": set()})
        elif phase >= 21 and cut and "sent" not in drops[-1]:
            drops[-1]["sent"] = int(row["sent"])  # the client's count when the link went
        elif phase < 20 and cut:
            link.restore()
            cut = False
            drops[-1]["back"] = time.time()
        if cut and phase >= 21:
            drops[-1]["said"].add(row["said"])
        return False

    until(page, step, 240, "the video sent")
    assert len(drops) >= 2
    for drop in drops:
        # Only while there is no connection does the page say so.
        assert drop["said"] == {"Waiting for a connection"}, drop
        answered = [h for h in log.heads() if h.started > drop["back"]]
        if answered and "sent" in drop:
            lost = drop["sent"] - (answered[0].answered_offset or 0)
            assert lost <= SEGMENT, (drop, lost)
    assert [p.offset for p in log.patches() if p.offset == 0] == [0]  # never restarted

    item = MediaItem.objects.get()
    assert item.upload_offset == size
    wait_for(lambda: not MediaItem.objects.filter(status=MediaStatus.UPLOADING).exists(), 30)


@pytest.mark.parametrize("how", ["reload", "discard"])
def test_reload_or_discard_mid_upload_resumes_without_choosing_the_file_again(
    witness_site: str,
    phone: tuple[Any, Any],
    ffmpeg: str,
    tmp_path: Path,
    wait_for: Any,
    how: str,
) -> None:
    context, page = phone
    video = noise_video(tmp_path / "VID_5001.mp4", 1_600_000, ffmpeg)
    size = video.stat().st_size
    log = TusLog(page)
    Link(context, page, SLOW_3G)

    send_report(page, witness_site, [video], "Agents at the clinic door.")

    def stored() -> int:
        item = MediaItem.objects.first()
        return item.upload_offset if item else 0

    until(page, lambda: stored() >= 500_000, 60, "half a megabyte stored")
    assert kept_files(page) == 1
    before = stored()
    reloaded = time.time()
    if how == "reload":
        page.reload()
    else:
        # The phone discards the tab to free memory: the page is gone without unloading,
        # and coming back to the site opens a new one in the same browser profile.
        page.close(run_before_unload=False)
        page = context.new_page()
        log = TusLog(page)
        Link(context, page, SLOW_3G)
        page.goto(witness_site + "/")

    # Nothing chosen again: the kept file goes on from the server's offset.
    until(page, lambda: all_done(page, 1), 90, "the video sent after the reload")
    after = [p for p in log.patches() if p.started > reloaded]
    assert after and after[0].offset is not None and after[0].offset >= before > 0
    assert all(p.offset for p in after)  # none from 0
    resumed = sum((p.answered_offset or 0) - (p.offset or 0) for p in after if p.status == 204)
    seconds = max(p.ended or 0 for p in after) - after[0].started
    assert resumed / seconds <= 1.05 * SLOW_3G.up  # still on the slow link after the reload
    assert page.locator("#upload-status-list li").count() == 1
    assert kept_files(page) == 0  # sent: no longer kept in the browser

    assert MediaItem.objects.count() == 1
    assert MediaItem.objects.get().upload_offset == size


def test_quick_exit_mid_upload_forgets_the_kept_files(
    witness_site: str,
    phone: tuple[Any, Any],
    ffmpeg: str,
    tmp_path: Path,
    neutral_site: str,  # noqa: F811
) -> None:
    context, page = phone
    video = noise_video(tmp_path / "VID_6001.mp4", 1_600_000, ffmpeg)
    log = TusLog(page)
    Link(context, page, SLOW_3G)

    send_report(page, witness_site, [video], "Agents outside the church.")
    until(page, lambda: kept_files(page) == 1 and log.patches(), 60, "a kept file, sending")
    # The test holds on the browser going to the neutral site (the stack's Quick exit URL);
    # how fast it answers under the emulated link does not matter here.
    with page.expect_request(lambda r: r.url.startswith(neutral_site), timeout=10_000):
        page.get_by_role("link", name="Quick exit").click()
    patches = len(log.patches())

    # Back on the site (the form, which would resume a kept file): nothing is left.
    page.goto(witness_site + "/")
    page.wait_for_timeout(3000)
    assert kept_files(page) is None
    assert page.evaluate("sessionStorage.length + localStorage.length") == 0
    assert page.locator("li.upload").count() == 0
    assert len(log.patches()) == patches
    # The report and what arrived are kept on the server.
    assert Report.objects.count() == 1


def test_follow_up_with_a_file_over_slow_3g_keeps_the_text_first_and_resumes(
    witness_site: str, phone: tuple[Any, Any], tmp_path: Path, wait_for: Any
) -> None:
    context, page = phone
    photo = noise_jpeg(tmp_path / "IMG_7001.jpg", 700_000)
    log = TusLog(page)
    page.goto(witness_site + "/")
    page.get_by_label("What happened?").fill("A van without plates.")
    page.get_by_role("button", name="Send report").click()
    receipt = page.locator("#receipt-code").inner_text().strip()
    report = Report.objects.get()
    sends: list[str] = []

    def note_send(request: Any) -> None:
        if request.url.endswith("/follow-up/send/"):
            sends.append(f"{request.method} {len(request.post_data_buffer or b'') < 10_000}")

    page.on("request", note_send)

    Link(context, page, SLOW_3G)
    page.goto(witness_site + "/follow-up/")
    page.get_by_label("Your receipt code").fill(receipt)
    page.get_by_role("button", name="Open my report").click()
    page.get_by_label("Answer a question or add information").fill("The van was white.")
    page.get_by_label("Photos, videos or audio").set_input_files(str(photo))
    page.get_by_role("button", name="Send", exact=True).click()

    # The text is kept at once; the photo goes by tus on the next page, by itself.
    page.get_by_text("Thank you. We received what you sent.").wait_for()
    assert [m.body for m in report.messages.filter(sender=MessageSender.WITNESS)] == [
        "The van was white."
    ]
    assert sends == ["POST True"]  # the text once, without the file
    until(page, lambda: all_done(page, 1), 60, "the photo sent")
    assert log.patches() and all(p.status == 204 for p in log.patches())
    assert kept_files(page) == 0
    item = report.media_items.get()
    assert item.upload_offset == photo.stat().st_size

    # A file alone, no text: it is sent from this page, with its own row.
    second = noise_jpeg(tmp_path / "IMG_7002.jpg", 150_000)
    page.get_by_label("Photos, videos or audio").set_input_files(str(second))
    page.get_by_role("button", name="Send", exact=True).click()
    until(page, lambda: all_done(page, 2), 60, "the second photo sent")
    assert sends == ["POST True"]
    assert sorted(report.media_items.values_list("upload_offset", flat=True)) == sorted(
        [photo.stat().st_size, second.stat().st_size]
    )
    wait_for(lambda: report.media_items.filter(status=MediaStatus.CLEAN).count() == 2, 60)


def test_web_process_killed_mid_patch_the_page_resumes_from_what_was_stored(
    witness_site: str,
    field_stack: FieldStack,
    phone: tuple[Any, Any],
    tmp_path: Path,
    wait_for: Any,
) -> None:
    context, page = phone
    photo = noise_jpeg(tmp_path / "IMG_9001.jpg", 1_200_000)
    size = photo.stat().st_size
    log = TusLog(page)
    Link(context, page, SLOW_3G)

    send_report(page, witness_site, [photo], "Agents at the train station.")

    def stored() -> int:
        item = MediaItem.objects.first()
        return item.upload_offset if item else 0

    until(page, lambda: stored() >= 300_000, 60, "some segments stored")
    # Between two PATCHes no process holds the phone's request: try until one does.
    killed = until(page, field_stack.kill_web_worker_serving, 20, "a PATCH in flight")
    at = time.time()
    kept = stored()

    assert len(killed) == 1
    until(page, lambda: all_done(page, 1), 90, "the photo sent after the kill")
    after = [p for p in log.patches() if p.started > at]
    # The page asked where the server was and went on from there, never from 0.
    assert after and after[0].offset is not None and after[0].offset >= kept > 0
    assert [p.offset for p in log.patches() if p.offset == 0] == [0]
    # Never failed, and never "Waiting for a connection": the link did not drop.
    assert states_seen(page) <= {"waiting", "uploading", "slow", "done"}
    item = MediaItem.objects.get()
    assert item.upload_offset == size
    wait_for(lambda: MediaItem.objects.filter(id=item.id, status=MediaStatus.CLEAN).exists(), 60)


@pytest.fixture
def spanish_phone_without_javascript(browser: Any) -> Iterator[tuple[Any, Any]]:  # noqa: F811
    context = browser.new_context(
        viewport=PHONE_VIEWPORT, is_mobile=True, java_script_enabled=False, locale="es-ES"
    )
    yield context, context.new_page()
    context.close()


def test_followup_without_javascript_cut_by_a_killed_web_process_keeps_the_message(
    witness_site: str,
    field_stack: FieldStack,
    spanish_phone_without_javascript: tuple[Any, Any],
    tmp_path: Path,
) -> None:
    """Any error on a witness page, here the worst: the web process handling a Spanish
    witness's follow-up dies while the photo is still arriving over Slow 3G. The witness
    gets the proxy's page, in their language among the others, saying what reached us is
    kept, never a bare English 500; and the typed message did reach moderators."""
    context, page = spanish_phone_without_javascript
    photo = noise_jpeg(tmp_path / "IMG_8001.jpg", 1_500_000)
    code = api_report(field_stack.address, "Agentes en la parada del autobús.")
    page.goto(witness_site + "/follow-up/")
    page.get_by_label("Su código de seguimiento").fill(code)
    page.get_by_role("button", name="Abrir mi reporte").click()
    Link(context, page, SLOW_3G)
    page.get_by_label("Responda una pregunta o agregue información").fill("Eran tres agentes.")
    page.get_by_label("Fotos, videos o audio").set_input_files(str(photo))
    # The post takes about 30 s on this link: the test goes on while it is sent.
    page.get_by_role("button", name="Enviar", exact=True).click(no_wait_after=True)

    kept = ReportMessage.objects.filter(body="Eran tres agentes.", sender=MessageSender.WITNESS)
    until(page, kept.exists, 30, "the message committed before the photo arrived")
    page.wait_for_timeout(3000)  # the photo is on its way
    killed = field_stack.kill_web_worker_serving()

    assert len(killed) == 1
    page.get_by_text("Lo que ya nos llegó se guardó.").wait_for(timeout=90_000)
    assert "Internal Server Error" not in page.content()
    assert kept.count() == 1


# Records what the page hands to the phone's share sheet (headless Chromium has none).
SHARE_SHEET = (
    "window.shared = [];"
    "navigator.share = (data) => { shared.push(data); return Promise.resolve(); };"
)


def test_spanish_phone_on_slow_3g_sends_a_photo_copies_and_shares_its_code(
    witness_site: str,
    browser: Any,  # noqa: F811
    tmp_path: Path,
    wait_for: Any,
) -> None:
    """The witness's whole first visit as a person drives it, through the proxy on Slow 3G
    at 320 px in Spanish: the camera, Send, the code copied and shared, then the page read
    again in Kreyòl still shows the code kept in the tab."""
    context = browser.new_context(
        viewport={"width": 320, "height": 640}, is_mobile=True, has_touch=True, locale="es"
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    context.add_init_script(SHARE_SHEET)
    page = context.new_page()
    Link(context, page, SLOW_3G)
    photo = noise_jpeg(tmp_path / "IMG_3001.jpg", 300_000)
    page.goto(witness_site + "/")
    overflow = ["/", page.evaluate("document.documentElement.scrollWidth - innerWidth")]

    with page.expect_file_chooser() as chooser:
        page.tap("label[for=id_camera]")
    chooser.value.set_files(str(photo))
    page.tap("#send-report")
    code = page.locator("#receipt-code")
    until(page, lambda: code.get_attribute("data-code"), 60, "the receipt code")
    sent = str(code.get_attribute("data-code"))
    lines_per_group = code.locator(".group").evaluate_all(
        "(groups) => groups.map((g) => new Set([...g.getClientRects()].map((r) => r.top)).size)"
    )
    page.get_by_role("button", name="Copiar código").tap()
    copied = page.evaluate("navigator.clipboard.readText()")
    copy_says = page.locator(".receipt-copy:visible").inner_text()
    page.get_by_role("button", name="Compartir código").tap()
    shared = page.evaluate("window.shared")
    until(page, lambda: all_done(page, 1), 60, "the photo sent")
    overflow += ["receipt", page.evaluate("document.documentElement.scrollWidth - innerWidth")]

    page.locator("nav.languages a[hreflang=ht]").tap()
    page.wait_for_load_state()
    kept = page.locator("#receipt-kept .receipt")
    until(page, lambda: kept.get_attribute("data-code"), 30, "the kept code")
    overflow += ["ht", page.evaluate("document.documentElement.scrollWidth - innerWidth")]

    assert (
        lines_per_group,
        copied,
        copy_says,
        shared,
        page.evaluate("document.documentElement.lang"),
        kept.get_attribute("data-code"),
        overflow,
    ) == (
        [1] * 5,
        sent,
        "Copiado",
        [{"text": sent}],
        "ht",
        sent,
        ["/", 0, "receipt", 0, "ht", 0],
    )
    report = Report.objects.get()
    wait_for(
        lambda: Report.objects.filter(id=report.id, moderation=Moderation.PENDING).exists(), 90
    )
    assert [i.status for i in report.media_items.all()] == [MediaStatus.CLEAN]
    context.close()
