from datetime import date, time

import pytest

from clinicdesk.rostering.choices import PeriodStatus, RequestStatus
from clinicdesk.rostering.models import CoverageNeed, RosterAssignment, ShiftPreference, ShiftType, TimeOffRequest
from clinicdesk.rostering.services.problem_build import forbidden_successions, problem_build
from clinicdesk.rostering.solver.problem import EdgeRule

from .factories import fill, make_period, make_unit, rotation

pytestmark = pytest.mark.django_db


def test_rest_between_shifts_becomes_forbidden_successions(org):
    unit = make_unit(org, nurses=1)
    kinds = list(ShiftType.objects.filter(department=unit.department).order_by("start_time"))

    pairs = forbidden_successions(kinds, 11)

    # a night ending 07:00 then a day at 07:00 leaves 0 h; an evening ending 23:00 then a day at 07:00 leaves 8 h
    assert pairs["N"] == frozenset({"D", "E"})
    assert pairs["E"] == frozenset({"D"})
    assert pairs["D"] == frozenset()
    assert forbidden_successions(kinds, 8)["E"] == frozenset()


def test_cover_lines_take_the_date_over_the_weekday_over_every_day(org):
    # given: every day 1 on nights, Saturdays 2, and 3 on one specific Saturday
    unit = make_unit(org, nurses=2, cover=False)
    night = unit.shifts["N"]
    CoverageNeed.objects.create(organization=org, department=unit.department, shift_type=night, minimum=1, preferred=1)
    CoverageNeed.objects.create(organization=org, department=unit.department, shift_type=night, weekday=5, minimum=2, preferred=2)
    CoverageNeed.objects.create(organization=org, department=unit.department, shift_type=night, on_date=date(2027, 3, 13),
                                minimum=3, preferred=4)
    period = make_period(unit, days=14)

    built = problem_build(period=period)

    by_day = {c.day: (c.minimum, c.preferred) for c in built.problem.cover if c.shift == "N"}
    assert by_day[0] == (1, 1)  # Monday 1 March
    assert by_day[5] == (2, 2)  # Saturday 6 March
    assert by_day[12] == (3, 4)  # Saturday 13 March, the dated need


def test_days_off_requests_locks_and_skills(org):
    unit = make_unit(org, nurses=3)
    unit.shifts["N"].skills.add(unit.charge)
    period = make_period(unit)
    first, second, third = unit.nurses
    TimeOffRequest.objects.create(organization=org, staff=first, start=date(2027, 2, 27), end=date(2027, 3, 2),
                                  status=RequestStatus.APPROVED)
    TimeOffRequest.objects.create(organization=org, staff=second, start=date(2027, 3, 5), end=date(2027, 3, 5))
    ShiftPreference.objects.create(organization=org, staff=third, on_date=date(2027, 3, 3), shift_type=unit.shifts["D"],
                                   wants=True, weight=7)
    RosterAssignment.objects.create(period=period, staff=third, day=date(2027, 3, 4), shift_type=unit.shifts["E"], locked=True)
    RosterAssignment.objects.create(period=period, staff=third, day=date(2027, 3, 6), shift_type=None, locked=True)

    problem = problem_build(period=period).problem

    assert {(str(first.pk), 0), (str(first.pk), 1)} <= problem.days_off
    assert (str(first.pk), 2) not in problem.days_off
    pending = [r for r in problem.requests if r.employee == str(second.pk)]
    assert [(r.day, r.shift, r.on) for r in pending] == [(4, None, False)]
    assert any(r.employee == str(third.pk) and r.day == 2 and r.shift == "D" and r.on and r.weight == 7 for r in problem.requests)
    assert problem.locks == {(str(third.pk), 3): "E", (str(third.pk), 5): None}
    employees = {e.id: e for e in problem.employees}
    # only charge nurses may work the night once it requires the charge skill
    assert employees[str(third.pk)].max_shifts_by_type.get("N") == 0
    assert "N" not in employees[str(first.pk)].max_shifts_by_type
    assert employees[str(first.pk)].max_minutes == 60 * 60  # 60 h a week over one week


def test_history_comes_from_the_previous_published_roster(org):
    unit = make_unit(org, nurses=6)
    february = make_period(unit, start=date(2027, 2, 22), days=7, status=PeriodStatus.PUBLISHED, name="Feb")
    fill(february, rotation(6, 7))
    march = make_period(unit)

    problem = problem_build(period=march).problem

    assert problem.edge_rule == EdgeRule.HISTORY
    history = {e.id: e.history for e in problem.employees}
    # nurse 0 worked position (d + 0) % 6 on 22..28 Feb: D E N - - - D
    assert history[str(unit.nurses[0].pk)] == ("D", "E", "N", None, None, None, "D")


def test_without_a_previous_roster_the_edges_are_lenient(org):
    unit = make_unit(org, nurses=2)
    assert problem_build(period=make_period(unit)).problem.edge_rule == EdgeRule.LENIENT


def test_a_shift_over_midnight_ends_next_day(org):
    unit = make_unit(org, nurses=1)
    start, end = unit.shifts["N"].span_on(date(2027, 3, 1))
    assert (start.time(), end.date(), end.time()) == (time(23), date(2027, 3, 2), time(7))
    assert unit.shifts["N"].over_midnight and not unit.shifts["D"].over_midnight
