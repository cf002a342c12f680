"""Key rotation: re-sealing what rests under an old key, with no downtime (promises 2, 5).

The operator makes a new key current and lists the old one as a fallback (every process
then seals under the new key and still reads the old); ``manage.py rotate_keys`` then
re-seals contact details here and quarantine files (intake/key_rotation.py) under the
current key; once it reports nothing left, the fallback is removed. Each change is a
conditional update: a row changed meanwhile is left for the next run, never overwritten.
"""

from __future__ import annotations

from reports.contact import contact_key_id, contact_keyring, contact_open, contact_seal
from reports.models import AuditAction, MediaItem, MediaStatus, Report
from reports.services.audit import audit_record


def contact_keys_rotate(*, actor_label: str = "rotate_keys") -> tuple[int, int]:
    """Re-seal every contact detail not under the current contact key. Returns (re-sealed,
    left for a next run because the row changed meanwhile)."""
    current = contact_keyring().current.id
    resealed = left = 0
    rows = Report.objects.filter(contact_sealed__isnull=False).values_list("id", "contact_sealed")
    for report_id, sealed in rows.iterator(chunk_size=500):
        if sealed is None or contact_key_id(sealed) == current:
            continue
        fresh = contact_seal(
            report_id=report_id, contact=contact_open(report_id=report_id, sealed=sealed)
        )
        # Only if the value is still the one just opened: never undo a concurrent edit.
        changed = Report.objects.filter(id=report_id, contact_sealed=bytes(sealed)).update(
            contact_sealed=fresh
        )
        resealed += changed
        left += 1 - changed
    audit_record(
        action=AuditAction.KEYS_ROTATED,
        actor_label=actor_label,
        data={"key": "contact", "resealed": resealed, "left": left},
    )
    return resealed, left


def media_item_quarantine_resealed(*, item: MediaItem, name: str, parts: list[str]) -> bool:
    """Point the item at its re-sealed quarantine copy, if nothing changed it meanwhile
    (no claim, no new part, not destroyed). False: the caller deletes the new copy."""
    changed = (
        MediaItem.objects.filter(
            id=item.id,
            status=item.status,
            quarantine_name=item.quarantine_name,
            quarantine_parts=item.quarantine_parts,
        )
        .exclude(status=MediaStatus.PROCESSING)
        .update(quarantine_name=name, quarantine_parts=parts)
    )
    return changed == 1


def quarantine_keys_rotated_record(*, resealed: int, left: int, actor_label: str) -> None:
    audit_record(
        action=AuditAction.KEYS_ROTATED,
        actor_label=actor_label,
        data={"key": "quarantine", "resealed": resealed, "left": left},
    )
