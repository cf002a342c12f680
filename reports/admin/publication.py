"""The review page of a publishable copy (promise 11): the faces the detector found,
drawn on the photo or on sampled video frames; a box dragged on a frame to add a face it
missed (held still for a time span, or followed); a false one removed; the method (solid
box or mosaic) and the voice checkbox chosen; then approval.

One form (reports.admin.base.PageAdmin): the method and voice choices are the page's
edits, saved with whichever action is taken; each action calls a service. Only staff
with the ``publish`` permission reach it (policy.can_publish). The frames and the
finished copy are streamed by the views below, to the same staff only.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse

from reports import policy, services
from reports.admin.base import (
    PageAction,
    PageAdmin,
    PageForm,
    page_edits_posted,
    post_only,
    staff,
)
from reports.models import CopyStatus, FaceRegion, HideMethod, PublishableCopy
from reports.streaming import media_response


class ReviewForm(PageForm):
    # Not required: a POST from elsewhere than the page carries no choices, and the ones
    # saved on the copy stand.
    method = forms.ChoiceField(
        label="How faces are hidden",
        choices=HideMethod.choices,
        widget=forms.RadioSelect,
        required=False,
    )
    distort_voice = forms.BooleanField(label="Distort voices", required=False)
    # Set by the page's script when a box is dragged on a frame (or typed, without it).
    region_box = forms.CharField(label="New box (x1, y1, x2, y2)", required=False)
    region_frame = forms.IntegerField(label="On frame", required=False, min_value=0)
    region_end = forms.IntegerField(label="Hide until frame", required=False, min_value=0)
    region_follow = forms.BooleanField(label="Follow the face", required=False)

    ACTION_INPUTS = {"add_region": ("region_box", "region_frame", "region_end", "region_follow")}
    PENDING_LABELS = {"region_box": "a box you drew"}

    class Meta:
        model = PublishableCopy
        fields = ["method", "distort_voice"]

    def clean_region_follow(self) -> bool | None:
        # Unticked is no input at all: not an unsaved change that would block approval.
        return True if self.cleaned_data.get("region_follow") else None

    def clean_region_box(self) -> list[float] | None:
        text = self.cleaned_data.get("region_box", "").strip()
        if not text:
            return None
        try:
            values = [float(v) for v in text.replace(" ", "").split(",")]
        except ValueError:
            values = []
        if len(values) != 4:
            raise forms.ValidationError("A box is four numbers: x1, y1, x2, y2.")
        return values


@admin.register(PublishableCopy)
class PublishableCopyAdmin(PageAdmin[PublishableCopy]):
    form = ReviewForm
    page_actions = ("add_region", "approve")
    change_form_template = "admin/reports/publication_review.html"
    list_display = ["__str__", "report", "kind", "status", "progress", "created_at"]
    list_filter = ["status"]
    allow_add = False
    allow_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[PublishableCopy]:
        return super().get_queryset(request).select_related("report", "media_item")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return policy.can_publish(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return policy.can_publish(request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return policy.can_publish(request.user)

    def page_allowed(self, request: HttpRequest, action: str) -> bool:
        return policy.can_publish(request.user)

    def get_urls(self) -> list[URLPattern]:
        def remove(request: HttpRequest, pk: UUID, region_id: int) -> HttpResponse:
            return self.page_action_view(request, pk, "remove_region", target=region_id)

        def wrap(view: Any) -> Any:
            return self.admin_site.admin_view(view)

        return [
            path(
                "<uuid:pk>/remove-region/<int:region_id>/",
                wrap(post_only(remove)),
                name="reports_publishablecopy_remove_region",
            ),
            path(
                "<uuid:pk>/frame/<int:index>/",
                wrap(self.frame_view),
                name="reports_publishablecopy_frame",
            ),
            path("<uuid:pk>/file/", wrap(self.file_view), name="reports_publishablecopy_file"),
            *self.page_urls(),
            *super().get_urls(),
        ]

    def page_work(
        self, request: HttpRequest, obj: PublishableCopy, form: Any, action: PageAction
    ) -> None:
        user = staff(request)
        data = form.cleaned_data
        # The page's edits (method, voice) are saved with every action taken from the page;
        # a POST from elsewhere carries none, and the copy's own choices stand.
        method = HideMethod(data.get("method") or obj.method)
        voice = bool(data["distort_voice"]) if page_edits_posted(request) else obj.distort_voice
        if obj.status == CopyStatus.REVIEW and page_edits_posted(request):
            services.publishable_copy_choose(copy=obj, method=method, distort_voice=voice, by=user)
        match action.name:
            case "add_region":
                if data.get("region_box") is None:
                    raise services.ServiceError("Drag a box on a frame first.")
                start = data.get("region_frame") or 0
                end = data.get("region_end")
                services.publishable_copy_region_add(
                    copy=obj,
                    box=data["region_box"],
                    frame_start=start,
                    frame_end=start if end is None else end,
                    follow=bool(data.get("region_follow")),
                    by=user,
                )
                action.done = "Region added."
            case "remove_region":
                region = get_object_or_404(FaceRegion, pk=action.target, copy=obj)
                services.publishable_copy_region_remove(region=region, by=user)
                action.done = "Region removed: it will not be hidden."
            case "approve":
                services.publishable_copy_approve(
                    copy=obj, method=method, distort_voice=voice, by=user
                )
                action.done = "Approved: the copy is being made."
            case _:
                action.done = "Saved."

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: PublishableCopy | None = None,
    ) -> Any:
        if obj is not None:
            regions = list(obj.regions.order_by("id"))
            context.update(
                {
                    "title": f"Publishable copy of report {str(obj.report_id)[:8]}",
                    "copy": obj,
                    "regions": regions,
                    "regions_json": [
                        {
                            "id": r.id,
                            "source": r.source,
                            "removed": r.removed,
                            "boxes": r.track.get("boxes", {}),
                            "start": r.frame_start,
                            "end": r.frame_end,
                        }
                        for r in regions
                    ],
                    "frames": [
                        {
                            "index": index,
                            "frame": sample["frame"],
                            "url": reverse(
                                "admin:reports_publishablecopy_frame", args=[obj.pk, index]
                            ),
                        }
                        for index, sample in enumerate(obj.samples)
                    ],
                    "in_review": obj.status == CopyStatus.REVIEW,
                    "working": obj.status in (CopyStatus.DETECTING, CopyStatus.RENDERING),
                    "report_url": reverse("admin:reports_report_change", args=[obj.report_id]),
                }
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _own(self, request: HttpRequest, pk: UUID) -> PublishableCopy:
        if not policy.can_publish(request.user):
            raise PermissionDenied
        return get_object_or_404(PublishableCopy, pk=pk)

    def frame_view(self, request: HttpRequest, pk: UUID, index: int) -> HttpResponseBase:
        """A sampled frame (sanitized, faces not yet hidden): reviewers only."""
        copy = self._own(request, pk)
        if not 0 <= index < len(copy.samples):
            raise Http404
        return media_response(request, copy.samples[index]["name"], "image/jpeg")

    def file_view(self, request: HttpRequest, pk: UUID) -> HttpResponseBase:
        copy = self._own(request, pk)
        if copy.status != CopyStatus.PUBLISHED:
            raise Http404
        return media_response(request, copy.name, copy.content_type)
