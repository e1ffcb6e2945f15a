from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from clinicdesk.core.audit import audit_event, audit_seal, audit_verify
from clinicdesk.core.choices import AuditOutcome
from clinicdesk.core.models import AuditEvent, AuditSeal

pytestmark = pytest.mark.django_db


def _chain(n, actor):
    return [audit_event(action="test.event", actor=actor, summary=f"event {i}") for i in range(n)]


def test_each_row_is_sealed_after_the_one_before(front_desk):
    # given
    audit_seal()
    last = AuditSeal.objects.order_by("-id").first()
    events = _chain(3, front_desk)
    assert not AuditSeal.objects.filter(event__in=events).exists()
    # when
    assert audit_seal(look_back=timedelta(0)) == 3
    # then
    seals = list(AuditSeal.objects.filter(event__in=events).order_by("id"))
    assert [s.event_id for s in seals] == [e.pk for e in events]
    assert seals[0].prev_hash == (last.hash if last else AuditSeal.GENESIS)
    assert seals[1].prev_hash == seals[0].hash
    assert seals[2].prev_hash == seals[1].hash
    assert seals[2].hash == AuditSeal.compute_hash(seals[1].hash, events[2])
    assert events[2].organization_id == front_desk.organization_id
    assert audit_seal() == 0
    checked, broken, _ = audit_verify()
    assert broken is None and checked == AuditEvent.objects.count()


def test_a_row_committed_after_later_rows_were_sealed_is_still_sealed(front_desk):
    # given a row whose transaction commits late: a later row is sealed first
    early = audit_event(action="test.event", actor=front_desk)
    late = audit_event(action="test.event", actor=front_desk)
    AuditSeal.objects.bulk_create([AuditSeal(event=late, prev_hash=AuditSeal.GENESIS,
                                             hash=AuditSeal.compute_hash(AuditSeal.GENESIS, late))])
    # when the sealer after a commit runs, then the periodic one
    after_commit = audit_seal(look_back=timedelta(0))
    periodic = audit_seal()
    # then only the periodic sealer looks back, and the straggler joins the chain after the later row
    assert (after_commit, periodic) == (0, 1)
    assert AuditSeal.objects.get(event=early).prev_hash == AuditSeal.objects.get(event=late).hash


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
    audit_seal()
    seal = AuditSeal.objects.get(event=event)
    with pytest.raises(PermissionError):
        seal.save()
    with pytest.raises(PermissionError):
        AuditSeal.objects.filter(pk=seal.pk).update(hash="0")


def test_database_refuses_raw_update(front_desk):
    event = audit_event(action="test.event", actor=front_desk)
    with pytest.raises(Exception, match="append-only"), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditevent SET summary = 'x' WHERE id = %s", [event.pk])


def test_database_refuses_raw_update_of_a_seal(front_desk):
    event = audit_event(action="test.event", actor=front_desk)
    audit_seal()
    with pytest.raises(Exception, match="append-only"), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditseal SET hash = 'x' WHERE event_id = %s", [event.pk])


def _without_trigger(sql, params, table="core_auditevent"):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_no_update")
        else:
            cursor.execute(f"DROP TRIGGER {table}_no_update")
        cursor.execute(sql, params)


def test_verify_finds_a_changed_row(front_desk):
    # given
    events = _chain(5, front_desk)
    audit_seal()
    # when someone edits a row behind the application's back
    _without_trigger("UPDATE core_auditevent SET summary = 'nothing to see' WHERE id = %s", [events[2].pk])
    # then
    _, broken, reason = audit_verify()
    assert broken == events[2].pk
    assert "content" in reason
    with pytest.raises(CommandError, match=f"row {events[2].pk}"):
        call_command("audit_verify")


def test_verify_finds_a_removed_row(front_desk):
    events = _chain(5, front_desk)
    audit_seal()
    _without_trigger("DELETE FROM core_auditevent WHERE id = %s", [events[1].pk])
    _, broken, reason = audit_verify()
    assert broken == events[1].pk
    assert "removed" in reason
    with pytest.raises(CommandError, match=f"row {events[1].pk}: the row was removed"):
        call_command("audit_verify")


def test_verify_finds_a_removed_row_whose_seal_was_removed_too(front_desk):
    events = _chain(5, front_desk)
    audit_seal()
    _without_trigger("DELETE FROM core_auditseal WHERE event_id = %s", [events[1].pk], table="core_auditseal")
    _without_trigger("DELETE FROM core_auditevent WHERE id = %s", [events[1].pk])
    _, broken, reason = audit_verify()
    assert broken == events[2].pk
    assert "link" in reason


def test_verify_finds_a_rewritten_seal(front_desk):
    events = _chain(3, front_desk)
    audit_seal()
    _without_trigger("UPDATE core_auditseal SET hash = %s WHERE event_id = %s", ["f" * 64, events[1].pk], table="core_auditseal")
    _, broken, reason = audit_verify()
    assert broken == events[1].pk
    assert "content" in reason


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
    audit_seal()
    # then they follow the existing row, in id order, and the whole chain verifies
    stored = list(AuditEvent.objects.filter(action="test.bulk").order_by("id"))
    assert [r.pk for r in stored] == [r.pk for r in rows]
    seals = list(AuditSeal.objects.filter(event__in=stored).order_by("id"))
    assert seals[0].prev_hash == AuditSeal.objects.get(event=first).hash
    assert seals[1].prev_hash == seals[0].hash
    _, broken, _ = audit_verify()
    assert broken is None


def test_a_commit_has_its_rows_sealed_by_the_worker_at_most_once_a_second(
    front_desk, django_capture_on_commit_callbacks, monkeypatch
):
    from django_tasks_db.models import DBTaskResult

    from clinicdesk.core import audit
    from clinicdesk.core.tasks import audit_new_rows_seal

    monkeypatch.setattr(audit, "_last_seal", [0.0])
    asked = DBTaskResult.objects.filter(task_path="clinicdesk.core.tasks.audit_new_rows_seal")
    # when a transaction that wrote a row commits
    with django_capture_on_commit_callbacks(execute=True):
        first = audit_event(action="test.event", actor=front_desk)
    # then the request does not seal it itself: it asks the worker, once
    assert not AuditSeal.objects.filter(event=first).exists()
    assert asked.count() == 1
    # and a commit within the same second asks no more (the worker's seal takes its row too)
    with django_capture_on_commit_callbacks(execute=True):
        second = audit_event(action="test.event", actor=front_desk)
    assert asked.count() == 1
    # when the worker runs the task, both rows join the chain
    assert audit_new_rows_seal.call() == 2
    assert AuditSeal.objects.filter(event__in=[first, second]).count() == 2
    _, broken, _ = audit.audit_verify()
    assert broken is None


def test_a_failed_request_for_a_seal_leaves_the_rows_to_the_periodic_sealer(
    front_desk, django_capture_on_commit_callbacks, monkeypatch
):
    from types import SimpleNamespace

    from clinicdesk.core import audit, tasks

    def refused(*args, **kwargs):
        raise ConnectionError("queue unreachable")

    monkeypatch.setattr(audit, "_last_seal", [0.0])
    monkeypatch.setattr(tasks, "audit_new_rows_seal", SimpleNamespace(enqueue=refused))
    # when the queue cannot take the request, the commit still succeeds
    with django_capture_on_commit_callbacks(execute=True):
        event = audit_event(action="test.event", actor=front_desk)
    assert AuditEvent.objects.filter(pk=event.pk).exists()
    # and the periodic sealer seals the row
    assert tasks.audit_chain_seal.call() == 1
    assert AuditSeal.objects.filter(event=event).exists()


def test_bulk_rows_keep_every_field_and_the_sealer_hashes_what_a_reader_sees(front_desk):
    from clinicdesk.core.audit import RequestContext, audit_event_rows, request_context

    # given rows with quotes, backslashes, non-ASCII text, nested changes and a client address
    token = request_context.set(RequestContext(ip_address="203.0.113.7", user_agent='Desk "A"\\1', request_id="r-1",
                                               path="/billing/batch"))
    try:
        ids = audit_event_rows([
            {"action": "test.bulk", "actor": front_desk, "summary": 'Paid "$10" \\ café {1,2}',
             "changes": {"amount": ["1.00", "2.00"], "note": {"a": None, "b": 'x"y'}}},
            {"action": "test.bulk", "actor": None, "actor_label": "nightly job", "summary": "", "changes": {}},
        ])
    finally:
        request_context.reset(token)
    # when the sealer chains them
    audit_seal()
    # then each stored row reads back as written, and its seal is the hash of the row as read back
    stored = {e.pk: e for e in AuditEvent.objects.filter(pk__in=ids)}
    first, second = stored[ids[0]], stored[ids[1]]
    assert ids == sorted(ids)
    assert first.summary == 'Paid "$10" \\ café {1,2}'
    assert first.changes == {"amount": ["1.00", "2.00"], "note": {"a": None, "b": 'x"y'}}
    assert (first.ip_address, first.user_agent, first.path) == ("203.0.113.7", 'Desk "A"\\1', "/billing/batch")
    assert (second.actor_id, second.actor_label, second.changes) == (None, "nightly job", {})
    for event in (first, second):
        seal = AuditSeal.objects.get(event=event)
        assert seal.hash == AuditSeal.compute_hash(seal.prev_hash, event)
    assert audit_verify()[1] is None
