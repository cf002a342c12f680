"""Create a staff user in one role; print a one-time password and the TOTP setup link."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reports.roles import ROLES
from reports.services import ServiceError, staff_create


class Command(BaseCommand):
    help = "Create a staff user: manage.py create_staff USERNAME --role moderator|legal_aid|admin"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=ROLES)
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        from django.contrib.auth.models import User

        if User.objects.filter(username=options["username"]).exists():
            raise CommandError(f"User {options['username']!r} exists already.")
        try:
            user, password, device = staff_create(
                username=options["username"], role=options["role"], email=options["email"]
            )
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Created {user.username} ({options['role']}).\n"
            f"Password (shown only this once): {password}\n"
            "Add this to an authenticator app (shown only this once); every login needs"
            f" its 6-digit code:\n{device.config_url}\n"
        )
