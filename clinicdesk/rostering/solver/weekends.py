"""Weekends first: on a large plan whose weekends are just enough, the whole team's weekend shifts planned at once.

When the team's weekend maxima give about as many weekend shifts as the cover asks for, nearly every weekend must
be worked on both days, by the right people on the right types, and each person's weekends must fit their runs and
minutes (a person whose minimum minutes need runs of five days cannot work every other weekend: the weeks between
two worked weekends hold at most three shifts). The neighbourhood search sees a few people or a few days at a time
and seldom finds the chains of changes that make a weekend whole. Measured on Instance 13 (120 people, 18 shift
types, weekend supply 500 for 482 shifts wanted), 60 s runs of the search alone ended between 2,854 and 3,719,
their cover short almost only on Saturdays and Sundays; on Instance 19 (40 people, 516 for 535) the search left
21 to 28 weekends half worked where the best known rosters leave almost none.

So the weekends are planned first, in two models of their own:
1. `SlotModel`: who works on which days, each person's whole row as worked-or-off days under the run rules, the
   weekend maximum, the per-type maxima and the minutes (shifts counted by type, not placed), against each weekend
   day's cover, all types together. Its plan keeps every person's rules but for forbidden successions.
2. `WeekendModel`: the shift types of every person's weekend cells, with the weekend days the first plan left off
   locked off: one shift a day, forbidden successions inside a weekend, per-type maxima, weekends, minutes, the
   weekend cover lines by type and the requests that fall on weekend days.
The typed weekend cells of everyone whose row the row programme can still build with them are then locked for
part of the search, and its roster is where the search on the whole plan starts. Measured at 60 s against the
typed model alone (which could give a third of Instance 19's team weekends their contract cannot hold, so those
people were left free): Instance 19 4,422 / 5,123 / 4,380 (seeds 0-2) against 4,783 and the search alone
5,191 / 5,131 / 4,822; Instance 13 2,793 / 3,497 against 3,472 / 3,565.
"""

from __future__ import annotations

from collections import defaultdict

from ortools.sat.python import cp_model

from .model import Cells, allowed_types, run_rules, weekend_groups
from .problem import Assignment, EdgeRule, RosterProblem
from .rows import RowSearch

# Free shift literals from which a plan counts as large: measured at 60 s with both plans, Instance 8 (2,324
# literals) ended at 1,748 against 1,557 for the search alone, Instance 14 (3,948) at 1,458 against 1,553.
WEEKEND_FIRST_SIZE = 3_000
WEEKEND_FIRST_DAYS = 100  # plans up to this many days (a year's plan of weekends is too big a model to plan first)
# Time limits from which the weekends are planned first: on Instance 13 at 10 s the search with them locked had too
# little time left (5,685 against 4,963 and 5,068 without).
WEEKEND_FIRST_SECONDS = 30.0
# Weekend shifts the maxima allow, per shift wanted, between which the weekends count as just enough. Measured at
# 60 s: with fewer (Instance 18 at 0.87: 5,930 against 5,804; Instance 12 at 0.91: 5,732 against 4,842) every
# weekend is short whatever the plan and the locked search only loses time; with more (Instance 15 at 1.08: 5,295
# against 4,885) the search finds enough weekends by itself.
WEEKEND_SCARCE = 0.95
WEEKEND_TIGHT = 1.05


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
    """A plan of at least WEEKEND_FIRST_SIZE free literals, up to WEEKEND_FIRST_DAYS long, whose weekend maxima give
    between WEEKEND_SCARCE and WEEKEND_TIGHT weekend shifts per shift wanted, solved for at least
    WEEKEND_FIRST_SECONDS."""
    if full_size < WEEKEND_FIRST_SIZE or problem.days > WEEKEND_FIRST_DAYS or time_limit < WEEKEND_FIRST_SECONDS:
        return False
    wanted, supply = weekend_supply(problem)
    return wanted > 0 and supply is not None and WEEKEND_SCARCE * wanted <= supply <= WEEKEND_TIGHT * wanted


class WeekendModel:
    """The shift types of the whole team's weekend cells (the second plan of the module docstring); `forced` holds
    the weekend days the first plan left off."""

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


class SlotModel:
    """Who works on which days (the first plan of the module docstring): each person's whole row as worked-or-off
    days under the run rules, the weekend maximum, the per-type maxima (shifts counted by type) and the minutes; the
    cost is each weekend day's cover, all types together, at the heaviest weights of its lines."""

    def __init__(self, problem: RosterProblem, forced: Cells, rows: RowSearch):
        self.problem, self.forced, self.rows = problem, forced, rows
        model = self.model = cp_model.CpModel()
        groups = weekend_groups(problem)
        weekend_days = [d for g in groups for d in g]
        shifts = problem.shift_types
        history = problem.edge_rule == EdgeRule.HISTORY
        self.y = {}
        on_day: dict[int, list] = defaultdict(list)
        fixed_on: dict[int, int] = defaultdict(int)
        for ei, emp in enumerate(problem.employees):
            types = allowed_types(problem, emp)
            work: list = []
            for d in range(problem.days):
                if (ei, d) in forced:
                    work.append(0 if forced[ei, d] is None else 1)
                    fixed_on[d] += work[-1]
                elif not types:
                    work.append(0)
                else:
                    v = self.y[ei, d] = model.new_bool_var(f"y{ei}_{d}")
                    work.append(v)
                    on_day[d].append(v)
            run_rules(model, emp, work, [1 if h is not None else 0 for h in emp.history] if history else None)
            if emp.max_weekends is not None:
                fixed, worked = 0, []
                for g in groups:
                    lits = [work[d] for d in g if not isinstance(work[d], int)]
                    if any(isinstance(work[d], int) and work[d] for d in g):
                        fixed += 1
                    elif lits:
                        w = model.new_bool_var(f"w{ei}_{g[0]}")
                        model.add_max_equality(w, lits)
                        worked.append(w)
                model.add(sum(worked) <= emp.max_weekends - fixed)
            if not types:
                continue
            count = {t: model.new_int_var(0, problem.days, f"k{ei}_{t}") for t in types}
            model.add(sum(count.values()) == sum(work))
            minutes = 0
            for t in types:
                limit = emp.max_shifts_by_type.get(shifts[t].id)
                if limit is not None:
                    model.add(count[t] <= limit)
                minutes += shifts[t].length_minutes * count[t]
            if emp.max_minutes is not None:
                model.add(minutes <= emp.max_minutes)
            if emp.min_minutes:
                model.add(minutes >= emp.min_minutes)
        wanted: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])  # day -> preferred, weight under, over
        for (d, _), c in rows.lines.items():
            wanted[d][0] += c.preferred
            wanted[d][1] = max(wanted[d][1], c.weight_under)
            wanted[d][2] = max(wanted[d][2], c.weight_over)
        costs = []
        for d in weekend_days:
            preferred, under_w, over_w = wanted[d]
            under = model.new_int_var(0, preferred, f"u{d}")
            over = model.new_int_var(0, len(problem.employees), f"o{d}")
            model.add(sum(on_day[d]) + fixed_on[d] + under - over == preferred)
            costs += [under_w * under, over_w * over]
        model.minimize(sum(costs))
        self.weekend_days = weekend_days

    def offs(self, value) -> Cells:
        """The weekend days the plan leaves off, (person, day) -> None, for everyone whose row the programme can
        still build with them off."""
        out: Cells = {}
        for ei in range(len(self.problem.employees)):
            offs = [d for d in self.weekend_days if (ei, d) in self.y and not value(self.y[ei, d])]
            if not offs:
                continue
            work, off = self.rows.own_costs(ei)
            work[offs, :] = float("inf")
            if self.rows.best_row(ei, work, off) is not None:
                out.update(dict.fromkeys(((ei, d) for d in offs), None))
        return out
