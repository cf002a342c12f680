"""Create a local administrator on first run of the embedded default; print it once."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the local 'admin' superuser if no superuser exists, printing its password once."

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        if user_model.objects.filter(is_superuser=True).exists():
            self.stdout.write("Admin login exists (reset it with: manage.py changepassword admin).")
            return
        from reports.services import staff_totp_enrol

        password = secrets.token_urlsafe(12)
        user = user_model.objects.create_superuser(username="admin", email="", password=password)
        # The admin always asks for a second factor, the local one too.
        device = staff_totp_enrol(user=user)
        self.stdout.write(
            self.style.SUCCESS(
                f"Created the local admin login. Username: admin  Password: {password}\n"
                f"Add this to an authenticator app for the login code:\n{device.config_url}\n"
                "Both are shown only this once."
            )
        )
