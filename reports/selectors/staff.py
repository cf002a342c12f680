"""The staff side's reads: the moderation queue, search, what each role may see, and
incident suggestions."""

from __future__ import annotations

import dataclasses
import re
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import (
    Case,
    Count,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.expressions import Combinable, OrderBy
from django.db.models.functions import Coalesce
from django.utils import timezone

from reports.dhash import hamming
from reports.models import (
    REDACTABLE_FACTS,
    Answer,
    MediaItem,
    MediaStatus,
    MessageSender,
    Moderation,
    PartnerOrganisation,
    Report,
    ReportMessage,
    ReportShare,
)


def _first_when(condition: Q) -> OrderBy:
    return Case(When(condition, then=Value(0)), default=Value(1)).asc()


# The moderation queue's order: someone may be detained right now, then children, then
# injuries; within each, the longest waiting first.
QUEUE_ORDER: tuple[OrderBy | str, ...] = (
    F("happening_now").desc(),
    _first_when(Q(children_present=Answer.YES)),
    _first_when(Q(injuries=Answer.YES)),
    "received_at",
    "id",
)


def _last_sender() -> Subquery:
    last = ReportMessage.objects.filter(report=OuterRef("pk")).order_by("-created_at", "-id")
    return Subquery(last.values("sender")[:1])


def with_conversation(queryset: QuerySet[Report]) -> QuerySet[Report]:
    """``last_sender``: who wrote last with the witness (witness, staff, or None). The
    witness replied when it is the witness."""
    return queryset.annotate(last_sender=_last_sender())


def witness_replied(queryset: QuerySet[Report]) -> QuerySet[Report]:
    """Reports whose witness wrote last (an answer staff have not followed up yet)."""
    if "last_sender" not in queryset.query.annotations:
        queryset = with_conversation(queryset)
    return queryset.filter(**{"last_sender": MessageSender.WITNESS})


def moderation_queue() -> QuerySet[Report]:
    """Reports waiting for a moderator, most urgent first (QUEUE_ORDER). What each row
    also shows is read for one page at a time (list_details)."""
    return (
        Report.objects.filter(moderation=Moderation.PENDING)
        .select_related("locked_by")
        .order_by(*QUEUE_ORDER)
    )


def list_details(reports: list[Report]) -> list[Report]:
    """A list page's rows with ``media_count`` and ``last_sender`` (who wrote last with
    the witness), in one query for the page: counted per row over the whole queue, they
    would cost a subquery for each of thousands of reports before the page is cut."""
    media = MediaItem.objects.filter(report=OuterRef("pk")).order_by().values("report")
    details = (
        Report.objects.filter(id__in=[r.id for r in reports])
        .annotate(
            media_count=Subquery(media.annotate(n=Count("id")).values("n")[:1]),
            last_sender=_last_sender(),
        )
        .values_list("id", "media_count", "last_sender")
    )
    found = {report_id: (count, sender) for report_id, count, sender in details}
    for report in reports:
        report.media_count, report.last_sender = found.get(report.id, (0, None))  # type: ignore[attr-defined]
    return reports


def moderation_queue_next(*, by: Any, after: Report | None = None) -> Report | None:
    """The most urgent pending report ``by`` may take now (not held by someone else),
    other than ``after``: where "Approve & next" and "Reject & next" go."""
    now = timezone.now()
    free = Q(locked_by__isnull=True) | Q(locked_until__lt=now) | Q(locked_by=by)
    queue = Report.objects.filter(free, moderation=Moderation.PENDING)
    if after is not None:
        queue = queue.exclude(id=after.id)
    return queue.order_by(*QUEUE_ORDER).only("id").first()


_HEX_REFERENCE = re.compile(r"[0-9a-f]{4,32}")


def reports_search(
    queryset: QuerySet[Report], term: str, *, original_text: bool
) -> QuerySet[Report]:
    """Reports whose short id starts with ``term`` or whose free-text facts match it:
    PostgreSQL full-text search (simple configuration: reports come in four languages),
    a plain every-word-contained match elsewhere. Staff who may not read the witness's
    own words search only what they are shown."""
    term = term.strip()
    if not term:
        return queryset
    match = Q()
    reference = term.lower().replace("-", "")
    if _HEX_REFERENCE.fullmatch(reference):
        by_id = Q(id__startswith=_uuid_prefix(reference))
        if any(c.isdigit() for c in reference):
            # A short id as staff quote it (e72c1eb2): words have no digits in them.
            return queryset.filter(by_id)
        match |= by_id
    texts: dict[str, Combinable] = {
        f"shown_{fact}": Coalesce(F(f"{fact}_redacted"), F(fact), output_field=TextField())
        for fact in REDACTABLE_FACTS
    }
    if original_text:
        texts |= {f"original_{fact}": F(fact) for fact in REDACTABLE_FACTS}
    if connection.vendor == "postgresql":
        queryset = queryset.annotate(search=SearchVector(*texts.values(), config="simple"))
        match |= Q(search=SearchQuery(term, config="simple", search_type="websearch"))
    else:  # SQLite, the embedded default: every word somewhere in the text
        queryset = queryset.annotate(**texts)
        every_word = Q()
        for word in term.split():
            every_word &= Q(*[(f"{name}__icontains", word) for name in texts], _connector=Q.OR)
        match |= every_word
    return queryset.filter(match)


def _uuid_prefix(hex_digits: str) -> str:
    """The start of a UUID in its canonical form (PostgreSQL compares the text of its
    native UUID, hyphens included; elsewhere Django drops them on both sides)."""
    groups, start = [], 0
    for size in (8, 4, 4, 4, 12):
        if start < len(hex_digits):
            groups.append(hex_digits[start : start + size])
        start += size
    return "-".join(groups)


def _reports_of(user: Any) -> QuerySet[Report]:
    # The one row rule of the staff side: legal aid sees approved reports only;
    # moderators and administrators see every state.
    if user.has_perm("reports.view_unapproved"):
        return Report.objects.all()
    return Report.objects.filter(moderation=Moderation.APPROVED)


def reports_visible_to(user: Any) -> QuerySet[Report]:
    """The reports a staff user may see in the Reports list: legal aid sees approved
    reports only; moderators and administrators see every state."""
    return _reports_of(user)


def staff_media_item(*, user: Any, media_item_id: UUID | str) -> MediaItem | None:
    """A media item that may be shown to ``user``: clean, with its sanitized file stored,
    of a report they may see on the Reports pages."""
    return (
        MediaItem.objects.filter(
            id=media_item_id, status=MediaStatus.CLEAN, report__in=_reports_of(user)
        )
        .exclude(media_name="")
        .first()
    )


def report_active_shares(*, report: Report) -> QuerySet[ReportShare]:
    return ReportShare.objects.filter(report=report, revoked_at__isnull=True).select_related(
        "report", "organisation", "shared_by", "contact_shared_by"
    )


def partner_organisations_for_sharing() -> QuerySet[PartnerOrganisation]:
    return PartnerOrganisation.objects.filter(active=True)


@dataclasses.dataclass
class Suggestion:
    report: Report
    reasons: list[str]


SUGGESTION_WINDOW = timedelta(days=30)
SIMILAR_TEXT = 0.3
NEAR_IMAGE_BITS = 10
_WORD = re.compile(r"\w{3,}")


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def _day(report: Report) -> date:
    return timezone.localdate(report.occurred_at or report.received_at)


def incident_suggestions(*, report: Report, limit: int = 10) -> list[Suggestion]:
    """Reports that may describe the same event: same day and (same town or similar
    text), or the same sanitized media (SHA-256) or a near-identical image (dHash).
    Only suggestions; a moderator confirms each grouping."""
    around = report.occurred_at or report.received_at
    candidates = (
        Report.objects.exclude(id=report.id)
        .exclude(moderation=Moderation.REJECTED)
        .filter(received_at__range=(around - SUGGESTION_WINDOW, around + SUGGESTION_WINDOW))
    )
    if report.incident_id is not None:
        candidates = candidates.exclude(incident_id=report.incident_id)
    reasons: dict[Any, list[str]] = {}
    day = _day(report)
    words = _words(f"{report.location_text} {report.description_shown}")
    for other in candidates.only(
        "id", "town", "occurred_at", "received_at", "location_text", "description",
        "description_redacted",
    ).order_by("received_at")[:500]:  # fmt: skip
        if _day(other) != day:
            continue
        if report.town and other.town.strip().lower() == report.town.strip().lower():
            reasons.setdefault(other.id, []).append("same day and town")
            continue
        other_words = _words(f"{other.location_text} {other.description_shown}")
        if words and other_words:
            overlap = len(words & other_words) / len(words | other_words)
            if overlap >= SIMILAR_TEXT:
                reasons.setdefault(other.id, []).append("same day, similar text")
    own = list(
        MediaItem.objects.filter(report=report, status=MediaStatus.CLEAN).values_list(
            "sha256_sanitized", "dhash"
        )
    )
    hashes = {sha for sha, _ in own if sha}
    if hashes:
        for report_id in (
            MediaItem.objects.filter(sha256_sanitized__in=hashes, status=MediaStatus.CLEAN)
            .exclude(report=report)
            .values_list("report_id", flat=True)
        ):
            reasons.setdefault(report_id, []).append("identical media")
    image_hashes = [h for _, h in own if h]
    if image_hashes:
        others = (
            MediaItem.objects.filter(
                status=MediaStatus.CLEAN,
                report__in=candidates,
            )
            .exclude(dhash="")
            .values_list("report_id", "dhash", "sha256_sanitized")
        )
        for report_id, other_hash, sha in others:
            if sha in hashes:
                continue
            if min(hamming(h, other_hash) for h in image_hashes) <= NEAR_IMAGE_BITS:
                reasons.setdefault(report_id, []).append("near-identical image")
    found = Report.objects.in_bulk(list(reasons))
    suggestions = [
        Suggestion(report=found[rid], reasons=sorted(set(r)))
        for rid, r in reasons.items()
        if rid in found and found[rid].moderation != Moderation.REJECTED
    ]
    suggestions.sort(key=lambda s: s.report.received_at)
    return suggestions[:limit]
