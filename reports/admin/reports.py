"""Reports after moderation: legal aid's triage (status, priority, assignee, labels,
notes), the audited contact reveal, sharing with partners (and the decision to give one
the witness's contact details), questions to the witness and the CSV export; and the
labels triage uses."""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.forms import ModelChoiceField, ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
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
from reports.models import (
    Answer,
    CaseStatus,
    Label,
    PartnerCase,
    PartnerOrganisation,
    Priority,
    Report,
    ReportNote,
    ReportShare,
    Warrant,
)
from reports.policy import SHAREABLE_FIELDS, csv_cell, report_fields
from reports.roles import LEGAL_AID


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

    def has_view_permission(self, request: HttpRequest, obj: Report | None = None) -> bool:
        return policy.can_triage(request.user)

    def has_add_permission(self, request: HttpRequest, obj: Report | None = None) -> bool:
        return policy.can_triage(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Report | None = None) -> bool:
        return False  # notes are a record: added, never edited


TRIAGE_FIELDS = ["priority", "assignee", "labels", "follow_up_on", "legal_hold"]


class TriageForm(ModelForm[Report]):
    class Meta:
        model = Report
        fields = TRIAGE_FIELDS


class PartnerCaseInline(ReadOnlyInline[PartnerCase, Report]):
    """What each partner recorded through the API; read-only here, written by partners."""

    model = PartnerCase
    fields = ("organisation", "status", "reference", "notes", "updated_at")
    readonly_fields = fields
    verbose_name_plural = _("partner cases")


@admin.register(Report)
class ReportAdmin(ReportFactsMixin, StaffModelAdmin[Report]):
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
    allow_add = False
    allow_delete = False  # reports go only through the retention purge

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        return selectors.reports_visible_to(request.user).order_by("-received_at")

    def get_fields(self, request: HttpRequest, obj: Report | None = None) -> tuple[str, ...]:
        fields = [*FACT_FIELDS, "description_current"]
        if policy.can_read_original_text(request.user):
            fields.append("description_original")
        fields += ["incident", "case_status", "reject_reason", "duplicate_of", *TRIAGE_FIELDS]
        return tuple(fields)

    def get_readonly_fields(self, request: HttpRequest, obj: Report | None = None) -> list[str]:
        can_triage = obj is not None and policy.can_triage(request.user, obj)
        editable = TRIAGE_FIELDS if can_triage else []
        return [f for f in self.get_fields(request, obj) if f not in editable]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        assignee = form.base_fields.get("assignee")
        if isinstance(assignee, ModelChoiceField):
            assignee.queryset = User.objects.filter(
                is_active=True, is_staff=True, groups__name=LEGAL_AID
            ).distinct()
        return form

    def save_model(self, request: HttpRequest, obj: Report, form: Any, change: bool) -> None:
        user = staff(request)
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
                        report=form.instance, by=staff(request), body=note.body
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
            context["can_triage"] = policy.can_triage(user, report)
            context["next_statuses"] = [
                (value, label)
                for value, label in CaseStatus.choices
                if value in services.CASE_TRANSITIONS.get(report.case_status, set())
            ]
            context["can_reveal"] = policy.can_reveal_contact(user, report)
            context["can_share"] = policy.can_share(user, report)
            context["can_ask"] = policy.can_ask_witness(user)
            shares = list(selectors.report_active_shares(report=report))
            context["shares"] = shares
            context["contact_shareable"] = {
                share.pk for share in shares if policy.can_share_contact(user, share)
            }
            context["organisations"] = list(selectors.partner_organisations_for_sharing())
        return super().change_view(request, object_id, form_url, context)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = dict(extra_context or {})
        context["can_export"] = policy.can_export(request.user)
        context["export_query"] = request.GET.urlencode()
        return super().changelist_view(request, context)

    def get_urls(self) -> list[URLPattern]:
        def wrap(route: str, view: Callable[..., HttpResponseBase], name: str) -> URLPattern:
            return path(route, self.admin_site.admin_view(view), name=f"reports_report_{name}")

        return [
            wrap("export.csv", self.export_view, "export"),
            wrap("<uuid:pk>/status/", post_only(self.status_view), "status"),
            wrap("<uuid:pk>/reveal/", post_only(self.reveal_view), "reveal"),
            wrap("<uuid:pk>/share/", post_only(self.share_view), "share"),
            wrap("<uuid:pk>/revoke/<int:share_id>/", post_only(self.revoke_view), "revoke"),
            wrap(
                "<uuid:pk>/share-contact/<int:share_id>/",
                post_only(self.share_contact_view),
                "share_contact",
            ),
            wrap("<uuid:pk>/ask/", post_only(self.ask_view), "ask"),
            *super().get_urls(),
        ]

    # --- Views behind the change form's buttons ---------------------------------------------

    def _visible(
        self, request: HttpRequest, pk: UUID, allowed: Callable[[policy.AnyUser], bool]
    ) -> Report:
        # The role first (403), then the report among those this user may see (404).
        if not allowed(request.user):
            raise PermissionDenied
        return get_object_or_404(self.get_queryset(request), pk=pk)

    def _back(self, report: Report) -> HttpResponseRedirect:
        return HttpResponseRedirect(report_change_url(report))

    def status_view(self, request: HttpRequest, pk: UUID) -> HttpResponse:
        report = self._visible(request, pk, policy.can_triage)
        user = staff(request)
        status = request.POST.get("status", "")
        service_call(
            request,
            lambda: services.report_case_status_set(report=report, by=user, status=status),
            "Case status changed.",
        )
        return self._back(report)

    def reveal_view(self, request: HttpRequest, pk: UUID) -> HttpResponse:
        report = self._visible(request, pk, policy.can_reveal_contact)
        try:
            contact = services.report_contact_reveal(report=report, by=staff(request))
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
        report = self._visible(request, pk, policy.can_share)
        user = staff(request)
        organisation = get_object_or_404(PartnerOrganisation, pk=request.POST.get("organisation"))
        service_call(
            request,
            lambda: services.report_share(report=report, organisation=organisation, by=user),
            f"Shared with {organisation}.",
        )
        return self._back(report)

    def revoke_view(self, request: HttpRequest, pk: UUID, share_id: int) -> HttpResponse:
        report = self._visible(request, pk, policy.can_share)
        share = get_object_or_404(ReportShare, pk=share_id, report=report)
        services.report_share_revoke(share=share, by=staff(request))
        messages.success(request, f"No longer shared with {share.organisation}.")
        return self._back(report)

    def share_contact_view(self, request: HttpRequest, pk: UUID, share_id: int) -> HttpResponse:
        report = self._visible(request, pk, policy.can_share_contact)
        share = get_object_or_404(ReportShare, pk=share_id, report=report)
        user = staff(request)
        service_call(
            request,
            lambda: services.report_share_contact(share=share, by=user),
            f"{share.organisation} may now read the witness's contact details (recorded).",
        )
        return self._back(report)

    def ask_view(self, request: HttpRequest, pk: UUID) -> HttpResponse:
        report = self._visible(request, pk, policy.can_ask_witness)
        user = staff(request)
        body = request.POST.get("body", "")
        service_call(
            request,
            lambda: services.report_message_ask(report=report, by=user, body=body),
            "Question sent; the witness sees it on the follow-up page.",
        )
        return self._back(report)

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The current filtered list as CSV, through the shared field policy."""
        if not policy.can_export(request.user):
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
            by=staff(request), count=count, query=request.GET.urlencode()
        )
        return response

    # --- List actions --------------------------------------------------------------------------

    @admin.action(description=_("Assign to me"), permissions=["triage"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        user = staff(request)
        for report in queryset:
            try:
                services.report_triage_update(report=report, by=user, assignee=user)
            except services.ServiceError as exc:
                messages.warning(request, f"{report}: {exc}")

    def has_triage_permission(self, request: HttpRequest) -> bool:
        return policy.can_triage(request.user)


@admin.register(Label)
class LabelAdmin(StaffModelAdmin[Label]):
    list_display = ["name"]
    search_fields = ["name"]
