"""The moderation queue (new reports: redact, approve, reject, ask the witness, group
into incidents) and the incidents grouping makes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from reports import policy, selectors, services
from reports.admin.base import (
    ReadOnlyInline,
    StaffModelAdmin,
    post_only,
    report_change_url,
    service_call,
    staff,
)
from reports.admin.facts import FACT_FIELDS, MediaItemInline, MessageInline, ReportFactsMixin
from reports.models import Incident, ModerationQueue, RejectReason, Report


class RedactionForm(ModelForm[Report]):
    class Meta:
        model = Report
        fields = ["description_redacted"]


@admin.register(ModerationQueue)
class ModerationQueueAdmin(ReportFactsMixin, StaffModelAdmin[Report]):
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
    allow_add = False
    allow_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        return selectors.moderation_queue()

    def get_fields(self, request: HttpRequest, obj: Report | None = None) -> tuple[str, ...]:
        fields = list(FACT_FIELDS)
        if policy.can_read_original_text(request.user):
            fields.append("description_original")
        if self.has_change_permission(request, obj):
            fields.append("description_redacted")
        else:
            fields.append("description_current")
        return tuple(fields)

    def get_readonly_fields(self, request: HttpRequest, obj: Report | None = None) -> list[str]:
        return [f for f in self.get_fields(request, obj) if f != "description_redacted"]

    def has_change_permission(self, request: HttpRequest, obj: Report | None = None) -> bool:
        return super().has_change_permission(request, obj) and policy.can_moderate(request.user)

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
            if request.method == "GET":
                context["lock_held"] = services.report_lock_acquire(
                    report=report, by=staff(request)
                )
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
                    by=staff(request),
                    text=form.cleaned_data["description_redacted"] or "",
                )
            except services.ServiceError as exc:
                messages.error(request, str(exc))

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Inlines here are read-only: collect (for the change message), never write.
        for formset in formsets:
            formset.save(commit=False)

    def response_change(self, request: HttpRequest, obj: Report) -> HttpResponse:
        return HttpResponseRedirect(report_change_url(obj, "moderationqueue"))

    def get_urls(self) -> list[URLPattern]:
        def wrap(view: Callable[..., HttpResponseBase], name: str) -> URLPattern:
            return path(
                f"<uuid:pk>/{name}/",
                self.admin_site.admin_view(post_only(view)),
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

    # --- POST actions of the change form ---------------------------------------------------

    def _moderatable(self, request: HttpRequest, pk: UUID) -> Report:
        report = get_object_or_404(Report, pk=pk)
        if not self.has_change_permission(request, report):
            raise PermissionDenied
        return report

    def _back(self, report: Report) -> HttpResponseRedirect:
        return HttpResponseRedirect(report_change_url(report, "moderationqueue"))

    def _to_queue(self) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:reports_moderationqueue_changelist"))

    def approve_view(self, request: HttpRequest, pk: UUID) -> HttpResponse:
        report = self._moderatable(request, pk)
        user = staff(request)
        if service_call(
            request, lambda: services.report_approve(report=report, by=user), "Approved."
        ):
            return self._to_queue()
        return self._back(report)

    def reject_view(self, request: HttpRequest, pk: UUID) -> HttpResponse:
        report = self._moderatable(request, pk)
        user = staff(request)
        duplicate_of = None
        duplicate_ref = request.POST.get("duplicate_of", "").strip()
        if duplicate_ref:
            duplicate_of = selectors.report_by_reference(duplicate_ref)
            if duplicate_of is None:
                messages.error(request, f"No report {duplicate_ref!r}.")
                return self._back(report)
        reason = request.POST.get("reason", "")
        if service_call(
            request,
            lambda: services.report_reject(
                report=report, by=user, reason=reason, duplicate_of=duplicate_of
            ),
            "Rejected.",
        ):
            return self._to_queue()
        return self._back(report)

    def ask_view(self, request: HttpRequest, pk: UUID) -> HttpResponse:
        report = self._moderatable(request, pk)
        user = staff(request)
        body = request.POST.get("body", "")
        service_call(
            request,
            lambda: services.report_message_ask(report=report, by=user, body=body),
            "Question sent; the witness sees it on the follow-up page.",
        )
        return self._back(report)

    def group_view(self, request: HttpRequest, pk: UUID) -> HttpResponse:
        report = self._moderatable(request, pk)
        user = staff(request)
        others = list(Report.objects.filter(pk__in=request.POST.getlist("with")))
        service_call(
            request,
            lambda: services.incident_group(reports=[report, *others], by=user),
            f"Grouped {len(others) + 1} reports into one incident.",
        )
        return self._back(report)

    def release_view(self, request: HttpRequest, pk: UUID) -> HttpResponse:
        report = self._moderatable(request, pk)
        services.report_lock_release(report=report, by=staff(request))
        return self._to_queue()

    # --- List actions ------------------------------------------------------------------------

    def _reject_many(self, request: HttpRequest, queryset: QuerySet[Report], reason: str) -> None:
        user = staff(request)
        done = 0
        for report in queryset:
            try:
                services.report_reject(report=report, by=user, reason=reason)
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


# --- Incidents ---------------------------------------------------------------------------------


class IncidentReportInline(ReadOnlyInline[Report, Incident]):
    model = Report
    fk_name = "incident"
    fields = ("link", "received_at", "town", "moderation")
    readonly_fields = fields
    verbose_name_plural = _("reports in this incident")

    @admin.display(description=_("report"))
    def link(self, obj: Report) -> SafeString:
        return format_html('<a href="{}">{}</a>', report_change_url(obj), str(obj.id)[:8])


@admin.register(Incident)
class IncidentAdmin(StaffModelAdmin[Incident]):
    list_display = ["title", "created_at", "created_by"]
    list_select_related = ["created_by"]
    fields = ["title", "created_at", "created_by"]
    readonly_fields = ["created_at", "created_by"]
    inlines = [IncidentReportInline]
    allow_add = False  # incidents start from grouping reports in the queue
    allow_delete = False

    def save_model(self, request: HttpRequest, obj: Incident, form: Any, change: bool) -> None:
        services.incident_rename(incident=obj, by=staff(request), title=obj.title)
