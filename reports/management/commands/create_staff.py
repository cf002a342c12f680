"""Create a staff user in one role, or reset one; print the one-time enrolment link with
which its owner sets a password and adds an authenticator app."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reports.roles import ROLES
from reports.services import ServiceError, staff_create, staff_enrolment_reset


class Command(BaseCommand):
    help = (
        "Create a staff user: manage.py create_staff USERNAME --role moderator|legal_aid|admin; "
        "or reset one (password and devices): manage.py create_staff USERNAME --reset"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", choices=ROLES)
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--reset",
            action="store_true",
            help="An existing user: remove its password and devices, print a new link.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from django.contrib.auth.models import User

        username = options["username"]
        existing = User.objects.filter(username=username).first()
        if options["reset"]:
            if existing is None:
                raise CommandError(f"No user {username!r}.")
            link = staff_enrolment_reset(user=existing)
            self.stdout.write(f"Reset {username}.\n{_LINK_NOTE}\n{link}\n")
            return
        if existing is not None:
            raise CommandError(f"User {username!r} exists already (reset it with --reset).")
        if not options["role"]:
            raise CommandError("--role is required to create a user.")
        try:
            user, link = staff_create(
                username=username, role=options["role"], email=options["email"]
            )
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Created {user.username} ({options['role']}).\n{_LINK_NOTE}\n{link}\n")


_LINK_NOTE = (
    "Give this one-time link to its owner (it works once, within 3 days): it sets the"
    " password and adds an authenticator app for the 6-digit login code."
)
