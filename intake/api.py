"""The anonymous intake API: the same submission as the form, for native clients.

It validates with the web form itself (intake.forms.ReportForm), so both accept the same
fields with the same translated messages; the serializer below only documents them.
"""

from __future__ import annotations

from typing import Any

from django import forms as django_forms
from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from intake.forms import FACT_FIELDS, ReportForm
from intake.messages import THROTTLED, refusal_message
from intake.receiving import ReportPost
from intake.throttle import throttle_hit
from reports.api.docs import INTAKE_TAG
from reports.api.errors import problem_doc, problem_responses
from reports.problems import problem_response

# Fields of the form the API does not take: media come as `media` parts, and the
# honeypot is for browsers.
_NOT_IN_API = {"attachments", "website"}


def _choices(field: django_forms.ChoiceField) -> list[Any]:
    return list(field.choices)  # type: ignore[arg-type]


def _schema_field(field: django_forms.Field) -> serializers.Field[Any, Any, Any, Any]:
    common: dict[str, Any] = {"required": field.required, "help_text": str(field.label)}
    if isinstance(field, django_forms.MultipleChoiceField):
        return serializers.MultipleChoiceField(choices=_choices(field), **common)
    if isinstance(field, django_forms.ChoiceField):
        return serializers.ChoiceField(choices=_choices(field), **common)
    if isinstance(field, django_forms.BooleanField):
        return serializers.BooleanField(**common)
    if isinstance(field, django_forms.IntegerField):
        return serializers.IntegerField(min_value=0, max_value=999, **common)
    if isinstance(field, django_forms.DateTimeField):
        return serializers.DateTimeField(**common)
    max_length = getattr(field, "max_length", None)
    return serializers.CharField(max_length=max_length, allow_blank=not field.required, **common)


IntakeReportRequestSerializer = type(
    "IntakeReportRequestSerializer",
    (serializers.Serializer,),
    {
        **{
            name: _schema_field(field)
            for name, field in ReportForm.base_fields.items()
            if name not in _NOT_IN_API
        },
        "media": serializers.ListField(child=serializers.FileField(), required=False),
    },
)


class RefusedMediaSerializer(serializers.Serializer[Any]):
    index = serializers.IntegerField(help_text="Position of the file among the media parts.")
    reason = serializers.CharField(help_text="Stable code, e.g. unsupported_format.")
    message = serializers.CharField(help_text="Explanation in the request's language.")


class IntakeReportResponseSerializer(serializers.Serializer[Any]):
    receipt_code = serializers.CharField(help_text="Shown once; keep it to follow up.")
    refused_media = RefusedMediaSerializer(many=True)


class IntakeReportView(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="intake_report_create",
        summary="Send a witness report (anonymous)",
        tags=[INTAKE_TAG],
        request={"multipart/form-data": IntakeReportRequestSerializer},
        responses={
            201: IntakeReportResponseSerializer,
            **problem_doc(400, "Invalid fields (invalid): translated messages in `errors`."),
            **problem_doc(429, "Too many reports from this client; retry later (throttled)."),
            **problem_responses(413, 415),
        },
        description=(
            "Submit a witness report, anonymously. `description` is required; every other "
            "fact is optional. Any number of `media` file parts may follow (photos, video, "
            "audio). Files that cannot be accepted (unsupported type, too large, too many) "
            "are refused individually and listed in `refused_media`; the report is kept. "
            "Send the text fields before the media parts: the report is committed as soon "
            "as the first media part begins, so it is kept even if the connection fails "
            "during a file, and fields after a media part are not read. "
            "Larger files can be sent resumably afterwards with tus 1.0 at `/tus/`, with "
            "the receipt code in `Upload-Metadata` as `receipt`. "
            f"Facts: {', '.join(FACT_FIELDS)}."
        ),
    )
    def post(self, request: Request) -> Response | HttpResponse:
        if throttle_hit(request, scope="report", limit=settings.TESTIGO_THROTTLE_REPORTS_PER_HOUR):
            return problem_response(status=429, code="throttled", detail=str(THROTTLED))
        # Parsed as it streams in, text first (intake.receiving), not by DRF's parser.
        content_type = request.content_type
        if content_type and not content_type.startswith("multipart/form-data"):
            raise exceptions.UnsupportedMediaType(content_type)
        post = ReportPost(request._request, api=True)
        post.receive()
        if not post.receipt_code:
            form = post.form or ReportForm({})
            # The form's own messages, already in the witness's language.
            errors = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
            return problem_response(
                status=400, code="invalid", detail=_("Please check the form"), errors=errors
            )
        body = {
            "receipt_code": post.receipt_code,
            "refused_media": [
                {"index": r.position, "reason": r.reason, "message": refusal_message(r.reason)}
                for r in post.refused
            ],
        }
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response
