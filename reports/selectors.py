"""Non-trivial reads of the domain."""

from __future__ import annotations

import dataclasses
import re
import statistics
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextField,
    Value,
    When,
)
from django.db.models.expressions import Combinable, OrderBy
from django.db.models.functions import Coalesce, Greatest, TruncDate
from django.utils import timezone

from reports.dhash import hamming
from reports.models import (
    REDACTABLE_FACTS,
    SETTLED_MEDIA,
    Agency,
    Answer,
    MediaItem,
    MediaStatus,
    MessageSender,
    Moderation,
    PartnerAPIKey,
    PartnerOrganisation,
    Report,
    ReportMessage,
    ReportShare,
    Warrant,
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


def media_items_to_sweep(*, idle_before: datetime) -> QuerySet[MediaItem]:
    """Items whose task may have been lost: quarantined and idle, or claimed that long ago
    (the task then decides whether the claim is abandoned; a live one is left alone)."""
    return MediaItem.objects.filter(
        Q(status=MediaStatus.QUARANTINED, updated_at__lt=idle_before)
        | Q(status=MediaStatus.PROCESSING, claimed_at__lt=idle_before)
    ).order_by("created_at")


_IN_PIPELINE = (MediaStatus.QUARANTINED, MediaStatus.PROCESSING)


def media_item_in_turn(*, media_item_id: UUID | str, in_flight: int) -> MediaItem | None:
    """The item if it may be queued for processing now: claimed already (its task decides),
    or among the first ``in_flight`` of its report's items in the pipeline, in report
    order. Else None: it waits for its turn (or is settled, or gone)."""
    item = (
        MediaItem.objects.filter(id=media_item_id, status__in=_IN_PIPELINE)
        .only("id", "report_id", "position", "status", "size_received", "upload_length")
        .first()
    )
    if item is None or item.status == MediaStatus.PROCESSING:
        return item
    ahead = (
        MediaItem.objects.filter(report_id=item.report_id, status__in=_IN_PIPELINE)
        .filter(Q(position__lt=item.position) | Q(position=item.position, id__lt=item.id))
        .count()
    )
    return item if ahead < in_flight else None


def report_media_in_turn(*, report_id: UUID | str, in_flight: int) -> list[UUID]:
    """The report's quarantined items now in their turn (see media_item_in_turn)."""
    window = MediaItem.objects.filter(report_id=report_id, status__in=_IN_PIPELINE).order_by(
        "position", "id"
    )[:in_flight]
    return [item.id for item in window.only("id", "status") if item.status == "quarantined"]


def media_item_claim_holder(*, media_item_id: UUID | str) -> MediaItem | None:
    """The item if a worker holds it in processing (status, claimant and attempts only)."""
    return (
        MediaItem.objects.filter(id=media_item_id, status=MediaStatus.PROCESSING)
        .only("id", "report_id", "status", "claimed_by", "claimed_at", "attempts")
        .first()
    )


def media_items_with_leftover_quarantine() -> QuerySet[MediaItem]:
    """Settled items whose quarantine copy was not destroyed (a crash in between)."""
    return MediaItem.objects.filter(status__in=[MediaStatus.CLEAN, MediaStatus.REJECTED]).exclude(
        quarantine_name=""
    )


def reports_received_without_media_in_flight() -> QuerySet[Report]:
    """Received reports none of whose media is still in the pipeline: a crash between
    the last item settling and the report moving on leaves these behind."""
    in_flight = MediaItem.objects.exclude(status__in=SETTLED_MEDIA).values("report_id")
    return Report.objects.filter(moderation=Moderation.RECEIVED).exclude(id__in=in_flight)


def report_by_receipt(*, receipt_hash: str) -> Report | None:
    return Report.objects.filter(receipt_hash=receipt_hash).first()


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


# --- Overview --------------------------------------------------------------------------


@dataclasses.dataclass
class Overview:
    per_day: list[tuple[date, int]]
    by_town: list[tuple[str, int]]
    by_agency: list[tuple[str, int]]
    warrant: list[tuple[str, int]]
    no_or_administrative_warrant_share: float | None
    backlog_pending: int
    backlog_received: int
    oldest_pending_hours: float | None
    median_first_review_hours: float | None


def overview(*, days: int = 90, now: datetime | None = None) -> Overview:
    now = now or timezone.now()
    since = now - timedelta(days=days)
    recent = Report.objects.filter(received_at__gte=since).exclude(moderation=Moderation.REJECTED)
    counts = dict(
        recent.annotate(day=TruncDate("received_at"))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    first_day = timezone.localdate(since)
    per_day = [
        (first_day + timedelta(days=i), counts.get(first_day + timedelta(days=i), 0))
        for i in range(days + 1)
    ]
    # The town as everyone after moderation sees it (a moderator may have redacted it).
    shown_town = Coalesce(F("town_redacted"), F("town"), output_field=TextField())
    by_town = [
        (town, n)
        for town, n in recent.annotate(shown_town=shown_town)
        .exclude(shown_town="")
        .values("shown_town")
        .annotate(n=Count("id"))
        .order_by("-n", "shown_town")
        .values_list("shown_town", "n")[:12]
    ]
    agency_counts: Counter[str] = Counter()
    for agencies in recent.values_list("agencies", flat=True).iterator(chunk_size=2000):
        agency_counts.update(set(agencies or []))
    labels = dict(Agency.choices)
    by_agency = [(str(labels.get(a, a)), n) for a, n in agency_counts.most_common()]
    warrant_counts = dict(
        recent.exclude(warrant="")
        .values("warrant")
        .annotate(n=Count("id"))
        .values_list("warrant", "n")
    )
    warrant = [(str(label), warrant_counts.get(value, 0)) for value, label in Warrant.choices]
    answered = sum(warrant_counts.values())
    weak = warrant_counts.get(Warrant.NOT_SHOWN, 0) + warrant_counts.get(Warrant.ADMINISTRATIVE, 0)
    pending = Report.objects.filter(moderation=Moderation.PENDING)
    oldest = pending.order_by("received_at").values_list("received_at", flat=True).first()
    waits = sorted(
        (reviewed - received).total_seconds() / 3600
        for received, reviewed in Report.objects.filter(
            reviewed_at__gte=since, reviewed_at__isnull=False
        ).values_list("received_at", "reviewed_at")
        if reviewed is not None
    )
    return Overview(
        per_day=per_day,
        by_town=by_town,
        by_agency=by_agency,
        warrant=warrant,
        no_or_administrative_warrant_share=(weak / answered) if answered else None,
        backlog_pending=pending.count(),
        backlog_received=Report.objects.filter(moderation=Moderation.RECEIVED).count(),
        oldest_pending_hours=((now - oldest).total_seconds() / 3600) if oldest else None,
        median_first_review_hours=statistics.median(waits) if waits else None,
    )


def report_by_reference(reference: str) -> Report | None:
    """A report by its full id or the 8-character short id staff see in lists."""
    reference = reference.strip().lower()
    try:
        return Report.objects.filter(id=UUID(reference)).first()
    except ValueError:
        pass
    if len(reference) == 8 and all(c in "0123456789abcdef" for c in reference):
        matches = list(Report.objects.filter(id__startswith=reference)[:2])
        if len(matches) == 1:
            return matches[0]
    return None


def media_item_by_upload_key(*, key_hash: str) -> MediaItem | None:
    if not key_hash:
        return None
    return MediaItem.objects.filter(upload_key_hash=key_hash).first()


def media_items_upload_expired(*, now: datetime, stalled_before: datetime) -> QuerySet[MediaItem]:
    """Resumable uploads past their expiry, or with no bytes recorded since
    ``stalled_before`` (every stored part updates the row)."""
    return MediaItem.objects.filter(
        Q(upload_expires_at__lt=now) | Q(updated_at__lt=stalled_before),
        status=MediaStatus.UPLOADING,
    )


def report_media_bytes(*, report: Report) -> int:
    """Bytes the report's files take or have reserved (a resumable upload counts its
    declared length from the start); refused and abandoned files, whose bytes are gone,
    do not count."""
    size = Greatest(F("size_received"), Coalesce(F("upload_length"), 0))
    total = (
        report.media_items.exclude(status=MediaStatus.REJECTED)
        .aggregate(total=Sum(size))
        .get("total")
    )
    return int(total or 0)


def uploads_outstanding_bytes() -> int:
    """Bytes announced by resumable uploads in progress and not yet received."""
    total = MediaItem.objects.filter(status=MediaStatus.UPLOADING).aggregate(
        total=Sum(Coalesce(F("upload_length"), 0) - F("upload_offset"))
    )["total"]
    return int(total or 0)


def report_media_count(*, report: Report) -> int:
    return report.media_items.count()


def report_next_position(*, report: Report) -> int:
    last = report.media_items.order_by("-position").values_list("position", flat=True).first()
    return 0 if last is None else last + 1


def report_messages(*, report: Report) -> QuerySet[ReportMessage]:
    """The conversation with the witness, oldest first, with who asked."""
    return report.messages.select_related("author").order_by("created_at", "id")


def report_media_summary(*, report: Report) -> dict[str, int]:
    """How many of the report's files are ready, in progress, or could not be used."""
    counts = dict(
        report.media_items.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    in_progress = (MediaStatus.UPLOADING, MediaStatus.QUARANTINED, MediaStatus.PROCESSING)
    return {
        "ready": counts.get(MediaStatus.CLEAN, 0),
        "in_progress": sum(counts.get(s, 0) for s in in_progress),
        "refused": counts.get(MediaStatus.REJECTED, 0) + counts.get(MediaStatus.FAILED, 0),
    }


# --- Partner API --------------------------------------------------------------------------


def partner_api_key_from(key: str) -> PartnerAPIKey | None:
    """The usable key (not revoked, not expired, organisation active) for ``key``."""
    prefix, _dot, _rest = key.partition(".")
    api_key = (
        PartnerAPIKey.objects.filter(prefix=prefix, revoked=False, organisation__active=True)
        .select_related("organisation")
        .first()
    )
    if api_key is None or api_key.has_expired or not api_key.is_valid(key):
        return None
    found: PartnerAPIKey = api_key
    return found


def partner_reports(*, organisation: PartnerOrganisation) -> QuerySet[Report]:
    """THE set of reports a partner may see: approved, with an active (never revoked)
    share to this organisation. Every partner read starts here (design promise 6)."""
    active_share = ReportShare.objects.filter(
        report_id=OuterRef("pk"), organisation_id=organisation.id, revoked_at__isnull=True
    )
    # Contact details are read only for the reports that qualify (partner_contacts_read).
    return Report.objects.filter(Exists(active_share), moderation=Moderation.APPROVED).defer(
        "contact_sealed"
    )


def partner_contact_report_ids(
    *, organisation: PartnerOrganisation, report_ids: Iterable[UUID]
) -> set[UUID]:
    """Of ``report_ids``, those whose contact details the organisation may read now: an
    active share with legal aid's decision to give them (services.report_share_contact),
    and the witness's consent to be contacted by a partner, with details left."""
    return set(
        ReportShare.objects.filter(
            organisation_id=organisation.id,
            report_id__in=list(report_ids),
            revoked_at__isnull=True,
            contact_shared_at__isnull=False,
            report__consent_contact_partners=True,
            report__contact_sealed__isnull=False,
        ).values_list("report_id", flat=True)
    )


def partner_report(*, organisation: PartnerOrganisation, report_id: Any) -> Report | None:
    try:
        report_uuid = UUID(str(report_id))
    except ValueError:
        return None
    return partner_reports(organisation=organisation).filter(id=report_uuid).first()


def partner_media_items(*, report: Report) -> QuerySet[MediaItem]:
    """Media a partner may have: clean, with a sanitized file. Nothing else is listed."""
    return (
        MediaItem.objects.filter(report=report, status=MediaStatus.CLEAN)
        .exclude(media_name="")
        .order_by("position", "id")
    )


def partner_media_item(
    *, organisation: PartnerOrganisation, media_item_id: Any
) -> MediaItem | None:
    """A clean item of a report shared with the organisation right now, else None."""
    try:
        item_uuid = UUID(str(media_item_id))
    except ValueError:
        return None
    return (
        MediaItem.objects.filter(
            id=item_uuid,
            status=MediaStatus.CLEAN,
            report__in=partner_reports(organisation=organisation),
        )
        .exclude(media_name="")
        .first()
    )
