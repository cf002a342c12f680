"""Publishable copies (promise 11): detection requested, faces found, regions added or
removed by hand, approval, the finished copy stored, a partner's download. Each change is
a conditional update on the copy's status (COPY_TRANSITIONS) and writes its audit event.

The worker side (intake/publication.py) runs detection and rendering in the
resource-limited child and calls the functions below; tasks are queued by name
(reports/jobs.py) once the transaction commits.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from reports import jobs, policy
from reports.models import (
    COPY_TRANSITIONS,
    AuditAction,
    CopyStatus,
    FaceRegion,
    HideMethod,
    MediaItem,
    PartnerOrganisation,
    PublishableCopy,
    RegionSource,
)
from reports.services.audit import audit_record
from reports.services.errors import InvalidTransition, PublishNotAllowed, ServiceError

# A claim with no progress for this long belongs to a worker that died; another may take
# the copy over (the sweeper queues it again). Progress renews the claim, so a long video
# being worked on is never taken over.
CLAIM_STALE = timedelta(minutes=30)
_STEP_TASKS = {CopyStatus.DETECTING: jobs.FACES_DETECT, CopyStatus.RENDERING: jobs.FACES_RENDER}


def _move(copy: PublishableCopy, source: str, target: str, **fields: Any) -> None:
    """Conditional update: the copy moves only from ``source``; anything else refuses."""
    if target not in COPY_TRANSITIONS.get(source, set()):
        raise InvalidTransition(f"A publishable copy cannot go from {source} to {target}.")
    moved = PublishableCopy.objects.filter(id=copy.id, status=source).update(
        status=target, updated_at=timezone.now(), **fields
    )
    if not moved:
        raise InvalidTransition(f"This publishable copy is no longer {source}.")
    copy.refresh_from_db()


def _audit(copy: PublishableCopy, action: AuditAction, by: User | None, **data: Any) -> None:
    audit_record(
        action=action,
        actor=by,
        report_id=copy.report_id,
        media_item_id=copy.media_item_id,
        data={"copy_id": str(copy.id), **data},
    )


def _require_publish(by: User, copy: PublishableCopy | None = None) -> None:
    if not policy.can_publish(by):
        raise PermissionDenied
    if copy is not None:
        refusal = policy.publish_refusal(copy.report, copy.media_item)
        if refusal:
            raise PublishNotAllowed(refusal)


def publishable_copy_detect(*, item: MediaItem, by: User) -> PublishableCopy:
    """Start a publishable copy of a clean item: faces are found in the background."""
    if not policy.can_publish(by):
        raise PermissionDenied
    item = MediaItem.objects.select_related("report").get(id=item.id)
    refusal = policy.publish_refusal(item.report, item)
    if refusal:
        raise PublishNotAllowed(refusal)
    with transaction.atomic():
        copy = PublishableCopy.objects.create(
            media_item=item, report=item.report, requested_by=by, status=CopyStatus.DETECTING
        )
        _audit(copy, AuditAction.COPY_DETECT_REQUESTED, by)
        transaction.on_commit(partial(jobs.enqueue, jobs.FACES_DETECT, copy_id=str(copy.id)))
    return copy


def publishable_copy_claim(*, copy_id: Any, status: CopyStatus) -> PublishableCopy | None:
    """Take the copy for one worker while it is in ``status``; None when it is not, or
    another live worker holds it (a task delivered twice does the work once)."""
    now = timezone.now()
    unclaimed = Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_STALE)
    claimed = PublishableCopy.objects.filter(unclaimed, id=copy_id, status=status).update(
        claimed_at=now, progress=0
    )
    return PublishableCopy.objects.get(id=copy_id) if claimed else None


def publishable_copy_progress(*, copy_id: Any, percent: int) -> None:
    """How far the running step is, for staff to watch, and the claim renewed (not a
    state change: no audit)."""
    PublishableCopy.objects.filter(
        id=copy_id, status__in=(CopyStatus.DETECTING, CopyStatus.RENDERING)
    ).update(progress=max(0, min(100, percent)), claimed_at=timezone.now())


def publishable_copy_requeue(*, copy: PublishableCopy) -> bool:
    """Queue the copy's running step again, for the sweeper when its task was lost or its
    worker died; True when published. A second delivery is harmless: the claim lets one
    worker do the step."""
    task = _STEP_TASKS.get(CopyStatus(copy.status))
    return task is not None and jobs.enqueue(task, copy_id=str(copy.id))


def publishable_copy_detected(
    *,
    copy: PublishableCopy,
    kind: str,
    size: tuple[int, int],
    fps: float,
    frame_count: int,
    tracks: list[dict[str, Any]],
    samples: list[dict[str, Any]],
) -> PublishableCopy:
    """Faces found: one region per track, and the copy waits for review."""
    with transaction.atomic():
        _move(
            copy,
            CopyStatus.DETECTING,
            CopyStatus.REVIEW,
            kind=kind,
            width=size[0],
            height=size[1],
            fps=fps,
            frame_count=frame_count,
            samples=samples,
            progress=100,
            claimed_at=None,
        )
        FaceRegion.objects.bulk_create(
            FaceRegion(
                copy=copy,
                source=RegionSource.DETECTED,
                track=track,
                frame_start=min(int(f) for f in track["boxes"]),
                frame_end=max(int(f) for f in track["boxes"]),
            )
            for track in tracks
        )
        _audit(copy, AuditAction.COPY_DETECTED, None, faces=len(tracks), kind=kind)
    return copy


def publishable_copy_region_add(
    *,
    copy: PublishableCopy,
    box: list[float],
    frame_start: int,
    frame_end: int,
    follow: bool,
    by: User,
) -> FaceRegion:
    """A face the detector missed, drawn by hand on ``frame_start``: held still until
    ``frame_end``, or followed by tracking when ``follow``."""
    _require_publish(by, copy)
    x1, y1, x2, y2 = (float(v) for v in box)
    if copy.status != CopyStatus.REVIEW:
        raise InvalidTransition("Regions can be changed only while the copy is in review.")
    if not (0 <= x1 < x2 <= copy.width and 0 <= y1 < y2 <= copy.height):
        raise ServiceError("The box must lie inside the picture.")
    last = max(copy.frame_count - 1, 0)
    if not 0 <= frame_start <= frame_end <= last:
        raise ServiceError("The time span must lie inside the video.")
    region = FaceRegion.objects.create(
        copy=copy,
        source=RegionSource.ADDED,
        track={"score": 1.0, "boxes": {str(frame_start): [x1, y1, x2, y2]}},
        frame_start=frame_start,
        frame_end=frame_end,
        follow=follow,
        added_by=by,
    )
    _audit(copy, AuditAction.COPY_REGION_ADDED, by, region=region.id, follow=follow)
    return region


def publishable_copy_region_remove(*, region: FaceRegion, by: User) -> FaceRegion:
    """A false detection taken out of the plan: kept, marked removed, audited."""
    copy = region.copy
    _require_publish(by, copy)
    if copy.status != CopyStatus.REVIEW:
        raise InvalidTransition("Regions can be changed only while the copy is in review.")
    still_shown = FaceRegion.objects.filter(
        id=region.id, removed=False, copy__status=CopyStatus.REVIEW
    )
    if still_shown.update(removed=True, removed_by=by):
        _audit(copy, AuditAction.COPY_REGION_REMOVED, by, region=region.id)
    region.refresh_from_db()
    return region


def publishable_copy_choose(
    *, copy: PublishableCopy, method: HideMethod, distort_voice: bool, by: User
) -> bool:
    """The reviewer's choices of method and voice, kept while in review; True if changed."""
    _require_publish(by, copy)
    changed = PublishableCopy.objects.filter(id=copy.id, status=CopyStatus.REVIEW).exclude(
        method=method, distort_voice=distort_voice
    )
    if not changed.update(method=HideMethod(method), distort_voice=distort_voice):
        return False
    _audit(copy, AuditAction.COPY_CHOICES_CHANGED, by, method=method, voice=distort_voice)
    copy.refresh_from_db()
    return True


def publishable_copy_approve(
    *, copy: PublishableCopy, method: HideMethod, distort_voice: bool, by: User
) -> PublishableCopy:
    """The reviewed plan approved: the copy is rendered, sanitized and stored."""
    _require_publish(by, copy)
    with transaction.atomic():
        _move(
            copy,
            CopyStatus.REVIEW,
            CopyStatus.RENDERING,
            method=HideMethod(method),
            distort_voice=distort_voice,
            approved_by=by,
            approved_at=timezone.now(),
            progress=0,
            claimed_at=None,
        )
        regions = copy.regions.filter(removed=False).count()
        _audit(
            copy,
            AuditAction.COPY_APPROVED,
            by,
            method=copy.method,
            distort_voice=distort_voice,
            regions=regions,
        )
        transaction.on_commit(partial(jobs.enqueue, jobs.FACES_RENDER, copy_id=str(copy.id)))
    return copy


def publishable_copy_publish(
    *, copy: PublishableCopy, name: str, content_type: str, sha256: str
) -> PublishableCopy:
    """The rendered copy passed the sanitizer and is stored under its own name."""
    _move(
        copy,
        CopyStatus.RENDERING,
        CopyStatus.PUBLISHED,
        name=name,
        content_type=content_type,
        sha256=sha256,
        progress=100,
        claimed_at=None,
    )
    _audit(copy, AuditAction.COPY_PUBLISHED, None, sha256=sha256)
    return copy


def publishable_copy_fail(*, copy: PublishableCopy, error: str) -> PublishableCopy:
    source = copy.status
    _move(copy, source, CopyStatus.FAILED, error=error[:200], claimed_at=None)
    _audit(copy, AuditAction.COPY_FAILED, None, error=error[:200], step=source)
    return copy


def publishable_copy_download_record(
    *, copy: PublishableCopy, organisation: PartnerOrganisation
) -> None:
    audit_record(
        action=AuditAction.COPY_DOWNLOADED_BY_PARTNER,
        actor_label=f"partner:{organisation.id}",
        report_id=copy.report_id,
        media_item_id=copy.media_item_id,
        data={"copy_id": str(copy.id), "organisation_id": organisation.id},
    )
