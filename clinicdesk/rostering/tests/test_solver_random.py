"""Random small plans: whatever the solver returns keeps every hard rule and costs what the checker says."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinicdesk.rostering.checker import check
from clinicdesk.rostering.solver import solve
from clinicdesk.rostering.solver.problem import (
    Cover,
    EdgeRule,
    Employee,
    Fairness,
    RosterProblem,
    ShiftRequest,
    ShiftType,
)

SHIFTS = [
    ShiftType("D", 480),
    ShiftType("E", 480, start_minute=900, forbidden_next=frozenset({"D"})),
    ShiftType("N", 600, start_minute=1320, forbidden_next=frozenset({"D", "E"}), is_night=True),
]


@st.composite
def problems(draw) -> RosterProblem:
    days = draw(st.integers(3, 10))
    types = SHIFTS[: draw(st.integers(1, 3))]
    ids = [t.id for t in types]
    n = draw(st.integers(1, 4))
    history_rule = draw(st.booleans())
    emps = []
    for i in range(n):
        emps.append(
            Employee(
                id=f"e{i}",
                skills=frozenset({"charge"}) if draw(st.booleans()) else frozenset(),
                max_shifts_by_type={s: draw(st.integers(0, days)) for s in ids if draw(st.booleans())},
                max_minutes=draw(st.sampled_from([None, 2400, 4800])),
                max_consecutive_shifts=draw(st.sampled_from([None, 2, 3, 5])),
                min_consecutive_shifts=draw(st.integers(1, 3)),
                min_consecutive_days_off=draw(st.integers(1, 2)),
                max_weekends=draw(st.sampled_from([None, 0, 1])),
                history=tuple(draw(st.lists(st.sampled_from([None, *ids]), max_size=3))) if history_rule else (),
            )
        )
    cover = []
    for d in range(days):
        for s in ids:
            if draw(st.booleans()):
                cover.append(Cover(d, s, preferred=draw(st.integers(0, 2)), weight_under=draw(st.sampled_from([10, 100])),
                                   weight_over=draw(st.integers(0, 3))))
            if draw(st.integers(0, 5)) == 0:
                cover.append(Cover(d, s, preferred=1, skill="charge", weight_under=30))
    requests = [
        ShiftRequest(f"e{draw(st.integers(0, n - 1))}", draw(st.integers(0, days - 1)),
                     draw(st.sampled_from([None, *ids])) if not on else draw(st.sampled_from(ids)),
                     draw(st.integers(1, 9)), on=on)
        for on in draw(st.lists(st.booleans(), max_size=6))
    ]
    fairness = Fairness(
        night_weight=draw(st.integers(0, 3)), weekend_weight=draw(st.integers(0, 3)),
        holiday_weight=draw(st.integers(0, 3)), holidays=frozenset(draw(st.sets(st.integers(0, days - 1), max_size=2))),
    )
    days_off = {(f"e{draw(st.integers(0, n - 1))}", draw(st.integers(0, days - 1))) for _ in range(draw(st.integers(0, 3)))}
    return RosterProblem(
        days=days, shift_types=types, employees=emps, cover=cover, requests=requests, days_off=days_off,
        fairness=fairness, edge_rule=EdgeRule.HISTORY if history_rule else EdgeRule.LENIENT,
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_solver_objective_equals_checker_objective(problem):
    result = solve(problem, time_limit=2.0, workers=1)
    if result.objective is None:
        assert result.status in {"infeasible", "unknown"}
        return
    report = check(problem, result.assignment)
    assert report.hard_violations == []
    assert report.objective == result.objective
    assert report.cost_by_rule == result.cost_by_rule
    if result.status == "optimal":
        assert result.bound == result.objective
