"""The two media reads every file of a submit makes, written out in SQL
(reports/selectors/media.py): their answers on a report with files in every state."""

from __future__ import annotations

import uuid

import pytest

from reports.models import MediaItem, MediaStatus, Report
from reports.selectors import media_item_in_turn, report_media_tally
from reports.selectors.media import MediaTally


def _report() -> Report:
    return Report.objects.create(receipt_hash=uuid.uuid4().hex * 2, description="x")


def _item(report: Report, position: int, status: str, **fields: int) -> MediaItem:
    return MediaItem.objects.create(report=report, position=position, status=status, **fields)


@pytest.mark.django_db
def test_media_tally_counts_the_reports_files_and_every_reports_outstanding_upload() -> None:
    report, other = _report(), _report()
    _item(report, 0, MediaStatus.QUARANTINED, size_received=100)
    _item(report, 1, MediaStatus.REJECTED, size_received=50)
    _item(report, 2, MediaStatus.UPLOADING, upload_length=400, upload_offset=100, size_received=100)
    _item(report, 3, MediaStatus.CLEAN, upload_length=40, size_received=70)  # the larger counts
    _item(other, 0, MediaStatus.UPLOADING, upload_length=1000, upload_offset=10)

    assert report_media_tally(report=report) == MediaTally(
        next_position=4, count=4, bytes=570, outstanding=1290
    )
    assert report_media_tally(report=_report()) == MediaTally(
        next_position=0, count=0, bytes=0, outstanding=1290
    )


@pytest.mark.django_db
def test_media_item_in_turn_counts_the_items_ahead_in_report_order() -> None:
    report = _report()
    claimed = _item(report, 0, MediaStatus.PROCESSING)
    _item(report, 1, MediaStatus.CLEAN)
    _item(report, 1, MediaStatus.UPLOADING)  # not in the pipeline yet: not ahead
    _item(report, 1, MediaStatus.FAILED)  # settled: not ahead
    first, second = sorted(
        [_item(report, 2, MediaStatus.QUARANTINED), _item(report, 2, MediaStatus.QUARANTINED)],
        key=lambda item: item.id,
    )
    _item(_report(), 0, MediaStatus.QUARANTINED)  # another report's: not ahead

    def turn(item: MediaItem, in_flight: int) -> uuid.UUID | None:
        found = media_item_in_turn(media_item_id=str(item.id), in_flight=in_flight)
        return None if found is None else found.id

    assert turn(claimed, 1) == claimed.id  # claimed: its task decides
    assert turn(first, 1) is None  # the claimed one is ahead
    assert turn(first, 2) == first.id
    assert turn(second, 2) is None  # same position: the lower ID goes first
    assert turn(second, 3) == second.id
    found = media_item_in_turn(media_item_id=second.id, in_flight=3)  # a UUID, not its text
    assert (found.id, found.report_id) == (second.id, report.id)  # type: ignore[union-attr]
    assert media_item_in_turn(media_item_id=uuid.uuid4(), in_flight=3) is None
