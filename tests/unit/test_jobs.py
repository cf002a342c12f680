"""Services queue Celery tasks by name (reports/jobs.py): every name is a registered task,
and a broker that cannot be reached is logged, never raised."""

from __future__ import annotations

from typing import Any

import pytest
from celery import current_app

from config.celery import app
from reports import jobs


def test_every_job_name_is_a_registered_task() -> None:
    import intake.tasks  # noqa: F401  (registers the tasks)
    import reports.tasks  # noqa: F401

    names = sorted(value for key, value in vars(jobs).items() if key.isupper())
    assert names == [
        "intake.tasks.faces_detect",
        "intake.tasks.faces_render",
        "intake.tasks.process_media",
        "reports.tasks.alert_failed_media",
        "reports.tasks.alert_urgent_report",
        "reports.tasks.deliver_webhook",
        "reports.tasks.purge_expired",
        "reports.tasks.send_alerts_digest",
        "reports.tasks.sweep_webhooks",
    ]
    for name in names:
        assert name in app.tasks, name


def test_enqueue_publishes_the_task_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(
        current_app, "send_task", lambda name, **options: sent.append((name, options))
    )
    assert jobs.enqueue(jobs.DELIVER_WEBHOOK, countdown=30, delivery_id="d1") is True
    assert sent == [(jobs.DELIVER_WEBHOOK, {"kwargs": {"delivery_id": "d1"}, "countdown": 30})]


def test_enqueue_logs_a_broker_outage_and_says_false(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def down(name: str, **options: Any) -> None:
        raise ConnectionRefusedError

    monkeypatch.setattr(current_app, "send_task", down)
    assert jobs.enqueue(jobs.ALERT_URGENT_REPORT, report_id="r1") is False
    assert "could not queue reports.tasks.alert_urgent_report" in caplog.text
