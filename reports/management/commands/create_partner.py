"""Create a partner organisation and print its first API key, once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reports.models import PartnerOrganisation
from reports.policy import SHAREABLE_FIELDS
from reports.services import partner_create


class Command(BaseCommand):
    help = "Create a partner organisation and print its first API key (shown only once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument(
            "--fields",
            default="",
            help="Comma-separated report fields to share (default: none beyond the id). "
            f"Choose from: {', '.join(SHAREABLE_FIELDS)}.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"].strip()
        fields = [f.strip() for f in options["fields"].split(",") if f.strip()]
        unknown = [f for f in fields if f not in SHAREABLE_FIELDS]
        if not name:
            raise CommandError("A name is needed.")
        if unknown:
            raise CommandError(f"Unknown fields: {', '.join(unknown)}")
        if PartnerOrganisation.objects.filter(name=name).exists():
            raise CommandError(f"An organisation named {name!r} already exists.")
        organisation, key = partner_create(name=name, shared_fields=fields)
        self.stdout.write(f"Created {organisation.name} (id {organisation.id}).")
        if not fields:
            self.stderr.write(
                f"Warning: no --fields, so {organisation.name} receives only the id of each "
                "report shared with it. Choose its fields in the admin (Partner "
                "organisations), or give --fields when creating it."
            )
        self.stdout.write("API key (stored only as a hash; it will not be shown again):")
        self.stdout.write(key)
