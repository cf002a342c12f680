"""Create a local administrator on first run of the embedded default; show it once.

The password and the TOTP secret are printed only to a terminal. When the output goes
anywhere else (``bin/serve > serve.log``, a service manager's journal) they are written to a
file only this user can read, ``var/secrets/local_admin``, and the output says where.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

FILE_NAME = "local_admin"


class Command(BaseCommand):
    help = "Create the local 'admin' superuser if no superuser exists, showing its login once."

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
        login = (
            f"Username: admin  Password: {password}\n"
            f"Add this to an authenticator app for the login code:\n{device.config_url}\n"
        )
        if self.stdout.isatty():
            self.stdout.write(
                self.style.SUCCESS(f"Created the local admin login. {login}Shown only this once.")
            )
            return
        path = _private_file_write(Path(settings.VAR_DIR) / "secrets" / FILE_NAME, login)
        self.stdout.write(
            self.style.SUCCESS(
                f"Created the local admin login; it is in {path} (readable only by you). "
                "Read it, then delete the file."
            )
        )


def _private_file_write(path: Path, text: str) -> Path:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # a left-over of an earlier install: replaced, never reused
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    return path
