"""Thin serializers. Report fields come from reports.policy through the organisation's
sharing profile; the declared fields below only describe them for the schema."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers

from reports.contact import Contact
from reports.formats import CONTENT_TYPES
from reports.models import MediaItem, PartnerCase, PartnerCaseStatus, PublishableCopy, Report
from reports.policy import SHAREABLE_FIELDS, report_fields

MEDIA_SALT = "testigo.partner-media"


def _text(help_text: str = "") -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, help_text=help_text)


def _answer() -> serializers.CharField:
    return _text("yes, no, unknown, or empty when not answered.")


class ContactSerializer(serializers.Serializer[Any]):
    channel = serializers.CharField(help_text="phone, signal, whatsapp or email.")
    value = serializers.CharField()
    safe_times = serializers.CharField(allow_blank=True)


class PartnerReportSerializer(serializers.Serializer[Any]):
    """A report as a partner sees it. Only ``id`` and the fields of the organisation's
    sharing profile are present; ``contact`` only when the witness agreed to be contacted
    by a partner organisation and legal aid decided to give it to this one (each such
    read is audited)."""

    id = serializers.UUIDField(help_text="Always present.")
    received_at = _text("ISO 8601 date-time.")
    occurred_at = _text("ISO 8601 date-time, or empty when not known.")
    occurred_text = _text("When, in the witness's words.")
    location_text = _text("Where, in the witness's words.")
    town = _text()
    place_type = _text()
    happening_now = serializers.BooleanField(required=False)
    agencies = serializers.ListField(child=serializers.CharField(), required=False)
    local_police_department = _text()
    agents_count = serializers.IntegerField(required=False, allow_null=True)
    uniforms = _text()
    masks = _answer()
    identified_themselves = _answer()
    vehicles = _text()
    warrant = _text("not_shown, administrative, judicial, unknown, or empty.")
    detained_count = serializers.IntegerField(required=False, allow_null=True)
    children_present = _answer()
    injuries = _answer()
    force_used = _answer()
    bystanders_arrested = _answer()
    witness_relation = _text()
    language = _text()
    description = _text("The moderated (redacted) account.")
    case_status = _text()
    incident_id = serializers.IntegerField(required=False, allow_null=True)
    publishable_copies = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        help_text="Ids of the report's publishable copies (faces hidden, reviewed by staff).",
    )
    contact = ContactSerializer(
        required=False,
        help_text=(
            "Only when the witness agreed that a partner legal organisation may contact "
            "them and legal-aid staff gave your organisation the details of this report."
        ),
    )

    def to_representation(self, instance: Report) -> dict[str, Any]:
        fields = self.context["organisation"].shared_fields
        data: dict[str, Any] = {"id": str(instance.id)}
        data.update(report_fields(instance, fields))
        contact: Contact | None = self.context.get("contacts", {}).get(instance.id)
        if contact is not None:
            data["contact"] = {
                "channel": instance.contact_channel,
                "value": contact.value,
                "safe_times": contact.safe_times,
            }
        return data


# The schema above must describe every field the policy can send, and nothing more.
assert set(PartnerReportSerializer._declared_fields) == {*SHAREABLE_FIELDS, "contact"}


def media_token(*, media_item_id: Any, organisation_id: int) -> str:
    return signing.TimestampSigner(salt=MEDIA_SALT).sign_object(
        {"i": str(media_item_id), "o": organisation_id}
    )


def media_token_open(token: str) -> dict[str, Any]:
    """Raises signing.SignatureExpired or signing.BadSignature."""
    value: dict[str, Any] = signing.TimestampSigner(salt=MEDIA_SALT).unsign_object(
        token, max_age=settings.TESTIGO_MEDIA_URL_MAX_AGE_S
    )
    return value


class PartnerMediaSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    position = serializers.IntegerField()
    kind = serializers.CharField(help_text="image, video or audio.")
    format = serializers.CharField(help_text="Container format detected from the bytes.")
    content_type = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes of the sanitized file.")
    sha256 = serializers.CharField(help_text="SHA-256 of the sanitized file, hex.")
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    duration_s = serializers.FloatField(allow_null=True, help_text="Seconds; audio and video.")
    download_url = serializers.CharField(
        help_text="Signed, short-lived URL of the sanitized file; needs no API key."
    )
    download_expires_at = serializers.DateTimeField()

    def to_representation(self, instance: MediaItem) -> dict[str, Any]:
        request = self.context["request"]
        organisation = self.context["organisation"]
        manifest = instance.manifest or {}
        token = media_token(media_item_id=instance.id, organisation_id=organisation.id)
        expires = timezone.now() + timedelta(seconds=settings.TESTIGO_MEDIA_URL_MAX_AGE_S)
        return {
            "id": str(instance.id),
            "position": instance.position,
            "kind": instance.media_kind,
            "format": instance.detected_format,
            "content_type": CONTENT_TYPES.get(instance.detected_format, "application/octet-stream"),
            "size": int(manifest.get("size_out") or 0),
            "sha256": instance.sha256_sanitized,
            "width": manifest.get("width"),
            "height": manifest.get("height"),
            "duration_s": manifest.get("duration_s"),
            "download_url": request.build_absolute_uri(
                reverse("api-partner-media-download", args=[token])
            ),
            "download_expires_at": expires.isoformat(),
        }


COPY_SALT = "testigo.partner-copy"


def copy_token(*, copy_id: Any, organisation_id: int) -> str:
    return signing.TimestampSigner(salt=COPY_SALT).sign_object(
        {"c": str(copy_id), "o": organisation_id}
    )


def copy_token_open(token: str) -> dict[str, Any]:
    """Raises signing.SignatureExpired or signing.BadSignature."""
    value: dict[str, Any] = signing.TimestampSigner(salt=COPY_SALT).unsign_object(
        token, max_age=settings.TESTIGO_MEDIA_URL_MAX_AGE_S
    )
    return value


class PartnerCopySerializer(serializers.Serializer[Any]):
    """A publishable copy: made from the sanitized file with every face staff reviewed
    hidden, then sanitized again. Fit to publish; the evidence copy is the media item."""

    id = serializers.UUIDField()
    media_item_id = serializers.UUIDField(help_text="The media item it was made from.")
    kind = serializers.CharField(help_text="photo, video or audio.")
    content_type = serializers.CharField(help_text="image/jpeg, video/mp4 or audio/mp4.")
    sha256 = serializers.CharField(help_text="SHA-256 of the copy, hex.")
    method = serializers.CharField(help_text="How faces are hidden: fill or mosaic.")
    voice_distorted = serializers.BooleanField()
    faces_hidden = serializers.IntegerField(help_text="Regions hidden (faces over frames).")
    approved_at = serializers.DateTimeField()
    download_url = serializers.CharField(
        help_text="Signed, short-lived URL of the copy; needs no API key."
    )
    download_expires_at = serializers.DateTimeField()

    def to_representation(self, instance: PublishableCopy) -> dict[str, Any]:
        request = self.context["request"]
        organisation = self.context["organisation"]
        token = copy_token(copy_id=instance.id, organisation_id=organisation.id)
        expires = timezone.now() + timedelta(seconds=settings.TESTIGO_MEDIA_URL_MAX_AGE_S)
        return {
            "id": str(instance.id),
            "media_item_id": str(instance.media_item_id),
            "kind": instance.kind,
            "content_type": instance.content_type,
            "sha256": instance.sha256,
            "method": instance.method,
            "voice_distorted": instance.distort_voice,
            "faces_hidden": instance.regions.filter(removed=False).count(),
            "approved_at": instance.approved_at.isoformat() if instance.approved_at else None,
            "download_url": request.build_absolute_uri(
                reverse("api-partner-copy-download", args=[token])
            ),
            "download_expires_at": expires.isoformat(),
        }


class PartnerCaseRequestSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=PartnerCaseStatus.choices, required=False)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True)
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for name in ("reference", "notes"):
            if name in attrs:
                attrs[name] = attrs[name].replace("\x00", "")
        return attrs


class PartnerCaseSerializer(serializers.ModelSerializer[PartnerCase]):
    report_id = serializers.UUIDField(read_only=True)
    updated_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="Null until you first set anything."
    )

    class Meta:
        model = PartnerCase
        fields = ["report_id", "status", "reference", "notes", "updated_at"]
        read_only_fields = fields
