"""Staff-only views that serve sanitized media. Quarantined bytes have no route at all."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.core.files.storage import storages
from django.http import FileResponse, Http404, HttpRequest

from reports import selectors
from reports.formats import CONTENT_TYPES
from reports.models import AuditAction, MediaItem
from reports.services import audit_record


@staff_member_required
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


@staff_member_required
def media_preview(request: HttpRequest, media_item_id: str) -> FileResponse:
    item = _viewable_item(request, media_item_id)
    if not item.preview_name:
        raise Http404
    return _stream(item.preview_name, "image/jpeg")


def _viewable_item(request: HttpRequest, media_item_id: str) -> MediaItem:
    if not request.user.has_perm("reports.view_mediaitem"):
        raise PermissionDenied
    item = selectors.clean_media_item(media_item_id=media_item_id)
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
