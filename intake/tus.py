"""Resumable uploads: the tus 1.0 protocol (core, creation, termination, expiration).

  POST   /tus/         create an upload (Upload-Length; Upload-Metadata "receipt <code>",
                       or an open follow-up session, says which report it belongs to)
  HEAD   /tus/<key>/   how many bytes the server has
  PATCH  /tus/<key>/   append bytes at Upload-Offset
  DELETE /tus/<key>/   cancel the upload

The key in the URL is random and only its hash is stored: it is the capability to add to
one upload. Requests carry no cookie-based authority, so CSRF protection does not apply.
Errors are problem details (reports.problems): a stable ``code`` saying why, and a
``detail`` in the witness's language.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from email.utils import format_datetime
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from intake import messages
from intake.budgets import TUS_STATUS, upload_budget_check
from intake.followup import followup_report
from intake.resumable import (
    REFUSED_TOO_LARGE,
    UploadRefused,
    resumable_upload_abandon,
    resumable_upload_append,
    resumable_upload_create,
    upload_key_hash,
)
from intake.throttle import (
    TooManyCodeAttempts,
    budget_client,
    receipt_code_report,
    throttle_hit,
)
from reports import selectors
from reports.models import MediaItem, MediaStatus, RefusalReason, Report
from reports.problems import problem_response
from reports.services import UploadConflict
from reports.storage import StorageUnavailable

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination,expiration"
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"


def _tus(response: HttpResponse) -> HttpResponse:
    response["Tus-Resumable"] = TUS_VERSION
    response["Cache-Control"] = "no-store"
    return response


def _error(status: int, message: Any, code: str) -> HttpResponse:
    # An upload that ended without a recorded reason still gets a code.
    return _tus(problem_response(status=status, code=code or "gone", detail=str(message)))


def _options() -> HttpResponse:
    response = HttpResponse(status=204)
    response["Tus-Version"] = TUS_VERSION
    response["Tus-Extension"] = TUS_EXTENSIONS
    response["Tus-Max-Size"] = str(settings.TESTIGO_MAX_UPLOAD_BYTES)
    return _tus(response)


def _tus_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answer OPTIONS, and refuse requests that do not speak tus 1.0.0."""

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "OPTIONS":
            return _options()
        if request.headers.get("Tus-Resumable") != TUS_VERSION:
            response = _error(412, messages.UPLOAD_BAD_REQUEST, "version")
            response["Tus-Version"] = TUS_VERSION
            return response
        return view(request, *args, **kwargs)

    return wrapper


def _header_int(request: HttpRequest, name: str) -> int | None:
    value = request.headers.get(name, "")
    return int(value) if value.isdigit() else None


def parse_metadata(header: str) -> dict[str, str]:
    """Upload-Metadata: comma-separated ``key base64value`` pairs."""
    metadata: dict[str, str] = {}
    for pair in header.split(","):
        parts = pair.strip().split(" ")
        if not parts[0]:
            continue
        try:
            value = base64.b64decode(parts[1], validate=True).decode() if len(parts) > 1 else ""
        except (binascii.Error, UnicodeDecodeError):
            value = ""
        metadata[parts[0]] = value
    return metadata


def _report_for_creation(request: HttpRequest) -> Report | None:
    code = parse_metadata(request.headers.get("Upload-Metadata", "")).get("receipt", "")
    if code:
        return receipt_code_report(request, code=code)
    # The follow-up session is cookie authority: only our own pages may use it, so the
    # CSRF check applies here even though the code-based path needs none.
    if CsrfViewMiddleware(_no_response).process_view(request, _no_response, (), {}) is not None:
        return None
    return followup_report(request)


def _no_response(request: HttpRequest) -> HttpResponse:
    raise AssertionError("only process_view is used")


@_tus_view
def tus_create(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _error(405, messages.UPLOAD_BAD_REQUEST, "method_not_allowed")
    if throttle_hit(request, scope="upload", limit=settings.TESTIGO_THROTTLE_UPLOADS_PER_HOUR):
        return _error(429, messages.THROTTLED, "throttled")
    length = _header_int(request, "Upload-Length")
    if length is None:
        return _error(400, messages.UPLOAD_BAD_REQUEST, "length")
    if length > settings.TESTIGO_MAX_UPLOAD_BYTES:
        return _error(413, messages.refusal_message(REFUSED_TOO_LARGE), REFUSED_TOO_LARGE)
    try:
        report = _report_for_creation(request)
    except TooManyCodeAttempts:
        return _error(429, messages.THROTTLED, "throttled")
    if report is None:
        return _error(403, messages.RECEIPT_UNKNOWN, "receipt")
    over = upload_budget_check(client=budget_client(request), report=report, length=length)
    if over is not None:
        return _error(TUS_STATUS[over], messages.refusal_message(over), over)
    try:
        upload = resumable_upload_create(report=report, length=length)
    except UploadRefused as refused:
        return _error(403, messages.refusal_message(refused.reason), refused.reason)
    response = HttpResponse(status=201)
    response["Location"] = request.build_absolute_uri(
        reverse("intake:tus_upload", kwargs={"key": upload.key})
    )
    _expires(response, upload.item)
    return _tus(response)


def _expires(response: HttpResponse, item: MediaItem) -> None:
    if item.upload_expires_at is not None and item.status == MediaStatus.UPLOADING:
        response["Upload-Expires"] = format_datetime(item.upload_expires_at, usegmt=True)


def _offset_response(item: MediaItem, status: int) -> HttpResponse:
    response = HttpResponse(status=status)
    response["Upload-Offset"] = str(item.upload_offset)
    response["Upload-Length"] = str(item.upload_length or 0)
    _expires(response, item)
    return _tus(response)


@_tus_view
def tus_upload(request: HttpRequest, key: str) -> HttpResponse:
    item = selectors.media_item_by_upload_key(key_hash=upload_key_hash(key))
    if item is None:
        return _error(404, messages.UPLOAD_GONE, "unknown")
    finished = item.status != MediaStatus.UPLOADING and item.upload_offset == item.upload_length
    if request.method == "HEAD":
        if item.status != MediaStatus.UPLOADING and not finished:
            return _error(410, messages.UPLOAD_GONE, item.reject_reason)
        return _offset_response(item, 200)
    if request.method == "DELETE":
        if not resumable_upload_abandon(item=item, reason="cancelled", actor_label="witness"):
            return _error(403 if finished else 410, messages.UPLOAD_GONE, "finished")
        return _tus(HttpResponse(status=204))
    if request.method != "PATCH":
        return _error(405, messages.UPLOAD_BAD_REQUEST, "method_not_allowed")
    limit = settings.TESTIGO_THROTTLE_UPLOAD_PARTS_PER_HOUR
    if throttle_hit(request, scope="upload_part", limit=limit):
        return _error(429, messages.THROTTLED, "throttled")
    return _patch(request, item)


def _patch(request: HttpRequest, item: MediaItem) -> HttpResponse:
    if request.content_type != OFFSET_CONTENT_TYPE:
        return _error(415, messages.UPLOAD_BAD_REQUEST, "content_type")
    offset = _header_int(request, "Upload-Offset")
    length = _header_int(request, "Content-Length")
    if offset is None or length is None:
        return _error(400, messages.UPLOAD_BAD_REQUEST, "offset")
    if item.status != MediaStatus.UPLOADING:
        if item.upload_offset == item.upload_length:
            return _error(409, messages.UPLOAD_CONFLICT, "finished")
        return _error(410, messages.refusal_message(item.reject_reason), item.reject_reason)
    try:
        # request.read streams from the socket: the body is never held whole in memory.
        item = resumable_upload_append(item=item, offset=offset, length=length, read=request.read)
    except UploadConflict:
        return _error(409, messages.UPLOAD_CONFLICT, "offset")
    except StorageUnavailable:
        # Held for retry: the parts stored before the outage are kept and the upload stays
        # open, so the client resumes from the offset it asks for next (HEAD).
        response = _error(
            503, messages.refusal_message(RefusalReason.STORAGE_ERROR), "storage_unavailable"
        )
        response["Retry-After"] = str(settings.TESTIGO_STORAGE_RETRY_S)
        return response
    except UploadRefused as refused:
        status = 413 if refused.reason == REFUSED_TOO_LARGE else 415
        if refused.reason == "upload_expired":
            status = 410
        return _error(status, messages.refusal_message(refused.reason), refused.reason)
    return _offset_response(item, 204)
