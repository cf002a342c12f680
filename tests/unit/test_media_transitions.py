"""The media state table: complete, consistent with what counts as settled, enforced."""

from __future__ import annotations

import pytest

from reports.models import MEDIA_TRANSITIONS, SETTLED_MEDIA, MediaStatus
from reports.services import InvalidTransition
from reports.services.media import _media_status_check


def test_every_media_status_has_its_transitions() -> None:
    assert set(MEDIA_TRANSITIONS) == set(MediaStatus.values)
    for targets in MEDIA_TRANSITIONS.values():
        assert targets <= set(MediaStatus.values)


def test_settled_media_are_the_states_with_no_way_out() -> None:
    assert set(SETTLED_MEDIA) == {s for s, targets in MEDIA_TRANSITIONS.items() if not targets}


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (MediaStatus.CLEAN, MediaStatus.PROCESSING),
        (MediaStatus.REJECTED, MediaStatus.QUARANTINED),
        (MediaStatus.FAILED, MediaStatus.QUARANTINED),
        (MediaStatus.QUARANTINED, MediaStatus.CLEAN),
        (MediaStatus.UPLOADING, MediaStatus.PROCESSING),
    ],
)
def test_a_change_outside_the_table_is_refused(source: str, target: str) -> None:
    with pytest.raises(InvalidTransition):
        _media_status_check(source, target)


def test_the_pipelines_changes_are_in_the_table() -> None:
    for source, target in [
        (MediaStatus.UPLOADING, MediaStatus.QUARANTINED),
        (MediaStatus.QUARANTINED, MediaStatus.PROCESSING),
        (MediaStatus.PROCESSING, MediaStatus.CLEAN),
        (MediaStatus.PROCESSING, MediaStatus.FAILED),
    ]:
        _media_status_check(source, target)
