"""The settings no environment variable changes, imported by config/settings.py.

Security headers' policy, password rules, the REST framework and its schema, and the
shape of logging: tables that read the same on every deployment, kept apart so the
settings module holds what an operator can set.
"""

from __future__ import annotations

# Everything from our own origin only; no inline script or style, no plug-ins, no frames.
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "connect-src": ["'self'"],
    "frame-src": ["'none'"],
    "img-src": ["'self'", "blob:"],
    "media-src": ["'self'", "blob:"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}

REST_FRAMEWORK = {
    # Every error a DRF view answers is a problem document (reports.problems).
    "EXCEPTION_HANDLER": "reports.api.errors.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "reports.api.errors.ProblemAutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Testigo API",
    # The introduction (authentication, errors, webhooks and their signatures) and the
    # order of operations, partner first, come from reports.api.docs.partner_reference.
    "DESCRIPTION": "Partner access and witness intake for Testigo.",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "reports.api.docs.partner_reference",
    ],
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The reference page at /api/docs/ loads Redoc from our own static files, never a CDN.
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several facts share the yes / no / don't know answer set.
    "ENUM_NAME_OVERRIDES": {
        "AnswerEnum": "reports.models.Answer",
        "PartnerCaseStatusEnum": "reports.models.PartnerCaseStatus",
        "CaseStatusEnum": "reports.models.CaseStatus",
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]


def logging_config(*, level: str, json: bool = False) -> dict[str, object]:
    """Django's LOGGING: no client addresses, no user agents, no capabilities; each line
    with the request's id, as JSON when ``json`` (config/request_log.py)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        # Upload keys and receipt codes are redacted from every record (config/logging_filters.py;
        # gunicorn's own loggers get the same filter from config/wsgi.py).
        "filters": {
            "redact": {"()": "config.logging_filters.RedactCapabilities"},
            "request_id": {"()": "config.request_log.RequestIdFilter"},
        },
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
            "json": {"()": "config.request_log.JsonFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if json else "plain",
                "filters": ["redact", "request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # The dev server's access log; it prints request lines only, but keep it quiet.
            "django.server": {"level": "WARNING"},
        },
    }
