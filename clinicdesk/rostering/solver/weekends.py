"""Weekends first: on a large plan whose weekends are scarce, the whole team's weekend shifts planned at once.

When the team's weekend maxima give little more weekend shifts than the cover asks for (or fewer), nearly every
weekend must be worked on both days, and by the right people on the right types. The neighbourhood search sees a
few people or a few days at a time, and on a large plan it seldom finds the chains of changes that make a weekend
whole. Measured on Instance 13 (120 people, 18 shift types, weekend supply 500 for 482 shifts wanted), 60 s runs
of the search alone ended between 2,854 and 3,719, their cover short almost only on Saturdays and Sundays.

So the weekends are planned first, as a model of their own: every person's weekend cells, with one shift a day,
forbidden successions inside a weekend, per-type maxima, the maximum number of weekends and of minutes, the
weekend cover lines and the requests that fall on weekend days. It is small (Instance 13: about 13,000 literals)
and CP-SAT plans the whole team's weekends in a few seconds. The plan ignores what binds a weekend to the days
around it, so a person whose contract cannot be kept with their planned weekends (the row programme finds no
row) keeps their weekends free. The search then runs with the planned weekend cells locked for part of the time,
and its roster is where the search on the whole plan starts.
"""

from __future__ import annotations

from collections import defaultdict

from ortools.sat.python import cp_model

from .model import Cells, allowed_types, weekend_groups
from .problem import Assignment, RosterProblem
from .rows import RowSearch

WEEKEND_FIRST_SIZE = 20_000  # free shift literals from which a plan counts as large
WEEKEND_FIRST_DAYS = 100  # plans up to this many days (a year's plan of weekends is too big a model to plan first)
# Time limits from which the weekends are planned first: on Instance 13 at 10 s the search with them locked had too
# little time left (5,685 against 4,963 and 5,068 without).
WEEKEND_FIRST_SECONDS = 30.0
WEEKEND_TIGHT = 1.1  # weekend shifts the maxima allow, per shift wanted, up to which weekends count as scarce


def weekend_supply(problem: RosterProblem) -> tuple[int, int | None]:
    """(weekend shifts the cover wants, at most the team can give by its weekend maxima; None: no limit)."""
    groups = weekend_groups(problem)
    weekend_days = {d for g in groups for d in g}
    wanted = sum(c.preferred for c in problem.cover if c.day in weekend_days)
    longest = max((len(g) for g in groups), default=0)
    supply = 0
    for emp in problem.employees:
        if emp.max_weekends is None:
            return wanted, None
        supply += min(emp.max_weekends, len(groups)) * longest
    return wanted, supply


def weekends_come_first(problem: RosterProblem, full_size: int, time_limit: float) -> bool:
    """A large plan, up to WEEKEND_FIRST_DAYS long, whose weekend maxima give at most WEEKEND_TIGHT weekend shifts
    per shift wanted, solved for at least WEEKEND_FIRST_SECONDS."""
    if full_size < WEEKEND_FIRST_SIZE or problem.days > WEEKEND_FIRST_DAYS or time_limit < WEEKEND_FIRST_SECONDS:
        return False
    wanted, supply = weekend_supply(problem)
    return wanted > 0 and supply is not None and supply <= WEEKEND_TIGHT * wanted


class WeekendModel:
    """The weekend cells of the whole team as a model of their own (see the module docstring)."""

    def __init__(self, problem: RosterProblem, forced: Cells, rows: RowSearch):
        """`rows` must be enabled (`RowSearch.enabled`): cover lines with a skill are not modelled here."""
        self.problem, self.forced, self.rows = problem, forced, rows
        groups = weekend_groups(problem)
        shifts = problem.shift_types
        model = self.model = cp_model.CpModel()
        x = self.x = {}
        on_line: dict[tuple[int, int], list] = defaultdict(list)
        on_day: dict[tuple[int, int], list] = {}  # (person, day) -> that day's literals
        for ei, emp in enumerate(problem.employees):
            types = allowed_types(problem, emp)
            worked, mine = [], []
            for group in groups:
                here = []
                for d in group:
                    if (ei, d) in forced and forced[ei, d] is None:
                        continue
                    day = []
                    for t in types:
                        v = model.new_bool_var(f"x{ei}_{d}_{t}")
                        x[ei, d, t] = v
                        on_line[d, t].append(v)
                        day.append(v)
                        mine.append((t, v))
                        if forced.get((ei, d)) is not None:
                            model.add(v == int(forced[ei, d] == t))
                    model.add_at_most_one(day)
                    on_day[ei, d] = day
                    here.extend(day)
                for d in group[:-1]:
                    for t in types:
                        for u in types:
                            if shifts[u].id in shifts[t].forbidden_next and (ei, d, t) in x and (ei, d + 1, u) in x:
                                model.add_bool_or([x[ei, d, t].Not(), x[ei, d + 1, u].Not()])
                if here:
                    w = model.new_bool_var(f"w{ei}_{group[0]}")
                    for v in here:
                        model.add_implication(v, w)
                    worked.append(w)
            if emp.max_weekends is not None and worked:
                model.add(sum(worked) <= emp.max_weekends)
            for t in types:
                limit = emp.max_shifts_by_type.get(shifts[t].id)
                if limit is not None:
                    model.add(sum(v for u, v in mine if u == t) <= limit)
            if emp.max_minutes is not None:
                model.add(sum(shifts[t].length_minutes * v for t, v in mine) <= emp.max_minutes)
        costs = []
        for (d, t), c in rows.lines.items():
            if not rows.weekend[d]:
                continue
            under = model.new_int_var(0, c.preferred, f"u{d}_{t}")
            over = model.new_int_var(0, len(problem.employees), f"o{d}_{t}")
            model.add(sum(on_line.get((d, t), [])) + under - over == c.preferred)
            costs += [c.weight_under * under, c.weight_over * over]
        for ei, wishes in rows.requests.items():
            for d, t, weight, on in wishes:
                if not rows.weekend[d]:
                    continue
                if t is None:  # a day off wished for: any shift that day pays
                    costs.append(weight * sum(on_day.get((ei, d), [])))
                elif t >= 0 and (ei, d, t) in x:
                    costs.append(weight * (1 - x[ei, d, t]) if on else weight * x[ei, d, t])
        model.minimize(sum(costs))

    def locks(self, value) -> Assignment:
        """From a solution (`value` of a literal): (employee, day) -> shift for the planned weekend cells of
        everyone whose contract can still be kept with them (the row programme finds a row, no one else counted)."""
        planned: dict[int, dict[int, int]] = defaultdict(dict)
        for (ei, d, t), v in self.x.items():
            if value(v) and self.forced.get((ei, d)) is None:
                planned[ei][d] = t
        out: Assignment = {}
        for ei, cells in planned.items():
            work, off = self.rows.own_costs(ei)
            for d, t in cells.items():
                keep = work[d, t]
                work[d, :] = float("inf")
                work[d, t] = keep
                off[d] = float("inf")
            if self.rows.best_row(ei, work, off) is not None:
                emp_id = self.problem.employees[ei].id
                out.update({(emp_id, d): self.problem.shift_types[t].id for d, t in cells.items()})
        return out
