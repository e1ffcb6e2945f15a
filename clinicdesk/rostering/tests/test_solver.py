"""The roster solver: optimal small plans, every rule kept, lock conflicts and coverage gaps explained."""

from __future__ import annotations

import threading

from clinicdesk.rostering.checker import check
from clinicdesk.rostering.solver import lock_conflicts, quick_gaps, solve
from clinicdesk.rostering.solver.problem import (
    Cover,
    EdgeRule,
    Employee,
    Fairness,
    RosterProblem,
    ShiftRequest,
    ShiftType,
)

DAY = ShiftType("D", 480)
EVE = ShiftType("E", 480, start_minute=900)
NIGHT = ShiftType("N", 600, start_minute=1320, forbidden_next=frozenset({"D", "E"}), is_night=True)


def daily(days: int, shift: str, preferred: int, **kw) -> list[Cover]:
    return [Cover(d, shift, preferred=preferred, **kw) for d in range(days)]


def assert_checked(problem: RosterProblem, result) -> None:
    report = check(problem, result.assignment)
    assert report.hard_violations == []
    assert report.objective == result.objective
    assert report.cost_by_rule == result.cost_by_rule


def test_one_person_without_weekends_leaves_the_weekend_short():
    p = RosterProblem(
        days=7, shift_types=[DAY], employees=[Employee("a", max_weekends=0, max_consecutive_shifts=5)],
        cover=daily(7, "D", 1),
    )
    result = solve(p, time_limit=10, workers=2)
    assert result.status == "optimal"
    assert result.objective == 200
    assert result.bound == 200
    assert result.cost_by_rule["cover_under"] == 200
    assert result.assignment == {("a", d): "D" for d in range(5)}
    assert_checked(p, result)


def test_requests_and_successions_are_weighed():
    p = RosterProblem(
        days=7, shift_types=[DAY, NIGHT],
        employees=[Employee("a"), Employee("b")],
        cover=daily(7, "D", 1) + daily(7, "N", 1),
        requests=[ShiftRequest("a", 2, "N", 5, on=True), ShiftRequest("b", 3, None, 7, on=False)],
    )
    result = solve(p, time_limit=10, workers=2)
    assert result.status == "optimal"
    assert_checked(p, result)
    # a works N on day 2 and so cannot work D on day 3; b is then needed on day 3 for one shift
    assert result.assignment[("a", 2)] == "N"
    assert result.objective == result.cost_by_rule["cover_under"] + result.cost_by_rule["request_off"]


def test_skills_count_each_person_on_one_line():
    charge = frozenset({"charge"})
    p = RosterProblem(
        days=3, shift_types=[DAY],
        employees=[Employee("c", skills=charge), Employee("a"), Employee("b")],
        cover=[*daily(3, "D", 1, skill="charge", weight_under=50, minimum=1), *daily(3, "D", 2, weight_under=10)],
    )
    result = solve(p, time_limit=10, workers=2)
    assert result.status == "optimal"
    assert result.objective == 0
    assert all(result.assignment[("c", d)] == "D" for d in range(3))
    assert_checked(p, result)


def test_history_edges_carry_the_last_roster_into_the_plan():
    emp = Employee("a", max_consecutive_shifts=3, history=("D", "D", "D"))
    p = RosterProblem(days=4, shift_types=[DAY], employees=[emp], cover=daily(4, "D", 1), edge_rule=EdgeRule.HISTORY)
    result = solve(p, time_limit=10, workers=2)
    assert ("a", 0) not in result.assignment  # a fourth day in a row is not allowed
    assert result.objective == 100
    assert_checked(p, result)


def test_fairness_spreads_nights():
    emps = [Employee(x) for x in "abcd"]
    p = RosterProblem(
        days=8, shift_types=[NIGHT], employees=emps, cover=daily(8, "N", 1),
        requests=[ShiftRequest("a", d, "N", 1, on=True) for d in range(8)],
        fairness=Fairness(night_weight=5),
    )
    result = solve(p, time_limit=10, workers=2)
    assert_checked(p, result)
    nights = [sum(1 for (e, _), s in result.assignment.items() if e == x and s == "N") for x in "abcd"]
    assert nights == [2, 2, 2, 2]  # a would like all eight, but each night above the mean costs 5
    assert result.cost_by_rule["fairness_nights"] == 0


def test_lock_conflicts_are_reported_before_solving():
    p = RosterProblem(
        days=5, shift_types=[DAY, NIGHT],
        employees=[Employee("a", max_shifts_by_type={"N": 0}), Employee("b")],
        cover=daily(5, "D", 1), days_off={("b", 1)},
        locks={("a", 0): "N", ("b", 1): "D", ("b", 2): "N", ("b", 3): "D"},
    )
    messages = lock_conflicts(p)
    assert "a on day 0: locked onto N, which a's contract does not allow" in messages
    assert "b on day 1: locked onto D on a day off" in messages
    assert "b on day 2: locked onto N and day 3 onto D, which may not follow N" in messages
    result = solve(p, time_limit=5, workers=2)
    assert result.status == "infeasible"
    assert result.messages == messages
    assert result.assignment == {}


def test_a_minimum_nobody_can_fill_names_each_persons_reason():
    p = RosterProblem(
        days=2, shift_types=[DAY],
        employees=[
            Employee("a", skills=frozenset({"charge"})),
            Employee("b"),
            Employee("c", skills=frozenset({"charge"}), max_shifts_by_type={"D": 0}),
        ],
        cover=[Cover(0, "D", preferred=2, minimum=2, skill="charge")],
        days_off={("a", 0)},
    )
    gaps = quick_gaps(p)
    assert len(gaps) == 1
    gap = gaps[0]
    assert (gap.day, gap.shift, gap.skill, gap.needed, gap.possible) == (0, "D", "charge", 2, 0)
    assert gap.reasons == ["a: day off", "b: lacks charge", "c: contract allows no D shifts"]
    result = solve(p, time_limit=5, workers=2)
    assert result.status == "infeasible"
    assert result.gaps == gaps


def test_a_minimum_the_sequence_rules_prevent_is_explained_from_a_softened_roster():
    # one person, needed every day of 7, may work at most 5 in a row: each person could work any one
    # day, so only the softened solve finds the short line
    p = RosterProblem(
        days=7, shift_types=[DAY], employees=[Employee("a", max_consecutive_shifts=5)],
        cover=daily(7, "D", 1, minimum=1),
    )
    assert quick_gaps(p) == []
    result = solve(p, time_limit=4, workers=2)
    assert result.status == "infeasible"
    assert result.objective is None
    assert len(result.gaps) == 1  # six of the seven days can be worked
    for gap in result.gaps:
        assert gap.needed == 1 and gap.possible == 0
        assert gap.reasons == ["a: would work more than 5 shifts in a row"]


def test_progress_is_reported_and_stop_ends_the_search_early():
    emps = [Employee(f"e{i}", max_consecutive_shifts=4, min_consecutive_days_off=2, max_weekends=2) for i in range(12)]
    p = RosterProblem(
        days=28, shift_types=[DAY, EVE, NIGHT], employees=emps,
        cover=daily(28, "D", 3) + daily(28, "E", 2) + daily(28, "N", 2),
    )
    stop = threading.Event()
    seen = []

    def progress(step):
        seen.append(step)
        stop.set()

    result = solve(p, time_limit=60, workers=2, on_progress=progress, stop=stop)
    assert result.seconds < 20
    assert seen and seen[0].phase == "first" and seen[-1].phase == "done"
    assert result.assignment
    assert_checked(p, result)


def test_a_hint_is_the_first_roster():
    p = RosterProblem(days=7, shift_types=[DAY], employees=[Employee("a"), Employee("b")], cover=daily(7, "D", 1))
    hint = {("a", d): "D" for d in range(7)}
    first = []
    result = solve(p, time_limit=5, workers=2, hint=hint, on_progress=first.append)
    assert first[0].objective == 0
    assert result.objective == 0
    assert_checked(p, result)
