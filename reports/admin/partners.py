"""Partner organisations: their sharing profiles, the shares made with them, their API
keys, and the webhooks Testigo sends them (endpoints and deliveries)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import APIKey

from reports import policy, services
from reports.admin.base import StaffModelAdmin, staff
from reports.models import (
    PartnerAPIKey,
    PartnerOrganisation,
    ReportShare,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from reports.policy import SHAREABLE_FIELDS, field_label
from reports.webhooks import TargetRefused, resolve_target

EMPTY_PROFILE = (
    "{name} has an empty sharing profile: it receives only the id of each report shared "
    "with it. Tick the fields it should receive."
)


class PartnerOrganisationForm(ModelForm[PartnerOrganisation]):
    # The sharing profile as labelled checkboxes; the id is always sent.
    shared_fields = forms.MultipleChoiceField(
        label=_("Fields shared"),
        choices=[(name, field_label(name)) for name in SHAREABLE_FIELDS if name != "id"],
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "testigo-profile"}),
        help_text=_("The report id is always sent. Contact details: see below."),
    )

    class Meta:
        model = PartnerOrganisation
        fields = ["name", "active", "shared_fields"]


@admin.register(PartnerOrganisation)
class PartnerOrganisationAdmin(StaffModelAdmin[PartnerOrganisation]):
    form = PartnerOrganisationForm
    list_display = ["name", "active", "profile", "created_at"]
    allow_delete = False  # deactivate instead: shares keep their history

    @admin.display(description=_("sharing profile"))
    def profile(self, obj: PartnerOrganisation) -> str:
        count = len(obj.shared_fields or [])
        return f"{count} fields" if count else "empty: ids only"

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        organisation = self.get_object(request, object_id)
        if request.method == "GET" and organisation is not None and not organisation.shared_fields:
            messages.warning(request, EMPTY_PROFILE.format(name=organisation))
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(
        self, request: HttpRequest, obj: PartnerOrganisation, form: Any, change: bool
    ) -> None:
        services.partner_organisation_save(organisation=obj, by=staff(request))
        if not obj.shared_fields:
            messages.warning(request, EMPTY_PROFILE.format(name=obj))


@admin.register(ReportShare)
class ReportShareAdmin(StaffModelAdmin[ReportShare]):
    list_display = ["report", "organisation", "shared_by", "shared_at", "revoked_at"]
    list_select_related = ["report", "organisation", "shared_by"]
    list_filter = ["organisation", ("revoked_at", admin.EmptyFieldListFilter)]
    actions = ["revoke"]
    # Shares are made and revoked from the report's page (or the action below), never edited.
    allow_add = allow_change = allow_delete = False

    @admin.action(description=_("Revoke selected shares"), permissions=["share"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ReportShare]) -> None:
        user = staff(request)
        for share in queryset.filter(revoked_at__isnull=True):
            services.report_share_revoke(share=share, by=user)

    def has_share_permission(self, request: HttpRequest) -> bool:
        return policy.can_share(request.user)


# --- Partner API keys and webhooks -----------------------------------------------------------

# The library registers its own (unused) APIKey model; ours is tied to an organisation.
admin.site.unregister(APIKey)


class PartnerAPIKeyForm(ModelForm[PartnerAPIKey]):
    class Meta:
        model = PartnerAPIKey
        fields = ["organisation", "name", "expiry_date"]


@admin.register(PartnerAPIKey)
class PartnerAPIKeyAdmin(StaffModelAdmin[PartnerAPIKey]):
    form = PartnerAPIKeyForm
    list_display = [
        "prefix",
        "organisation",
        "name",
        "created",
        "expiry_date",
        "revoked",
        "last_used_at",
    ]
    list_filter = ["organisation", "revoked"]
    list_select_related = ["organisation"]
    readonly_fields = ["prefix", "created", "last_used_at", "revoked"]
    actions = ["revoke"]
    allow_delete = False  # revoke instead: the audit trail names keys by prefix

    def get_fields(self, request: HttpRequest, obj: PartnerAPIKey | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("organisation", "name", "expiry_date")
        return (
            "organisation",
            "name",
            "prefix",
            "created",
            "expiry_date",
            "last_used_at",
            "revoked",
        )

    def get_readonly_fields(
        self, request: HttpRequest, obj: PartnerAPIKey | None = None
    ) -> tuple[str, ...]:
        if obj is None:
            return ()
        return self.get_fields(request, obj)  # a key is made once; only revoked after

    def save_model(self, request: HttpRequest, obj: PartnerAPIKey, form: Any, change: bool) -> None:
        if change:
            return
        api_key, key = services.partner_api_key_create(
            organisation=obj.organisation,
            name=obj.name,
            expiry_date=obj.expiry_date,
            by=staff(request),
        )
        obj.pk, obj.prefix = api_key.pk, api_key.prefix
        messages.warning(
            request,
            f"The API key for {obj.organisation} is {key} — copy it now: it is stored only "
            "as a hash and will not be shown again.",
        )

    @admin.action(description=_("Revoke selected keys"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[PartnerAPIKey]) -> None:
        user = staff(request)
        for api_key in queryset.filter(revoked=False):
            services.partner_api_key_revoke(api_key=api_key, by=user)


class WebhookEndpointForm(ModelForm[WebhookEndpoint]):
    class Meta:
        model = WebhookEndpoint
        fields = ["organisation", "url", "events", "active"]

    def clean_events(self) -> list[str]:
        value = self.cleaned_data["events"] or []
        if not isinstance(value, list) or set(value) - set(WebhookEvent.values):
            raise ValidationError(f"A list of events from {WebhookEvent.values}, or [] for all.")
        return value

    def clean_url(self) -> str:
        # The same check services.webhook_endpoint_save makes (and every delivery repeats);
        # made here too so that a refused URL is a field error, not a failed save.
        url: str = self.cleaned_data["url"]
        try:
            resolve_target(url)
        except TargetRefused as error:
            raise ValidationError(str(error)) from error
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(StaffModelAdmin[WebhookEndpoint]):
    form = WebhookEndpointForm
    list_display = ["url", "organisation", "active", "created_at"]
    list_filter = ["organisation", "active"]
    list_select_related = ["organisation"]
    # Administrators copy the secret from here into the partner's receiver.
    readonly_fields = ["secret", "created_at"]
    allow_delete = False  # deactivate instead: deliveries keep their history

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool
    ) -> None:
        services.webhook_endpoint_save(endpoint=obj, by=staff(request))


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(StaffModelAdmin[WebhookDelivery]):
    list_display = [
        "created_at", "event", "endpoint", "status", "attempts", "last_status_code",
        "last_error", "next_attempt_at", "delivered_at",
    ]  # fmt: skip
    list_filter = ["status", "event", "endpoint__organisation"]
    list_select_related = ["endpoint"]
    readonly_fields = [
        "id", "endpoint", "event", "payload", "status", "attempts", "last_status_code",
        "last_error", "log", "next_attempt_at", "created_at", "delivered_at",
    ]  # fmt: skip
    actions = ["retry"]
    show_full_result_count = False
    allow_add = allow_delete = False

    @admin.action(description=_("Retry selected deliveries now"), permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        user = staff(request)
        for delivery in queryset:
            services.webhook_delivery_retry(delivery=delivery, by=user)
        messages.success(request, _("Queued for delivery."))
