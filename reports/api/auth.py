"""API-key authentication per partner organisation, and throttling per key."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework_api_key.permissions import KeyParser

from reports import selectors, services
from reports.models import PartnerAPIKey, PartnerOrganisation

# Every 401 names the scheme: a developer who sent "Bearer ..." learns what to send.
EXPECTED = "Send your organisation's key as the header `Authorization: Api-Key <key>`."


class PartnerKeyAuthentication(BaseAuthentication):
    """``Authorization: Api-Key <key>``. The key's hash is looked up through
    djangorestframework-api-key; a revoked, expired or unknown key is refused."""

    parser = KeyParser()

    def authenticate(self, request: Request) -> tuple[Any, PartnerAPIKey] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        key = self.parser.get(request)
        if not header:
            raise NotAuthenticated(f"No API key. {EXPECTED}")
        if not key:
            scheme = header.partition(" ")[0][:20]
            raise AuthenticationFailed(f"Unknown authorization scheme {scheme!r}. {EXPECTED}")
        api_key = selectors.partner_api_key_from(key)
        if api_key is None:
            raise AuthenticationFailed(
                f"The API key is not valid, has expired or was revoked. {EXPECTED}"
            )
        services.partner_api_key_touch(api_key=api_key)
        return AnonymousUser(), api_key

    def authenticate_header(self, request: Request) -> str:
        return "Api-Key"


class HasPartnerKey(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, PartnerAPIKey)


def organisation_of(request: Request) -> PartnerOrganisation:
    assert isinstance(request.auth, PartnerAPIKey)
    return request.auth.organisation


class PartnerKeyThrottle(SimpleRateThrottle):
    """Requests per API key: keyed on the key's public prefix, never a client address."""

    scope = "partner"

    def get_rate(self) -> str:
        return str(settings.TESTIGO_PARTNER_RATE)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.auth, PartnerAPIKey):
            return f"throttle_partner_{request.auth.prefix}"
        return None


class PartnerKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = PartnerKeyAuthentication
    name = "PartnerApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`; one key per partner organisation.",
        }
