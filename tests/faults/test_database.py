"""PostgreSQL connections killed mid-request and mid-task: a clear 503, retry with
backoff for the task, no orphan file, no half-written row (promises 7 and 8)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from celery import Celery
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from reports.models import AuditEvent, MediaItem, MediaStatus, Report
from tests.factories import jpeg_with_gps, quarantined_item
from tests.factories.problems import assert_problem
from tests.faults.conftest import (
    Processes,
    media_files,
    quarantine_files,
    require_postgres,
    send_process_media,
    terminate_backends,
)

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]


@contextmanager
def _connection_killed_before(table: str) -> Iterator[list[str]]:
    """Terminate this connection's backend (pg_terminate_backend, from another session)
    just before the first INSERT into ``table``: the server drops the connection in the
    middle of the request's transaction, after the report row was written."""
    seen: list[str] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if not seen and sql.startswith(f'INSERT INTO "{table}"'):
            seen.append(sql)
            mine = connection.connection.info.backend_pid
            others = _backend_pids() - {mine}
            terminate_backends(keep=others)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield seen


def _backend_pids() -> set[int]:
    import psycopg

    db = connection.settings_dict
    with psycopg.connect(
        host=db.get("HOST") or "localhost",
        port=int(db.get("PORT") or 5432),
        user=db.get("USER") or None,
        dbname=db["NAME"],
        autocommit=True,
    ) as probe:
        rows = probe.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (db["NAME"],),
        ).fetchall()
    return {row[0] for row in rows}


def test_api_submit_answers_translated_503_and_keeps_nothing_when_database_dies_mid_request() -> (
    None
):
    require_postgres()
    quarantine_before = quarantine_files()

    with _connection_killed_before("reports_report") as seen:
        response = Client().post(
            "/api/v1/intake/reports/",
            {
                "description": "Lost mid-request.",
                "media": SimpleUploadedFile("a.jpg", jpeg_with_gps()),
            },
            HTTP_ACCEPT_LANGUAGE="es",
        )

    assert seen != []
    assert_problem(
        response,
        status=503,
        code="service_unavailable",
        detail="No pudimos guardar esto en este momento. No se guardó nada de lo que envió; "
        "por favor, inténtelo de nuevo en un minuto.",
    )
    assert response["Retry-After"] == "30"
    # The text is committed first (intake.receiving): killed before its row, nothing stays.
    assert Report.objects.count() == 0
    assert MediaItem.objects.count() == 0
    # The stored ciphertext of the lost submission was removed with it.
    assert quarantine_files() == quarantine_before


def test_api_submit_keeps_the_text_and_refuses_the_file_when_database_dies_mid_file() -> None:
    """Text first (promise 9): the report's text was committed before the file's row, so
    losing the database while the file is stored costs the file only, said in the witness's
    language, and leaves no ciphertext behind."""
    require_postgres()
    quarantine_before = quarantine_files()

    with _connection_killed_before("reports_mediaitem") as seen:
        response = Client().post(
            "/api/v1/intake/reports/",
            {
                "description": "Text kept, file lost.",
                "media": SimpleUploadedFile("a.jpg", jpeg_with_gps()),
            },
            HTTP_ACCEPT_LANGUAGE="es",
        )

    assert seen != []
    assert response.status_code == 201, response.content
    assert response.json()["refused_media"] == [
        {
            "index": 0,
            "reason": "storage_error",
            "message": "No se pudo guardar el archivo. Inténtelo de nuevo.",
        }
    ]
    assert list(Report.objects.values_list("description", flat=True)) == ["Text kept, file lost."]
    assert MediaItem.objects.count() == 0
    assert quarantine_files() == quarantine_before


def test_form_submit_answers_translated_503_page_when_database_dies_mid_request() -> None:
    require_postgres()
    client = Client(enforce_csrf_checks=False)
    quarantine_before = quarantine_files()

    with _connection_killed_before("reports_report"):
        response = client.post(
            "/",
            {"description": "Lost mid-request.", "attachments": [
                SimpleUploadedFile("a.jpg", jpeg_with_gps())
            ]},
            HTTP_ACCEPT_LANGUAGE="pt-br",
        )  # fmt: skip

    assert response.status_code == 503
    assert "Não conseguimos salvar isto agora." in response.content.decode()
    assert Report.objects.count() == 0
    assert MediaItem.objects.count() == 0
    assert AuditEvent.objects.count() == 0
    assert quarantine_files() == quarantine_before
    # The next request gets a fresh connection and works.
    # The form answers with post/redirect/get: the receipt is the next page.
    back = client.post("/", {"description": "Back."})
    assert (back.status_code, back["Location"]) == (302, "/receipt/")
    assert Report.objects.count() == 1


def test_tasks_retry_and_finish_once_when_database_connections_are_killed_repeatedly(
    processes: Processes, own_celery: Celery, wait_for: Callable[..., Any]
) -> None:
    require_postgres()
    quarantine_before = quarantine_files()
    items = [quarantined_item(jpeg_with_gps(), f"DB killed {n}.") for n in range(4)]
    processes.worker(concurrency=2)
    mine = {connection.connection.info.backend_pid}
    stop = threading.Event()
    kills: list[int] = []

    def killer() -> None:
        while not stop.is_set():
            kills.append(terminate_backends(keep=mine))
            time.sleep(0.15)

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        for item in items:
            send_process_media(own_celery, item)
        time.sleep(6)
    finally:
        stop.set()
        thread.join()

    wait_for(
        lambda: MediaItem.objects.filter(status=MediaStatus.CLEAN).count() == len(items),
        timeout=90,
        interval=0.5,
    )
    assert sum(kills) > 0
    log = processes.started[0].log.read_text()  # type: ignore[attr-defined]
    assert "retry" in log.lower()
    for item in items:
        item.refresh_from_db()
        assert item.status == MediaStatus.CLEAN
        actions = list(
            AuditEvent.objects.filter(media_item_id=item.id).values_list("action", flat=True)
        )
        assert actions.count("media.clean") == 1
        assert media_files(item.report) == {f"{item.id}.jpg", f"{item.id}.preview.jpg"}
    # Every quarantine copy of this test's items is destroyed, and nothing new is left
    # (the session's own worker may meanwhile finish other tests' leftovers).
    wait_for(lambda: quarantine_files() <= quarantine_before, timeout=10)
