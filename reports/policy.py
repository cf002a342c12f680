"""Who may do what, and which fields leave.

Decisions: one predicate per staff decision, shared by the services (which refuse) and
the admin (which shows or hides the control), in the spirit of pretalx's ``rules.py``.
Called without a report, a predicate answers whether the role may do it at all (as
Django's ``has_perm(perm, obj=None)`` does); with one, whether it may be done to that
report now.

Fields: the one field policy for everything that leaves the staff admin: CSV exports and
the partner API. It never includes contact details, the witness's unredacted text, the
receipt hash or internal notes: every free-text fact leaves as ``Report.shown`` gives it,
the moderator's redaction when there is one. Times are ISO 8601; when the incident
happened carries the witness's own UTC offset."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from datetime import timezone as fixed_offset
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.utils import timezone

from reports.models import (
    REDACTABLE_FACTS,
    CopyStatus,
    MediaItem,
    MediaStatus,
    Moderation,
    PartnerOrganisation,
    Report,
    ReportShare,
)
from reports.roles import ROLE_RANK, ROLES

# What request.user can be; services always pass a User.
type AnyUser = User | AnonymousUser


def _has(user: AnyUser, permission: str) -> bool:
    # The rule under every predicate, as services' _require applies it.
    return user.is_active and user.has_perm(permission)


# --- Moderation -------------------------------------------------------------------------


def can_moderate(user: AnyUser) -> bool:
    """Lock, redact, approve, reject and group reports in the queue. Whether the report is
    still pending and not locked by someone else is checked by the service's conditional
    update, at the moment of writing: a check made before it could be stale."""
    return _has(user, "reports.moderate_report")


def can_read_original_text(user: AnyUser) -> bool:
    """The witness's words before redaction."""
    return _has(user, "reports.view_original_text")


def can_retry_media(user: AnyUser) -> bool:
    """Re-run processing of a failed media item: the moderators, who are alerted when an
    item fails and look at its media."""
    return _has(user, "reports.moderate_report")


def can_ask_witness(user: AnyUser) -> bool:
    """Send the witness a question, shown on their follow-up page."""
    return _has(user, "reports.ask_witness")


# --- Case work (legal aid) ----------------------------------------------------------------


def can_triage(user: AnyUser, report: Report | None = None) -> bool:
    """Case work: notes, legal hold, assignment, and (on an approved report only) the
    triage fields and the case status."""
    if not _has(user, "reports.triage_report"):
        return False
    return report is None or report.moderation == Moderation.APPROVED


def can_reveal_contact(user: AnyUser, report: Report | None = None) -> bool:
    """Open the witness's contact details (audited): only when they gave some and agreed
    to be contacted."""
    if not _has(user, "reports.reveal_contact"):
        return False
    return report is None or (report.consent_contact and bool(report.contact_sealed))


def share_refusal(report: Report, organisation: PartnerOrganisation | None = None) -> str | None:
    """Why ``report`` cannot be shared (with ``organisation``), or None when it can."""
    if report.moderation != Moderation.APPROVED:
        return "Only approved reports can be shared."
    if not report.consent_share_partners:
        return "The witness did not consent to sharing with partners."
    if organisation is not None and not organisation.active:
        return f"{organisation} is not active."
    return None


def can_share(
    user: AnyUser,
    report: Report | None = None,
    organisation: PartnerOrganisation | None = None,
) -> bool:
    """Share reports with partner organisations, and revoke shares. With a report: it is
    approved and the witness consented (and the organisation, if given, is active)."""
    if not _has(user, "reports.share_report"):
        return False
    return report is None or share_refusal(report, organisation) is None


def contact_share_refusal(share: ReportShare) -> str | None:
    """Why the witness's contact details cannot go to the partner of ``share``, or None."""
    if share.revoked_at is not None:
        return "This share was revoked."
    if not share.report.consent_contact_partners:
        return "The witness did not agree to be contacted by a partner organisation."
    if not share.report.contact_sealed:
        return "The witness left no contact details."
    return None


def can_share_contact(user: AnyUser, share: ReportShare | None = None) -> bool:
    """Give one partner organisation the witness's contact details (audited): a decision
    for legal aid, who may both read them and share, made report by report and partner by
    partner, and only when the witness agreed to be contacted by a partner organisation.
    No organisation setting gives contact details: only this decision does."""
    if not (_has(user, "reports.share_report") and _has(user, "reports.reveal_contact")):
        return False
    return share is None or contact_share_refusal(share) is None


def publish_refusal(report: Report, item: MediaItem | None = None) -> str | None:
    """Why faces cannot be hidden for publication in ``report`` (``item``), or None."""
    if not report.consent_publish:
        return "The witness did not consent to publication."
    if report.moderation != Moderation.APPROVED:
        return "Only approved reports can be published."
    if item is not None and (item.status != MediaStatus.CLEAN or not item.media_name):
        return "Only sanitized media can be published."
    if item is not None and item.media_kind not in ("image", "video", "audio"):
        return "This kind of file cannot be published."
    return None


def can_publish(user: AnyUser, report: Report | None = None, item: MediaItem | None = None) -> bool:
    """Make, review and approve publishable copies with faces hidden (promise 11): legal
    aid and admin, never moderators; with a report, only when the witness consented to
    publication, the report is approved and the item is clean."""
    if not _has(user, "reports.publish"):
        return False
    return report is None or publish_refusal(report, item) is None


def can_export(user: AnyUser) -> bool:
    """Download the filtered report list as CSV (audited)."""
    return _has(user, "reports.export_reports")


def can_view_overview(user: AnyUser) -> bool:
    """The overview charts."""
    return _has(user, "reports.view_overview")


# --- Staff accounts -------------------------------------------------------------------------


def can_grant_permissions(user: AnyUser) -> bool:
    """Hand out raw permissions or superuser status, and change roles: roles are groups
    defined in code (reports/roles.py), so only a superuser goes around them."""
    return user.is_superuser


def role_rank(user: AnyUser) -> int:
    """How high an account stands: its highest role (reports/roles.py ROLE_RANK), above
    every role for a superuser, 0 without a role."""
    if user.is_superuser:
        return max(ROLE_RANK.values()) + 1
    if not isinstance(user, User) or user.pk is None:
        return 0
    names = user.groups.values_list("name", flat=True)
    return max((ROLE_RANK.get(name, 0) for name in names), default=0)


def grantable_roles(user: AnyUser) -> list[str]:
    """The groups ``user`` may give an account: roles ranked below their own, and the
    on-call list (membership only); every group for a superuser."""
    from django.conf import settings

    rank = role_rank(user) if _has(user, "auth.change_user") else 0
    roles = [role for role in ROLES if ROLE_RANK[role] < rank or user.is_superuser]
    return [*roles, settings.TESTIGO_ON_CALL_GROUP] if roles else []


def can_manage_user(user: AnyUser, target: User | None = None) -> bool:
    """Change a staff account: its status, roles, a reset, its devices. Only an account
    ranked below one's own, never a superuser or one holding raw permissions (unless one
    is a superuser), and never one's own (a colleague must), so a stolen session cannot
    switch off its own second factor nor climb. Nobody sets another person's password
    at all: a reset sends them through a one-time enrolment link."""
    if not _has(user, "auth.change_user"):
        return False
    if target is None:
        return True
    if target.pk == user.pk:
        return False
    if user.is_superuser:
        return True
    if target.is_superuser or target.user_permissions.exists():
        return False
    return role_rank(target) < role_rank(user)


def _iso(value: Any) -> str:
    return value.isoformat() if value is not None else ""


def witness_local_time(report: Report) -> datetime | None:
    """When it happened, on the witness's own clock: their UTC offset when the phone
    told it, else the deployment's TIME_ZONE (the clock the form then read it on)."""
    if report.occurred_at is None:
        return None
    if report.occurred_utc_offset is None:
        return timezone.localtime(report.occurred_at, timezone.get_default_timezone())
    zone = fixed_offset(timedelta(minutes=report.occurred_utc_offset))
    return report.occurred_at.astimezone(zone)


def published_copy_ids(report: Report) -> list[str]:
    """Ids of the report's publishable copies that are made (faces hidden, reviewed):
    from the partner selector's prefetch when there is one."""
    copies = getattr(report, "published_copies", None)
    if copies is None:
        copies = report.publishable_copies.filter(status=CopyStatus.PUBLISHED).only("id")
    return [str(copy.id) for copy in copies]


SHAREABLE_FIELDS: dict[str, Callable[[Report], Any]] = {
    "id": lambda r: str(r.id),
    "received_at": lambda r: _iso(r.received_at),
    "occurred_at": lambda r: _iso(witness_local_time(r)),
    "occurred_text": lambda r: r.shown("occurred_text"),
    "location_text": lambda r: r.shown("location_text"),
    "town": lambda r: r.shown("town"),
    "place_type": lambda r: r.place_type,
    "happening_now": lambda r: r.happening_now,
    "agencies": lambda r: list(r.agencies or []),
    "local_police_department": lambda r: r.shown("local_police_department"),
    "agents_count": lambda r: r.agents_count,
    "uniforms": lambda r: r.shown("uniforms"),
    "masks": lambda r: r.masks,
    "identified_themselves": lambda r: r.identified_themselves,
    "vehicles": lambda r: r.shown("vehicles"),
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
    "description": lambda r: r.shown("description") if r.moderation == Moderation.APPROVED else "",
    "case_status": lambda r: r.case_status,
    "incident_id": lambda r: r.incident_id,
    # Copies with faces hidden (promise 11); the files through /publishable-copies/.
    "publishable_copies": published_copy_ids,
}

# Field names that must never be in a policy: a test checks SHAREABLE_FIELDS against it.
NEVER_SHARED = {
    "contact_sealed",
    "contact_channel",
    "receipt_hash",
    *(f"{fact}_redacted" for fact in REDACTABLE_FACTS),
    "notes",
    "locked_by",
}


# What staff read for each field when they choose an organisation's sharing profile.
_LABELS = {
    "id": "Report id (always sent)",
    "received_at": "When the report was received",
    "occurred_at": "Date and time it happened (the witness's clock)",
    "occurred_text": "When it happened (the witness's words, redacted)",
    "location_text": "Where it happened (the witness's words, redacted)",
    "description": "What happened (moderated, redacted)",
    "case_status": "Case status (legal aid's)",
    "incident_id": "Incident (reports of the same event)",
    "publishable_copies": "Publishable copies (faces hidden, reviewed)",
}


def field_label(name: str) -> str:
    """A shareable field as staff read it."""
    if name in _LABELS:
        return _LABELS[name]
    return str(getattr(Report._meta.get_field(name), "verbose_name", name)).capitalize()


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
