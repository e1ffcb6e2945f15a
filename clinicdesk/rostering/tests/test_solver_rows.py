"""One person's best row by dynamic programme against CP-SAT on the same row, and the moves built on it."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinicdesk.rostering.checker import check
from clinicdesk.rostering.solver.construct import _row_ok, greedy_roster
from clinicdesk.rostering.solver.model import build_model, forced_cells
from clinicdesk.rostering.solver.problem import (
    Cover,
    EdgeRule,
    Employee,
    Fairness,
    RosterProblem,
    ShiftRequest,
    ShiftType,
)
from clinicdesk.rostering.solver.rows import MAX_COUNTED, RowSearch
from clinicdesk.rostering.solver.search import MINIMUM_WEIGHT, cells_to_assignment, fixed_costs, run_model

SHIFTS = [
    ShiftType("D", 480),
    ShiftType("E", 480, forbidden_next=frozenset({"D"})),
    ShiftType("N", 600, forbidden_next=frozenset({"D", "E"})),
]
CURTOIS = Path(__file__).resolve().parents[4] / "shared" / "data" / "rostering" / "curtois"


@st.composite
def plans(draw):
    """A plan whose cover cost depends only on head counts (no skills, no fairness), and a roster of the others."""
    days = draw(st.integers(5, 16))
    types = SHIFTS[: draw(st.integers(1, 3))]
    ids = [t.id for t in types]
    n = draw(st.integers(2, 4))
    history_rule = draw(st.booleans())
    maxima = draw(st.booleans())
    few = draw(st.booleans())  # small maxima, which bind more often
    emps = []
    for i in range(n):
        # a contract whose maximum run is shorter than its minimum run is left out: see `RowSearch`
        least = draw(st.integers(1, 3))
        emps.append(Employee(
            id=f"e{i}",
            max_shifts_by_type={s: draw(st.integers(0, 3 if few else days)) for s in ids if maxima and draw(st.booleans())},
            min_minutes=draw(st.sampled_from([0, 480, 1440, 2400])),
            max_minutes=draw(st.sampled_from([None, 2400, 3360, 4800])),
            max_consecutive_shifts=draw(st.sampled_from([None, *(k for k in (2, 3, 5) if k >= least)])),
            min_consecutive_shifts=least,
            min_consecutive_days_off=draw(st.integers(1, 3)),
            max_weekends=draw(st.sampled_from([None, 0, 1, 2])),
            history=tuple(draw(st.lists(st.sampled_from([None, *ids]), max_size=3))) if history_rule else (),
        ))
    cover = [
        Cover(d, s, preferred=draw(st.integers(0, 2)), minimum=draw(st.sampled_from([0, 0, 1])),
              weight_under=draw(st.sampled_from([10, 100])), weight_over=draw(st.integers(0, 3)))
        for d in range(days) for s in ids if draw(st.booleans())
    ]
    requests = [
        ShiftRequest(f"e{draw(st.integers(0, n - 1))}", draw(st.integers(0, days - 1)),
                     draw(st.sampled_from([None, *ids])) if not on else draw(st.sampled_from(ids)),
                     draw(st.integers(1, 9)), on=on)
        for on in draw(st.lists(st.booleans(), max_size=8))
    ]
    days_off = {(f"e{draw(st.integers(0, n - 1))}", draw(st.integers(0, days - 1))) for _ in range(draw(st.integers(0, 3)))}
    locks = {}
    for _ in range(draw(st.integers(0, 2))):
        key = (f"e{draw(st.integers(0, n - 1))}", draw(st.integers(0, days - 1)))
        if key not in days_off:
            locks[key] = draw(st.sampled_from([None, *ids]))
    problem = RosterProblem(
        days=days, shift_types=types, employees=emps, cover=cover, requests=requests, days_off=days_off, locks=locks,
        edge_rule=EdgeRule.HISTORY if history_rule else EdgeRule.LENIENT,
    )
    others = {(ei, d): draw(st.sampled_from([None, *range(len(types))])) for ei in range(1, n) for d in range(days)}
    return problem, others


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_best_row_is_the_row_cp_sat_proves_best(plan):
    problem, others = plan
    forced, broken = forced_cells(problem)
    if broken:
        return
    rows = RowSearch(problem, forced, MINIMUM_WEIGHT)
    assert rows.enabled
    rm = build_model(problem, fixed=others, soft_minimum=True, minimum_weight=MINIMUM_WEIGHT, forced=forced)
    status, cells, optimum, _ = run_model(rm, seconds=20, workers=1)
    assert status in {"OPTIMAL", "INFEASIBLE"}
    counts_cells = {**others, **{(0, d): forced.get((0, d)) for d in range(problem.days)}}
    work, off = rows.row_costs(0, counts_cells, rows.counts(counts_cells))
    row = rows.best_row(0, work, off)
    if status == "INFEASIBLE":
        assert row is None
        return
    # one per-type maximum is kept exactly (counted) when it is small; with two or more the others are priced,
    # which may miss
    maxima = rows.contracts[0].maxima
    binding_maxima = len(maxima) > 1 or any(limit >= MAX_COUNTED for limit in maxima.values())
    if row is None:
        assert binding_maxima, "no row found though one keeps the contract (and at most one per-type maximum)"
        return
    assert _row_ok(problem, 0, row), row
    found = {**others, **{(0, d): si for d, si in enumerate(row)}}
    total = rows.total(found)
    # the programme's cost is the roster's true cost, as the model counts it
    assert total == sum(fixed_costs(problem, found, forced, soft_minimum=True).values())
    if binding_maxima:
        assert total >= optimum
    else:
        assert total == optimum


def test_rows_are_off_for_skills_and_fairness():
    emp = Employee("a")
    plain = RosterProblem(days=7, shift_types=SHIFTS[:1], employees=[emp], cover=[Cover(0, "D", 1)])
    assert RowSearch(plain, {}, MINIMUM_WEIGHT).enabled
    skilled = RosterProblem(days=7, shift_types=SHIFTS[:1], employees=[emp], cover=[Cover(0, "D", 1, skill="charge")])
    assert not RowSearch(skilled, {}, MINIMUM_WEIGHT).enabled
    fair = RosterProblem(days=7, shift_types=SHIFTS[:1], employees=[emp], cover=[Cover(0, "D", 1)],
                         fairness=Fairness(weekend_weight=2))
    assert not RowSearch(fair, {}, MINIMUM_WEIGHT).enabled


def test_descend_and_ruin_recreate_keep_every_rule_and_lower_the_cost():
    if not CURTOIS.is_dir():
        pytest.skip(f"the Curtois & Qu instances are not here ({CURTOIS}): a fresh clone has no ../shared")
    from clinicdesk.rostering.curtois import read_instance

    problem = read_instance(CURTOIS / "Instance8.txt")
    forced, _ = forced_cells(problem)
    rows = RowSearch(problem, forced, MINIMUM_WEIGHT)
    start = greedy_roster(problem, forced, seed=3)
    broken = [ei for ei in range(len(problem.employees)) if not _row_ok(problem, ei, [start[ei, d] for d in range(28)])]
    assert broken, "this seed's patterns leave a row to repair"
    start = rows.repair(start, broken)
    before = check(problem, cells_to_assignment(problem, start))
    assert before.ok, before.hard_violations
    assert rows.total(start) == before.objective
    rng = random.Random(5)
    cells, gain = rows.descend(start, rng)
    after = check(problem, cells_to_assignment(problem, cells))
    assert after.ok, after.hard_violations[:3]
    assert gain > 0 and after.objective == before.objective - gain
    # a local optimum: no single row improves any more
    counts = rows.counts(cells)
    assert all(rows.improve_row(ei, dict(cells), counts.copy()) == 0 for ei in range(len(problem.employees)))
    found = rows.ruin_recreate(cells, [0, 1, 2], rng)
    assert found is not None
    again, change = found
    report = check(problem, cells_to_assignment(problem, again))
    assert report.ok and report.objective == after.objective - change


def test_row_costs_are_what_each_row_changes_in_the_whole_cost():
    # the cover costs a row pays are read from arrays: check them against the whole cost, cell by cell
    shifts = SHIFTS[:2]
    cover = [Cover(d, s.id, minimum=int(d % 3 == 0), preferred=1 + d % 2, weight_under=7, weight_over=2) for d in range(7) for s in shifts]
    people = [Employee(f"e{i}", max_consecutive_shifts=5) for i in range(3)]
    requests = [ShiftRequest("e0", 2, "D", 3, on=False), ShiftRequest("e1", 4, None, 5, on=False), ShiftRequest("e2", 5, "E", 4, on=True)]
    problem = RosterProblem(days=7, shift_types=shifts, employees=people, cover=cover, requests=requests)
    rows = RowSearch(problem, {}, MINIMUM_WEIGHT)
    rng = random.Random(1)
    cells = {(ei, d): rng.choice([None, 0, 1]) for ei in range(3) for d in range(7)}
    counts = rows.counts(cells)
    for ei in range(3):
        work, off = rows.row_costs(ei, cells, counts)
        for d in range(7):
            costs = {}
            for si in (None, 0, 1):
                changed = dict(cells)
                changed[ei, d] = si
                costs[si] = rows.total(changed)
            assert costs[0] - costs[None] == work[d, 0] - off[d]
            assert costs[1] - costs[None] == work[d, 1] - off[d]


def test_the_walk_of_row_moves_offers_checked_rosters_below_its_start():
    if not CURTOIS.is_dir():
        pytest.skip(f"the Curtois & Qu instances are not here ({CURTOIS}): a fresh clone has no ../shared")
    from clinicdesk.rostering.curtois import read_instance
    from clinicdesk.rostering.solver.search import WALK_MEMORY, Search

    problem = read_instance(CURTOIS / "Instance8.txt")
    offered = []
    search = Search(problem, time_limit=60, workers=1, on_progress=None, hint=None, stop=None, seed=2,
                    on_roster=lambda assignment, objective: offered.append((assignment, objective)))
    start = search.rows.repair(greedy_roster(problem, search.forced, seed=3), list(range(len(problem.employees))))
    search.offer(start, search.rows.total(start), "first")
    search.rows_from = search.best  # as after the descent on a new best roster: the walk starts from it
    first = search.best_obj
    worse = 0
    for _ in range(15):
        search.row_walk(lambda: False)
        worse += search.walk_cost > search.best_obj
    assert len(search.walk_history) == WALK_MEMORY and search.walk_steps > 50
    assert search.best_obj < first
    assert worse, "the walk took a move worse than the best roster at some point"
    for assignment, objective in offered[1:]:
        report = check(problem, assignment)
        assert report.ok and report.objective == objective


def test_aimed_moves_take_someone_who_may_work_a_short_line_and_people_with_room():
    # given: day 0's early shift is one short; a works day 0, b rests then and may work it, c has no room left
    shifts = SHIFTS[:2]
    people = [Employee("a"), Employee("b", max_minutes=2 * 480), Employee("c", max_minutes=480),
              Employee("d", max_shifts_by_type={"D": 0})]
    cover = [Cover(0, "D", 2), Cover(1, "E", 1)]
    problem = RosterProblem(days=7, shift_types=shifts, employees=people, cover=cover)
    rows = RowSearch(problem, {}, MINIMUM_WEIGHT)
    cells = {(ei, d): None for ei in range(4) for d in range(7)}
    cells[0, 0] = 0
    cells[2, 1] = 1
    cells[3, 1] = 1
    for seed in range(20):
        # when
        people_drawn = rows.aimed_people(cells, rows.counts(cells), random.Random(seed), 2)
        # then: the first may take day 0's early shift (resting then, the type allowed: b or c, never a or d), and
        # the second has room for one more shift of that length (never c, who has worked its 480 minutes)
        first, second = people_drawn
        assert first in (1, 2)
        assert second in (0, 1, 3) and second != first
    cells[1, 0] = 0  # now every line is met (the early shift and day 1's late one)
    assert rows.aimed_people(cells, rows.counts(cells), random.Random(0), 3) is None
