"""The CP-SAT model of a `RosterProblem`: every hard rule as a constraint, every soft rule as a cost term.

Sequence rules are plain linear constraints over sliding windows (no automata): at most K shifts in
every K+1 days, and the "forbid short blocks" clauses for minimum runs (a block of length L < m that
starts after a day in the other state and ends before one is forbidden). Weekends worked are one
literal per employee and weekend. Costs are kept per rule so the result can show where the cost goes.

A model can leave part of the roster fixed (`fixed`: (employee index, day) -> shift index or None):
fixed cells become constants, and people whose whole plan is fixed only count towards cover and
fairness. The neighbourhood search builds such small models around its best roster.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from .problem import COST_RULES, Cover, EdgeRule, RosterProblem

RULES = COST_RULES

Cells = dict[tuple[int, int], int | None]  # (employee index, day) -> shift index, None = off


def weekend_groups(problem: RosterProblem) -> list[list[int]]:
    """Runs of consecutive plan days whose weekday is a weekend day: one list per weekend."""
    groups: list[list[int]] = []
    for day in range(problem.days):
        if problem.weekday(day) not in problem.weekend_days:
            continue
        if groups and groups[-1][-1] == day - 1:
            groups[-1].append(day)
        else:
            groups.append([day])
    return groups


def allowed_types(problem: RosterProblem, emp) -> list[int]:
    """Indexes of the shift types the contract allows at all (a per-type maximum of 0 forbids the type)."""
    return [i for i, s in enumerate(problem.shift_types) if emp.max_shifts_by_type.get(s.id, 1) != 0]


def forced_cells(problem: RosterProblem) -> tuple[Cells, list[str]]:
    """Cells fixed by days off and locks, and the locks that cannot hold (unknown or forbidden shift)."""
    e_index = {e.id: i for i, e in enumerate(problem.employees)}
    s_index = {s.id: i for i, s in enumerate(problem.shift_types)}
    forced: Cells = {}
    broken = []
    for (eid, d), sid in problem.locks.items():
        if eid not in e_index or not 0 <= d < problem.days:
            continue
        ei = e_index[eid]
        if sid is None:
            forced[ei, d] = None
        elif sid not in s_index or s_index[sid] not in allowed_types(problem, problem.employees[ei]):
            broken.append(f"{eid} day {d}: locked onto {sid}, which the contract does not allow")
        else:
            forced[ei, d] = s_index[sid]
    for eid, d in problem.days_off:
        if eid in e_index and 0 <= d < problem.days:
            ei = e_index[eid]
            if forced.get((ei, d)) is not None:
                broken.append(f"{eid} day {d}: locked onto a shift on a day off")
            forced[ei, d] = None
    return forced, broken


def _is_const(v) -> bool:
    return isinstance(v, int)


@dataclass
class RosterModel:
    """A built model with handles on its decision variables and its cost terms by rule."""

    problem: RosterProblem
    model: cp_model.CpModel
    x: dict[tuple[int, int, int], cp_model.IntVar]  # free cells: (employee index, day, shift index) -> worked
    cells: list[list[object]]  # [ei][d] -> dict shift index -> var (free) or shift index / None (fixed)
    work: dict[tuple[int, int], object]  # (employee index, day) -> worked any shift (var or 0/1)
    costs: dict[str, list[tuple[int, object]]] = field(default_factory=dict)
    constants: dict[str, int] = field(default_factory=dict)

    def objective_expr(self):
        terms = [(c, v) for rule_terms in self.costs.values() for c, v in rule_terms]
        return cp_model.LinearExpr.weighted_sum([v for _, v in terms], [c for c, _ in terms]) + sum(
            self.constants.values()
        )

    def rule_value(self, rule: str, value) -> int:
        """The cost of one rule in a solution (`value` reads a variable from the solver)."""
        return sum(c * value(v) for c, v in self.costs.get(rule, [])) + self.constants.get(rule, 0)

    def lit(self, ei: int, d: int, si: int):
        """Worked (ei, d, si): a variable, or 0/1 for fixed cells."""
        cell = self.cells[ei][d]
        if isinstance(cell, dict):
            return cell.get(si, 0)
        return 1 if cell == si else 0

    def read(self, value) -> Cells:
        """The roster of a solution as (employee index, day) -> shift index or None."""
        out: Cells = {}
        for ei, row in enumerate(self.cells):
            for d, cell in enumerate(row):
                if isinstance(cell, dict):
                    out[ei, d] = next((si for si, v in cell.items() if value(v)), None)
                else:
                    out[ei, d] = cell
        return out


def build_model(
    problem: RosterProblem,
    *,
    fixed: Cells | None = None,
    soft_minimum: bool = False,
    minimum_weight: int = 0,
    forced: Cells | None = None,
    partial: bool = True,
) -> RosterModel:
    """Build the CP-SAT model. With soft_minimum, minimum cover becomes a cost (`cover_minimum`).

    With `partial` (the default), a person's sequence rules are stated only where they touch a free or
    forced cell: the `fixed` cells are taken as keeping them (they come from a roster that does).
    `partial=False` states every rule over every day.
    """
    m = cp_model.CpModel()
    emps = problem.employees
    days = problem.days
    if forced is None:
        forced, broken = forced_cells(problem)
        if broken:
            m.add_bool_or([])
    fixed = fixed or {}
    x: dict[tuple[int, int, int], cp_model.IntVar] = {}
    work: dict[tuple[int, int], object] = {}
    cells: list[list[object]] = []
    free_emps: list[int] = []
    anchors: dict[int, list[int]] = {}  # employee index -> days whose rules must be stated (free or forced)
    for ei, emp in enumerate(emps):
        types = allowed_types(problem, emp)
        row: list[object] = []
        any_free = False
        anchor: list[int] = []
        for d in range(days):
            if (ei, d) in fixed:
                row.append(fixed[ei, d])
                work[ei, d] = 0 if fixed[ei, d] is None else 1
                if (ei, d) in forced:
                    anchor.append(d)
                continue
            if (ei, d) in forced:
                row.append(forced[ei, d])
                work[ei, d] = 0 if forced[ei, d] is None else 1
                anchor.append(d)
                continue
            any_free = True
            anchor.append(d)
            lits = {}
            for si in types:
                lits[si] = v = m.new_bool_var(f"x{ei}_{d}_{si}")
                x[ei, d, si] = v
            row.append(lits)
            if not lits:
                work[ei, d] = 0
            elif len(lits) == 1:
                work[ei, d] = next(iter(lits.values()))
            else:
                w = m.new_bool_var(f"w{ei}_{d}")
                m.add(sum(lits.values()) == w)
                work[ei, d] = w
        cells.append(row)
        if any_free:
            free_emps.append(ei)
            anchors[ei] = anchor
    rm = RosterModel(problem, m, x, cells, work)
    rm.costs = {rule: [] for rule in (*RULES, "cover_minimum")}
    rm.constants = dict.fromkeys((*RULES, "cover_minimum"), 0)
    history = problem.edge_rule == EdgeRule.HISTORY
    for ei in free_emps:
        _contract(rm, ei, history, anchors[ei] if partial else None)
    _cover(rm, soft_minimum, minimum_weight)
    _requests(rm)
    _fairness(rm)
    m.minimize(rm.objective_expr())
    return rm


def _contract(rm: RosterModel, ei: int, history: bool, anchor: list[int] | None = None) -> None:
    """One person's contract. Only the rules that touch an `anchor` day (a free or forced cell) are stated:
    a rule over cells the model takes as given (the incumbent's) is already kept, so a neighbourhood of a
    long plan costs the size of the neighbourhood, not of the plan. Totals (minutes, per-type maxima,
    weekends) are stated in full, with the given cells' share as a constant."""
    m, problem = rm.model, rm.problem
    emp = problem.employees[ei]
    days = problem.days
    shifts = problem.shift_types
    s_index = {s.id: i for i, s in enumerate(shifts)}
    row = rm.cells[ei]
    given_by_type: dict[int, int] = defaultdict(int)
    given_minutes = 0
    free_cells: list[dict] = []
    for cell in row:
        if isinstance(cell, dict):
            if cell:
                free_cells.append(cell)
        elif cell is not None:
            given_by_type[cell] += 1
            given_minutes += shifts[cell].length_minutes
    # Per-type maximum.
    for sid, limit in emp.max_shifts_by_type.items():
        si = s_index.get(sid)
        if si is None or limit == 0:
            continue
        const = given_by_type.get(si, 0)
        vars_ = [cell[si] for cell in free_cells if si in cell]
        if len(vars_) + const > limit:
            m.add(sum(vars_) <= limit - const)
    # Minutes.
    if emp.max_minutes is not None or emp.min_minutes:
        minutes = given_minutes + sum(
            shifts[si].length_minutes * v for cell in free_cells for si, v in cell.items()
        )
        if emp.max_minutes is not None:
            m.add(minutes <= emp.max_minutes)
        if emp.min_minutes:
            m.add(minutes >= emp.min_minutes)
    # Forbidden successions: shifts sharing the same set of forbidden followers form one at-most-one
    # with those followers next day (at most one shift a day on each side makes this exact).
    by_followers: dict[frozenset[int], list[int]] = defaultdict(list)
    for si, st in enumerate(shifts):
        nexts = frozenset(s_index[n] for n in st.forbidden_next if n in s_index)
        if nexts:
            by_followers[nexts].append(si)
    if anchor is None:
        succession_days = list(range(days - 1))
    else:
        succession_days = sorted({d for a in anchor for d in (a - 1, a) if 0 <= d < days - 1})
    for d in succession_days if by_followers else ():
        today, tomorrow = row[d], row[d + 1]
        if today is None or tomorrow is None:
            continue
        for nexts, group in by_followers.items():
            a_vals = [rm.lit(ei, d, si) for si in group]
            b_vals = [rm.lit(ei, d + 1, ni) for ni in nexts]
            vals = [v for v in a_vals + b_vals if not (_is_const(v) and v == 0)]
            if len(vals) < 2:
                continue
            const = sum(v for v in vals if _is_const(v))
            lits = [v for v in vals if not _is_const(v)]
            if const > 1:
                m.add_bool_or([])
            elif const == 1:
                for v in lits:
                    m.add(v == 0)
            else:
                m.add_at_most_one(lits)
    hist = list(emp.history) if history else []
    if hist and hist[-1] is not None:
        last = next((s for s in shifts if s.id == hist[-1]), None)
        if last is not None:
            for nid in last.forbidden_next:
                if nid in s_index:
                    b = rm.lit(ei, 0, s_index[nid])
                    if _is_const(b):
                        if b:
                            m.add_bool_or([])
                    else:
                        m.add(b == 0)
    work = [rm.work[ei, d] for d in range(days)]
    run_rules(m, emp, work, [1 if h is not None else 0 for h in hist] if history else None, anchor=anchor)
    if emp.max_weekends is not None:
        worked = _weekend_literals(rm, ei)
        const = sum(v for v in worked if _is_const(v))
        lits = [v for v in worked if not _is_const(v)]
        if const + len(lits) > emp.max_weekends:
            m.add(sum(lits) <= emp.max_weekends - const)


def _weekend_literals(rm: RosterModel, ei: int) -> list:
    """One 'works this weekend' literal (or 0/1) per weekend of the plan."""
    cache = getattr(rm, "_weekend_cache", None)
    if cache is None:
        cache = rm._weekend_cache = {}  # type: ignore[attr-defined]
    if ei in cache:
        return cache[ei]
    out = []
    groups = getattr(rm, "_weekend_groups", None)
    if groups is None:
        groups = rm._weekend_groups = weekend_groups(rm.problem)  # type: ignore[attr-defined]
    for group in groups:
        vals = [rm.work[ei, d] for d in group]
        if any(_is_const(v) and v == 1 for v in vals):
            out.append(1)
            continue
        lits = [v for v in vals if not _is_const(v)]
        if not lits:
            out.append(0)
        elif len(lits) == 1:
            out.append(lits[0])
        else:
            ww = rm.model.new_bool_var(f"wk{ei}_{group[0]}")
            rm.model.add_max_equality(ww, lits)
            out.append(ww)
    cache[ei] = out
    return out


def _state(v, worked: bool):
    """The literal 'day is in the state' (worked or off); ints stay ints."""
    if _is_const(v):
        return v if worked else 1 - v
    return v if worked else v.Not()


def run_rules(m: cp_model.CpModel, emp, work: list, hist: list[int] | None, anchor: list[int] | None = None) -> None:
    """The run rules of one contract over a row of worked literals (or 0/1): the maximum consecutive shifts and the
    minimum runs of shifts and of days off. `hist` is the worked history before day 0 (None: lenient edges); with
    `anchor`, only the rules that touch an anchor day are stated."""
    hist_work = hist or []
    # Maximum consecutive shifts: every window of K+1 days (history included) holds at most K shifts.
    k = emp.max_consecutive_shifts
    if k is not None:
        full = hist_work + work
        offset = len(hist_work)
        if anchor is None:
            starts = range(0, len(full) - k)
        else:  # the windows that hold an anchor day
            starts = sorted({st for f in anchor for st in range(max(0, f + offset - k), min(len(full) - k - 1, f + offset) + 1)})
        for start in starts:
            if start + k < offset:
                continue  # entirely in the history
            window = full[start : start + k + 1]
            const = sum(v for v in window if _is_const(v))
            lits = [v for v in window if not _is_const(v)]
            if lits and const + len(lits) > k:
                m.add(sum(lits) <= k - const)
            elif not lits and const > k:
                m.add_bool_or([])
    _min_runs(m, work, hist, emp.min_consecutive_shifts, worked=True, anchor=anchor)
    _min_runs(m, work, hist, emp.min_consecutive_days_off, worked=False, anchor=anchor)


def _min_runs(m: cp_model.CpModel, work: list, hist: list[int] | None, minimum: int, *, worked: bool,
              anchor: list[int] | None = None) -> None:
    """Forbid blocks shorter than `minimum` that do not touch the plan's last day (nor day 0 without history).

    With `anchor`, only the clauses whose days [a - 1, b + 1] hold an anchor day are stated.
    """
    if minimum <= 1:
        return
    days = len(work)
    state_cache: dict[int, object] = {}

    def state_of(d: int):
        if d not in state_cache:
            state_cache[d] = _state(work[d], worked)
        return state_cache[d]

    def clause(lits_true: list, lits_false: list) -> None:
        """Add OR(lits_true) OR OR(not lits_false), simplifying constants."""
        out = []
        for v in lits_true:
            if _is_const(v):
                if v == 1:
                    return
            else:
                out.append(v)
        for v in lits_false:
            if _is_const(v):
                if v == 0:
                    return
            else:
                out.append(v.Not())
        m.add_bool_or(out)

    if anchor is None:
        blocks = [(a, length) for a in range(1, days) for length in range(1, minimum)]
    else:
        # the block [a, a + length - 1] with its two neighbours holds day f when a - 1 <= f <= a + length
        blocks = sorted({(a, length) for f in anchor for length in range(1, minimum)
                         for a in range(max(1, f - length), min(days - 1, f + 1) + 1)})
    for a, length in blocks:
        b = a + length - 1
        if b > days - 2:
            continue
        clause([state_of(a - 1), state_of(b + 1)], [state_of(d) for d in range(a, b + 1)])
    if not hist:
        return
    hist_state = [h if worked else 1 - h for h in hist]
    trailing = 0
    for h in reversed(hist_state):
        if not h:
            break
        trailing += 1
    if trailing == len(hist_state):
        return  # the block began before the known history: its length is unknown, so it is exempt
    for length in range(0 if trailing else 1, minimum - trailing):
        if length > days - 1:
            break
        clause([state_of(length)], [state_of(d) for d in range(length)])


def _cover(rm: RosterModel, soft_minimum: bool, minimum_weight: int) -> None:
    m, problem = rm.model, rm.problem
    emps = problem.employees
    s_index = {s.id: i for i, s in enumerate(problem.shift_types)}
    lines: dict[tuple[int, int], list[Cover]] = defaultdict(list)
    for c in problem.cover:
        if c.shift in s_index and 0 <= c.day < problem.days:
            lines[c.day, s_index[c.shift]].append(c)
    n = len(emps)
    simple = {key for key, group in lines.items() if len(group) == 1 and group[0].skill is None}
    given: dict[tuple[int, int], int] = defaultdict(int)  # (day, shift) -> people on it in given cells (simple lines)
    on_shift: dict[tuple[int, int], list] = defaultdict(list)  # (day, shift) -> [(ei, var or 1)]
    for ei, row in enumerate(rm.cells):
        for d, cell in enumerate(row):
            if cell is None:
                continue
            if isinstance(cell, dict):
                for si, v in cell.items():
                    on_shift[d, si].append((ei, v))
            elif (d, cell) in simple:
                given[d, cell] += 1
            else:
                on_shift[d, cell].append((ei, 1))
    for (d, si), group in lines.items():
        workers = on_shift.get((d, si), [])
        if (d, si) in simple:
            counts = [given.get((d, si), 0) + sum(v for _, v in workers)]
        else:
            counts = [0] * len(group)
            for ei, v in workers:
                mine = [li for li, c in enumerate(group) if c.skill is None or c.skill in emps[ei].skills]
                if not mine:
                    continue
                if len(mine) == 1:
                    counts[mine[0]] += v
                    continue
                ys = [m.new_bool_var(f"y{ei}_{d}_{si}_{li}") for li in mine]
                m.add(sum(ys) == v)
                for li, y in zip(mine, ys, strict=True):
                    counts[li] += y
        for c, count in zip(group, counts, strict=True):
            _cover_line_cost(rm, c, count, n, soft_minimum, minimum_weight)


def _cover_line_cost(rm: RosterModel, c: Cover, count, n: int, soft_minimum: bool, minimum_weight: int) -> None:
    m = rm.model
    if _is_const(count):
        rm.constants["cover_under"] += c.weight_under * max(0, c.preferred - count)
        rm.constants["cover_over"] += c.weight_over * max(0, count - c.preferred)
        if c.minimum > count:
            if soft_minimum:
                rm.constants["cover_minimum"] += minimum_weight * (c.minimum - count)
            else:
                m.add_bool_or([])
        return
    if c.minimum > 0:
        if soft_minimum:
            short = m.new_int_var(0, c.minimum, "short")
            m.add(count + short >= c.minimum)
            rm.costs["cover_minimum"].append((minimum_weight, short))
        else:
            m.add(count >= c.minimum)
    if c.preferred > 0 and c.weight_under:
        under = m.new_int_var(0, c.preferred, "under")
        m.add_max_equality(under, [c.preferred - count, 0])
        rm.costs["cover_under"].append((c.weight_under, under))
    if c.weight_over:
        over = m.new_int_var(0, n, "over")
        m.add_max_equality(over, [count - c.preferred, 0])
        rm.costs["cover_over"].append((c.weight_over, over))


def _requests(rm: RosterModel) -> None:
    problem = rm.problem
    e_index = {e.id: i for i, e in enumerate(problem.employees)}
    s_index = {s.id: i for i, s in enumerate(problem.shift_types)}
    for r in problem.requests:
        ei = e_index.get(r.employee)
        if ei is None or not 0 <= r.day < problem.days or r.weight == 0:
            continue
        if r.shift is None:
            if r.on:
                continue  # "work any shift" is not a request the product makes
            v = rm.work[ei, r.day]
            rule, term = "request_off", v
        else:
            v = rm.lit(ei, r.day, s_index[r.shift]) if r.shift in s_index else 0
            if r.on and not _is_const(v):
                rm.constants["request_on"] += r.weight  # paid unless the shift is given: weight * (1 - v)
                rm.costs["request_on"].append((-r.weight, v))
                continue
            rule, term = ("request_on", 1 - v) if r.on else ("request_off", v)
        if _is_const(term):
            rm.constants[rule] += r.weight * term
        else:
            rm.costs[rule].append((r.weight, term))


def _fairness(rm: RosterModel) -> None:
    m, problem = rm.model, rm.problem
    fair = problem.fairness
    n = len(problem.employees)
    if n == 0:
        return
    rows: dict[str, tuple[int, list[list]]] = {}
    if fair.night_weight:
        nights = [i for i, s in enumerate(problem.shift_types) if s.is_night]
        rows["fairness_nights"] = (
            fair.night_weight,
            [[rm.lit(ei, d, si) for d in range(problem.days) for si in nights] for ei in range(n)],
        )
    if fair.weekend_weight:
        rows["fairness_weekends"] = (fair.weekend_weight, [_weekend_literals(rm, ei) for ei in range(n)])
    if fair.holiday_weight:
        hol = sorted(d for d in fair.holidays if 0 <= d < problem.days)
        rows["fairness_holidays"] = (fair.holiday_weight, [[rm.work[ei, d] for d in hol] for ei in range(n)])
    for rule, (weight, table) in rows.items():
        counts = []
        for row in table:
            const = sum(v for v in row if _is_const(v))
            lits = [v for v in row if not _is_const(v)]
            counts.append((const, lits))
        top = max((c + len(lits) for c, lits in counts), default=0)
        if top == 0:
            continue
        total = sum(c for c, _ in counts) + sum(sum(lits) for _, lits in counts if lits)
        if all(not lits for _, lits in counts):
            mean = (2 * total + n) // (2 * n)
            rm.constants[rule] += weight * sum(max(0, c - mean) for c, _ in counts)
            continue
        mean = m.new_int_var(0, top, "fmean")
        # mean = floor((2 total + n) / 2n): the team's mean rounded half up, as two inequalities
        m.add(2 * n * mean <= 2 * total + n)
        m.add(2 * n * mean >= 2 * total + n - (2 * n - 1))
        for const, lits in counts:
            excess = m.new_int_var(0, top, "fex")
            m.add_max_equality(excess, [const + sum(lits) - mean, 0])
            rm.costs[rule].append((weight, excess))
