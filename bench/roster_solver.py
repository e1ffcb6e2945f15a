#!/usr/bin/env python
"""The roster solver on a product-size plan: 4 weeks of a 40-person 24/7 unit.

Three shifts (day 07-15, evening 15-23, night 23-07; no day after an evening or a night, no evening
after a night), two skills (every nurse is an RN, 10 are charge nurses), 28 full-time contracts (16-20
shifts) and 12 part-time (8-12), at most 5 shifts in a row, at least 2 days off together, at most 2 of
the 4 weekends, at most 8 nights (4 for a third of the staff); hard minimum cover with a preferred level above it and a charge nurse
on every shift; about 3 requests and 2 days off a person; nights, weekends and one public holiday
spread fairly. The plan is generated from a fixed seed, so every run solves the same plan.

Prints the seconds to the first roster that keeps every hard rule (target <= 5 s) and, at the time
limit, the objective, the solver's lower bound and the gap between them (target <= 2 %).

    .venv/bin/python bench/roster_solver.py [--time-limit 60] [--workers 2] [--seed 7]

Never run as a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clinicdesk.rostering.checker import check  # noqa: E402
from clinicdesk.rostering.solver import solve  # noqa: E402
from clinicdesk.rostering.solver.problem import (  # noqa: E402
    Cover,
    Employee,
    Fairness,
    RosterProblem,
    ShiftRequest,
    ShiftType,
)
from clinicdesk.rostering.solver.search import MINIMUM_WEIGHT  # noqa: E402

DAYS = 28


def unit(seed: int) -> RosterProblem:
    rng = random.Random(seed)
    shifts = [
        ShiftType("D", 480, start_minute=420),
        ShiftType("E", 480, start_minute=900, forbidden_next=frozenset({"D"})),
        ShiftType("N", 480, start_minute=1380, forbidden_next=frozenset({"D", "E"}), is_night=True),
    ]
    emps = []
    for i in range(40):
        full = i < 28
        skills = frozenset({"RN", "charge"}) if i % 4 == 0 else frozenset({"RN"})
        max_by_type = {"N": 4} if i % 3 == 1 else {"N": 8}
        emps.append(
            Employee(
                id=f"n{i:02d}",
                skills=skills,
                max_shifts_by_type=max_by_type,
                min_minutes=(16 if full else 8) * 480,
                max_minutes=(20 if full else 12) * 480,
                max_consecutive_shifts=5,
                min_consecutive_shifts=2,
                min_consecutive_days_off=2,
                max_weekends=2,
            )
        )
    cover = []
    for d in range(DAYS):
        weekend = d % 7 >= 5
        for sid, preferred, minimum in (("D", 7, 5), ("E", 5, 4), ("N", 4, 3)):
            if weekend:
                preferred, minimum = preferred - 1, minimum - 1
            cover.append(Cover(d, sid, preferred=preferred, minimum=minimum, skill="RN", weight_under=100, weight_over=20))
            cover.append(Cover(d, sid, preferred=1, minimum=1, skill="charge", weight_under=100, weight_over=20))
    requests, days_off = [], set()
    for emp in emps:
        for _ in range(3):
            day = rng.randrange(DAYS)
            if rng.random() < 0.5:
                requests.append(ShiftRequest(emp.id, day, None, rng.randint(2, 10), on=False))
            else:
                requests.append(ShiftRequest(emp.id, day, rng.choice(["D", "E"]), rng.randint(1, 5), on=True))
        first = rng.randrange(DAYS - 1)
        days_off.update({(emp.id, first), (emp.id, first + 1)})
    return RosterProblem(
        days=DAYS, shift_types=shifts, employees=emps, cover=cover, requests=requests, days_off=days_off,
        fairness=Fairness(night_weight=5, weekend_weight=10, holiday_weight=5, holidays=frozenset({17})),
        start=dt.date(2027, 1, 4), name="unit-40",
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    problem = unit(args.seed)
    started = time.monotonic()
    first: list[float] = []

    def progress(step) -> None:
        if not first and 0 <= step.objective < MINIMUM_WEIGHT:
            first.append(time.monotonic() - started)

    result = solve(problem, time_limit=args.time_limit, workers=args.workers, on_progress=progress)
    report = check(problem, result.assignment)
    print(f"plan: {len(problem.employees)} staff, {problem.days} days, {len(problem.cover)} cover lines, "
          f"{len(problem.requests)} requests; time limit {args.time_limit:.0f} s, {args.workers} workers")
    print(f"first roster keeping every hard rule: {first[0]:.2f} s" if first else "no roster keeping every hard rule")
    if result.objective is None:
        print(f"status {result.status}: {result.messages}")
        return 1
    gap = 100.0 * (result.objective - result.bound) / max(result.objective, 1) if result.bound is not None else None
    print(f"status {result.status} after {result.seconds:.1f} s: objective {result.objective}, bound {result.bound}, "
          f"gap {gap:.2f} %" if gap is not None else f"status {result.status}: objective {result.objective}, no bound")
    print("cost by rule: " + ", ".join(f"{k} {v}" for k, v in result.cost_by_rule.items() if v))
    if report.hard_violations or report.objective != result.objective:
        print(f"checker disagrees: {report.hard_violations[:3]} objective {report.objective}")
        return 1
    print("checker: no hard rule broken, same objective")
    return 0


if __name__ == "__main__":
    sys.exit(main())
