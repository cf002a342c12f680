"""Reports after moderation: legal aid's triage (status, priority, assignee, labels,
notes), the audited contact reveal, sharing with partners, the conversation with the
witness and the CSV export; and the labels triage uses.

A report's page is one form (reports.admin.base.PageAdmin): the triage edits and a new
note are saved with whichever action is taken (status, share, reveal, assign, ask, and
"hide faces", which starts a publishable copy: reports/admin/publication.py)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _

from reports import policy, selectors, services
from reports.admin.base import (
    PageAction,
    PageAdmin,
    PageForm,
    StaffModelAdmin,
    page_edits_posted,
    post_only,
    staff,
)
from reports.admin.facts import ReportFactsMixin, report_page_context
from reports.admin.filters import WitnessRepliedFilter
from reports.models import (
    Answer,
    CaseStatus,
    Label,
    MediaItem,
    PartnerOrganisation,
    Priority,
    Report,
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


TRIAGE_FIELDS = ["priority", "assignee", "labels", "follow_up_on", "legal_hold"]


class TriageForm(PageForm):
    """Legal aid's page. Its edits: the triage fields and a new internal note, saved with
    whichever action is taken. Status, share and ask have inputs of their own."""

    note = forms.CharField(
        label=_("New internal note (never shown to the witness or partners)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    status = forms.ChoiceField(label=_("Change to"), required=False)
    organisation = forms.ModelChoiceField(
        label=_("Share with"),
        queryset=PartnerOrganisation.objects.none(),
        required=False,
        empty_label=_("— choose an organisation —"),
    )
    question = forms.CharField(
        label=_("Question"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "data-key": "q"}),
    )

    ACTION_INPUTS = {"status": ("status",), "share": ("organisation",), "ask": ("question",)}
    PENDING_LABELS = {
        "status": "a new case status is chosen",
        "organisation": "an organisation to share with is chosen",
        "question": "a question to the witness is not sent",
    }

    class Meta:
        model = Report
        fields = TRIAGE_FIELDS
        widgets = {"labels": forms.CheckboxSelectMultiple}

    REQUIRED = {
        "status": "Choose the new status.",
        "organisation": "Choose an organisation.",
        "question": "Write the question first.",
    }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in self.ACTION_INPUTS.get(self.action.name, ()):
            value = data.get(name)
            if name in self.fields and (value is None or not str(value).strip()):
                self.add_error(name, self.REQUIRED[name])
        return data


@admin.register(Report)
class ReportAdmin(ReportFactsMixin, PageAdmin[Report]):
    list_display = [
        "short_id",
        "excerpt",
        "flags",
        "where",
        "received",
        "moderation",
        "case_status",
        "priority",
        "assignee",
    ]
    list_display_links = ["short_id", "excerpt"]
    list_select_related = ["assignee"]
    list_filter = [
        SavedViewFilter,
        WitnessRepliedFilter,
        "case_status",
        "priority",
        "moderation",
        "warrant",
        "labels",
    ]
    # The search box; get_search_results searches short ids and the text as shown.
    search_fields = ["id"]
    search_help_text = _("A short id (as in e72c1eb2) or words of the report.")
    list_per_page = 50
    show_full_result_count = False
    form = TriageForm
    page_actions = ("status", "reveal", "share", "ask", "assign")
    change_form_template = "admin/reports/report_change_form.html"
    change_list_template = "admin/reports/report_change_list.html"
    actions = ["assign_to_me"]
    allow_add = False
    allow_delete = False  # reports go only through the retention purge

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        return selectors.reports_visible_to(request.user).order_by("-received_at")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Report], search_term: str
    ) -> tuple[QuerySet[Report], bool]:
        original = policy.can_read_original_text(request.user)
        return selectors.reports_search(queryset, search_term, original_text=original), False

    def get_fields(self, request: HttpRequest, obj: Report | None = None) -> tuple[str, ...]:
        if obj is not None and page_edits_posted(request) and policy.can_triage(request.user, obj):
            return tuple(TRIAGE_FIELDS)
        return ()

    def get_readonly_fields(self, request: HttpRequest, obj: Report | None = None) -> list[str]:
        return []

    def has_change_permission(self, request: HttpRequest, obj: Report | None = None) -> bool:
        # The page's actions are the roles' own decisions (policy), each checked again
        # by its service: a moderator may ask the witness here, an administrator reveal.
        return super().has_change_permission(request, obj) or any(
            allowed(request.user) for allowed in ACTION_POLICY.values()
        )

    def page_allowed(self, request: HttpRequest, action: str) -> bool:
        return ACTION_POLICY[action](request.user)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        fields = form.base_fields
        user = request.user
        assignee = fields.get("assignee")
        if isinstance(assignee, ModelChoiceField):
            assignee.queryset = User.objects.filter(
                is_active=True, is_staff=True, groups__name=LEGAL_AID
            ).distinct()
        can_triage = obj is not None and policy.can_triage(user, obj)
        if can_triage:
            fields["status"].choices = [("", _("— choose —")), *next_statuses(obj)]
        else:
            del fields["status"], fields["note"]
        if obj is not None and policy.can_share(user, obj):
            organisation = fields["organisation"]
            assert isinstance(organisation, ModelChoiceField)
            organisation.queryset = selectors.partner_organisations_for_sharing()
        else:
            del fields["organisation"]
        if not policy.can_ask_witness(user):
            del fields["question"]
        return form

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Report | None = None,
    ) -> Any:
        if obj is not None:
            user = request.user
            original_text = policy.can_read_original_text(user)
            shares = list(selectors.report_active_shares(report=obj))
            context.update(
                report_page_context(
                    obj, form=context["adminform"].form, original_text=original_text
                )
            )
            context.update(
                {
                    "title": f"Report {str(obj.pk)[:8]}",
                    "description_shown": obj.shown("description"),
                    "description_original": obj.description
                    if original_text and obj.description != obj.shown("description")
                    else "",
                    "can_triage": policy.can_triage(user, obj),
                    "can_reveal": policy.can_reveal_contact(user, obj),
                    "can_share": policy.can_share(user, obj),
                    "can_ask": policy.can_ask_witness(user),
                    "notes": list(obj.notes.select_related("author")),
                    "shares": shares,
                    "contact_shareable": {
                        share.pk for share in shares if policy.can_share_contact(user, share)
                    },
                    "partner_cases": list(obj.partner_cases.select_related("organisation")),
                    "can_publish": policy.can_publish(user, obj),
                    "publishable_items": [
                        item
                        for item in obj.media_items.order_by("position", "id")
                        if policy.publish_refusal(obj, item) is None
                    ],
                    "copies": list(obj.publishable_copies.order_by("-created_at")),
                    "unsaved": request.method == "POST",
                }
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = dict(extra_context or {})
        context["can_export"] = policy.can_export(request.user)
        context["export_query"] = request.GET.urlencode()
        return super().changelist_view(request, context)

    def get_urls(self) -> list[URLPattern]:
        def revoke(request: HttpRequest, pk: UUID, share_id: int) -> HttpResponse:
            return self.page_action_view(request, pk, "revoke", target=share_id)

        def share_contact(request: HttpRequest, pk: UUID, share_id: int) -> HttpResponse:
            return self.page_action_view(request, pk, "share_contact", target=share_id)

        def publish(request: HttpRequest, pk: UUID, item_id: UUID) -> HttpResponse:
            return self.page_action_view(request, pk, "publish", target=item_id)

        return [
            path(
                "export.csv",
                self.admin_site.admin_view(self.export_view),
                name="reports_report_export",
            ),
            path(
                "<uuid:pk>/revoke/<int:share_id>/",
                self.admin_site.admin_view(post_only(revoke)),
                name="reports_report_revoke",
            ),
            path(
                "<uuid:pk>/share-contact/<int:share_id>/",
                self.admin_site.admin_view(post_only(share_contact)),
                name="reports_report_share_contact",
            ),
            path(
                "<uuid:pk>/publish/<uuid:item_id>/",
                self.admin_site.admin_view(post_only(publish)),
                name="reports_report_publish",
            ),
            *self.page_urls(),
            *super().get_urls(),
        ]

    # --- The page's actions -------------------------------------------------------------------

    def page_work(self, request: HttpRequest, obj: Report, form: Any, action: PageAction) -> None:
        user = staff(request)
        data = form.cleaned_data
        saved = self._save_triage(obj, form, user, assign=action.name == "assign")
        match action.name:
            case "status":
                services.report_case_status_set(report=obj, by=user, status=data["status"])
                action.done = "Case status changed."
            case "share":
                organisation = data["organisation"]
                services.report_share(report=obj, organisation=organisation, by=user)
                action.done = f"Shared with {organisation}."
            case "revoke":
                share = get_object_or_404(ReportShare, pk=action.target, report=obj)
                services.report_share_revoke(share=share, by=user)
                action.done = f"No longer shared with {share.organisation}."
            case "share_contact":
                share = get_object_or_404(ReportShare, pk=action.target, report=obj)
                services.report_share_contact(share=share, by=user)
                action.done = (
                    f"{share.organisation} may now read the witness's contact details (recorded)."
                )
            case "ask":
                services.report_message_ask(report=obj, by=user, body=data["question"])
                action.done = "Question sent; the witness sees it on the follow-up page."
            case "publish":
                item = get_object_or_404(MediaItem, pk=action.target, report=obj)
                copy = services.publishable_copy_detect(item=item, by=user)
                action.done = "Finding faces: the review page shows the progress."
                action.response = HttpResponseRedirect(
                    reverse("admin:reports_publishablecopy_change", args=[copy.pk])
                )
            case "reveal":
                contact = services.report_contact_reveal(report=obj, by=user)
                action.response = self._contact_page(request, obj, contact)
            case "assign":
                action.done = "Assigned to you."
            case _:
                action.done = "Saved." if saved else "Nothing to save."

    def _save_triage(self, report: Report, form: Any, user: User, *, assign: bool) -> bool:
        """The page's edits (triage fields, legal hold, a new note); True if any."""
        changes: dict[str, Any] = {}
        if "priority" in form.fields:
            data = form.cleaned_data
            changes = {n: data[n] for n in ("priority", "assignee", "follow_up_on", "labels")
                       if n in form.changed_data}  # fmt: skip
            if "labels" in changes:
                changes["labels"] = list(changes["labels"])
            if "legal_hold" in form.changed_data:
                services.report_legal_hold_set(report=report, by=user, hold=data["legal_hold"])
            if data["note"].strip():
                services.report_note_add(report=report, by=user, body=data["note"])
        if assign:
            changes["assignee"] = user
        if changes:
            services.report_triage_update(report=report, by=user, **changes)
        return bool(changes) or bool(set(form.changed_data) & {"legal_hold", "note"})

    def _contact_page(self, request: HttpRequest, report: Report, contact: Any) -> HttpResponse:
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

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The current filtered list as CSV, through the shared field policy. UTF-8 with a
        byte-order mark, so that spreadsheet programs read "Três" and "mañana" right."""
        if not policy.can_export(request.user):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        queryset = changelist.get_queryset(request)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="testigo-reports.csv"'
        response["Cache-Control"] = "no-store"
        response.write("\ufeff")
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


# Who may take each action of the report page (a role's decision; the service checks
# the report too).
ACTION_POLICY: dict[str, Callable[[policy.AnyUser], bool]] = {
    "status": policy.can_triage,
    "assign": policy.can_triage,
    "reveal": policy.can_reveal_contact,
    "share": policy.can_share,
    "revoke": policy.can_share,
    "share_contact": policy.can_share_contact,
    "ask": policy.can_ask_witness,
    "publish": policy.can_publish,
}


def next_statuses(report: Report) -> list[tuple[str, str]]:
    return [
        (value, str(label))
        for value, label in CaseStatus.choices
        if value in services.CASE_TRANSITIONS.get(report.case_status, set())
    ]


@admin.register(Label)
class LabelAdmin(StaffModelAdmin[Label]):
    list_display = ["name"]
    search_fields = ["name"]
