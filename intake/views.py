from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import get_language
from django.views.decorators.http import require_http_methods

from intake.forms import ReportForm
from intake.messages import refusal_message
from intake.services import report_submit


@require_http_methods(["GET", "POST"])
def report_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ReportForm(request.POST, request.FILES)
        if form.is_valid():
            result = report_submit(
                description=form.cleaned_data["description"],
                occurred_text=form.cleaned_data["occurred_text"],
                location_text=form.cleaned_data["location_text"],
                language=get_language() or "en",
                uploads=form.cleaned_data["attachments"],
            )
            refused = [
                {"number": r.position + 1, "message": refusal_message(r.reason)}
                for r in result.refused
            ]
            # The receipt is shown once, in this response only: never cached, never in a URL.
            response = render(
                request,
                "intake/receipt.html",
                {"receipt_code": result.receipt_code, "refused": refused},
            )
            add_never_cache_headers(response)
            return response
    else:
        form = ReportForm()
    return render(request, "intake/report_form.html", {"form": form})
