"""Staff roles as Django groups. Kept in step on every migrate."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

MODERATOR = "moderator"

ROLE_PERMISSIONS: dict[str, list[str]] = {
    MODERATOR: [
        "reports.view_moderationqueue",
        "reports.view_report",
        "reports.view_mediaitem",
    ],
}


def roles_ensure(**_: Any) -> None:
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        permissions = [
            Permission.objects.get(content_type__app_label=app, codename=codename)
            for app, codename in (name.split(".", 1) for name in codenames)
        ]
        group.permissions.set(permissions)
