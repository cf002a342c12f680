"""The audit trail: every service writes its event here (the table is append-only); the
action is always one of AuditAction, so the trail speaks one vocabulary.

``audit_actor`` names who is acting for events recorded where no caller can pass one:
the staff-account signals (reports/signals.py) that catch every change of a password,
role or device, whichever code made it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.contrib.auth.models import User

from reports.models import AuditAction, AuditEvent

_actor: ContextVar[User | None] = ContextVar("testigo_audit_actor", default=None)


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


def audit_record_many(
    *, action: AuditAction, actor_label: str, events: Sequence[tuple[Any, Any, dict[str, Any]]]
) -> None:
    """``audit_record`` for several events of one action in one insert: (report id, media
    item id, data) each."""
    AuditEvent.objects.bulk_create(
        AuditEvent(
            action=action,
            actor_label=actor_label,
            report_id=report_id,
            media_item_id=media_item_id,
            data=data,
        )
        for report_id, media_item_id, data in events
    )


@contextmanager
def audit_actor(user: User | None) -> Iterator[None]:
    """Within the block, staff-account events name ``user`` as their actor."""
    token = _actor.set(user)
    try:
        yield
    finally:
        _actor.reset(token)


def audit_actor_current() -> User | None:
    return _actor.get()
