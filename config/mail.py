"""Outgoing mail (urgent-report and failed-media alerts), from environment variables.

Every mail setting is a variable (``NAME_FILE`` too, config/env.py), so a container can
reach the operator's SMTP server: never a default that quietly means "localhost inside
the container" without the operator having chosen it (docs/operations.md).
"""

from __future__ import annotations

from pathlib import Path

from config.env import env_bool, env_int, env_str


def mailers_config(*, var_dir: Path) -> dict[str, dict[str, object]]:
    """Django's MAILERS: SMTP by default, a folder of files for local runs and tests."""
    backend = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
    options: dict[str, object] = {}
    if backend.endswith("filebased.EmailBackend"):
        options = {"file_path": env_str("DJANGO_EMAIL_FILE_PATH", str(var_dir / "mail"))}
    elif backend.endswith("smtp.EmailBackend"):
        options = {
            "host": env_str("DJANGO_EMAIL_HOST", env_str("EMAIL_HOST", "localhost")),
            "port": env_int("EMAIL_PORT", 25),
            "username": env_str("EMAIL_HOST_USER"),
            "password": env_str("EMAIL_HOST_PASSWORD"),
            "use_tls": env_bool("EMAIL_USE_TLS", False),
            # A worker must never hang on a mail server.
            "timeout": 10,
        }
    return {"default": {"BACKEND": backend, "OPTIONS": options}}
