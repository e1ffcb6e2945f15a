"""The independent checker on hand-built rosters whose broken rules and cost are known."""

from __future__ import annotations

from clinicdesk.rostering.checker import check
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
NIGHT = ShiftType("N", 600, forbidden_next=frozenset({"D"}), is_night=True)


def problem(**kw) -> RosterProblem:
    base = {"days": 7, "shift_types": [DAY, NIGHT], "employees": [Employee("a"), Employee("b")], "cover": []}
    base.update(kw)
    return RosterProblem(**base)


def test_empty_roster_of_an_empty_plan_is_clean_and_free():
    report = check(problem(), {})
    assert report.hard_violations == []
    assert report.objective == 0


def test_forbidden_succession_is_reported_with_the_day():
    report = check(problem(), {("a", 2): "N", ("a", 3): "D"})
    assert report.hard_violations == ["a: D on day 3 right after N"]


def test_succession_across_the_start_is_checked_only_with_history():
    emp = Employee("a", history=("N",))
    assert check(problem(employees=[emp]), {("a", 0): "D"}).hard_violations == []
    bad = check(problem(employees=[emp], edge_rule=EdgeRule.HISTORY), {("a", 0): "D"}).hard_violations
    assert bad == ["a: D on day 0 right after N"]


def test_day_off_lock_and_type_maximum():
    p = problem(
        employees=[Employee("a", max_shifts_by_type={"N": 0, "D": 1}), Employee("b")],
        days_off={("b", 1)},
        locks={("b", 4): "D"},
    )
    report = check(p, {("a", 0): "N", ("a", 2): "D", ("a", 4): "D", ("b", 1): "D"})
    assert sorted(report.hard_violations) == sorted(
        [
            "b works D on day 1, a day off",
            "b day 4: locked to D, has off",
            "a: 1 N shifts, the contract allows 0",
            "a: 2 D shifts, the contract allows 1",
        ]
    )


def test_minutes_bounds():
    p = problem(employees=[Employee("a", min_minutes=960, max_minutes=1000)])
    assert check(p, {("a", 0): "D"}).hard_violations == ["a: 480 minutes, fewer than the minimum 960"]
    assert check(p, {("a", 0): "D", ("a", 2): "N"}).hard_violations == ["a: 1080 minutes, more than the maximum 1000"]


def test_consecutive_rules_with_lenient_edges():
    emp = Employee("a", max_consecutive_shifts=3, min_consecutive_shifts=2, min_consecutive_days_off=2)
    p = problem(employees=[emp])
    # a one-day block inside the plan breaks the minimum; the same block on day 0 or day 6 is exempt
    assert check(p, {("a", 3): "D"}).hard_violations == ["a: 1 shifts in a row from day 3, min 2"]
    assert check(p, {("a", 0): "D"}).hard_violations == []
    assert check(p, {("a", 6): "D"}).hard_violations == []
    # four in a row breaks the maximum; one day off between blocks breaks the minimum days off
    four = {("a", d): "D" for d in range(1, 5)}
    assert check(p, four).hard_violations == ["a: 4 shifts in a row ending day 4, max 3"]
    gap = {("a", 1): "D", ("a", 2): "D", ("a", 4): "D", ("a", 5): "D"}
    assert check(p, gap).hard_violations == ["a: 1 days off in a row from day 3, min 2"]


def test_history_counts_towards_runs():
    emp = Employee("a", max_consecutive_shifts=3, min_consecutive_shifts=2, history=(None, "D", "D", "D"))
    p = problem(employees=[emp], edge_rule=EdgeRule.HISTORY)
    assert check(p, {("a", 0): "D"}).hard_violations == ["a: 4 shifts in a row ending day 0, max 3"]
    short = Employee("a", min_consecutive_shifts=3, history=(None, "D"))
    p = problem(employees=[short], edge_rule=EdgeRule.HISTORY)
    assert check(p, {("a", 0): "D", ("a", 1): "D"}).hard_violations == []  # 1 + 2 days = 3
    assert check(p, {("a", 0): "D"}).hard_violations == ["a: 2 shifts in a row from day -1, min 3"]
    assert check(p, {}).hard_violations == ["a: 1 shifts in a row from day -1, min 3"]


def test_weekends_follow_weekend_days_and_start_date():
    import datetime as dt

    emp = Employee("a", max_weekends=1)
    p = problem(days=14, employees=[emp])
    assert check(p, {("a", 5): "D", ("a", 13): "D"}).hard_violations == ["a: works 2 weekends, max 1"]
    assert check(p, {("a", 5): "D", ("a", 6): "D"}).hard_violations == []
    # starting on a Saturday: day 0 and day 1 are the first weekend
    p = problem(days=14, employees=[emp], start=dt.date(2026, 11, 28))
    assert check(p, {("a", 0): "D", ("a", 7): "D"}).hard_violations == ["a: works 2 weekends, max 1"]


def test_cover_costs_under_and_over_and_hard_minimum():
    p = problem(
        cover=[
            Cover(0, "D", preferred=2, minimum=1, weight_under=100, weight_over=1),
            Cover(1, "D", preferred=1, weight_under=100, weight_over=7),
        ]
    )
    report = check(p, {("a", 1): "D", ("b", 1): "D"})
    assert report.hard_violations == ["day 0 D: 0 staff, the minimum is 1"]
    assert report.cost_by_rule["cover_under"] == 200
    assert report.cost_by_rule["cover_over"] == 7
    assert report.objective == 207


def test_skilled_people_count_on_one_line_each_the_cheapest_way():
    charge = Employee("c", skills=frozenset({"charge"}))
    p = problem(
        employees=[charge, Employee("a"), Employee("b")],
        cover=[
            Cover(0, "D", preferred=1, skill="charge", weight_under=50),
            Cover(0, "D", preferred=2, weight_under=10),
        ],
    )
    # c covers charge, a and b the general line: no cost
    assert check(p, {("c", 0): "D", ("a", 0): "D", ("b", 0): "D"}).objective == 0
    # with c and a only: c on charge (general short 1 = 10) beats c on general (charge short = 50)
    assert check(p, {("c", 0): "D", ("a", 0): "D"}).cost_by_rule["cover_under"] == 10
    # a person without the skill cannot fill the charge line
    assert check(p, {("a", 0): "D", ("b", 0): "D"}).cost_by_rule["cover_under"] == 50


def test_requests_on_off_and_any_shift():
    p = problem(
        requests=[
            ShiftRequest("a", 0, "D", 3, on=True),
            ShiftRequest("a", 1, "N", 5, on=False),
            ShiftRequest("b", 2, None, 11, on=False),
            ShiftRequest("b", 3, "D", 13, on=True),
        ]
    )
    report = check(p, {("a", 0): "N", ("a", 1): "N", ("b", 2): "D", ("b", 3): "D"})
    assert report.cost_by_rule["request_on"] == 3
    assert report.cost_by_rule["request_off"] == 16
    assert report.objective == 19


def test_fairness_charges_each_unit_above_the_rounded_mean():
    p = problem(
        days=14,
        employees=[Employee("a"), Employee("b"), Employee("c")],
        fairness=Fairness(night_weight=4, weekend_weight=2, holiday_weight=5, holidays=frozenset({3})),
    )
    roster = {("a", 0): "N", ("a", 2): "N", ("a", 4): "N", ("a", 3): "N", ("b", 5): "D", ("b", 12): "D"}
    report = check(p, roster)
    # nights 4/0/0: mean round(4/3) = 1, a is 3 above; weekends 0/2/0: mean 1, b is 1 above;
    # holidays 1/0/0: mean round(1/3) = 0, a is 1 above
    assert report.cost_by_rule["fairness_nights"] == 12
    assert report.cost_by_rule["fairness_weekends"] == 2
    assert report.cost_by_rule["fairness_holidays"] == 5
    assert report.hard_violations == []


def test_unknown_shift_and_day_outside_the_plan_are_violations():
    report = check(problem(), {("a", 0): "X", ("b", 9): "D"})
    assert "a day 0: unknown shift X" in report.hard_violations
    assert "b: day 9 is outside the plan" in report.hard_violations
