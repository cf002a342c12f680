"""Create a local administrator on first run of the embedded default; show the one-time
enrolment link with which the operator sets its password and authenticator app.

The link is a credential until used, so it is printed only to a terminal. When the output
goes anywhere else (``bin/serve > serve.log``, a service manager's journal) it is written to
a file only this user can read, ``var/secrets/local_admin``, and the output says where.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.management.base import BaseCommand

FILE_NAME = "local_admin"


class Command(BaseCommand):
    help = (
        "Create the local 'admin' superuser if no superuser exists, showing a one-time "
        "enrolment link; show a new link while it is not set up yet."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        from django.contrib.auth.models import User

        from reports.services import staff_enrolment_reset, staff_superuser_create

        superusers = User.objects.filter(is_superuser=True)
        if superusers.exclude(password__startswith=UNUSABLE_PASSWORD_PREFIX).exists():
            self.stdout.write(
                "Admin login exists (reset it with: manage.py create_staff admin --reset)."
            )
            return
        waiting = superusers.filter(username="admin").first()
        if waiting is not None:
            # Never set up: a new link (the old one, perhaps expired, stops working).
            link = staff_enrolment_reset(user=waiting)
        else:
            _user, link = staff_superuser_create(username="admin")
        text = (
            "The local admin login (username: admin) is waiting to be set up. Open this"
            " one-time link to choose its password and add an authenticator app for the"
            f" login code (it works once, within 3 days):\n{link}\n"
        )
        if self.stdout.isatty():
            self.stdout.write(self.style.SUCCESS(text))
            return
        path = _private_file_write(Path(settings.VAR_DIR) / "secrets" / FILE_NAME, text)
        self.stdout.write(
            self.style.SUCCESS(
                f"The local admin login is waiting to be set up; its one-time link is in {path}"
                " (readable only by you). Read it, then delete the file."
            )
        )


def _private_file_write(path: Path, text: str) -> Path:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # a left-over of an earlier run: replaced, never reused
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    return path
