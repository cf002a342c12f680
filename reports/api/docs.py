"""The rendered API reference at /api/docs/: Redoc from drf-spectacular-sidecar, served
from our static files; no fonts, scripts or styles from any other origin."""

from __future__ import annotations

from typing import Any

from django.utils.decorators import method_decorator
from django.views.decorators.csp import csp_override
from drf_spectacular.views import SpectacularRedocView

# Redoc injects its styles at run time and parses the schema in a blob: worker; both stay
# within our origin. Nothing else is loosened compared to settings.SECURE_CSP.
REDOC_CSP: dict[str, Any] = {
    "default-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "worker-src": ["'self'", "blob:"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'none'"],
}


@method_decorator(csp_override(REDOC_CSP), name="dispatch")
class PartnerDocsView(SpectacularRedocView):
    template_name = "reports/api/redoc.html"
    url_name = "api-schema"
