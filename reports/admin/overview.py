"""Admin pages that are not a model's: the overview charts (routed by reports.admin_site)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from reports import policy, selectors
from reports.charts import bar_chart, column_chart


def overview(request: HttpRequest) -> HttpResponse:
    if not policy.can_view_overview(request.user):
        raise PermissionDenied
    data = selectors.overview()
    share = data.no_or_administrative_warrant_share
    context = {
        **admin.site.each_context(request),
        "title": "Overview",
        "data": data,
        "per_day": column_chart(
            [(d.isoformat(), n) for d, n in data.per_day], title="Reports per day"
        ),
        "by_town": bar_chart(data.by_town, title="Reports by town"),
        "by_agency": bar_chart(data.by_agency, title="Reports by agency"),
        "warrant": bar_chart(data.warrant, title="Warrant shown"),
        "weak_warrant_percent": round(share * 100) if share is not None else None,
    }
    return TemplateResponse(request, "admin/reports/overview.html", context)
