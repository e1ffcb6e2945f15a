"""A run keeps its best roster while it works: a crash or a dead worker leaves the best roster found, not nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinicdesk.rostering.checker import check
from clinicdesk.rostering.choices import SolveStatus
from clinicdesk.rostering.models import RosterAssignment, SolveRun
from clinicdesk.rostering.services import solving
from clinicdesk.rostering.services.problem_build import current_assignment, problem_build
from clinicdesk.rostering.services.solving import _LiveRun, solve_run_execute, solve_run_start, solve_runs_reap
from clinicdesk.rostering.solver import solve
from clinicdesk.staff.models import StaffMember

from .factories import make_period, make_unit, manager

pytestmark = pytest.mark.django_db


def test_each_better_roster_is_kept_on_the_run_while_it_works(org):
    unit = make_unit(org, nurses=8, preferred=2)
    period = make_period(unit, days=7)
    run = solve_run_start(actor=manager(org), period=period, time_limit_seconds=3, run_now=True)
    built = problem_build(period=period)
    tracker = _LiveRun(run.pk, live=False)
    tracker.built = built
    seen = []

    def keep(assignment, objective):
        seen.append(objective)
        tracker.on_roster(assignment, objective)

    result = solve(built.problem, time_limit=3, workers=2, on_roster=keep)
    assert seen and seen == sorted(seen, reverse=True)  # each one better than the last
    assert seen[-1] == result.objective
    tracker.save_incumbent()
    run.refresh_from_db()
    assert run.incumbent_objective == result.objective
    assert run.heartbeat_at is not None
    dates = {d.isoformat(): i for i, d in enumerate(built.dates)}
    assert {(str(staff), dates[day]): code for staff, day, code in run.incumbent} == result.assignment


def test_a_run_that_fails_midway_leaves_its_best_roster(org, monkeypatch):
    unit = make_unit(org, nurses=8, preferred=2)
    period = make_period(unit, days=7)
    run = solve_run_start(actor=manager(org), period=period, time_limit_seconds=3, run_now=True)
    found = {}

    def solve_then_crash(problem, **kw):
        result = solve(problem, **kw)
        found["objective"] = result.objective
        raise RuntimeError("worker lost")

    monkeypatch.setattr(solving, "solve", solve_then_crash)
    run = solve_run_execute(run_id=run.pk, live=False)

    assert run.status == SolveStatus.FAILED
    assert run.incumbent_objective == found["objective"]
    assert "best roster so far" in run.messages[0]
    report = check(problem_build(period=period).problem, current_assignment(period))
    assert report.hard_violations == []
    assert report.objective == found["objective"]


def test_a_run_whose_worker_died_is_failed_on_the_next_look_keeping_its_roster(org):
    unit = make_unit(org, nurses=8, preferred=2)
    period = make_period(unit, days=7)
    boss = manager(org)
    run = solve_run_start(actor=boss, period=period, time_limit_seconds=30, run_now=True)
    nurse = StaffMember.objects.filter(organization=org).order_by("id").first()
    now = timezone.now()
    SolveRun.objects.filter(pk=run.pk).update(
        status=SolveStatus.RUNNING, started_at=now - timedelta(seconds=20), heartbeat_at=now - timedelta(seconds=5),
        incumbent=[[nurse.pk, period.start.isoformat(), "D"], [nurse.pk, (period.start + timedelta(days=1)).isoformat(), "E"]],
        incumbent_objective=1234,
    )
    # alive: a recent sign of life, within its time limit
    assert solve_runs_reap(period=period) == []
    with pytest.raises(ValidationError, match="already working"):
        solve_run_start(actor=boss, period=period, time_limit_seconds=5, run_now=True)

    SolveRun.objects.filter(pk=run.pk).update(heartbeat_at=now - timedelta(seconds=solving.STALE_SECONDS + 1))
    reaped = solve_runs_reap(period=period)
    assert [r.pk for r in reaped] == [run.pk]
    run.refresh_from_db()
    assert run.status == SolveStatus.FAILED
    assert run.finished_at is not None
    assert "cost 1234" in run.messages[0]
    cells = set(RosterAssignment.objects.filter(period=period).values_list("staff_id", "day", "shift_type__code"))
    assert cells == {(nurse.pk, period.start, "D"), (nurse.pk, period.start + timedelta(days=1), "E")}
    # a new run may start now
    assert solve_run_start(actor=boss, period=period, time_limit_seconds=5, run_now=True).status == SolveStatus.QUEUED


def test_a_run_long_past_its_time_limit_is_failed_even_without_a_roster(org):
    unit = make_unit(org, nurses=6)
    period = make_period(unit, days=7)
    run = solve_run_start(actor=manager(org), period=period, time_limit_seconds=10, run_now=True)
    now = timezone.now()
    SolveRun.objects.filter(pk=run.pk).update(status=SolveStatus.RUNNING, heartbeat_at=now,
                                              started_at=now - timedelta(seconds=10 + solving.STALE_SECONDS + 1))
    assert [r.pk for r in solve_runs_reap(period=period)] == [run.pk]
    run.refresh_from_db()
    assert run.status == SolveStatus.FAILED
    assert run.messages == ["The solver stopped answering; the roster was not changed."]
    assert not RosterAssignment.objects.filter(period=period).exists()
