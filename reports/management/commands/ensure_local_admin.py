"""Create a local administrator on first run of the embedded default; print the one-time
enrolment link with which the operator sets its password and authenticator app."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create the local 'admin' superuser if no superuser exists, printing a one-time "
        "enrolment link; print a new link while it is not set up yet."
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
        self.stdout.write(
            self.style.SUCCESS(
                "The local admin login (username: admin) is waiting to be set up. Open this"
                " one-time link to choose its password and add an authenticator app for the"
                f" login code (it works once, within 3 days):\n{link}"
            )
        )
