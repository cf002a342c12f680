"""Staff-only views that serve sanitized media. Quarantined bytes have no route at all.

Routed behind the admin site's own check (reports/urls.py: an active staff member with a
verified second factor, as every admin page), then the role's media permission and the
same row visibility as the Reports pages: legal aid sees media of approved reports only.
Streamed in blocks, with byte ranges (reports/streaming.py)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase

from reports import selectors
from reports.formats import CONTENT_TYPES
from reports.models import AuditAction, MediaItem
from reports.services import audit_record
from reports.streaming import media_response


def media_file(request: HttpRequest, media_item_id: str) -> HttpResponseBase:
    item = _viewable_item(request, media_item_id)
    audit_record(
        action=AuditAction.MEDIA_VIEWED,
        actor=request.user,  # type: ignore[arg-type]
        report_id=item.report_id,
        media_item_id=item.id,
    )
    content_type = CONTENT_TYPES.get(item.detected_format, "application/octet-stream")
    return media_response(request, item.media_name, content_type)


def media_preview(request: HttpRequest, media_item_id: str) -> HttpResponseBase:
    item = _viewable_item(request, media_item_id)
    if not item.preview_name:
        raise Http404
    return media_response(request, item.preview_name, "image/jpeg")


def _viewable_item(request: HttpRequest, media_item_id: str) -> MediaItem:
    if not request.user.has_perm("reports.view_mediaitem"):
        raise PermissionDenied
    item = selectors.staff_media_item(user=request.user, media_item_id=media_item_id)
    if item is None:
        raise Http404
    return item
