"""Filters of the report list. They only ever narrow selectors.partner_reports, and only
on fields of the caller's sharing profile: a filter on anything else would let a partner
learn, from which reports come back, what the profile does not show it."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db import connection
from django.db.models import Q, QuerySet
from rest_framework.exceptions import ValidationError

from reports.models import Agency, Answer, CaseStatus, PartnerAPIKey, Report, Warrant

# Filter → the policy field it reveals (None: metadata every partner may use).
PROFILE_FIELD: dict[str, str | None] = {
    "received_after": "received_at",
    "received_before": "received_at",
    "incident_after": "occurred_at",
    "incident_before": "occurred_at",
    "updated_since": None,
    "town": "town",
    "agency": "agencies",
    "warrant": "warrant",
    "children_present": "children_present",
    "case_status": "case_status",
}


class PartnerReportFilter(django_filters.FilterSet):
    received_after = django_filters.IsoDateTimeFilter(
        field_name="received_at", lookup_expr="gte", label="Received at or after (ISO 8601)."
    )
    received_before = django_filters.IsoDateTimeFilter(
        field_name="received_at", lookup_expr="lt", label="Received before (ISO 8601)."
    )
    incident_after = django_filters.IsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="gte", label="Happened at or after (ISO 8601)."
    )
    incident_before = django_filters.IsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="lt", label="Happened before (ISO 8601)."
    )
    updated_since = django_filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", label="Changed at or after (ISO 8601)."
    )
    town = django_filters.CharFilter(method="filter_town", label="Town (case-insensitive).")
    agency = django_filters.MultipleChoiceFilter(
        choices=Agency.choices, method="filter_agency", label="Agency seen; repeat for any of."
    )
    warrant = django_filters.ChoiceFilter(choices=Warrant.choices)
    children_present = django_filters.ChoiceFilter(choices=Answer.choices)
    case_status = django_filters.ChoiceFilter(choices=CaseStatus.choices)

    class Meta:
        model = Report
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet[Report]) -> QuerySet[Report]:
        api_key = getattr(self.request, "auth", None)
        shared = (
            set(api_key.organisation.shared_fields) if isinstance(api_key, PartnerAPIKey) else set()
        )
        outside = {
            name: ["This filter is on a field outside your organisation's sharing profile."]
            for name, value in self.form.cleaned_data.items()
            if value not in (None, "", []) and PROFILE_FIELD[name] not in (None, *shared)
        }
        if outside:
            raise ValidationError(outside)
        result: QuerySet[Report] = super().filter_queryset(queryset)
        return result

    def filter_town(self, queryset: QuerySet[Report], name: str, value: str) -> Any:
        # The town as the partner is shown it: a redacted town is matched by its redaction
        # only, or the filter would tell what the redaction hid.
        if not value:
            return queryset
        return queryset.filter(
            Q(town_redacted__isnull=True, town__iexact=value) | Q(town_redacted__iexact=value)
        )

    def filter_agency(self, queryset: QuerySet[Report], name: str, value: list[str]) -> Any:
        if not value:
            return queryset
        match = Q()
        for agency in value:
            if connection.features.supports_json_field_contains:
                match |= Q(agencies__contains=[agency])
            else:  # SQLite, the embedded default: the list is stored as JSON text
                match |= Q(agencies__icontains=f'"{agency}"')
        return queryset.filter(match)
