from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from reports import selectors
from reports.models import AuditEvent, MediaItem, MediaStatus, ModerationQueue, Report


def media_previews(report: Report) -> SafeString:
    """Previews of a report's clean media; other items show only their status."""
    items = list(report.media_items.all())
    if not items:
        return format_html("<span>{}</span>", _("No media"))
    parts = []
    for item in items:
        if item.status != MediaStatus.CLEAN:
            parts.append((format_html("<span>{}</span>", item.get_status_display()),))
            continue
        url = reverse("reports:media_file", args=[item.id])
        if item.preview_name:
            tag = format_html(
                '<a href="{}"><img src="{}" alt="{}" class="testigo-preview" '
                'style="max-width:240px;max-height:240px"></a>',
                url,
                reverse("reports:media_preview", args=[item.id]),
                _("Preview of sanitized media"),
            )
        else:
            tag = format_html('<a href="{}">{} ({})</a>', url, _("Open"), item.detected_format)
        parts.append((tag,))
    return format_html_join(" ", "{}", parts)


class MediaItemInline(admin.TabularInline[MediaItem, Report]):
    model = MediaItem
    extra = 0
    can_delete = False
    fields = ("position", "status", "detected_format", "reject_reason", "size_received")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReportAdminBase(admin.ModelAdmin[Report]):
    list_display = [
        "short_id",
        "received_at",
        "occurred_text",
        "location_text",
        "media_count",
        "language",
        "excerpt",
    ]
    list_display_links = ["short_id"]
    readonly_fields = (
        "short_id",
        "received_at",
        "moderation",
        "language",
        "occurred_text",
        "location_text",
        "description",
        "previews",
    )
    fields = readonly_fields
    inlines = [MediaItemInline]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("report"))
    def short_id(self, obj: Report) -> str:
        return str(obj.id)[:8]

    @admin.display(description=_("media"))
    def media_count(self, obj: Report) -> int:
        return getattr(obj, "media_count", 0)

    @admin.display(description=_("what happened"))
    def excerpt(self, obj: Report) -> str:
        return Truncator(obj.description).chars(80)

    @admin.display(description=_("media previews"))
    def previews(self, obj: Report) -> SafeString:
        return media_previews(obj)


@admin.register(ModerationQueue)
class ModerationQueueAdmin(ReportAdminBase):
    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        return selectors.moderation_queue()


@admin.register(Report)
class ReportAdmin(ReportAdminBase):
    list_display = ["short_id", "received_at", "moderation", "media_count", "excerpt"]
    list_filter = ["moderation"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        return selectors.reports_with_media_count()


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    list_display = ["at", "action", "actor", "actor_label", "report_id"]
    list_filter = ["action"]
    list_select_related = ["actor"]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
