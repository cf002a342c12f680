"""Partner API views: authenticate the key, ask a selector, call a service, serialize.
Every lookup goes through selectors.partner_reports, so what is not shared is a 404."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.core import signing
from django.http.response import HttpResponseBase
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reports import selectors, services
from reports.api.auth import (
    HasPartnerKey,
    PartnerKeyAuthentication,
    PartnerKeyThrottle,
    organisation_of,
)
from reports.api.docs import PARTNER_TAG
from reports.api.errors import (
    LinkExpired,
    partner_exception_handler,
    problem_responses,
)
from reports.api.filters import PartnerReportFilter
from reports.api.serializers import (
    PartnerCaseRequestSerializer,
    PartnerCaseSerializer,
    PartnerCopySerializer,
    PartnerMediaSerializer,
    PartnerReportSerializer,
    copy_token_open,
    media_token_open,
)
from reports.formats import CONTENT_TYPES
from reports.models import PartnerOrganisation, Report
from reports.selectors.partners import COPIES_FIELD
from reports.streaming import media_response

REPORT_ID = OpenApiParameter(
    "report_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The report's id."
)


class PartnerView(APIView):
    authentication_classes = [PartnerKeyAuthentication]
    permission_classes = [HasPartnerKey]
    throttle_classes = [PartnerKeyThrottle]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]

    def get_exception_handler(self) -> Any:
        return partner_exception_handler

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        # What a partner reads may hold a witness's contact details: no cache keeps it.
        response["Cache-Control"] = "no-store"
        return response

    def shared_report(self, request: Request, report_id: str) -> Report:
        report = selectors.partner_report(
            organisation=organisation_of(request), report_id=report_id
        )
        if report is None:
            raise NotFound
        return report


class ReportCursorPagination(CursorPagination):
    # received_at, newest first; the cursor keeps its place as reports are added.
    ordering = ("-received_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 100


class ReportOrdering(OrderingFilter):
    ordering_fields = ["received_at"]


class ReportListView(PartnerView, GenericAPIView[Report]):
    filter_backends = [DjangoFilterBackend, ReportOrdering]
    filterset_class = PartnerReportFilter
    pagination_class = ReportCursorPagination
    serializer_class = PartnerReportSerializer
    ordering_fields = ["received_at"]

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation, no request key
            return Report.objects.none()
        return selectors.partner_reports(organisation=organisation_of(self.request))

    @extend_schema(
        operation_id="partner_reports_list",
        summary="List the reports shared with you",
        tags=[PARTNER_TAG],
        responses={
            200: PartnerReportSerializer(many=True),
            **problem_responses(400, 401, 404, 429),
        },
        description=(
            "The approved reports shared with your organisation (shares not revoked), "
            "newest first, in pages with a cursor. Filters on a field outside your sharing "
            "profile answer 400."
        ),
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset())) or []
        serializer = PartnerReportSerializer(page, many=True, context=self._context(page))
        return self.get_paginated_response(serializer.data)

    def _context(self, reports: list[Report]) -> dict[str, Any]:
        organisation = self.request.auth.organisation  # type: ignore[union-attr]
        contacts = services.partner_contacts_read(reports=reports, organisation=organisation)
        return {"organisation": organisation, "contacts": contacts}


class ReportDetailView(PartnerView):
    @extend_schema(
        operation_id="partner_reports_retrieve",
        summary="Get one shared report",
        tags=[PARTNER_TAG],
        parameters=[REPORT_ID],
        responses={200: PartnerReportSerializer, **problem_responses(401, 404, 429)},
    )
    def get(self, request: Request, report_id: str) -> Response:
        report = self.shared_report(request, report_id)
        organisation = organisation_of(request)
        contacts = services.partner_contacts_read(reports=[report], organisation=organisation)
        context = {"organisation": organisation, "contacts": contacts}
        return Response(PartnerReportSerializer(report, context=context).data)


class ReportMediaView(PartnerView):
    @extend_schema(
        operation_id="partner_reports_media_list",
        summary="List a report's sanitized media",
        tags=[PARTNER_TAG],
        parameters=[REPORT_ID],
        responses={200: PartnerMediaSerializer(many=True), **problem_responses(401, 404, 429)},
        description=(
            "The report's sanitized media. Items still being processed, refused or failed "
            "are not listed and have no URL. Each `download_url` works for a few minutes."
        ),
    )
    def get(self, request: Request, report_id: str) -> Response:
        report = self.shared_report(request, report_id)
        items = selectors.partner_media_items(report=report)
        context = {"request": request, "organisation": organisation_of(request)}
        return Response(PartnerMediaSerializer(items, many=True, context=context).data)


class SignedDownloadView(APIView):
    """A download whose signed URL is the credential: it names one file and one
    organisation, and the share is checked again now, so a revoked share stops a link
    already handed out."""

    authentication_classes: list[type] = []
    permission_classes: list[type] = []
    renderer_classes = [JSONRenderer]

    def get_exception_handler(self) -> Any:
        return partner_exception_handler

    @staticmethod
    def signed_claim(
        token_open: Callable[[str], dict[str, Any]], token: str
    ) -> tuple[dict[str, Any], PartnerOrganisation]:
        """The token's claim and its organisation, still active; 410 once expired, 404 for
        anything else."""
        try:
            claim = token_open(token)
        except signing.SignatureExpired as error:
            raise LinkExpired from error
        except signing.BadSignature as error:
            raise NotFound from error
        organisation_id = claim.get("o")
        organisation = (
            PartnerOrganisation.objects.filter(id=organisation_id, active=True).first()
            if isinstance(organisation_id, int)
            else None
        )
        if organisation is None:
            raise NotFound
        return claim, organisation


class MediaDownloadView(SignedDownloadView):
    @extend_schema(
        operation_id="partner_media_download",
        summary="Download a media file (signed link, no key)",
        tags=[PARTNER_TAG],
        auth=[],
        parameters=[
            OpenApiParameter(
                "token", OpenApiTypes.STR, OpenApiParameter.PATH, description="From download_url."
            )
        ],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The sanitized file."
            ),
            **problem_responses(404, 410),
        },
    )
    def get(self, request: Request, token: str) -> HttpResponseBase:
        claim, organisation = self.signed_claim(media_token_open, token)
        item = selectors.partner_media_item(organisation=organisation, media_item_id=claim.get("i"))
        if item is None:
            raise NotFound
        services.media_download_record(item=item, organisation=organisation)
        return media_response(
            request,
            item.media_name,
            CONTENT_TYPES.get(item.detected_format, "application/octet-stream"),
        )


class ReportCopiesView(PartnerView):
    @extend_schema(
        operation_id="partner_reports_publishable_copies_list",
        summary="List a report's publishable copies (faces hidden)",
        tags=[PARTNER_TAG],
        parameters=[REPORT_ID],
        responses={200: PartnerCopySerializer(many=True), **problem_responses(401, 404, 429)},
        description=(
            "Copies of the report's photos, videos and audio made for publication: every "
            "face hidden and reviewed by staff, voices distorted when they chose to, made "
            "only when the witness consented to publication. Listed only when your sharing "
            "profile includes publishable copies (otherwise 404). Each `download_url` "
            "works for a few minutes."
        ),
    )
    def get(self, request: Request, report_id: str) -> Response:
        report = self.shared_report(request, report_id)
        organisation = organisation_of(request)
        if COPIES_FIELD not in (organisation.shared_fields or []):
            raise NotFound
        copies = selectors.partner_publishable_copies(organisation=organisation, report=report)
        context = {"request": request, "organisation": organisation}
        return Response(PartnerCopySerializer(copies, many=True, context=context).data)


class CopyDownloadView(SignedDownloadView):
    """As for media, and the sharing profile is checked again too."""

    @extend_schema(
        operation_id="partner_publishable_copy_download",
        summary="Download a publishable copy (signed link, no key)",
        tags=[PARTNER_TAG],
        auth=[],
        parameters=[
            OpenApiParameter(
                "token", OpenApiTypes.STR, OpenApiParameter.PATH, description="From download_url."
            )
        ],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The publishable copy."
            ),
            **problem_responses(404, 410),
        },
    )
    def get(self, request: Request, token: str) -> HttpResponseBase:
        claim, organisation = self.signed_claim(copy_token_open, token)
        copy = selectors.partner_publishable_copy(organisation=organisation, copy_id=claim.get("c"))
        if copy is None:
            raise NotFound
        services.publishable_copy_download_record(copy=copy, organisation=organisation)
        return media_response(request, copy.name, copy.content_type)


def _request_hash(request: Request, report_id: str) -> str:
    canonical = json.dumps(
        {"method": request.method, "report": report_id, "body": request.data},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class PartnerCaseView(PartnerView):
    @extend_schema(
        operation_id="partner_reports_case_retrieve",
        summary="Read your own case status on a report",
        tags=[PARTNER_TAG],
        parameters=[REPORT_ID],
        responses={200: PartnerCaseSerializer, **problem_responses(401, 404, 429)},
        description=(
            "Your organisation's own status, reference and notes on a report; before you "
            "first set any, the defaults (status received) with `updated_at` null."
        ),
    )
    def get(self, request: Request, report_id: str) -> Response:
        report = self.shared_report(request, report_id)
        case = services.partner_case_read(report=report, organisation=organisation_of(request))
        return Response(PartnerCaseSerializer(case).data)

    @extend_schema(
        operation_id="partner_reports_case_update",
        summary="Record your own case status on a report",
        tags=[PARTNER_TAG],
        parameters=[
            REPORT_ID,
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description=(
                    "Optional, up to 200 characters. A repeat with the same key gets the first "
                    "response back (header Idempotent-Replayed: true); the same key with a "
                    "different request answers 422 idempotency_key_reused."
                ),
            ),
        ],
        request=PartnerCaseRequestSerializer,
        responses={
            200: PartnerCaseSerializer,
            **problem_responses(400, 401, 404, 409, 415, 422, 429),
        },
        description="Set your organisation's own status, reference or notes on a report.",
    )
    def patch(self, request: Request, report_id: str) -> Response:
        report = self.shared_report(request, report_id)
        organisation = organisation_of(request)
        serializer = PartnerCaseRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)

        def run() -> tuple[int, Any]:
            case = services.partner_case_update(
                report=report, organisation=organisation, **serializer.validated_data
            )
            return 200, PartnerCaseSerializer(case).data

        key = request.headers.get("Idempotency-Key")
        if key is None:
            status, body = run()
            return Response(body, status=status)
        if not key or len(key) > 200:
            raise ValidationError({"Idempotency-Key": ["Between 1 and 200 characters."]})
        # A reused or still running key is a ServiceError: a 422 or 409 problem document.
        status, body, replayed = services.idempotent_response(
            organisation=organisation,
            key=key,
            request_hash=_request_hash(request, str(report.id)),
            run=run,
        )
        response = Response(body, status=status)
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response
