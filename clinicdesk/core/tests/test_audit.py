import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from clinicdesk.core.audit import audit_event, audit_verify
from clinicdesk.core.choices import AuditOutcome
from clinicdesk.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def _chain(n, actor):
    return [audit_event(action="test.event", actor=actor, summary=f"event {i}") for i in range(n)]


def test_each_row_links_to_the_one_before(front_desk):
    events = _chain(3, front_desk)
    before = AuditEvent.objects.filter(id__lt=events[0].id).order_by("-id").first()
    assert events[0].prev_hash == (before.hash if before else AuditEvent.GENESIS)
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    assert events[2].organization_id == front_desk.organization_id
    checked, broken, _ = audit_verify()
    assert broken is None and checked == AuditEvent.objects.count()


def test_rows_cannot_be_changed_or_deleted_through_the_application(front_desk):
    event = audit_event(action="test.event", actor=front_desk)
    event.summary = "rewritten"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(summary="x")
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).delete()


def test_database_refuses_raw_update(front_desk):
    event = audit_event(action="test.event", actor=front_desk)
    with pytest.raises(Exception, match="append-only"), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditevent SET summary = 'x' WHERE id = %s", [event.pk])


def _without_trigger(sql, params):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER core_auditevent_no_update")
        else:
            cursor.execute("DROP TRIGGER core_auditevent_no_update")
        cursor.execute(sql, params)


def test_verify_finds_a_changed_row(front_desk):
    # given
    events = _chain(5, front_desk)
    # when someone edits a row behind the application's back
    _without_trigger("UPDATE core_auditevent SET summary = 'nothing to see' WHERE id = %s", [events[2].pk])
    # then
    _, broken, reason = audit_verify()
    assert broken.pk == events[2].pk
    assert "content" in reason
    with pytest.raises(CommandError, match=f"row {events[2].pk}"):
        call_command("audit_verify")


def test_verify_finds_a_removed_row(front_desk):
    events = _chain(5, front_desk)
    _without_trigger("DELETE FROM core_auditevent WHERE id = %s", [events[1].pk])
    _, broken, reason = audit_verify()
    assert broken.pk == events[2].pk
    assert "link" in reason


def test_failed_login_is_audited_without_revealing_whether_the_user_exists(client, front_desk):
    response_known = client.post("/accounts/login/", {"login": front_desk.username, "password": "wrong-password"})
    response_unknown = client.post("/accounts/login/", {"login": "nobody-here", "password": "wrong-password"})
    assert response_known.status_code == response_unknown.status_code == 200
    known_errors = response_known.context["form"].non_field_errors()
    assert known_errors == response_unknown.context["form"].non_field_errors()
    failed = AuditEvent.objects.filter(action="auth.login_failed", outcome=AuditOutcome.FAILED)
    assert failed.count() == 2


def test_bulk_rows_continue_the_chain_in_order(front_desk):
    from clinicdesk.core.audit import audit_events

    # given a chain that already has a row
    first = audit_event(action="test.event", actor=front_desk)
    targets = [front_desk] * 3
    # when three rows are written in one insert
    rows = audit_events(action="test.bulk", actor=front_desk, targets=targets, summary="bulk")
    # then they follow the existing row, in id order, and the whole chain verifies
    stored = list(AuditEvent.objects.filter(action="test.bulk").order_by("id"))
    assert [r.hash for r in stored] == [r.hash for r in rows]
    assert stored[0].prev_hash == first.hash
    assert stored[1].prev_hash == stored[0].hash
    _, broken, _ = audit_verify()
    assert broken is None
