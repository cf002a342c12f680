"""The witness's pages. Views are thin: forms validate, services change state."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from intake.followup import followup_close, followup_open, followup_report
from intake.forms import FollowUpForm, ReceiptCodeForm, ReportForm
from intake.messages import RECEIPT_UNKNOWN, THROTTLED, refusal_message, size_limits_text
from intake.receipts import receipt_code_new
from intake.services import RefusedUpload, report_media_add, submission_submit
from intake.throttle import TooManyCodeAttempts, client_token, receipt_code_report, throttle_hit
from reports import selectors
from reports.models import Moderation, Report
from reports.services import report_message_reply

# The script asks for a JSON answer so it can upload the files itself, resumably, after
# the text is committed.
RESUMABLE_HEADER = "X-Testigo-Resumable"


def _limits() -> dict[str, Any]:
    return {
        "max_files": settings.TESTIGO_MAX_FILES,
        "limits_text": size_limits_text(
            image_bytes=settings.TESTIGO_MAX_IMAGE_BYTES,
            other_bytes=settings.TESTIGO_MAX_UPLOAD_BYTES,
        ),
    }


def _refused(refused: list[RefusedUpload]) -> list[dict[str, Any]]:
    return [
        {"number": r.position + 1, "reason": r.reason, "message": refusal_message(r.reason)}
        for r in refused
    ]


def _throttled(request: HttpRequest) -> HttpResponse:
    if request.headers.get(RESUMABLE_HEADER):
        return JsonResponse({"message": str(THROTTLED)}, status=429)
    return render(request, "intake/throttled.html", {"message": THROTTLED}, status=429)


@never_cache
@require_http_methods(["GET", "POST"])
def report_new(request: HttpRequest) -> HttpResponse:
    resumable = request.headers.get(RESUMABLE_HEADER) == "1"
    if request.method == "POST":
        if throttle_hit(request, scope="report", limit=settings.TESTIGO_THROTTLE_REPORTS_PER_HOUR):
            return _throttled(request)
        form = ReportForm(request.POST, request.FILES)
        if form.is_valid():
            if form.is_spam:
                # Answer like a success so a bot learns nothing; store nothing.
                code, refused = receipt_code_new(), []
            else:
                result = submission_submit(
                    form.submission(),
                    resumable_uploads_follow=resumable,
                    client=client_token(request),
                )
                code, refused = result.receipt_code, _refused(result.refused)
            if resumable:
                response: HttpResponse = JsonResponse({"receipt_code": code, "refused": refused})
            else:
                # The receipt is shown once, in this response only: never in a URL.
                response = render(
                    request, "intake/receipt.html", {"receipt_code": code, "refused": refused}
                )
            return response
        if resumable:
            return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    else:
        form = ReportForm()
    return render(request, "intake/report_form.html", {"form": form, **_limits()})


STATUS_TEXT = {
    Moderation.RECEIVED: "received",
    Moderation.PENDING: "pending",
    Moderation.APPROVED: "approved",
    Moderation.REJECTED: "closed",
}


@never_cache
@require_http_methods(["GET", "POST"])
def followup(request: HttpRequest) -> HttpResponse:
    report = followup_report(request)
    if request.method == "POST":
        code_form = ReceiptCodeForm(request.POST)
        if code_form.is_valid():
            try:
                found = receipt_code_report(request, code=code_form.cleaned_data["code"])
            except TooManyCodeAttempts:
                return _throttled(request)
            if found is not None:
                followup_open(request, found)
                # Post/redirect/get: a reload must not resend the code.
                return redirect("intake:followup")
            code_form.add_error("code", RECEIPT_UNKNOWN)
        return render(request, "intake/followup_code.html", {"form": code_form}, status=200)
    if report is None:
        return render(request, "intake/followup_code.html", {"form": ReceiptCodeForm()})
    return _followup_page(request, report, FollowUpForm())


def _followup_page(
    request: HttpRequest,
    report: Report,
    form: FollowUpForm,
    *,
    sent: bool = False,
    refused: list[dict[str, Any]] | None = None,
) -> HttpResponse:
    context = {
        "report": report,
        "status": STATUS_TEXT.get(Moderation(report.moderation), "received"),
        "media": selectors.report_media_summary(report=report),
        "messages_list": selectors.report_messages(report=report),
        "form": form,
        "sent": sent,
        "refused": refused or [],
        **_limits(),
    }
    return render(request, "intake/followup.html", context)


@never_cache
@require_POST
def followup_send(request: HttpRequest) -> HttpResponse:
    report = followup_report(request)
    if report is None:
        return redirect("intake:followup")
    if throttle_hit(request, scope="followup", limit=settings.TESTIGO_THROTTLE_FOLLOWUPS_PER_HOUR):
        return _throttled(request)
    form = FollowUpForm(request.POST, request.FILES)
    if not form.is_valid():
        return _followup_page(request, report, form)
    if form.cleaned_data["body"]:
        report_message_reply(report=report, body=form.cleaned_data["body"])
    refused = report_media_add(
        report=report, uploads=form.cleaned_data["attachments"], client=client_token(request)
    )
    return _followup_page(request, report, FollowUpForm(), sent=True, refused=_refused(refused))


@never_cache
@require_POST
def followup_end(request: HttpRequest) -> HttpResponse:
    followup_close(request)
    return redirect("intake:followup")


# What Quick exit asks the browser to forget of this site: its cookies, storage (the
# resumable uploads' list) and cached pages. Browsers that ignore it still get each cookie
# deleted below.
CLEAR_SITE_DATA = '"cache", "cookies", "storage"'


@never_cache
def quick_exit(request: HttpRequest) -> HttpResponse:
    """Forget the follow-up session and every trace of this site on the phone, and leave
    for a neutral site."""
    followup_close(request)
    response = HttpResponseRedirect(settings.TESTIGO_QUICK_EXIT_URL)
    response["Clear-Site-Data"] = CLEAR_SITE_DATA
    for name in (
        settings.SESSION_COOKIE_NAME,
        settings.CSRF_COOKIE_NAME,
        settings.LANGUAGE_COOKIE_NAME,
    ):
        response.delete_cookie(name, path="/", samesite="Lax")
    return response


@never_cache
def safety(request: HttpRequest) -> HttpResponse:
    return render(request, "intake/safety.html")
