"""The audit trail: every service writes its event here (the table is append-only); the
action is always one of AuditAction, so the trail speaks one vocabulary."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from reports.models import AuditAction, AuditEvent


def audit_record(
    *,
    action: AuditAction,
    actor: User | None = None,
    actor_label: str = "",
    report_id: Any = None,
    media_item_id: Any = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        actor_label=actor_label,
        report_id=report_id,
        media_item_id=media_item_id,
        data=data or {},
    )
