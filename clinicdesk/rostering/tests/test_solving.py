from datetime import date

import pytest
from django.core.exceptions import ValidationError

from clinicdesk.rostering.checker import check
from clinicdesk.rostering.choices import SolveStatus
from clinicdesk.rostering.models import RosterAssignment, SolveProgress, TimeOffRequest
from clinicdesk.rostering.services.problem_build import current_assignment, problem_build
from clinicdesk.rostering.services.solving import solve_run_cancel, solve_run_execute, solve_run_start

from .factories import make_period, make_unit, manager

pytestmark = pytest.mark.django_db


def _solve(period, actor, seconds=3):
    run = solve_run_start(actor=actor, period=period, time_limit_seconds=seconds, run_now=True)
    return solve_run_execute(run_id=run.pk, live=False)


def test_solve_stores_the_best_roster_its_cost_by_rule_and_progress(org):
    unit = make_unit(org, nurses=8, preferred=2)
    period = make_period(unit, days=7)
    boss = manager(org)

    run = _solve(period, boss)

    assert run.status == SolveStatus.DONE
    assert run.result_status in ("optimal", "feasible")
    roster = current_assignment(period)
    report = check(problem_build(period=period).problem, roster)
    assert report.hard_violations == []
    assert report.objective == run.objective
    assert sum(run.cost_by_rule.values()) == run.objective
    assert SolveProgress.objects.filter(run=run).exists()
    # each shift every day has its minimum of one
    for day in range(7):
        assert {code for (_, d), code in roster.items() if d == day} == {"D", "E", "N"}


def test_locked_cells_stay_when_the_rest_is_re_solved(org):
    unit = make_unit(org, nurses=8)
    period = make_period(unit, days=7)
    boss = manager(org)
    _solve(period, boss)
    nurse = unit.nurses[5]
    RosterAssignment.objects.update_or_create(period=period, staff=nurse, day=date(2027, 3, 3),
                                              defaults={"shift_type": unit.shifts["N"], "locked": True})
    RosterAssignment.objects.update_or_create(period=period, staff=nurse, day=date(2027, 3, 1),
                                              defaults={"shift_type": None, "locked": True})

    _solve(period, boss)

    assert RosterAssignment.objects.get(period=period, staff=nurse, day=date(2027, 3, 3)).shift_type.code == "N"
    assert RosterAssignment.objects.get(period=period, staff=nurse, day=date(2027, 3, 1)).shift_type is None
    assert RosterAssignment.objects.filter(period=period, locked=True).count() == 2


def test_cover_no_one_can_meet_is_explained_by_day_shift_and_skill(org):
    # given: nights need a charge nurse, and the only charge nurse is off on Wednesday
    unit = make_unit(org, nurses=6, charge=1)
    unit.shifts["N"].skills.add(unit.charge)
    TimeOffRequest.objects.create(organization=org, staff=unit.nurses[0], start=date(2027, 3, 3), end=date(2027, 3, 3),
                                  status="approved")
    period = make_period(unit, days=7)

    run = _solve(period, manager(org))

    assert run.result_status == "infeasible"
    assert any(g["day"] == "2027-03-03" and g["shift"] == "Night" for g in run.gaps)
    assert not RosterAssignment.objects.filter(period=period).exists()


def test_conflicting_locks_are_refused_before_solving(org):
    unit = make_unit(org, nurses=6)
    period = make_period(unit, days=7)
    nurse = unit.nurses[0]
    TimeOffRequest.objects.create(organization=org, staff=nurse, start=date(2027, 3, 2), end=date(2027, 3, 2), status="approved")
    RosterAssignment.objects.create(period=period, staff=nurse, day=date(2027, 3, 2), shift_type=unit.shifts["D"], locked=True)

    with pytest.raises(ValidationError) as caught:
        solve_run_start(actor=manager(org), period=period, time_limit_seconds=2, run_now=True)

    assert "locks" in caught.value.message_dict
    assert not period.solve_runs.exists()


def test_time_limit_is_checked_and_one_run_at_a_time(org):
    unit = make_unit(org, nurses=6)
    period = make_period(unit, days=7)
    boss = manager(org)
    with pytest.raises(ValidationError) as caught:
        solve_run_start(actor=boss, period=period, time_limit_seconds=0, run_now=True)
    assert "time_limit_seconds" in caught.value.message_dict
    run = solve_run_start(actor=boss, period=period, time_limit_seconds=2, run_now=True)
    with pytest.raises(ValidationError, match="already working"):
        solve_run_start(actor=boss, period=period, time_limit_seconds=2, run_now=True)
    solve_run_cancel(actor=boss, run=run)
    run = solve_run_execute(run_id=run.pk, live=False)
    assert run.status == SolveStatus.CANCELLED
