"""Weekends first: the team's weekends planned as a model of their own, and the search that starts from them."""

from __future__ import annotations

from ortools.sat.python import cp_model

from clinicdesk.rostering.checker import check
from clinicdesk.rostering.solver import search as search_module
from clinicdesk.rostering.solver import solve
from clinicdesk.rostering.solver import weekends as weekends_module
from clinicdesk.rostering.solver.model import forced_cells
from clinicdesk.rostering.solver.problem import Cover, Employee, RosterProblem, ShiftRequest, ShiftType
from clinicdesk.rostering.solver.rows import RowSearch
from clinicdesk.rostering.solver.search import MINIMUM_WEIGHT
from clinicdesk.rostering.solver.weekends import SlotModel, WeekendModel, weekend_supply, weekends_come_first

SHIFTS = [ShiftType("D", 480), ShiftType("L", 480, forbidden_next=frozenset({"D"}))]


def scarce_plan(days: int = 14, people: int = 6, max_weekends: int = 1, **extra) -> RosterProblem:
    """Two shifts a day of each type; each person may work `max_weekends` weekends."""
    emps = [
        Employee(f"p{i}", max_minutes=480 * 9, max_consecutive_shifts=5, min_consecutive_shifts=1,
                 min_consecutive_days_off=1, max_weekends=max_weekends)
        for i in range(people)
    ]
    cover = [Cover(d, s.id, preferred=1) for d in range(days) for s in SHIFTS]
    return RosterProblem(days=days, shift_types=SHIFTS, employees=emps, cover=cover, **extra)


def test_weekend_supply_counts_what_the_maxima_allow_against_what_is_wanted():
    plan = scarce_plan()  # 2 weekends of 2 days, 2 lines a day: 8 wanted; 6 people x 1 weekend x 2 days: 12
    assert weekend_supply(plan) == (8, 12)
    unlimited = scarce_plan(max_weekends=None)
    assert weekend_supply(unlimited) == (8, None)


def test_weekends_come_first_only_on_large_plans_of_a_few_months_whose_weekends_are_just_enough_with_time():
    scarce = scarce_plan(people=4)  # supply 8 for 8 wanted
    plenty = scarce_plan(people=6)  # supply 12 for 8 wanted: 1.5 per shift
    short = scarce_plan(people=3)  # supply 6 for 8 wanted: every weekend short whatever the plan
    big = weekends_module.WEEKEND_FIRST_SIZE
    assert weekends_come_first(scarce, big, 60.0)
    assert not weekends_come_first(scarce, big - 1, 60.0)  # small plans: the search finds its weekends itself
    assert not weekends_come_first(scarce, big, weekends_module.WEEKEND_FIRST_SECONDS - 1)  # too little time
    assert not weekends_come_first(plenty, big, 60.0)
    assert not weekends_come_first(short, big, 60.0)
    assert not weekends_come_first(scarce_plan(people=4, max_weekends=None), big, 60.0)
    long = scarce_plan(days=weekends_module.WEEKEND_FIRST_DAYS + 5, people=4)
    assert not weekends_come_first(long, big, 60.0)


def solve_model(model: cp_model.CpModel):
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 20.0
    assert solver.solve(model) == cp_model.OPTIMAL
    return solver.value


def _solved_locks(problem: RosterProblem):
    forced, _ = forced_cells(problem)
    rows = RowSearch(problem, forced, MINIMUM_WEIGHT)
    planner = WeekendModel(problem, forced, rows)
    value = solve_model(planner.model)
    return planner, planner.locks(value)


def test_the_weekend_plan_keeps_weekend_rules_and_covers_what_the_maxima_allow():
    # 4 people, 1 weekend each, 2 weekends of 2 lines a day: every weekend line can be covered only if every
    # person works one whole weekend, and L then D is forbidden inside a weekend
    problem = scarce_plan(people=4)
    problem.requests.append(ShiftRequest("p0", 5, "D", 5, on=True))
    _, locks = _solved_locks(problem)
    weekend_days = [5, 6, 12, 13]
    assert {d for _, d in locks} == set(weekend_days)
    for d in weekend_days:
        assert sorted(s for (_, dd), s in locks.items() if dd == d) == ["D", "L"]
    for emp in problem.employees:
        days = sorted(d for (e, d) in locks if e == emp.id)
        assert days in ([5, 6], [12, 13])  # one weekend, whole
        if days == [5, 6]:
            assert (locks[emp.id, 5], locks[emp.id, 6]) != ("L", "D")
    assert locks["p0", 5] == "D"  # the request on a weekend day is part of the plan's cost


def test_a_person_whose_contract_cannot_hold_with_the_planned_weekend_keeps_it_free():
    # p0 must work runs of at least 3 shifts but is off (hard) the Friday and Monday around the first weekend:
    # the plan, blind to the days around a weekend, may give them that weekend; their row could not keep it
    problem = scarce_plan(days=12, people=2, max_weekends=1)
    problem.employees[0] = Employee("p0", max_minutes=480 * 9, max_consecutive_shifts=5, min_consecutive_shifts=3,
                                    min_consecutive_days_off=1, max_weekends=1)
    problem.days_off |= {("p0", 4), ("p0", 7), ("p1", 4), ("p1", 7)}
    # one weekend (days 5, 6), 4 weekend shifts wanted: p1 can give 2, so the plan needs p0 too
    planner, locks = _solved_locks(problem)
    planned_p0 = [d for (e, d, t), v in planner.x.items() if e == 0 and d in (5, 6)]
    assert planned_p0  # the model could give p0 the first weekend
    assert not any(e == "p0" and d in (5, 6) for e, d in locks)
    # p1 (runs of one allowed) keeps what was planned for them
    assert any(e == "p1" for e, _ in locks)



def test_the_days_plan_keeps_each_persons_runs_and_minutes_and_meets_the_weekends_it_can():
    # 4 weeks of one 8-hour shift, 4 people of 2 weekends each for 2 shifts wanted every day; each must work 18 to 20
    # shifts in runs of 2 to 5 with at least 2 days off, which not every choice of two weekends leaves room for
    day = ShiftType("D", 480)
    emps = [
        Employee(f"p{i}", min_minutes=480 * 18, max_minutes=480 * 20, max_consecutive_shifts=5,
                 min_consecutive_shifts=2, min_consecutive_days_off=2, max_weekends=2)
        for i in range(4)
    ]
    problem = RosterProblem(days=28, shift_types=[day], employees=emps, cover=[Cover(d, "D", 2) for d in range(28)])
    forced, _ = forced_cells(problem)
    rows = RowSearch(problem, forced, MINIMUM_WEIGHT)
    slots = SlotModel(problem, forced, rows)
    value = solve_model(slots.model)
    rostered = {(emp.id, d): "D" for ei, emp in enumerate(problem.employees) for d in range(28) if value(slots.y[ei, d])}
    # every row of the plan keeps the contract: the checker (code apart from the model) finds no broken rule
    assert check(problem, rostered).hard_violations == []
    for d in (5, 6, 12, 13, 19, 20, 26, 27):  # and every weekend line is met: 16 weekend shifts for 16 wanted
        assert sum(1 for (_, dd) in rostered if dd == d) == 2
    # what it leaves off on weekends becomes days off for the typed plan, for everyone
    offs = slots.offs(value)
    assert {ei for ei, _ in offs} == {0, 1, 2, 3}
    assert all(not value(slots.y[ei, d]) and d % 7 in (5, 6) for ei, d in offs)
    assert len(offs) == 4 * 8 - 16


def test_after_the_days_plan_no_one_is_planned_a_weekend_their_contract_cannot_hold():
    # p0 works runs of at least 3 shifts and is off (hard) the Friday and Monday around the first weekend: the typed
    # plan alone may give them that weekend (see above); the days plan does not, so everyone's planned weekend
    # cells are kept as locks
    problem = scarce_plan(days=21, people=3, max_weekends=2)
    problem.employees[0] = Employee("p0", max_minutes=480 * 15, max_consecutive_shifts=5, min_consecutive_shifts=3,
                                    min_consecutive_days_off=1, max_weekends=2)
    problem.days_off |= {("p0", 4), ("p0", 7)}
    forced, _ = forced_cells(problem)
    rows = RowSearch(problem, forced, MINIMUM_WEIGHT)
    slots = SlotModel(problem, forced, rows)
    value = solve_model(slots.model)
    assert not value(slots.y[0, 5]) and not value(slots.y[0, 6])
    planner = WeekendModel(problem, {**forced, **slots.offs(value)}, rows)
    value = solve_model(planner.model)
    planned = {(ei, d) for (ei, d, t), v in planner.x.items() if value(v)}
    locks = planner.locks(value)
    assert len(locks) == len(planned) > 0
    assert not any(e == "p0" and d in (5, 6) for e, d in locks)


def test_the_search_with_weekends_first_reports_the_plan_and_ends_on_a_checked_roster(monkeypatch):
    monkeypatch.setattr(weekends_module, "WEEKEND_FIRST_SIZE", 0)
    monkeypatch.setattr(weekends_module, "WEEKEND_FIRST_SECONDS", 0.0)
    problem = scarce_plan(days=28, people=4, max_weekends=2)  # 16 weekend shifts for 16 wanted
    problem.locks[("p3", 0)] = "L"  # the user's own locks still hold
    calls = []
    real = search_module.Search.weekends_first

    def spy(self):
        calls.append(self.plan_weekends)
        return real(self)

    monkeypatch.setattr(search_module.Search, "weekends_first", spy)
    result = solve(problem, time_limit=4.0, workers=2, seed=3)
    assert calls == [True]  # once, not again inside its own locked search
    phases = [p.phase for p in result.progress]
    assert "weekends" in phases
    assert phases.index("weekends") < phases.index("done")
    assert result.assignment[("p3", 0)] == "L"
    report = check(problem, result.assignment)
    assert report.hard_violations == []
    assert report.objective == result.objective
    seconds = [p.seconds for p in result.progress]
    assert seconds == sorted(seconds)  # one clock for the plan, the locked search and the rest
