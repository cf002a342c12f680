"""The one field policy for everything that leaves the staff admin: CSV exports now, the
partner API later. It never includes contact details, the witness's unredacted text, the
receipt hash or internal notes; the location is the witness's own words, as entered."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from reports.models import Report


def _iso(value: Any) -> str:
    return value.isoformat() if value is not None else ""


SHAREABLE_FIELDS: dict[str, Callable[[Report], Any]] = {
    "id": lambda r: str(r.id),
    "received_at": lambda r: _iso(r.received_at),
    "occurred_at": lambda r: _iso(r.occurred_at),
    "occurred_text": lambda r: r.occurred_text,
    "location_text": lambda r: r.location_text,
    "town": lambda r: r.town,
    "place_type": lambda r: r.place_type,
    "happening_now": lambda r: r.happening_now,
    "agencies": lambda r: list(r.agencies or []),
    "local_police_department": lambda r: r.local_police_department,
    "agents_count": lambda r: r.agents_count,
    "uniforms": lambda r: r.uniforms,
    "masks": lambda r: r.masks,
    "identified_themselves": lambda r: r.identified_themselves,
    "vehicles": lambda r: r.vehicles,
    "warrant": lambda r: r.warrant,
    "detained_count": lambda r: r.detained_count,
    "children_present": lambda r: r.children_present,
    "injuries": lambda r: r.injuries,
    "force_used": lambda r: r.force_used,
    "bystanders_arrested": lambda r: r.bystanders_arrested,
    "witness_relation": lambda r: r.witness_relation,
    "language": lambda r: r.language,
    # Only ever the redacted version (or the original when no redaction was needed).
    # Nothing before a moderator has looked at it.
    "description": lambda r: r.description_shown if r.moderation == "approved" else "",
    "case_status": lambda r: r.case_status,
    "incident_id": lambda r: r.incident_id,
}

# Field names that must never be in a policy: a test checks SHAREABLE_FIELDS against it.
NEVER_SHARED = {
    "contact_sealed",
    "contact_channel",
    "receipt_hash",
    "description_redacted",
    "notes",
    "locked_by",
}


def report_fields(report: Report, fields: Iterable[str] | None = None) -> dict[str, Any]:
    names = (
        list(SHAREABLE_FIELDS) if fields is None else [f for f in fields if f in SHAREABLE_FIELDS]
    )
    return {name: SHAREABLE_FIELDS[name](report) for name in names}


def csv_cell(value: Any) -> str:
    """A value as a CSV cell that a spreadsheet will not run as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, list):
        text = ", ".join(str(v) for v in value)
    else:
        text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text
