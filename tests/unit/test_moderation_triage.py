from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import override_settings
from django.utils import timezone
from PIL import Image

from reports import selectors, services
from reports.contact import Contact
from reports.dhash import dhash, hamming
from reports.models import (
    AuditAction,
    AuditEvent,
    CaseStatus,
    MediaItem,
    MediaStatus,
    Moderation,
    PartnerOrganisation,
    Report,
    ReportShare,
)
from reports.policy import NEVER_SHARED, SHAREABLE_FIELDS
from tests.factories.staff import staff_user, verified_client

pytestmark = pytest.mark.django_db


def _report(n: int = 0, **fields: object) -> Report:
    defaults: dict[str, object] = {
        "receipt_hash": f"{n:064x}",
        "description": "Agents took Maria Lopez from 12 Elm St.",
        "moderation": Moderation.PENDING,
        "town": "Springfield",
    }
    return Report.objects.create(**{**defaults, **fields})


def _actions(report: Report) -> list[str]:
    return list(
        AuditEvent.objects.filter(report_id=report.id)
        .order_by("at", "id")
        .values_list("action", flat=True)
    )


def test_report_approve_pending_sets_case_new_and_audits(moderator: User) -> None:
    report = services.report_approve(report=_report(), by=moderator)
    assert (report.moderation, report.case_status, report.reviewed_by) == (
        Moderation.APPROVED,
        CaseStatus.NEW,
        moderator,
    )
    assert _actions(report) == ["report.approved"]


def test_report_approve_twice_is_refused(moderator: User) -> None:
    report = services.report_approve(report=_report(), by=moderator)
    with pytest.raises(services.InvalidTransition):
        services.report_approve(report=report, by=moderator)


def test_report_reject_duplicate_records_original(moderator: User) -> None:
    original = _report(1)
    report = services.report_reject(
        report=_report(2), by=moderator, reason="duplicate", duplicate_of=original
    )
    assert (report.moderation, report.reject_reason, report.duplicate_of) == (
        Moderation.REJECTED,
        "duplicate",
        original,
    )


def test_report_reject_duplicate_without_original_is_refused(moderator: User) -> None:
    with pytest.raises(services.ServiceError):
        services.report_reject(report=_report(), by=moderator, reason="duplicate")


def test_report_lock_held_by_other_moderator_refuses_changes(moderator: User) -> None:
    other = staff_user("mod2", "moderator")
    report = _report()
    assert services.report_lock_acquire(report=report, by=moderator) is True
    assert services.report_lock_acquire(report=report, by=other) is False
    with pytest.raises(services.ReportLocked):
        services.report_approve(report=report, by=other)


def test_report_lock_expired_can_be_taken(moderator: User) -> None:
    other = staff_user("mod2", "moderator")
    report = _report(locked_by=moderator, locked_until=timezone.now() - timedelta(seconds=1))
    assert services.report_lock_acquire(report=report, by=other) is True


def test_report_lock_release_frees_only_the_callers_own_lock(moderator: User) -> None:
    other = staff_user("mod2", "moderator")
    report = _report()
    assert services.report_lock_acquire(report=report, by=moderator) is True
    services.report_lock_release(report=report, by=other)
    report.refresh_from_db()
    assert report.locked_by == moderator
    assert _actions(report) == ["report.locked"]
    services.report_lock_release(report=report, by=moderator)
    assert Report.objects.filter(id=report.id, locked_by=None, locked_until=None).exists()
    assert _actions(report) == ["report.locked", "report.unlocked"]


def test_report_lock_release_needs_the_moderate_permission(
    moderator: User, legal_aid: User
) -> None:
    report = _report(locked_by=legal_aid, locked_until=timezone.now() + timedelta(minutes=5))
    with pytest.raises(PermissionDenied):
        services.report_lock_release(report=report, by=legal_aid)
    report.refresh_from_db()
    assert report.locked_by == legal_aid
    assert _actions(report) == []


def test_report_redact_keeps_original_and_audits_lengths_only(moderator: User) -> None:
    report = services.report_redact(
        report=_report(),
        by=moderator,
        redaction=services.Redaction(facts={"description": "Agents took [name] from [address]."}),
    )
    assert (report.description, report.description_shown) == (
        "Agents took Maria Lopez from 12 Elm St.",
        "Agents took [name] from [address].",
    )
    event = AuditEvent.objects.get(action="report.redacted")
    assert event.data == {"description": {"original_length": 39, "redacted_length": 34}}


def test_moderator_cannot_reveal_contact_or_triage(moderator: User) -> None:
    report = services.report_approve(report=_report(consent_contact=True), by=moderator)
    with pytest.raises(PermissionDenied):
        services.report_contact_reveal(report=report, by=moderator)
    with pytest.raises(PermissionDenied):
        services.report_case_status_set(report=report, by=moderator, status="in_progress")


def test_case_status_transitions_are_checked_and_audited(moderator: User, legal_aid: User) -> None:
    report = services.report_approve(report=_report(), by=moderator)
    report = services.report_case_status_set(report=report, by=legal_aid, status="in_progress")
    report = services.report_case_status_set(report=report, by=legal_aid, status="closed")
    assert report.closed_at is not None
    with pytest.raises(services.InvalidTransition):
        services.report_case_status_set(report=report, by=legal_aid, status="referred")
    assert list(
        AuditEvent.objects.filter(action="case.status_changed")
        .order_by("id")
        .values_list("data", flat=True)
    ) == [{"from": "new", "to": "in_progress"}, {"from": "in_progress", "to": "closed"}]


def test_share_requires_witness_consent(moderator: User, legal_aid: User) -> None:
    org = PartnerOrganisation.objects.create(name="Legal Aid North")
    report = services.report_approve(report=_report(consent_share_partners=False), by=moderator)
    with pytest.raises(services.ShareNotAllowed):
        services.report_share(report=report, organisation=org, by=legal_aid)


def test_share_and_revoke_are_audited(moderator: User, legal_aid: User) -> None:
    org = PartnerOrganisation.objects.create(name="Legal Aid North")
    report = services.report_approve(report=_report(consent_share_partners=True), by=moderator)
    share = services.report_share(report=report, organisation=org, by=legal_aid)
    again = services.report_share(report=report, organisation=org, by=legal_aid)
    services.report_share_revoke(share=share, by=legal_aid)
    assert again.id == share.id
    assert ReportShare.objects.filter(revoked_at__isnull=True).count() == 0
    assert _actions(report)[-2:] == ["report.shared", "report.share_revoked"]


def test_legal_aid_gives_one_partner_contact_details_from_the_report_page(
    moderator: User, legal_aid: User
) -> None:
    org = PartnerOrganisation.objects.create(name="Legal Aid North")
    report = services.report_create(
        receipt_hash="c" * 64,
        description="x",
        facts={"consent_share_partners": True, "consent_contact": True},
        contact=Contact(value="+1 555 0123"),
    )
    services.report_settle_if_ready(report=report)
    report = services.report_approve(report=report, by=moderator)
    share = services.report_share(report=report, organisation=org, by=legal_aid)
    client = verified_client(legal_aid)
    page = f"/admin/reports/report/{report.id}/change/"
    button = f"/admin/reports/report/{report.id}/share-contact/{share.pk}/"
    # The witness did not agree to be contacted by a partner: no button, and a refusal.
    assert button not in client.get(page).content.decode()
    client.post(button)
    share.refresh_from_db()
    assert share.contact_shared_at is None
    Report.objects.filter(id=report.id).update(consent_contact_partners=True)
    assert button in client.get(page).content.decode()
    assert client.post(button).status_code == 302
    share.refresh_from_db()
    assert (share.contact_shared_by, share.contact_shared_at is not None) == (legal_aid, True)
    assert _actions(report)[-1] == "report.contact_shared"
    shown = client.get(page).content.decode()
    assert button not in shown and "Contact details given on" in shown


def test_policy_never_includes_contact_or_original_text() -> None:
    assert set(SHAREABLE_FIELDS) & NEVER_SHARED == set()


def test_export_csv_uses_redacted_text_and_no_contact(moderator: User, legal_aid: User) -> None:
    report = _report(contact_channel="phone", contact_sealed=b"sealed")
    services.report_approve(
        report=report,
        by=moderator,
        redaction=services.Redaction(facts={"description": "=HYPERLINK(redacted)"}),
    )
    _report(2)  # pending: not in legal aid's list
    response = verified_client(legal_aid).get("/admin/reports/report/export.csv")
    # UTF-8 with a byte-order mark, so that spreadsheet programs read accents right.
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r["id"], r["description"]) for r in rows] == [
        (str(report.id), "'=HYPERLINK(redacted)")
    ]
    assert "Maria" not in response.content.decode()
    assert AuditEvent.objects.get(action="reports.exported").data["rows"] == 1


def _image(path_name: str, shade: int) -> str:
    image = Image.new("RGB", (64, 48))
    for x in range(64):
        for y in range(48):
            image.putpixel((x, y), ((x * 4 + shade) % 256, y * 5 % 256, 90))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return storages["media"].save(path_name, ContentFile(out.getvalue()))


def test_dhash_of_reencoded_image_is_near() -> None:
    a = _image("t/a.jpg", 0)
    b_image = Image.open(storages["media"].open(a)).resize((128, 96))
    out = io.BytesIO()
    b_image.save(out, "JPEG", quality=60)
    with storages["media"].open(a) as first:
        near = hamming(dhash(first), dhash(io.BytesIO(out.getvalue())))
    assert near <= 4


def test_incident_suggestions_from_town_and_identical_media(moderator: User) -> None:
    report = _report(1)
    same_town = _report(2)
    _report(3, town="Shelbyville", description="Something else entirely")
    elsewhere = _report(4, town="Capital City", description="Unrelated")
    for r in (report, elsewhere):
        MediaItem.objects.create(report=r, status=MediaStatus.CLEAN, sha256_sanitized="ab" * 32)
    suggestions = selectors.incident_suggestions(report=report)
    assert [(s.report.id, s.reasons) for s in suggestions] == [
        (same_town.id, ["same day and town"]),
        (elsewhere.id, ["identical media"]),
    ]
    incident = services.incident_group(reports=[report, same_town], by=moderator)
    assert set(incident.reports.values_list("id", flat=True)) == {report.id, same_town.id}


def test_urgent_report_alerts_on_call_group_with_link_only(moderator: User) -> None:
    from django.contrib.auth.models import Group

    moderator.email = "oncall@example.org"
    moderator.save()
    moderator.groups.add(Group.objects.get(name="on_call"))
    report = _report(children_present="yes", description="Secret witness words")
    assert services.report_alert_send(report_id=report.id) is True
    assert services.report_alert_send(report_id=report.id) is False  # once per report
    assert len(mail.outbox) == 1
    assert f"/admin/reports/report/{report.id}/change/" in mail.outbox[0].body
    assert "Secret" not in mail.outbox[0].body and "Springfield" not in mail.outbox[0].body


def test_urgent_report_alerts_stop_at_hourly_limit(moderator: User) -> None:
    from django.contrib.auth.models import Group

    moderator.email = "oncall@example.org"
    moderator.save()
    moderator.groups.add(Group.objects.get(name="on_call"))
    reports = [_report(n, happening_now=True) for n in range(3)]
    with override_settings(TESTIGO_ALERTS_PER_HOUR=2):
        sent = [services.report_alert_send(report_id=r.id) for r in reports]
    assert sent == [True, True, False]
    assert len(mail.outbox) == 2
    assert AuditEvent.objects.get(action="alert.suppressed").report_id == reports[2].id


def test_urgent_report_create_queues_alert_after_commit(
    django_capture_on_commit_callbacks: object,
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:  # type: ignore[operator]
        services.report_create(
            receipt_hash="c" * 64, description="now", facts={"happening_now": True}
        )
    assert [getattr(c, "func", c).__name__ for c in callbacks] == ["report_alert_enqueue"]


def test_purge_deletes_expired_rejected_and_keeps_legal_hold(moderator: User) -> None:
    old = timezone.now() - timedelta(days=31)
    expired = _report(1, moderation=Moderation.REJECTED, reviewed_at=old)
    held = _report(2, moderation=Moderation.REJECTED, reviewed_at=old, legal_hold=True)
    recent = _report(3, moderation=Moderation.REJECTED, reviewed_at=timezone.now())
    name = storages["media"].save("purge/x.jpg", ContentFile(b"x"))
    MediaItem.objects.create(report=expired, status=MediaStatus.CLEAN, media_name=name)
    assert [d.report_id for d in services.retention_purge(dry_run=True)] == [expired.id]
    assert Report.objects.filter(id=expired.id).exists() is True
    call_command("purge")
    assert set(Report.objects.values_list("id", flat=True)) == {held.id, recent.id}
    assert storages["media"].exists(name) is False
    assert AuditEvent.objects.get(action="report.purged").data == {
        "reason": "rejected",
        "media_items": 1,
        "files": 1,
    }


def test_audit_events_cannot_be_changed_in_the_database() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the database-level guard is installed on PostgreSQL only")
    event = services.audit_record(action=AuditAction.REPORT_RECEIVED)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(id=event.id).update(action="x.changed")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(id=event.id).delete()


def test_overview_page_renders_svg_charts(moderator: User) -> None:
    _report(1, warrant="not_shown", agencies=["ice"])
    _report(2, warrant="judicial", agencies=["ice", "cbp"])
    response = verified_client(moderator).get("/admin/overview/")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count('<svg class="testigo-chart"') == 4
    assert response.context["weak_warrant_percent"] == 50
    # Nothing from a third-party host.
    assert "https://" not in body
