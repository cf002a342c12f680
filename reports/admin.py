"""The staff workplace: the moderation queue, triage of approved reports, incidents,
partner organisations and the audit trail. Every change goes through reports.services."""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import Any
from uuid import UUID

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework_api_key.models import APIKey

from reports import selectors, services
from reports.models import (
    REPORTED_FACTS,
    Agency,
    Answer,
    AuditEvent,
    CaseStatus,
    Incident,
    Label,
    MediaItem,
    MediaStatus,
    ModerationQueue,
    PartnerAPIKey,
    PartnerCase,
    PartnerOrganisation,
    Priority,
    RejectReason,
    Report,
    ReportMessage,
    ReportNote,
    ReportShare,
    Warrant,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from reports.policy import SHAREABLE_FIELDS, csv_cell, report_fields

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


class MediaItemInline(admin.TabularInline[MediaItem, Report]):
    model = MediaItem
    extra = 0
    can_delete = False
    fields = ("position", "status", "media_kind", "detected_format", "reject_reason")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MessageInline(admin.TabularInline[ReportMessage, Report]):
    model = ReportMessage
    extra = 0
    can_delete = False
    fields = ("created_at", "sender", "author", "body")
    readonly_fields = fields
    verbose_name_plural = _("messages with the witness")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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


def _post_only(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    return require_POST(view)


def _service_call(request: HttpRequest, work: Callable[[], Any], success: str) -> bool:
    """Run a staff action's service call; report its outcome as a message. True if done."""
    try:
        work()
    except services.ServiceError as exc:
        messages.error(request, str(exc))
        return False
    messages.success(request, success)
    return True


def _report_change_url(report: Report, model: str = "report") -> str:
    return reverse(f"admin:reports_{model}_change", args=[report.pk])


# --- The moderation queue ------------------------------------------------------------------


class RedactionForm(ModelForm[Report]):
    class Meta:
        model = Report
        fields = ["description_redacted"]


@admin.register(ModerationQueue)
class ModerationQueueAdmin(ReportFactsMixin, admin.ModelAdmin[Report]):
    list_display = [
        "short_id",
        "received_at",
        "when",
        "where",
        "agencies_display",
        "warrant_display",
        "children",
        "now",
        "media_count",
        "language",
        "taken_by",
    ]
    list_display_links = ["short_id"]
    list_select_related = ["locked_by"]
    list_per_page = 50
    show_full_result_count = False
    form = RedactionForm
    inlines = [MediaItemInline, MessageInline]
    actions = ["reject_spam", "reject_false_alarm"]
    change_form_template = "admin/reports/moderation_change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        return selectors.moderation_queue()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:  # type: ignore[override]
        fields = list(FACT_FIELDS)
        if request.user.has_perm("reports.view_original_text"):
            fields.append("description_original")
        if self.has_change_permission(request, obj):
            fields.append("description_redacted")
        else:
            fields.append("description_current")
        return fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f for f in self.get_fields(request, obj) if f != "description_redacted"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and request.user.has_perm(
            "reports.moderate_report"
        )

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        if "description_redacted" in form.base_fields:
            field = form.base_fields["description_redacted"]
            field.label = _("What happened (redacted: what everyone after moderation sees)")
            field.help_text = _(
                "Remove names, addresses and anything else that identifies the witness."
            )
        return form

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {}

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        report = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if report is not None and self.has_change_permission(request, report):
            user: User = request.user  # type: ignore[assignment]
            if request.method == "GET":
                context["lock_held"] = services.report_lock_acquire(report=report, by=user)
            context["lock_owner"] = report.locked_by
            context["lock_until"] = report.locked_until
            context["reject_reasons"] = RejectReason.choices
            context["suggestions"] = selectors.incident_suggestions(report=report)
        return super().change_view(request, object_id, form_url, context)

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Report | None:
        obj = super().get_object(request, object_id, from_field)
        if obj is not None and obj.description_redacted is None and request.method == "GET":
            # Start the redaction from the witness's words; saved only when changed.
            obj.description_redacted = obj.description
        return obj

    def save_model(self, request: HttpRequest, obj: Report, form: Any, change: bool) -> None:
        if "description_redacted" in form.changed_data:
            try:
                services.report_redact(
                    report=obj,
                    by=request.user,  # type: ignore[arg-type]
                    text=form.cleaned_data["description_redacted"] or "",
                )
            except services.ServiceError as exc:
                messages.error(request, str(exc))

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Inlines here are read-only: collect (for the change message), never write.
        for formset in formsets:
            formset.save(commit=False)

    def response_change(self, request: HttpRequest, obj: Report) -> HttpResponse:
        return HttpResponseRedirect(_report_change_url(obj, "moderationqueue"))

    def get_urls(self) -> list[URLPattern]:
        def wrap(view: Callable[..., HttpResponseBase], name: str) -> URLPattern:
            return path(
                f"<uuid:pk>/{name}/",
                self.admin_site.admin_view(_post_only(view)),
                name=f"reports_moderationqueue_{name}",
            )

        return [
            wrap(self.approve_view, "approve"),
            wrap(self.reject_view, "reject"),
            wrap(self.ask_view, "ask"),
            wrap(self.group_view, "group"),
            wrap(self.release_view, "release"),
            *super().get_urls(),
        ]

    def _moderatable(self, request: HttpRequest, pk: UUID) -> Report:
        report = get_object_or_404(Report, pk=pk)
        if not self.has_change_permission(request, report):
            raise PermissionDenied
        return report

    def approve_view(self, request: HttpRequest, pk: UUID) -> HttpResponse:
        report = self._moderatable(request, pk)
        user: User = request.user  # type: ignore[assignment]
        if _service_call(
            request, lambda: services.report_approve(report=report, by=user), "Approved."
        ):
            return HttpResponseRedirect(reverse("admin:reports_moderationqueue_changelist"))
        return HttpResponseRedirect(_report_change_url(report, "moderationqueue"))

    def reject_view(self, request: HttpRequest, pk: UUID) -> HttpResponse:
        report = self._moderatable(request, pk)
        user: User = request.user  # type: ignore[assignment]
        duplicate_of = None
        duplicate_ref = request.POST.get("duplicate_of", "").strip()
        if duplicate_ref:
            duplicate_of = selectors.report_by_reference(duplicate_ref)
            if duplicate_of is None:
                messages.error(request, f"No report {duplicate_ref!r}.")
                return HttpResponseRedirect(_report_change_url(report, "moderationqueue"))
        reason = request.POST.get("reason", "")
        if _service_call(
            request,
            lambda: services.report_reject(
                report=report, by=user, reason=reason, duplicate_of=duplicate_of
            ),
            "Rejected.",
        ):
            return HttpResponseRedirect(reverse("admin:reports_moderationqueue_changelist"))
        return HttpResponseRedirect(_report_change_url(report, "moderationqueue"))

    def ask_view(self, request: HttpRequest, pk: UUID) -> HttpResponse:
        report = self._moderatable(request, pk)
        user: User = request.user  # type: ignore[assignment]
        body = request.POST.get("body", "")
        _service_call(
            request,
            lambda: services.report_message_ask(report=report, by=user, body=body),
            "Question sent; the witness sees it on the follow-up page.",
        )
        return HttpResponseRedirect(_report_change_url(report, "moderationqueue"))

    def group_view(self, request: HttpRequest, pk: UUID) -> HttpResponse:
        report = self._moderatable(request, pk)
        user: User = request.user  # type: ignore[assignment]
        others = list(Report.objects.filter(pk__in=request.POST.getlist("with")))
        _service_call(
            request,
            lambda: services.incident_group(reports=[report, *others], by=user),
            f"Grouped {len(others) + 1} reports into one incident.",
        )
        return HttpResponseRedirect(_report_change_url(report, "moderationqueue"))

    def release_view(self, request: HttpRequest, pk: UUID) -> HttpResponse:
        report = self._moderatable(request, pk)
        services.report_lock_release(report=report, by=request.user)  # type: ignore[arg-type]
        return HttpResponseRedirect(reverse("admin:reports_moderationqueue_changelist"))

    def _reject_many(self, request: HttpRequest, queryset: QuerySet[Report], reason: str) -> None:
        done = 0
        for report in queryset:
            try:
                services.report_reject(report=report, by=request.user, reason=reason)  # type: ignore[arg-type]
                done += 1
            except services.ServiceError as exc:
                messages.warning(request, f"{report}: {exc}")
        messages.success(request, f"Rejected {done} report(s).")

    @admin.action(description=_("Reject as spam"), permissions=["change"])
    def reject_spam(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        self._reject_many(request, queryset, RejectReason.SPAM)

    @admin.action(description=_("Reject as false alarm"), permissions=["change"])
    def reject_false_alarm(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        self._reject_many(request, queryset, RejectReason.FALSE_ALARM)


# --- Reports: triage of approved reports ---------------------------------------------------


class SavedViewFilter(admin.SimpleListFilter):
    title = _("saved view")
    parameter_name = "view"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("mine", "Mine"),
            ("urgent", "Urgent"),
            ("children", "Children present"),
            ("no_warrant", "No warrant shown"),
            ("now", "Happening now"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Report]) -> QuerySet[Report]:
        match self.value():
            case "mine":
                return queryset.filter(assignee=request.user.pk)
            case "urgent":
                return queryset.filter(
                    Q(priority=Priority.URGENT)
                    | Q(happening_now=True)
                    | Q(children_present=Answer.YES)
                    | Q(injuries=Answer.YES)
                )
            case "children":
                return queryset.filter(children_present=Answer.YES)
            case "no_warrant":
                return queryset.filter(warrant=Warrant.NOT_SHOWN)
            case "now":
                return queryset.filter(happening_now=True)
        return queryset


class NoteInline(admin.TabularInline[ReportNote, Report]):
    model = ReportNote
    extra = 1
    can_delete = False
    fields = ("created_at", "author", "body")
    readonly_fields = ("created_at", "author")
    verbose_name_plural = _("internal notes (never shown to the witness or partners)")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("reports.triage_report")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("reports.triage_report")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # notes are a record: added, never edited


TRIAGE_FIELDS = ["priority", "assignee", "labels", "follow_up_on", "legal_hold"]


class TriageForm(ModelForm[Report]):
    class Meta:
        model = Report
        fields = TRIAGE_FIELDS


class PartnerCaseInline(admin.TabularInline[PartnerCase, Report]):
    """What each partner recorded through the API; read-only here, written by partners."""

    model = PartnerCase
    extra = 0
    fields = ["organisation", "status", "reference", "notes", "updated_at"]
    readonly_fields = ["organisation", "status", "reference", "notes", "updated_at"]
    verbose_name_plural = _("partner cases")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Report)
class ReportAdmin(ReportFactsMixin, admin.ModelAdmin[Report]):
    list_display = [
        "short_id",
        "received_at",
        "when",
        "where",
        "moderation",
        "case_status",
        "priority",
        "assignee",
        "warrant_display",
        "children",
        "now",
        "media_count",
        "incident",
    ]
    list_display_links = ["short_id"]
    list_select_related = ["assignee", "incident"]
    list_filter = [SavedViewFilter, "case_status", "priority", "moderation", "warrant", "labels"]
    search_fields = ["town"]
    list_per_page = 50
    show_full_result_count = False
    form = TriageForm
    inlines = [NoteInline, MediaItemInline, MessageInline, PartnerCaseInline]
    change_form_template = "admin/reports/report_change_form.html"
    change_list_template = "admin/reports/report_change_list.html"
    actions = ["assign_to_me"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        return selectors.reports_visible_to(request.user).order_by("-received_at")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:  # type: ignore[override]
        fields = [*FACT_FIELDS, "description_current"]
        if request.user.has_perm("reports.view_original_text"):
            fields.append("description_original")
        fields += ["incident", "case_status", "reject_reason", "duplicate_of", *TRIAGE_FIELDS]
        return fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        editable = TRIAGE_FIELDS if self._can_triage(request, obj) else []
        return [f for f in self.get_fields(request, obj) if f not in editable]

    def _can_triage(self, request: HttpRequest, obj: Report | None) -> bool:
        return (
            request.user.has_perm("reports.triage_report")
            and obj is not None
            and obj.moderation == "approved"
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # reports go only through the retention purge

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        if "assignee" in form.base_fields:
            form.base_fields["assignee"].queryset = User.objects.filter(  # type: ignore[attr-defined]
                is_active=True, is_staff=True, groups__name="legal_aid"
            ).distinct()
        return form

    def save_model(self, request: HttpRequest, obj: Report, form: Any, change: bool) -> None:
        user: User = request.user  # type: ignore[assignment]
        data = form.cleaned_data
        services.report_triage_update(
            report=obj,
            by=user,
            priority=data["priority"],
            assignee=data["assignee"],
            follow_up_on=data["follow_up_on"],
            labels=list(data["labels"]),
        )
        if data["legal_hold"] != Report.objects.get(pk=obj.pk).legal_hold:
            services.report_legal_hold_set(report=obj, by=user, hold=data["legal_hold"])

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Labels were set by the service; new notes go through report_note_add; the other
        # inlines are read-only. Nothing is written by the formsets themselves.
        for formset in formsets:
            unsaved = formset.save(commit=False)
            if formset.model is ReportNote:
                for note in unsaved:
                    services.report_note_add(
                        report=form.instance,
                        by=request.user,  # type: ignore[arg-type]
                        body=note.body,
                    )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        report = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if report is not None:
            user = request.user
            context["can_triage"] = self._can_triage(request, report)
            context["next_statuses"] = [
                (value, label)
                for value, label in CaseStatus.choices
                if value in services.CASE_TRANSITIONS.get(report.case_status, set())
            ]
            context["can_reveal"] = (
                user.has_perm("reports.reveal_contact")
                and report.consent_contact
                and bool(report.contact_sealed)
            )
            context["can_share"] = (
                user.has_perm("reports.share_report")
                and report.moderation == "approved"
                and report.consent_share_partners
            )
            context["can_ask"] = user.has_perm("reports.ask_witness")
            context["shares"] = list(selectors.report_active_shares(report=report))
            context["organisations"] = list(selectors.partner_organisations_for_sharing())
        return super().change_view(request, object_id, form_url, context)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = dict(extra_context or {})
        context["can_export"] = request.user.has_perm("reports.export_reports")
        context["export_query"] = request.GET.urlencode()
        return super().changelist_view(request, context)

    def get_urls(self) -> list[URLPattern]:
        def wrap(route: str, view: Callable[..., HttpResponseBase], name: str) -> URLPattern:
            return path(route, self.admin_site.admin_view(view), name=f"reports_report_{name}")

        return [
            wrap("export.csv", self.export_view, "export"),
            wrap("<uuid:pk>/status/", _post_only(self.status_view), "status"),
            wrap("<uuid:pk>/reveal/", _post_only(self.reveal_view), "reveal"),
            wrap("<uuid:pk>/share/", _post_only(self.share_view), "share"),
            wrap("<uuid:pk>/revoke/<int:share_id>/", _post_only(self.revoke_view), "revoke"),
            wrap("<uuid:pk>/ask/", _post_only(self.ask_view), "ask"),
            *super().get_urls(),
        ]

    def _visible(self, request: HttpRequest, pk: UUID, permission: str) -> Report:
        if not request.user.has_perm(permission):
            raise PermissionDenied
        return get_object_or_404(self.get_queryset(request), pk=pk)

    def _back(self, report: Report) -> HttpResponseRedirect:
        return HttpResponseRedirect(_report_change_url(report))

    def status_view(self, request: HttpRequest, pk: UUID) -> HttpResponse:
        report = self._visible(request, pk, "reports.triage_report")
        status = request.POST.get("status", "")
        _service_call(
            request,
            lambda: services.report_case_status_set(
                report=report,
                by=request.user,  # type: ignore[arg-type]
                status=status,
            ),
            "Case status changed.",
        )
        return self._back(report)

    def reveal_view(self, request: HttpRequest, pk: UUID) -> HttpResponse:
        report = self._visible(request, pk, "reports.reveal_contact")
        try:
            contact = services.report_contact_reveal(report=report, by=request.user)  # type: ignore[arg-type]
        except services.ContactNotAvailable:
            messages.error(request, "No contact details, or the witness did not consent.")
            return self._back(report)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Contact details of {report}",
            "report": report,
            "contact": contact,
            "channel": report.get_contact_channel_display(),
            "opts": self.opts,
        }
        response = TemplateResponse(request, "admin/reports/contact_reveal.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def share_view(self, request: HttpRequest, pk: UUID) -> HttpResponse:
        report = self._visible(request, pk, "reports.share_report")
        organisation = get_object_or_404(PartnerOrganisation, pk=request.POST.get("organisation"))
        _service_call(
            request,
            lambda: services.report_share(
                report=report,
                organisation=organisation,
                by=request.user,  # type: ignore[arg-type]
            ),
            f"Shared with {organisation}.",
        )
        return self._back(report)

    def revoke_view(self, request: HttpRequest, pk: UUID, share_id: int) -> HttpResponse:
        report = self._visible(request, pk, "reports.share_report")
        share = get_object_or_404(ReportShare, pk=share_id, report=report)
        services.report_share_revoke(share=share, by=request.user)  # type: ignore[arg-type]
        messages.success(request, f"No longer shared with {share.organisation}.")
        return self._back(report)

    def ask_view(self, request: HttpRequest, pk: UUID) -> HttpResponse:
        report = self._visible(request, pk, "reports.ask_witness")
        body = request.POST.get("body", "")
        _service_call(
            request,
            lambda: services.report_message_ask(
                report=report,
                by=request.user,  # type: ignore[arg-type]
                body=body,
            ),
            "Question sent; the witness sees it on the follow-up page.",
        )
        return self._back(report)

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The current filtered list as CSV, through the shared field policy."""
        if not request.user.has_perm("reports.export_reports"):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        queryset = changelist.get_queryset(request)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="testigo-reports.csv"'
        response["Cache-Control"] = "no-store"
        writer = csv.writer(response)
        names = list(SHAREABLE_FIELDS)
        writer.writerow(names)
        count = 0
        for report in queryset.iterator(chunk_size=500):
            row = report_fields(report, names)
            writer.writerow([csv_cell(row[name]) for name in names])
            count += 1
        services.reports_export_record(
            by=request.user,  # type: ignore[arg-type]
            count=count,
            query=request.GET.urlencode(),
        )
        return response

    @admin.action(description=_("Assign to me"), permissions=["triage"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        for report in queryset:
            try:
                services.report_triage_update(
                    report=report,
                    by=request.user,  # type: ignore[arg-type]
                    assignee=request.user,  # type: ignore[arg-type]
                )
            except services.ServiceError as exc:
                messages.warning(request, f"{report}: {exc}")

    def has_triage_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("reports.triage_report")


# --- Incidents -----------------------------------------------------------------------------


class IncidentReportInline(admin.TabularInline[Report, Incident]):
    model = Report
    fk_name = "incident"
    extra = 0
    can_delete = False
    fields = ("link", "received_at", "town", "moderation")
    readonly_fields = fields
    verbose_name_plural = _("reports in this incident")

    @admin.display(description=_("report"))
    def link(self, obj: Report) -> SafeString:
        return format_html('<a href="{}">{}</a>', _report_change_url(obj), str(obj.id)[:8])

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin[Incident]):
    list_display = ["title", "created_at", "created_by"]
    list_select_related = ["created_by"]
    fields = ["title", "created_at", "created_by"]
    readonly_fields = ["created_at", "created_by"]
    inlines = [IncidentReportInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # incidents start from grouping reports in the queue

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Incident, form: Any, change: bool) -> None:
        services.incident_rename(incident=obj, by=request.user, title=obj.title)  # type: ignore[arg-type]


# --- Configuration: labels, partner organisations, shares ----------------------------------


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin[Label]):
    list_display = ["name"]
    search_fields = ["name"]


class PartnerOrganisationForm(ModelForm[PartnerOrganisation]):
    class Meta:
        model = PartnerOrganisation
        fields = ["name", "active", "shared_fields", "include_contact"]

    def clean_shared_fields(self) -> list[str]:
        from django.core.exceptions import ValidationError

        value = self.cleaned_data["shared_fields"] or []
        unknown = [f for f in value if f not in SHAREABLE_FIELDS]
        if not isinstance(value, list) or unknown:
            raise ValidationError(f"Unknown fields {unknown}; choose from {list(SHAREABLE_FIELDS)}")
        return value


@admin.register(PartnerOrganisation)
class PartnerOrganisationAdmin(admin.ModelAdmin[PartnerOrganisation]):
    form = PartnerOrganisationForm
    list_display = ["name", "active", "include_contact", "created_at"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: shares keep their history

    def save_model(
        self, request: HttpRequest, obj: PartnerOrganisation, form: Any, change: bool
    ) -> None:
        services.partner_organisation_save(organisation=obj, by=request.user)  # type: ignore[arg-type]


@admin.register(ReportShare)
class ReportShareAdmin(admin.ModelAdmin[ReportShare]):
    list_display = ["report", "organisation", "shared_by", "shared_at", "revoked_at"]
    list_select_related = ["report", "organisation", "shared_by"]
    list_filter = ["organisation", ("revoked_at", admin.EmptyFieldListFilter)]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Revoke selected shares"), permissions=["share"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ReportShare]) -> None:
        for share in queryset.filter(revoked_at__isnull=True):
            services.report_share_revoke(share=share, by=request.user)  # type: ignore[arg-type]

    def has_share_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("reports.share_report")


# --- Partner API keys and webhooks -----------------------------------------------------------

# The library registers its own (unused) APIKey model; ours is tied to an organisation.
admin.site.unregister(APIKey)


class PartnerAPIKeyForm(ModelForm[PartnerAPIKey]):
    class Meta:
        model = PartnerAPIKey
        fields = ["organisation", "name", "expiry_date"]


@admin.register(PartnerAPIKey)
class PartnerAPIKeyAdmin(admin.ModelAdmin[PartnerAPIKey]):
    form = PartnerAPIKeyForm
    list_display = [
        "prefix",
        "organisation",
        "name",
        "created",
        "expiry_date",
        "revoked",
        "last_used_at",
    ]
    list_filter = ["organisation", "revoked"]
    list_select_related = ["organisation"]
    readonly_fields = ["prefix", "created", "last_used_at", "revoked"]
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:  # type: ignore[override]
        if obj is None:
            return ["organisation", "name", "expiry_date"]
        return [
            "organisation",
            "name",
            "prefix",
            "created",
            "expiry_date",
            "last_used_at",
            "revoked",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        return self.get_fields(request, obj)  # a key is made once; only revoked after

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoke instead: the audit trail names keys by prefix

    def save_model(self, request: HttpRequest, obj: PartnerAPIKey, form: Any, change: bool) -> None:
        if change:
            return
        api_key, key = services.partner_api_key_create(
            organisation=obj.organisation,
            name=obj.name,
            expiry_date=obj.expiry_date,
            by=request.user,  # type: ignore[arg-type]
        )
        obj.pk, obj.prefix = api_key.pk, api_key.prefix
        messages.warning(
            request,
            f"The API key for {obj.organisation} is {key} — copy it now: it is stored only "
            "as a hash and will not be shown again.",
        )

    @admin.action(description=_("Revoke selected keys"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[PartnerAPIKey]) -> None:
        for api_key in queryset.filter(revoked=False):
            services.partner_api_key_revoke(api_key=api_key, by=request.user)  # type: ignore[arg-type]


class WebhookEndpointForm(ModelForm[WebhookEndpoint]):
    class Meta:
        model = WebhookEndpoint
        fields = ["organisation", "url", "events", "active"]

    def clean_events(self) -> list[str]:
        from django.core.exceptions import ValidationError

        value = self.cleaned_data["events"] or []
        if not isinstance(value, list) or set(value) - set(WebhookEvent.values):
            raise ValidationError(f"A list of events from {WebhookEvent.values}, or [] for all.")
        return value

    def clean_url(self) -> str:
        from django.core.exceptions import ValidationError

        from reports.webhooks import TargetRefused, resolve_target

        url: str = self.cleaned_data["url"]
        try:
            resolve_target(url)
        except TargetRefused as error:
            raise ValidationError(str(error)) from error
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin[WebhookEndpoint]):
    form = WebhookEndpointForm
    list_display = ["url", "organisation", "active", "created_at"]
    list_filter = ["organisation", "active"]
    list_select_related = ["organisation"]
    # Administrators copy the secret from here into the partner's receiver.
    readonly_fields = ["secret", "created_at"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: deliveries keep their history

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool
    ) -> None:
        services.webhook_endpoint_save(endpoint=obj, by=request.user)  # type: ignore[arg-type]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin[WebhookDelivery]):
    list_display = [
        "created_at", "event", "endpoint", "status", "attempts", "last_status_code",
        "last_error", "next_attempt_at", "delivered_at",
    ]  # fmt: skip
    list_filter = ["status", "event", "endpoint__organisation"]
    list_select_related = ["endpoint"]
    readonly_fields = [
        "id", "endpoint", "event", "payload", "status", "attempts", "last_status_code",
        "last_error", "log", "next_attempt_at", "created_at", "delivered_at",
    ]  # fmt: skip
    actions = ["retry"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Retry selected deliveries now"), permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        for delivery in queryset:
            services.webhook_delivery_retry(delivery=delivery, by=request.user)  # type: ignore[arg-type]
        messages.success(request, _("Queued for delivery."))


# --- The audit trail -------------------------------------------------------------------------


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    list_display = ["at", "action", "actor", "actor_label", "report_id", "data"]
    list_filter = ["action", "actor_label", ("actor", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["actor"]
    date_hierarchy = "at"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- Staff accounts ------------------------------------------------------------------------

admin.site.unregister(User)
admin.site.unregister(Group)
admin.site.unregister(TOTPDevice)
admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class LoginLockoutAdmin(AccessAttemptAdmin):
    # Axes' "clean up expired attempts" needs request state only its own login flow sets,
    # and attempts do not expire here (AXES_COOLOFF_TIME does): deleting unlocks.
    actions: list[Any] = []


@admin.register(User)
class StaffUserAdmin(UserAdmin[User]):
    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # Roles are groups; only a superuser hands out raw permissions or superpowers.
            fields += ["is_superuser", "user_permissions"]
        return fields


@admin.register(Group)
class RoleAdmin(GroupAdmin):
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser  # roles are defined in code (reports/roles.py)


@admin.register(TOTPDevice)
class StaffTOTPDeviceAdmin(TOTPDeviceAdmin):
    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Nobody switches off their own second factor; a colleague must do it.
        if obj is not None and obj.user_id == request.user.pk:
            return False
        return bool(super().has_delete_permission(request, obj))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.user_id == request.user.pk:
            return False
        return bool(super().has_change_permission(request, obj))
