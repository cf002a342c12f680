"""Health, readiness and metrics for the operator's orchestrator and monitoring.

``/healthz`` says the process answers; ``/readyz`` that it can work (database, cache,
broker, storage), 503 naming what failed and never why (an error's text may hold a URL
with its password). Both are answered by the first middleware, before host validation and
the HTTPS redirect: a container's health check asks ``127.0.0.1`` over plain HTTP.

``/metrics`` is Prometheus text, only with ``Authorization: Bearer $TESTIGO_METRICS_TOKEN``
(404 while the token is unset); its figures are aggregates by state (reports.selectors.
metrics), so no label can identify a witness (promise 4). The proxy does not pass it on
(deploy/nginx.conf): scrape the web containers directly.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.db import connection
from django.http import HttpRequest, HttpResponse

from config.cache import add_or_get, counter_add
from reports import selectors
from reports.jobs import celery_app

logger = logging.getLogger(__name__)
STORAGE_NAMES = ("quarantine", "media", "legal_hold")
PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache() -> None:
    # The two steps every throttle and byte budget takes (config/cache.py): a server that
    # refuses them (SET NX GET before Redis 7, scripts barred by its access rules) would
    # let every throttle through for good, so it is not ready.
    if add_or_get("readyz", "1", timeout=10) != "1":
        raise RuntimeError("cache did not keep a value")
    counter_add("readyz:count", amount=1, timeout=10)


def _broker() -> None:
    with celery_app().connection_for_write() as conn:
        conn.ensure_connection(max_retries=0, timeout=settings.TESTIGO_PUBLISH_TIMEOUT_S)
        client = getattr(conn.default_channel, "client", None)
        if client is not None:  # Redis connects lazily: ask it something
            client.ping()


def _storage_ready(storage: Storage) -> None:
    if isinstance(storage, FileSystemStorage):
        # Folders are made on first use: the nearest existing one must be writable.
        path = Path(storage.location)
        while not path.exists():
            path = path.parent
        if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError("storage folder is not a writable folder")
    else:
        # S3: the bucket answers to the app's credentials (HeadBucket; raises otherwise).
        client = storage.connection.meta.client  # type: ignore[attr-defined]
        client.head_bucket(Bucket=storage.bucket_name)  # type: ignore[attr-defined]


def _storage() -> None:
    for name in STORAGE_NAMES:
        _storage_ready(storages[name])


CHECKS: dict[str, Callable[[], None]] = {
    "database": _database,
    "cache": _cache,
    "broker": _broker,
    "storage": _storage,
}


def readiness() -> dict[str, str]:
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:
            logger.warning("readiness check %s failed: %s", name, type(exc).__name__)
            results[name] = "fail"
        else:
            results[name] = "ok"
    return results


def metrics_text() -> str:
    figures = selectors.pipeline_figures()
    lines: list[str] = []

    def gauge(
        name: str, help_text: str, samples: Mapping[str, float] | float, label: str = ""
    ) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} gauge")
        if isinstance(samples, Mapping):
            for value_label, value in sorted(samples.items()):
                lines.append(f'{name}{{{label}="{value_label}"}} {value:g}')
        else:
            lines.append(f"{name} {samples:g}")

    gauge("testigo_media_items", "Media items waiting, by state.", figures.items_by_state, "state")
    gauge(
        "testigo_media_oldest_age_seconds",
        "Age of the oldest media item in each waiting state (0 when none).",
        figures.oldest_age_s_by_state,
        "state",
    )
    gauge(
        "testigo_media_failed_items",
        "Media items failed after every attempt.",
        figures.failed_items,
    )
    gauge(
        "testigo_webhook_deliveries",
        "Webhook deliveries not delivered, by status (failed: given up).",
        figures.webhook_deliveries_by_status,
        "status",
    )
    gauge(
        "testigo_upload_bytes_in_flight",
        "Bytes of resumable uploads in progress: received so far, and announced.",
        {"received": figures.upload_bytes_received, "announced": figures.upload_bytes_announced},
        "kind",
    )
    return "\n".join(lines) + "\n"


def _metrics_allowed(request: HttpRequest) -> bool:
    token = str(settings.TESTIGO_METRICS_TOKEN)
    given = str(request.META.get("HTTP_AUTHORIZATION", ""))
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


class HealthMiddleware:
    """First in the chain: answers the three operator paths before anything reads the Host
    header or redirects to HTTPS; every other request passes on."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        if request.path == "/healthz":
            return HttpResponse("ok\n", content_type="text/plain")
        if request.path == "/readyz":
            results = readiness()
            ready = all(value == "ok" for value in results.values())
            body = json.dumps({"ready": ready, "checks": results})
            return HttpResponse(body, status=200 if ready else 503, content_type="application/json")
        if request.path == "/metrics":
            if not settings.TESTIGO_METRICS_TOKEN:
                return HttpResponse(status=404)
            if not _metrics_allowed(request):
                response = HttpResponse(status=401)
                response["WWW-Authenticate"] = "Bearer"
                return response
            return HttpResponse(metrics_text(), content_type=PROMETHEUS_TYPE)
        return self.get_response(request)
