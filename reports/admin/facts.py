"""A report's facts at a glance, shared by the moderation queue and the Reports list:
list columns (an excerpt of the witness's words, urgency flags, "witness replied"), the
compact two-column grid of facts on a report's page, times with their zone, media
previews (clean media only), and the conversation with the witness."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.forms import BoundField, Form
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _

from reports import policy, selectors
from reports.models import (
    REDACTABLE_FACTS,
    REPORTED_FACTS,
    Agency,
    Answer,
    MediaItem,
    MediaStatus,
    MessageSender,
    Report,
    ReportMessage,
    Warrant,
)

AGENCY_LABELS = dict(Agency.choices)
EXCERPT_CHARS = 120


def _offset(value: datetime) -> str:
    minutes = int((value.utcoffset() or timedelta(0)).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def staff_time(value: datetime | None) -> str:
    """A server time (received, reviewed) in the deployment's TIME_ZONE, zone named."""
    if value is None:
        return ""
    local = timezone.localtime(value, timezone.get_default_timezone())
    return f"{local:%Y-%m-%d %H:%M} {_offset(local)}"


def witness_time(report: Report) -> str:
    """When it happened, on the witness's clock, with the zone: what they typed."""
    local = policy.witness_local_time(report)
    if local is None:
        return ""
    zone = report.occurred_time_zone
    return f"{local:%Y-%m-%d %H:%M} {_offset(local)}" + (f" ({zone})" if zone else "")


def media_previews(items: list[MediaItem]) -> SafeString:
    """Previews of a report's clean media only (promise 1), each streamed by the
    permission-checking view; other items show only their status."""
    if not items:
        return format_html('<p class="testigo-muted">{}</p>', _("No media"))
    parts = []
    for item in items:
        if item.status != MediaStatus.CLEAN:
            reason = f": {item.get_reject_reason_display()}" if item.reject_reason else ""
            parts.append(
                format_html(
                    '<li class="testigo-media-status">{}{}</li>', item.get_status_display(), reason
                )
            )
            continue
        url = reverse("reports:media_file", args=[item.id])
        preview = reverse("reports:media_preview", args=[item.id]) if item.preview_name else ""
        if item.media_kind == "video":
            tag = format_html(
                '<video class="testigo-video" controls preload="none" poster="{}" src="{}">'
                "</video>",
                preview,
                url,
            )
        elif item.media_kind == "audio":
            tag = format_html(
                '<audio class="testigo-audio" controls preload="none" src="{}"></audio>', url
            )
        elif preview:
            tag = format_html(
                '<a href="{}" target="_blank"><img src="{}" alt="{}" class="testigo-preview"></a>',
                url,
                preview,
                _("Preview of sanitized media"),
            )
        else:
            tag = format_html('<a href="{}">{} ({})</a>', url, _("Open"), item.detected_format)
        parts.append(format_html("<li>{}</li>", tag))
    return format_html(
        '<ul class="testigo-media">{}</ul>', format_html_join("", "{}", ((p,) for p in parts))
    )


@dataclasses.dataclass
class FactRow:
    """One cell of the facts grid: a label and either a value or, on the moderator's
    page, the input that redacts it."""

    label: str
    value: str = ""
    field: BoundField | None = None
    original: str = ""  # the witness's words, for those who may read them, when redacted


def _label(name: str) -> str:
    field = Report._meta.get_field(name)
    return str(getattr(field, "verbose_name", name)).capitalize()


def _value(report: Report, name: str) -> str:
    value = getattr(report, name)
    if isinstance(value, bool):
        return str(_("Yes")) if value else ""
    if name == "agencies":
        return ", ".join(str(AGENCY_LABELS.get(a, a)) for a in value or [])
    display = getattr(report, f"get_{name}_display", None)
    if display is not None and value:
        return str(display())
    return "" if value is None else str(value)


CONSENTS = tuple(name for name in REPORTED_FACTS if name.startswith("consent_"))
# The grid's facts, in the intake form's order; the description is at the top of the page
# and the consents are one cell.
GRID_FACTS = (
    "occurred_at",
    "occurred_text",
    "happening_now",
    "location_text",
    "town",
    "place_type",
    "agencies",
    *(name for name in REPORTED_FACTS if name not in CONSENTS),
    "language",
)


def _text_fact(report: Report, name: str, form: Form | None, original_text: bool) -> FactRow:
    field_name = f"{name}_redacted"
    label = _label(name)
    if form is not None and field_name in form.fields:
        return FactRow(label, field=form[field_name])
    shown, original = report.shown(name), getattr(report, name)
    return FactRow(label, shown, original=original if original_text and original != shown else "")


def fact_rows(report: Report, *, form: Form | None, original_text: bool) -> list[FactRow]:
    """The facts grid: answered facts, the consents, then one cell naming the unanswered
    facts. On the moderator's page each free-text fact is its redaction input, filled
    with its text."""
    rows: list[FactRow] = []
    unanswered: list[str] = []
    for name in GRID_FACTS:
        if name in REDACTABLE_FACTS:
            answered = bool(getattr(report, name))
            row = _text_fact(report, name, form, original_text)
        else:
            value = witness_time(report) if name == "occurred_at" else _value(report, name)
            answered, row = bool(value), FactRow(_label(name), value)
        if answered:
            rows.append(row)
        elif name != "happening_now":  # "not happening now" is not news
            unanswered.append(row.label)
    given = [_label(name) for name in CONSENTS if getattr(report, name)]
    rows.append(FactRow(str(_("Consent given")), ", ".join(given) or str(_("None"))))
    if unanswered:
        rows.append(FactRow(str(_("Not answered")), ", ".join(unanswered)))
    return rows


@dataclasses.dataclass
class ConversationEntry:
    message: ReportMessage
    text: str
    when: str
    field: BoundField | None = None  # the moderator's redaction input for a witness message


def conversation(
    messages: list[ReportMessage], *, form: Form | None, original_text: bool
) -> list[ConversationEntry]:
    """The messages with the witness, oldest first; a witness's message as the reader may
    see it (redacted unless they may read the witness's own words)."""
    entries = []
    for message in messages:
        field_name = f"message_{message.pk}"
        field = form[field_name] if form is not None and field_name in form.fields else None
        text = message.body if original_text else message.body_shown
        entries.append(ConversationEntry(message, text, staff_time(message.created_at), field))
    return entries


def _answer_flag(value: str, label: str) -> str:
    return label if value == Answer.YES else ""


class DetailedChangeList(ChangeList):
    """A list page whose rows get their details (media count, who wrote last) in one
    query for the page (selectors.list_details)."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        self.result_list = selectors.list_details(list(self.result_list))


class ReportFactsMixin:
    """List columns shared by the queue and the Reports list."""

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return DetailedChangeList

    @admin.display(description=_("report"), ordering="received_at")
    def short_id(self, obj: Report) -> str:
        return str(obj.id)[:8]

    @admin.display(description=_("received"), ordering="received_at")
    def received(self, obj: Report) -> str:
        return staff_time(obj.received_at)

    @admin.display(description=_("waiting"), ordering="received_at")
    def waiting(self, obj: Report) -> str:
        return timesince(obj.received_at, depth=1)

    @admin.display(description=_("when"), ordering="occurred_at")
    def when(self, obj: Report) -> str:
        """On the witness's clock; the report's page names the zone."""
        local = policy.witness_local_time(obj)
        if local is not None:
            return f"{local:%m-%d %H:%M}"
        return Truncator(obj.shown("occurred_text")).chars(30)

    @admin.display(description=_("where"), ordering="town")
    def where(self, obj: Report) -> str:
        return obj.shown("town") or Truncator(obj.shown("location_text")).chars(40)

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

    @admin.display(description=_("flags"))
    def flags(self, obj: Report) -> SafeString:
        """Only what is true, as words: nothing is drawn for what did not happen. The
        witness replied: they wrote last in the conversation."""
        flags = [
            (label, css)
            for label, css, on in (
                (_("now"), "flag-now", obj.happening_now),
                (_("children"), "flag-children", obj.children_present == Answer.YES),
                (_("injuries"), "flag-injuries", obj.injuries == Answer.YES),
                (
                    _("witness replied"),
                    "replied",
                    getattr(obj, "last_sender", None) == MessageSender.WITNESS,
                ),
            )
            if on
        ]
        return format_html_join(
            " ", '<span class="testigo-flag testigo-{}">{}</span>', ((c, t) for t, c in flags)
        )

    @admin.display(description=_("media"))
    def media_count(self, obj: Report) -> int:
        return getattr(obj, "media_count", 0) or 0

    @admin.display(description=_("what happened"))
    def excerpt(self, obj: Report) -> str:
        return Truncator(obj.shown("description")).chars(EXCERPT_CHARS)

    @admin.display(description=_("taken by"))
    def taken_by(self, obj: Report) -> str:
        if obj.locked_by_id and obj.locked_until and obj.locked_until > timezone.now():
            return str(obj.locked_by)
        return ""


def report_page_context(
    report: Report, *, form: Form | None, original_text: bool
) -> dict[str, Any]:
    """What both report pages show around their form: the facts grid, media, the
    conversation with the witness, partners' own case records."""
    return {
        "facts": fact_rows(report, form=form, original_text=original_text),
        "media_previews": media_previews(list(report.media_items.order_by("position", "id"))),
        "conversation": conversation(
            list(selectors.report_messages(report=report)),
            form=form,
            original_text=original_text,
        ),
        "witness_time": witness_time(report),
        "received": staff_time(report.received_at),
    }
