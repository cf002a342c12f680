"""The anonymous intake API: the same submission as the form, for native clients."""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from intake.forms import DESCRIPTION_MAX
from intake.messages import refusal_message
from intake.services import report_submit


class IntakeReportRequestSerializer(serializers.Serializer[Any]):
    description = serializers.CharField(max_length=DESCRIPTION_MAX)
    occurred_text = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    location_text = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default=""
    )
    media = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True), required=False, default=list
    )

    def validate_description(self, value: str) -> str:
        value = value.replace("\x00", "")
        if not value.strip():
            raise serializers.ValidationError("This field may not be blank.")
        return value


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
        request={"multipart/form-data": IntakeReportRequestSerializer},
        responses={
            201: IntakeReportResponseSerializer,
            400: OpenApiResponse(description="Validation errors, by field."),
        },
        description=(
            "Submit a witness report, anonymously. `description` is required; any number of "
            "`media` file parts may follow (photos, video, audio). Files whose type is not "
            "supported are refused individually and listed in `refused_media`; the report "
            "is kept."
        ),
    )
    def post(self, request: Request) -> Response:
        data = {
            "description": request.POST.get("description", ""),
            "occurred_text": request.POST.get("occurred_text", ""),
            "location_text": request.POST.get("location_text", ""),
            "media": request.FILES.getlist("media"),
        }
        serializer = IntakeReportRequestSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        result = report_submit(
            description=serializer.validated_data["description"],
            occurred_text=serializer.validated_data["occurred_text"],
            location_text=serializer.validated_data["location_text"],
            language=get_language() or "en",
            uploads=serializer.validated_data["media"],
        )
        body = {
            "receipt_code": result.receipt_code,
            "refused_media": [
                {"index": r.position, "reason": r.reason, "message": refusal_message(r.reason)}
                for r in result.refused
            ],
        }
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response
