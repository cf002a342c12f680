"""Staff-only views that serve sanitized media. Quarantined bytes have no route at all.

Routed behind the admin site's own check (reports/urls.py: an active staff member with a
verified second factor, as every admin page), then the role's media permission and the
same row visibility as the Reports pages: legal aid sees media of approved reports only."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.files.storage import storages
from django.http import FileResponse, Http404, HttpRequest

from reports import selectors
from reports.formats import CONTENT_TYPES
from reports.models import AuditAction, MediaItem
from reports.services import audit_record


def media_file(request: HttpRequest, media_item_id: str) -> FileResponse:
    item = _viewable_item(request, media_item_id)
    audit_record(
        action=AuditAction.MEDIA_VIEWED,
        actor=request.user,  # type: ignore[arg-type]
        report_id=item.report_id,
        media_item_id=item.id,
    )
    content_type = CONTENT_TYPES.get(item.detected_format, "application/octet-stream")
    return _stream(item.media_name, content_type)


def media_preview(request: HttpRequest, media_item_id: str) -> FileResponse:
    item = _viewable_item(request, media_item_id)
    if not item.preview_name:
        raise Http404
    return _stream(item.preview_name, "image/jpeg")


def _viewable_item(request: HttpRequest, media_item_id: str) -> MediaItem:
    if not request.user.has_perm("reports.view_mediaitem"):
        raise PermissionDenied
    item = selectors.staff_media_item(user=request.user, media_item_id=media_item_id)
    if item is None:
        raise Http404
    return item


def _stream(name: str, content_type: str) -> FileResponse:
    response = FileResponse(storages["media"].open(name, "rb"), content_type=content_type)
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "private, no-store"
    # Even a crafted file cannot run script in our origin.
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"
    )
    return response
