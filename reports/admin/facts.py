"""A report's facts at a glance, shared by the moderation queue and the Reports list:
list columns, the field list of the change form, media previews (clean media only) and
the read-only media and message inlines."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from reports.admin.base import ReadOnlyInline
from reports.models import (
    REPORTED_FACTS,
    Agency,
    Answer,
    MediaItem,
    MediaStatus,
    Report,
    ReportMessage,
    Warrant,
)

AGENCY_LABELS = dict(Agency.choices)


def media_previews(report: Report) -> SafeString:
    """Previews of a report's clean media only (promise 1), each streamed by the
    permission-checking view; other items show only their status."""
    items = list(report.media_items.all())
    if not items:
        return format_html("<span>{}</span>", _("No media"))
    parts = []
    for item in items:
        if item.status != MediaStatus.CLEAN:
            parts.append((format_html("<span>{}</span>", item.get_status_display()),))
            continue
        url = reverse("reports:media_file", args=[item.id])
        preview = reverse("reports:media_preview", args=[item.id]) if item.preview_name else ""
        if item.media_kind == "video":
            tag = format_html(
                '<video class="testigo-video" controls preload="none" poster="{}" src="{}" '
                'style="max-width:320px"></video>',
                preview,
                url,
            )
        elif item.media_kind == "audio":
            tag = format_html(
                '<audio class="testigo-audio" controls preload="none" src="{}"></audio>', url
            )
        elif preview:
            tag = format_html(
                '<a href="{}"><img src="{}" alt="{}" class="testigo-preview" '
                'style="max-width:240px;max-height:240px"></a>',
                url,
                preview,
                _("Preview of sanitized media"),
            )
        else:
            tag = format_html('<a href="{}">{} ({})</a>', url, _("Open"), item.detected_format)
        parts.append((tag,))
    return format_html_join(" ", "{}", parts)


class MediaItemInline(ReadOnlyInline[MediaItem, Report]):
    model = MediaItem
    fields = ("position", "status", "media_kind", "detected_format", "reject_reason")
    readonly_fields = fields


class MessageInline(ReadOnlyInline[ReportMessage, Report]):
    model = ReportMessage
    fields = ("created_at", "sender", "author", "body")
    readonly_fields = fields
    verbose_name_plural = _("messages with the witness")


def _yes(value: str) -> str:
    return "✔" if value == Answer.YES else ("✘" if value == Answer.NO else "")


class ReportFactsMixin:
    """Facts at a glance, shared by the queue and the Reports list."""

    @admin.display(description=_("report"), ordering="received_at")
    def short_id(self, obj: Report) -> str:
        return str(obj.id)[:8]

    @admin.display(description=_("when"), ordering="occurred_at")
    def when(self, obj: Report) -> str:
        if obj.occurred_at:
            return timezone.localtime(obj.occurred_at).strftime("%Y-%m-%d %H:%M")
        return Truncator(obj.occurred_text).chars(30)

    @admin.display(description=_("where"), ordering="town")
    def where(self, obj: Report) -> str:
        return obj.town or Truncator(obj.location_text).chars(40)

    @admin.display(description=_("agencies"))
    def agencies_display(self, obj: Report) -> str:
        return ", ".join(str(AGENCY_LABELS.get(a, a)) for a in obj.agencies or [])

    @admin.display(description=_("warrant"), ordering="warrant")
    def warrant_display(self, obj: Report) -> str:
        short: dict[str, str] = {
            Warrant.NOT_SHOWN: "none shown",
            Warrant.ADMINISTRATIVE: "administrative",
            Warrant.JUDICIAL: "judicial",
            Warrant.UNKNOWN: "?",
        }
        return short.get(obj.warrant, "")

    @admin.display(description=_("children"), ordering="children_present")
    def children(self, obj: Report) -> str:
        return _yes(obj.children_present)

    @admin.display(description=_("now"), boolean=True, ordering="happening_now")
    def now(self, obj: Report) -> bool:
        return obj.happening_now

    @admin.display(description=_("media"))
    def media_count(self, obj: Report) -> int:
        return getattr(obj, "media_count", 0)

    @admin.display(description=_("what happened"))
    def excerpt(self, obj: Report) -> str:
        return Truncator(obj.description_shown).chars(80)

    @admin.display(description=_("media previews"))
    def previews(self, obj: Report) -> SafeString:
        return media_previews(obj)

    @admin.display(description=_("what happened (as the witness wrote it)"))
    def description_original(self, obj: Report) -> str:
        return obj.description

    @admin.display(description=_("what happened"))
    def description_current(self, obj: Report) -> str:
        return obj.description_shown

    @admin.display(description=_("taken by"))
    def taken_by(self, obj: Report) -> str:
        if obj.locked_by_id and obj.locked_until and obj.locked_until > timezone.now():
            return str(obj.locked_by)
        return ""


FACT_FIELDS = (
    "short_id",
    "received_at",
    "moderation",
    "language",
    "occurred_at",
    "occurred_text",
    "happening_now",
    "location_text",
    "town",
    "place_type",
    "agencies_display",
    *REPORTED_FACTS,
    "previews",
)
