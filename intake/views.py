"""The witness's pages. Views are thin: forms validate, services change state."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, requires_csrf_token
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from intake.followup import (
    followup_close,
    followup_open,
    followup_report,
    receipt_keep,
    receipt_take,
)
from intake.forms import FollowUpForm, ReceiptCodeForm, ReportForm
from intake.messages import (
    RECEIPT_UNKNOWN,
    THROTTLED,
    refusal_message,
    size_limits_text,
)
from intake.receiving import FollowUpPost, ReportPost
from intake.services import RefusedUpload
from intake.throttle import TooManyCodeAttempts, receipt_code_report, throttle_hit
from reports import problems, selectors
from reports.models import Moderation, Report

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
    _body_discard(request)
    if request.headers.get(RESUMABLE_HEADER):
        return JsonResponse({"message": str(THROTTLED)}, status=429)
    return render(request, "intake/throttled.html", {"message": THROTTLED}, status=429)


def _body_discard(request: HttpRequest) -> None:
    """Read a post that will not be used to its end, unparsed, so the browser, still
    sending, sees the answer instead of a reset connection."""
    try:
        while request.read(64 * 1024):
            pass
    except OSError:
        pass


# The form posts stream in and are parsed text first (intake.receiving), which checks
# CSRF itself once the text parts have arrived: the middleware would read the whole body
# before the view.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def report_new(request: HttpRequest) -> HttpResponse:
    resumable = request.headers.get(RESUMABLE_HEADER) == "1"
    form = ReportForm()
    if request.method == "POST":
        if throttle_hit(request, scope="report", limit=settings.TESTIGO_THROTTLE_REPORTS_PER_HOUR):
            return _throttled(request)
        post = ReportPost(request, resumable_uploads_follow=resumable)
        post.receive()
        if post.refusal is not None:
            return post.refusal
        if post.receipt_code:
            code, refused = post.receipt_code, _refused(post.refused)
            if resumable:
                return JsonResponse({"receipt_code": code, "refused": refused})
            # Post/redirect/get: a reload shows the receipt page, never posts again.
            receipt_keep(request, code=code, refused=refused)
            return redirect("intake:receipt")
        form = post.form or form
        if resumable:
            return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
        files_again = post.files_again
    else:
        files_again = []
    context = {"form": form, "files_again": files_again, **_limits()}
    return render(request, "intake/report_form.html", context)


@never_cache
@require_GET
def receipt(request: HttpRequest) -> HttpResponse:
    """The receipt after a post without the script: the code once, from the session; read
    again, the page says it was shown (the script shows the tab's kept copy)."""
    return render(request, "intake/receipt.html", receipt_take(request))


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


@csrf_exempt  # checked by FollowUpPost once the text parts are in (see report_new)
@never_cache
@require_POST
def followup_send(request: HttpRequest) -> HttpResponse:
    report = followup_report(request)
    if report is None:
        _body_discard(request)
        return redirect("intake:followup")
    if throttle_hit(request, scope="followup", limit=settings.TESTIGO_THROTTLE_FOLLOWUPS_PER_HOUR):
        return _throttled(request)
    post = FollowUpPost(request, report)
    post.receive()
    if post.refusal is not None:
        return post.refusal
    if not post.committed:
        return _followup_page(request, report, post.form or FollowUpForm())
    return _followup_page(
        request, report, FollowUpForm(), sent=True, refused=_refused(post.refused)
    )


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
@require_GET
def language(request: HttpRequest, code: str) -> HttpResponse:
    """A language link (intake.languages): Django's set_language with GET, so the four
    names are plain links. The same session-only cookie; ``next`` stays on this site."""
    target = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("intake:report_new")
    response = HttpResponseRedirect(target)
    if code in dict(settings.LANGUAGES):
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            code,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
    return response


@never_cache
def safety(request: HttpRequest) -> HttpResponse:
    return render(request, "intake/safety.html")


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: an unexpected error answers in the visitor's language, never with a
    bare English page: a problem document under /api/ and /tus/ (segments stored before the
    error stay, so an upload resumes from HEAD's offset), a page elsewhere. Reached only
    before anything of the step was committed: a post whose text was committed answers
    with its receipt even if a file then failed."""
    if problems.is_problem_path(request):
        return problems.server_error(request)
    return render(request, "intake/server_error.html", status=500)
