"""Issue 17's walk-through in Chromium: a legal-aid worker starts a publishable copy from
the report page, watches detection run on the real worker ("faces" queue, the
resource-limited child), reviews it (drags a box over a face the detector missed,
removes a detection that must stay visible), approves, and a partner downloads the copy
through the API. The downloaded copy is checked against the evidence copy: inside every
face region, no face found (even upscaled) and no detail left; outside, the same picture
within encoding tolerance."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from django.core.files.storage import storages
from PIL import Image

from intake.faces import Box, detector
from intake.faces.media import save_jpeg
from intake.faces.regions import iou
from reports import services
from reports.models import CopyStatus, PublishableCopy
from reports.roles import LEGAL_AID
from tests.e2e.staff_pages import laptop_page, login
from tests.factories.publication import (
    ENCODING_TOLERANCE,
    check_hidden,
    clean_item,
    publishable_report,
    review_scene,
)
from tests.factories.staff import PASSWORD, staff_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

__all__ = ["laptop_page"]  # the fixture, used by name


def _stored(name: str) -> bytes:
    with storages["media"].open(name, "rb") as stored:
        return bytes(stored.read())


def _drag(page: Any, box: list[float], image_width: int) -> None:
    """Drag a box (in the copy's pixels) on the photo, as a reviewer does with a mouse."""
    image = page.locator(".testigo-frame img").first
    rect = image.bounding_box()
    scale = rect["width"] / image_width
    page.mouse.move(rect["x"] + box[0] * scale, rect["y"] + box[1] * scale)
    page.mouse.down()
    page.mouse.move(rect["x"] + box[2] * scale, rect["y"] + box[3] * scale, steps=8)
    page.mouse.up()


def test_legal_aid_detect_review_approve_partner_download_faces_hidden(
    laptop_page: Any,
    live_server: Any,
    celery_worker_process: Any,
    wait_for: Callable[..., Any],
) -> None:
    page = laptop_page
    lawyer = staff_user("lawyer", LEGAL_AID)
    report = publishable_report(1)
    scene, faces = review_scene()
    buffer = io.BytesIO()
    save_jpeg(scene, buffer, quality=92)
    item = clean_item(report, buffer.getvalue(), kind="image", fmt="jpeg", ext="jpg")
    evidence_sha = hashlib.sha256(_stored(item.media_name)).hexdigest()
    organisation, key = services.partner_create(
        name="Community Legal", shared_fields=["town", "publishable_copies"]
    )
    services.report_share(report=report, organisation=organisation, by=lawyer)

    # The report page: "Hide faces" starts detection and opens the review page.
    login(page, live_server.url, lawyer, PASSWORD)
    page.goto(f"{live_server.url}/admin/reports/report/{report.id}/change/")
    page.get_by_role("button", name="Hide faces in item 1 (image)").click()
    page.wait_for_url(re.compile(r"/admin/reports/publishablecopy/[0-9a-f-]+/change/"))
    copy = PublishableCopy.objects.get()
    # Progress is shown while the worker runs; the page refreshes itself until review.
    page.get_by_text("Waiting for review").wait_for(timeout=120_000)
    copy.refresh_from_db()
    drawn = page.locator(".testigo-frame .testigo-region")
    drawn.nth(2).wait_for()
    assert (copy.status, drawn.count(), copy.regions.count()) == (CopyStatus.REVIEW, 3, 3)

    # Add the face behind the scarf, which the detector missed.
    scarf = [1015.0, 395.0, 1135.0, 540.0]
    _drag(page, scarf, copy.width)
    box_input = page.locator("#id_region_box")
    assert [float(v) for v in box_input.input_value().split(",")] == pytest.approx(scarf, abs=3)
    page.get_by_role("button", name="Add region").click()
    page.locator(".testigo-frame .testigo-region").nth(3).wait_for()

    # Remove the detection of the face on the poster (the cameraman): it stays visible.
    poster = next(
        region
        for region in copy.regions.filter(source="detected")
        if iou(Box.from_list(region.track["boxes"]["0"]), faces["cameraman"]) > 0.5
    )
    page.get_by_role("button", name=f"Remove region {poster.id}").click()
    page.locator(f"tr.testigo-removed[data-region='{poster.id}']").wait_for()

    # Solid box (the default), then approve; the page follows the copy until it is made.
    page.get_by_label("Solid box").check()
    page.get_by_role("button", name="Approve and make the copy").click()
    page.get_by_text("Ready to publish").wait_for(timeout=120_000)
    page.locator("img.testigo-published").wait_for()

    # The partner's download, through the API with its key.
    auth = {"Authorization": f"Api-Key {key}"}
    listed = page.request.get(
        f"{live_server.url}/api/v1/reports/{report.id}/publishable-copies/", headers=auth
    )
    rows = listed.json()
    download = page.request.get(rows[0]["download_url"])
    published = np.asarray(Image.open(io.BytesIO(download.body())).convert("RGB"))
    evidence = np.asarray(Image.open(io.BytesIO(_stored(item.media_name))).convert("RGB"))
    hidden = [faces["astronaut"], faces["lfw015"], faces["scarf"]]
    check = check_hidden(published, evidence, hidden)
    left_visible = [box for box in detector.detect(published) if iou(box, faces["cameraman"]) > 0.5]
    copy.refresh_from_db()
    assert (
        listed.status,
        len(rows),
        download.status,
        download.headers["content-type"],
        hashlib.sha256(download.body()).hexdigest() == rows[0]["sha256"],
        check.faces_inside,
        check.busy_regions,
        check.outside_difference < ENCODING_TOLERANCE,
        len(left_visible),
        hashlib.sha256(_stored(item.media_name)).hexdigest() == evidence_sha,
        copy.method,
        copy.approved_by,
    ) == (200, 1, 200, "image/jpeg", True, 0, 0, True, 1, True, "fill", lawyer)
