"""The moderation queue (new reports, most urgent first: redact, approve, reject, ask the
witness, group into incidents) and the incidents grouping makes.

A report's page is one form (reports.admin.base.PageAdmin): the redaction of every
free-text fact and of the witness's messages travels with whichever decision is taken,
so "redact, then Approve" is one decision (services.report_approve with the redaction)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from reports import policy, selectors, services
from reports.admin.base import (
    UNSAVED,
    PageAction,
    PageAdmin,
    PageForm,
    ReadOnlyInline,
    StaffModelAdmin,
    page_edits_posted,
    post_only,
    report_change_url,
    staff,
)
from reports.admin.facts import ReportFactsMixin, report_page_context
from reports.admin.filters import (
    ChildrenFilter,
    HappeningNowFilter,
    HasMediaFilter,
    InjuriesFilter,
    WitnessRepliedFilter,
)
from reports.models import (
    REDACTABLE_FACTS,
    Incident,
    MediaItem,
    MediaStatus,
    MessageSender,
    ModerationQueue,
    RejectReason,
    Report,
)

REDACTION_FIELDS = [f"{fact}_redacted" for fact in REDACTABLE_FACTS]
MESSAGE_PREFIX = "message_"


class ReportIdsField(forms.Field):
    """Report ids ticked in a list of checkboxes (the template draws them)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[UUID]:
        try:
            return [UUID(str(v)) for v in value or []]
        except ValueError as error:
            raise forms.ValidationError("Not a report.") from error


def _normal(text: str | None) -> str:
    # Browsers send a textarea's line breaks as CRLF: not a change of the text.
    return (text or "").replace("\r\n", "\n").strip()


class ModerationForm(PageForm):
    """The moderator's page. Its edits: the redaction of each free-text fact and of each
    witness message, starting from the text everyone would see now. The inputs of
    reject, ask and group are theirs alone."""

    reason = forms.ChoiceField(
        label=_("Reject because"),
        choices=[("", _("— choose a reason —")), *RejectReason.choices],
        required=False,
        widget=forms.Select(attrs={"data-key": "r"}),
    )
    duplicate_of = forms.CharField(
        label=_("duplicate of report"),
        required=False,
        max_length=36,
        widget=forms.TextInput(attrs={"size": 10, "placeholder": "short id"}),
    )
    question = forms.CharField(
        label=_("Question"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "data-key": "q"}),
    )
    group_with = ReportIdsField(label=_("reports ticked"), required=False)

    ACTION_INPUTS = {
        "reject": ("reason", "duplicate_of"),
        "ask": ("question",),
        "group": ("group_with",),
    }
    PENDING_LABELS = {
        "reason": "a reject reason is chosen",
        "duplicate_of": "a duplicate's report id is filled in",
        "question": "a question to the witness is not sent",
        "group_with": "reports are ticked for grouping",
    }

    class Meta:
        model = Report
        fields = REDACTION_FIELDS
        widgets = {
            **{name: forms.Textarea(attrs={"rows": 2}) for name in REDACTION_FIELDS},
            # One-line answers stay one line.
            **{
                name: forms.TextInput()
                for name in ("town_redacted", "local_police_department_redacted")
            },
            "description_redacted": forms.Textarea(
                attrs={"rows": 8, "class": "testigo-words-text", "data-key": "e"}
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for fact in REDACTABLE_FACTS:
            if f"{fact}_redacted" in self.fields:
                self.initial[f"{fact}_redacted"] = self.instance.shown(fact)

    def clean_duplicate_of(self) -> Report | None:
        reference = self.cleaned_data["duplicate_of"].strip()
        if not reference:
            return None
        report = selectors.report_by_reference(reference)
        if report is None:
            raise forms.ValidationError(f"No report {reference!r}.")
        return report

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        name = self.action.name
        if name == "reject" and not data.get("reason"):
            self.add_error("reason", "Choose why this report is rejected.")
        if name == "ask" and not (data.get("question") or "").strip():
            self.add_error("question", "Write the question first.")
        if name == "group" and not data.get("group_with"):
            self.add_error(None, "Tick the reports that describe the same event.")
        if name == "release" and self.has_page_edits():
            raise forms.ValidationError(
                f"{UNSAVED}: the redaction is not saved. Save it, approve or reject, or "
                "undo it before leaving."
            )
        return data

    def _changed(self, name: str) -> str | None:
        if name not in self.fields or not hasattr(self, "cleaned_data"):
            return None
        posted = _normal(self.cleaned_data.get(name))
        return posted if posted != _normal(self.initial.get(name)) else None

    def redaction(self) -> services.Redaction:
        """What the moderator changed, fact by fact and message by message."""
        facts = {
            fact: text
            for fact in REDACTABLE_FACTS
            if (text := self._changed(f"{fact}_redacted")) is not None
        }
        messages = {
            int(name.removeprefix(MESSAGE_PREFIX)): text
            for name in self.fields
            if name.startswith(MESSAGE_PREFIX) and (text := self._changed(name)) is not None
        }
        return services.Redaction(facts=facts, messages=messages)

    def has_page_edits(self) -> bool:
        return bool(self.redaction())


@admin.register(ModerationQueue)
class ModerationQueueAdmin(ReportFactsMixin, PageAdmin[Report]):
    list_display = [
        "short_id",
        "excerpt",
        "flags",
        "where",
        "when",
        "warrant_display",
        "media_count",
        "taken_by",
        "waiting",
    ]
    list_display_links = ["short_id", "excerpt"]
    list_filter = [
        HappeningNowFilter,
        ChildrenFilter,
        InjuriesFilter,
        HasMediaFilter,
        WitnessRepliedFilter,
        "language",
        "warrant",
    ]
    # The search box; get_search_results searches short ids and the text.
    search_fields = ["id"]
    search_help_text = _("A short id (as in e72c1eb2) or words of the report.")
    ordering = selectors.QUEUE_ORDER
    list_per_page = 50
    show_full_result_count = False
    form = ModerationForm
    page_actions = ("approve", "reject", "ask", "group", "release")
    actions = ["reject_spam", "reject_false_alarm"]
    change_form_template = "admin/reports/moderation_change_form.html"
    change_list_template = "admin/reports/moderation_change_list.html"
    allow_add = False
    allow_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        return selectors.moderation_queue()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Report], search_term: str
    ) -> tuple[QuerySet[Report], bool]:
        original = policy.can_read_original_text(request.user)
        return selectors.reports_search(queryset, search_term, original_text=original), False

    def get_fields(self, request: HttpRequest, obj: Report | None = None) -> tuple[str, ...]:
        if page_edits_posted(request) and self.has_change_permission(request, obj):
            return tuple(REDACTION_FIELDS)
        return ()

    def get_readonly_fields(self, request: HttpRequest, obj: Report | None = None) -> list[str]:
        return []

    def has_change_permission(self, request: HttpRequest, obj: Report | None = None) -> bool:
        return super().has_change_permission(request, obj) and policy.can_moderate(request.user)

    def page_allowed(self, request: HttpRequest, action: str) -> bool:
        return self.has_change_permission(request)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        if obj is not None and "description_redacted" in form.base_fields:
            form.base_fields["description_redacted"].label = _(
                "What happened — edit to redact: this is what everyone after moderation sees"
            )
            for message in obj.messages.filter(sender=MessageSender.WITNESS):
                form.base_fields[f"{MESSAGE_PREFIX}{message.pk}"] = forms.CharField(
                    label=_("The witness wrote"),
                    required=False,
                    initial=message.body_shown,
                    widget=forms.Textarea(attrs={"rows": 2}),
                )
        return form

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method == "GET":
            report = self.get_object(request, object_id)
            if report is not None and self.has_change_permission(request, report):
                services.report_lock_acquire(report=report, by=staff(request))
        return super().change_view(request, object_id, form_url, extra_context)

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
            user = staff(request)
            form = context["adminform"].form
            context.update(
                report_page_context(
                    obj, form=form, original_text=policy.can_read_original_text(user)
                )
            )
            obj.refresh_from_db(fields=["locked_by", "locked_until"])
            held = obj.locked_until is not None and obj.locked_until > timezone.now()
            context.update(
                {
                    "lock_held": held and obj.locked_by_id == user.pk,
                    "lock_owner": obj.locked_by if held else None,
                    "lock_until": obj.locked_until,
                    "lock_until_iso": obj.locked_until.isoformat() if obj.locked_until else "",
                    "suggestions": selectors.incident_suggestions(report=obj),
                    "failed_media": (
                        list(obj.media_items.filter(status=MediaStatus.FAILED))
                        if policy.can_retry_media(user)
                        else []
                    ),
                    "unsaved": request.method == "POST",
                    "title": f"Report {str(obj.pk)[:8]}",
                }
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self) -> list[URLPattern]:
        def own(route: str, view: Callable[..., HttpResponseBase], name: str) -> URLPattern:
            return path(
                route, self.admin_site.admin_view(view), name=f"reports_moderationqueue_{name}"
            )

        return [
            *self.page_urls(),
            own("next/", self.next_view, "next"),
            own("<uuid:pk>/unlock/", post_only(self.unlock_view), "unlock"),
            own("<uuid:pk>/retry-media/<uuid:item_id>/", post_only(self.retry_view), "retry_media"),
            *super().get_urls(),
        ]

    # --- The page's actions ----------------------------------------------------------------

    def page_work(self, request: HttpRequest, obj: Report, form: Any, action: PageAction) -> None:
        user = staff(request)
        redaction = form.redaction() if isinstance(form, ModerationForm) else services.Redaction()
        data = form.cleaned_data
        match action.name:
            case "approve":
                services.report_approve(report=obj, by=user, redaction=redaction)
                action.done = "Approved."
            case "reject":
                services.report_reject(
                    report=obj,
                    by=user,
                    reason=data["reason"],
                    duplicate_of=data.get("duplicate_of"),
                    redaction=redaction,
                )
                action.done = "Rejected."
            case "ask":
                services.report_redact(report=obj, by=user, redaction=redaction)
                services.report_message_ask(report=obj, by=user, body=data["question"])
                action.done = "Question sent; the witness sees it on the follow-up page."
            case "group":
                services.report_redact(report=obj, by=user, redaction=redaction)
                others = list(Report.objects.filter(pk__in=data["group_with"]))
                services.incident_group(reports=[obj, *others], by=user)
                action.done = f"Grouped {len(others) + 1} reports into one incident."
            case "release":
                services.report_lock_release(report=obj, by=user)
                action.done = "Released; others can take it now."
            case "retry_media":
                # The page's edits are saved with the action, as with every other button.
                services.report_redact(report=obj, by=user, redaction=redaction)
                item = get_object_or_404(MediaItem, pk=action.target, report=obj)
                services.media_item_retry(item=item, by=user)
                action.done = "The file is queued for processing again."
            case _:
                services.report_redact(report=obj, by=user, redaction=redaction)
                action.done = "Redaction saved." if redaction else "Nothing to save."

    def page_done(self, request: HttpRequest, obj: Report, action: PageAction) -> str:
        if action.name in ("approve", "reject") and action.go_next:
            following = selectors.moderation_queue_next(by=staff(request), after=obj)
            if following is not None:
                return report_change_url(following, "moderationqueue")
            messages.info(request, "The queue is empty.")
        if action.name in ("approve", "reject", "release"):
            return reverse("admin:reports_moderationqueue_changelist")
        return report_change_url(obj, "moderationqueue")

    def retry_view(self, request: HttpRequest, pk: UUID, item_id: UUID) -> HttpResponse:
        """Re-run a failed media item (staff decide; the service checks the policy)."""
        return self.page_action_view(request, pk, "retry_media", target=item_id)

    def next_view(self, request: HttpRequest) -> HttpResponse:
        """Open the most urgent report nobody else holds."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        following = selectors.moderation_queue_next(by=staff(request))
        if following is None:
            messages.info(request, "The queue is empty.")
            return HttpResponseRedirect(reverse("admin:reports_moderationqueue_changelist"))
        return HttpResponseRedirect(report_change_url(following, "moderationqueue"))

    def unlock_view(self, request: HttpRequest, pk: UUID) -> HttpResponseBase:
        """Where the page's script sends a beacon when the moderator leaves it: the lock
        taken when that page was shown is released (not one a later page renewed)."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        report = get_object_or_404(Report, pk=pk)
        until = parse_datetime(request.POST.get("until", "") or "")
        services.report_lock_release(report=report, by=staff(request), until=until)
        return HttpResponse(status=204)

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
    fields = ("link", "received_at", "town_shown", "moderation")
    readonly_fields = fields
    verbose_name_plural = _("reports in this incident")

    @admin.display(description=_("report"))
    def link(self, obj: Report) -> SafeString:
        return format_html('<a href="{}">{}</a>', report_change_url(obj), str(obj.id)[:8])

    @admin.display(description=_("town"))
    def town_shown(self, obj: Report) -> str:
        return obj.shown("town")


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
