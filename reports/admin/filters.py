"""List filters of the moderation queue and the Reports list: the urgent facts, media,
and whether the witness replied."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from reports import selectors
from reports.models import Answer, MediaItem, Report


class YesFilter(admin.SimpleListFilter):
    """A filter that narrows to the reports where ``condition`` holds."""

    condition: ClassVar[Q]

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Yes"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Report]) -> QuerySet[Report]:
        return queryset.filter(self.condition) if self.value() == "yes" else queryset


class HappeningNowFilter(YesFilter):
    title = _("happening now")
    parameter_name = "now"
    condition = Q(happening_now=True)


class ChildrenFilter(YesFilter):
    title = _("children present")
    parameter_name = "children"
    condition = Q(children_present=Answer.YES)


class InjuriesFilter(YesFilter):
    title = _("injuries")
    parameter_name = "injuries"
    condition = Q(injuries=Answer.YES)


class HasMediaFilter(admin.SimpleListFilter):
    title = _("media")
    parameter_name = "media"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("With media")), ("no", _("Text only"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Report]) -> QuerySet[Report]:
        has_media = Exists(MediaItem.objects.filter(report=OuterRef("pk")))
        if self.value() == "yes":
            return queryset.filter(has_media)
        if self.value() == "no":
            return queryset.filter(~has_media)
        return queryset


class WitnessRepliedFilter(admin.SimpleListFilter):
    title = _("witness replied")
    parameter_name = "replied"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Witness wrote last"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Report]) -> QuerySet[Report]:
        return selectors.witness_replied(queryset) if self.value() == "yes" else queryset
