"""One person's best row, everyone else fixed: a dynamic programme over days.

With the rest of the roster fixed, what one person adds to the cost is a sum over their cells: on each
day, the change in that day's cover cost if they work a shift there, and their own requests. The best
row keeping every rule of their contract is then a shortest path through the days, whose state is the
run state of the contract (working or resting and for how long, from `construct._Pattern`), the type
of the last shift (forbidden successions), the weekends worked so far and the minutes worked so far.
The minutes are counted in units of the greatest common divisor of the shift lengths, so the table is
small (Instance 19: 84 days, about 10 run states, 4 types, 3 weekends, 110 units of minutes).
A row that breaks a per-type maximum below MAX_COUNTED is solved again with that type's shifts counted
too (one more dimension, as long as its maximum plus one), which keeps that maximum exactly; should a
second type then break its own, or the maximum be larger, it is priced (solved again with a price on
it, raised until it holds, or the row is given up). So a contract with at most one per-type maximum,
below MAX_COUNTED, gets its best row exactly.

This holds exactly when each day's cover cost depends only on how many people work each shift (no
skills, no fairness across the team): `RowSearch.enabled` says whether the problem is of that kind.
A contract whose maximum run is shorter than its minimum run (only blocks touching the plan's edges can
keep it) may find no row here where one exists; the search then keeps that person's row as it is.
The search uses it two ways: every person's row in turn re-solved until none improves (a local
optimum no single row can leave), and a few people removed at once then put back one by one.
"""

from __future__ import annotations

import functools
import math
import random
from collections import defaultdict

import numpy as np

from .construct import _Pattern
from .model import Cells, allowed_types, weekend_groups
from .problem import EdgeRule, RosterProblem

INF = math.inf
MAX_UNITS = 4000  # minutes dimension past which a row is not solved this way (its table would be too big)
# Per-type maxima below which the type's shifts are counted exactly (the table grows by the maximum plus one): on
# Instance 22 (364 days) counting maxima of a hundred and more made a 60 s solve take 150 s.
MAX_COUNTED = 16


class _Contract:
    """What the programme needs of one person: run states, allowed types, limits in minute units."""

    def __init__(self, problem: RosterProblem, ei: int, unit: int, lengths: list[int]):
        emp = problem.employees[ei]
        days = problem.days
        self.pattern = pat = _Pattern(emp.min_consecutive_shifts, emp.max_consecutive_shifts,
                                      emp.min_consecutive_days_off, days)
        self.types = allowed_types(problem, emp)
        longest = max((lengths[t] for t in self.types), default=0)  # in units
        top = days * longest * unit
        if emp.max_minutes is not None:
            top = min(top, emp.max_minutes)
        self.units = top // unit
        self.min_units = -(-emp.min_minutes // unit) if emp.min_minutes else 0
        self.weekends = emp.max_weekends  # None: not counted
        self.maxima = {}
        s_index = {s.id: i for i, s in enumerate(problem.shift_types)}
        for sid, limit in emp.max_shifts_by_type.items():
            si = s_index.get(sid)
            if si is not None and 0 < limit < days:
                self.maxima[si] = limit
        hist = list(emp.history) if problem.edge_rule == EdgeRule.HISTORY else []
        self.start = pat.from_history([h is not None for h in hist])
        self.last = s_index.get(hist[-1]) if hist and hist[-1] is not None else None
        self.nodes = None  # the programme's nodes, built on first use (`RowSearch._nodes`)


class RowSearch:
    """Best rows of one person against the rest of a roster (see the module docstring)."""

    def __init__(self, problem: RosterProblem, forced: Cells, minimum_weight: int):
        self.problem = problem
        self.forced = forced
        self.minimum_weight = minimum_weight
        shifts = problem.shift_types
        self.n_types = len(shifts)
        s_index = {s.id: i for i, s in enumerate(shifts)}
        self.lines: dict[tuple[int, int], object] = {}
        simple = True
        for c in problem.cover:
            if c.shift not in s_index or not 0 <= c.day < problem.days:
                continue
            key = (c.day, s_index[c.shift])
            if c.skill is not None or key in self.lines:
                simple = False
            self.lines[key] = c
        fair = problem.fairness
        fair_any = bool(fair.night_weight or fair.weekend_weight or fair.holiday_weight)
        lengths = [s.length_minutes for s in shifts]
        self.unit = math.gcd(*lengths) if lengths and all(v > 0 for v in lengths) else 0
        self.enabled = simple and not fair_any and self.unit > 0 and bool(problem.employees)
        if not self.enabled:
            return
        self.lengths = [v // self.unit for v in lengths]
        self.lengths_array = np.array(self.lengths, dtype=np.int64)
        # follows[t] = the previous types (and "off" = n_types) after which type t may be worked
        forbid = [frozenset(s_index[n] for n in s.forbidden_next if n in s_index) for s in shifts]
        self.follows = [
            [p for p in range(self.n_types) if t not in forbid[p]] for t in range(self.n_types)
        ]
        self.weekend = np.zeros(problem.days, dtype=bool)
        self.weekend_first = np.zeros(problem.days, dtype=bool)
        for group in weekend_groups(problem):
            self.weekend[group] = True
            self.weekend_first[group[0]] = True
        # the cover lines as arrays over (day, type): preferred, minimum and the two weights (zero where no line)
        shape = (problem.days, self.n_types)
        self.has_line = np.zeros(shape, dtype=bool)
        self.preferred, self.minimum = np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64)
        self.under, self.over = np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64)
        for (d, si), c in self.lines.items():
            self.has_line[d, si] = True
            self.preferred[d, si], self.minimum[d, si] = c.preferred, c.minimum
            self.under[d, si], self.over[d, si] = c.weight_under, c.weight_over
        self.contracts = [_Contract(problem, ei, self.unit, self.lengths) for ei in range(len(problem.employees))]
        self.enabled = all(c.units <= MAX_UNITS for c in self.contracts)
        # requests by person: (day, type or None, weight, on)
        self.requests: dict[int, list[tuple[int, int | None, int, bool]]] = defaultdict(list)
        e_index = {e.id: i for i, e in enumerate(problem.employees)}
        for r in problem.requests:
            ei = e_index.get(r.employee)
            if ei is None or not 0 <= r.day < problem.days or r.weight == 0:
                continue
            if r.shift is None:
                if not r.on:
                    self.requests[ei].append((r.day, None, r.weight, False))
            elif r.shift in s_index:
                self.requests[ei].append((r.day, s_index[r.shift], r.weight, r.on))
            elif r.on:
                self.requests[ei].append((r.day, -1, r.weight, True))  # a shift not in the plan: always paid

    # -- costs ---------------------------------------------------------------------------------
    def counts(self, cells: Cells) -> np.ndarray:
        """People on each (day, shift type)."""
        out = np.zeros((self.problem.days, self.n_types), dtype=np.int64)
        for (_, d), si in cells.items():
            if si is not None:
                out[d, si] += 1
        return out

    def _line_cost(self, c, count: int) -> int:
        cost = c.weight_under * max(0, c.preferred - count) + c.weight_over * max(0, count - c.preferred)
        if c.minimum > count:
            cost += self.minimum_weight * (c.minimum - count)
        return cost

    def _line_costs(self, counts: np.ndarray) -> np.ndarray:
        """`_line_cost` of every (day, type) at once (zero where there is no line)."""
        cost = (self.under * np.maximum(0, self.preferred - counts) + self.over * np.maximum(0, counts - self.preferred)
                + self.minimum_weight * np.maximum(0, self.minimum - counts))
        return np.where(self.has_line, cost, 0)

    def cover_cost(self, counts: np.ndarray) -> int:
        return int(self._line_costs(counts).sum())

    def own_costs(self, ei: int) -> tuple[np.ndarray, np.ndarray]:
        """(working each type each day, resting each day) for person `ei` from their requests alone; what their
        contract or the locks forbid costs infinity. Kept per person (copies are handed out)."""
        cache = self.__dict__.setdefault("_own", {})
        if ei not in cache:
            days, n_types = self.problem.days, self.n_types
            work = np.zeros((days, n_types))
            off = np.zeros(days)
            for d, si, weight, on in self.requests.get(ei, ()):
                if on:
                    off[d] += weight
                    work[d, :] += weight
                    if si >= 0:
                        work[d, si] -= weight
                elif si is None:
                    work[d, :] += weight
                else:
                    work[d, si] += weight
            banned = np.ones(n_types, dtype=bool)
            banned[self.contracts[ei].types] = False
            work[:, banned] = INF
            for d in range(days):
                if (ei, d) in self.forced:
                    si = self.forced[ei, d]
                    if si is None:
                        work[d, :] = INF
                    else:
                        keep = work[d, si]
                        work[d, :] = INF
                        work[d, si] = keep
                        off[d] = INF
            cache[ei] = (work, off)
        work, off = cache[ei]
        return work.copy(), off.copy()

    def row_costs(self, ei: int, cells: Cells, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(cost of working each type each day, cost of resting each day) for person `ei`, others as in `cells`."""
        work, off = self.own_costs(ei)
        others = counts.copy()
        for d in range(self.problem.days):
            si = cells.get((ei, d))
            if si is not None:
                others[d, si] -= 1
        work += self._line_costs(others + 1) - self._line_costs(others)
        return work, off

    @staticmethod
    def row_value(row: list[int | None], work: np.ndarray, off: np.ndarray) -> float:
        return float(sum(off[d] if si is None else work[d, si] for d, si in enumerate(row)))

    # -- the programme ---------------------------------------------------------------------------
    def best_row(self, ei: int, work: np.ndarray, off: np.ndarray) -> list[int | None] | None:
        """The cheapest row keeping the contract under these costs, or None when none was found."""
        contract = self.contracts[ei]
        price = np.zeros(self.n_types)
        counted = -1
        for _ in range(8):
            row = self._solve(contract, work + price, off, counted)
            if row is None:
                return None
            over = {}
            for si, limit in contract.maxima.items():
                count = sum(1 for v in row if v == si)
                if count > limit:
                    over[si] = count - limit
            if not over:
                return row
            small = [si for si in over if contract.maxima[si] < MAX_COUNTED]
            if counted < 0 and small:
                # the type most over its maximum is counted exactly from now on (its maximum becomes a rule of
                # the programme); any other is priced
                counted = max(small, key=lambda si: (over[si], -contract.maxima[si]))
                continue
            for si, excess in over.items():
                finite = np.abs(work[np.isfinite(work)])
                price[si] += max(1.0, float(finite.mean()) if finite.size else 1.0) * excess
        return None

    def _nodes(self, contract: _Contract):
        """The programme's nodes (run state, last type) and, per node, the nodes it can be reached from."""
        if contract.nodes is not None:
            return contract.nodes
        pat = contract.pattern
        rest = self.n_types
        nodes: list[tuple[int, int]] = []
        for p, working in enumerate(pat.working):
            if working:
                nodes.extend((p, t) for t in contract.types)
            else:
                nodes.append((p, rest))
        if contract.last is not None and (contract.start, contract.last) not in nodes:
            nodes.append((contract.start, contract.last))
        index = {nd: i for i, nd in enumerate(nodes)}
        pointers, sources = [0], []
        for q, t in nodes:
            if t == rest:
                sources.extend(i for i, (p, _) in enumerate(nodes) if pat.on_off[p] == q)
            else:
                ok = {*self.follows[t], rest}
                sources.extend(i for i, (p, prev) in enumerate(nodes) if pat.on_work[p] == q and prev in ok)
            pointers.append(len(sources))
        kinds = np.array([-1 if t == rest else t for _, t in nodes], dtype=np.int64)
        start = index[contract.start, contract.last if contract.last is not None else rest]
        contract.nodes = (kinds, np.array(pointers, dtype=np.int64), np.array(sources, dtype=np.int64), start)
        return contract.nodes

    def _solve(self, contract: _Contract, work: np.ndarray, off: np.ndarray, counted: int = -1) -> list[int | None] | None:
        """The programme's row; `counted` is a type whose maximum is kept exactly (its shifts counted), or -1."""
        kinds, pointers, sources, start = self._nodes(contract)
        weekends = contract.weekends is not None
        row = _programme()(
            kinds, pointers, sources, start, np.ascontiguousarray(work, dtype=np.float64),
            np.ascontiguousarray(off, dtype=np.float64), self.lengths_array,
            self.weekend if weekends else np.zeros_like(self.weekend), self.weekend_first,
            (contract.weekends + 1) if weekends else 1, contract.units + 1, contract.min_units,
            counted, contract.maxima[counted] + 1 if counted >= 0 else 1,
        )
        if row[0] == -2:
            return None
        return [None if v < 0 else int(v) for v in row]

    # -- moves -------------------------------------------------------------------------------------
    def improve_row(self, ei: int, cells: Cells, counts: np.ndarray) -> int:
        """Re-solve one person's row in place (cells and counts); returns the gain (0 when none)."""
        work, off = self.row_costs(ei, cells, counts)
        current = [cells.get((ei, d)) for d in range(self.problem.days)]
        now = self.row_value(current, work, off)
        row = self.best_row(ei, work, off)
        if row is None:
            return 0
        then = self.row_value(row, work, off)
        if not then < now:
            return 0
        self._place(ei, row, cells, counts)
        return int(round(now - then))

    def _place(self, ei: int, row: list[int | None], cells: Cells, counts: np.ndarray) -> None:
        for d, si in enumerate(row):
            old = cells.get((ei, d))
            if old is not None:
                counts[d, old] -= 1
            if si is not None:
                counts[d, si] += 1
            cells[ei, d] = si

    def _put_back(self, people: list[int], cells: Cells, counts: np.ndarray) -> bool:
        """Each of `people` in turn given their best row against the rest (in place); False when one has none."""
        for ei in people:
            work, off = self.row_costs(ei, cells, counts)
            row = self.best_row(ei, work, off)
            if row is None:
                return False
            self._place(ei, row, cells, counts)
        return True

    def repair(self, cells: Cells, people: list[int]) -> Cells | None:
        """Each of `people` (whose rows break their contracts) given their best row against the rest, or None
        when one of them has no row keeping the contract."""
        cells = dict(cells)
        return cells if self._put_back(people, cells, self.counts(cells)) else None

    def descend(self, cells: Cells, rng: random.Random, until=None) -> tuple[Cells, int]:
        """Re-solve every row in turn until a whole pass improves none: (new roster, total gain)."""
        cells = dict(cells)
        counts = self.counts(cells)
        gain = 0
        n = len(self.problem.employees)
        clean = 0
        order = list(range(n))
        rng.shuffle(order)
        i = 0
        while clean < n:
            if until is not None and until():
                break
            ei = order[i % n]
            i += 1
            got = self.improve_row(ei, cells, counts)
            gain += got
            clean = 0 if got else clean + 1
        return cells, gain

    def ruin_recreate(self, cells: Cells, people: list[int], rng: random.Random) -> tuple[Cells, int] | None:
        """Take `people` off the roster, put them back one by one at their best rows: (roster, gain) or None."""
        cells = dict(cells)
        counts = self.counts(cells)
        before = self.total(cells, counts)
        for ei in people:
            self._place(ei, [self.forced.get((ei, d)) for d in range(self.problem.days)], cells, counts)
        order = list(people)
        rng.shuffle(order)
        if not self._put_back(order, cells, counts):
            return None
        return cells, before - self.total(cells, counts)

    def aimed_people(self, cells: Cells, counts: np.ndarray, rng: random.Random, k: int) -> list[int] | None:
        """People for a ruin-and-recreate aimed at one short cover line (drawn by its cost): someone resting that
        day who may work its type, and people with minutes left under their maximum to take over what the first
        one gives up. On Instance 13 (demand above what the contracts allow in minutes) a short weekend line needs
        such a chain of two or three people; a random draw of a few among 120 almost never finds it. None when no
        line is short."""
        short = np.where(self.has_line, self.under * np.maximum(0, self.preferred - counts), 0).ravel()
        lines = np.flatnonzero(short)
        if not lines.size:
            return None
        pick = int(lines[rng.choices(range(lines.size), weights=short[lines].tolist())[0]])
        day, si = divmod(pick, self.n_types)
        n = len(self.problem.employees)
        used = [0] * n
        for (ei, _), t in cells.items():
            if t is not None:
                used[ei] += self.lengths[t]
        takers = [ei for ei in range(n) if cells.get((ei, day)) is None and (ei, day) not in self.forced
                  and si in self.contracts[ei].types]
        if not takers:
            return None
        first = rng.choice(takers)
        room = [ei for ei in range(n) if ei != first and self.contracts[ei].units - used[ei] >= self.lengths[si]]
        rng.shuffle(room)
        people = [first, *room[: k - 1]]
        while len(people) < k:
            other = rng.randrange(n)
            if other not in people:
                people.append(other)
        return people

    def total(self, cells: Cells, counts: np.ndarray | None = None) -> int:
        """The roster's whole cost (cover with hard minimums at their weight, and requests)."""
        if counts is None:
            counts = self.counts(cells)
        cost = self.cover_cost(counts)
        for ei, reqs in self.requests.items():
            for d, si, weight, on in reqs:
                have = cells.get((ei, d))
                if on:
                    cost += weight if have != si else 0
                elif si is None:
                    cost += weight if have is not None else 0
                else:
                    cost += weight if have == si else 0
        return cost


@functools.cache
def _programme():
    """The compiled programme (numba is imported on first use: it takes seconds, and most processes never need it)."""
    from numba import njit

    return njit(cache=True, nogil=True)(_row_programme)


def _row_programme(kinds, pointers, sources, start, work, off, lengths, weekend, first, n_w, n_m, min_units,
                   counted, n_c):  # pragma: no cover
    """The shortest path through the days (compiled; see `RowSearch`).

    Nodes are (run state, last type); `kinds[i]` is the shift type node i works, or -1 for a rest day.
    The nodes that may precede node i are sources[pointers[i]:pointers[i + 1]]. A weekend is counted
    on its first worked day: a shift on a weekend day after a rest day, or on the weekend's first day.
    The shifts of type `counted` (none when -1) are counted too, up to n_c - 1 of them: the second index
    of the table is c * n_w + w for c such shifts and w weekends.
    Returns the row (a type or -1 per day), or [-2] when no row keeps the contract.
    """
    days = work.shape[0]
    n = kinds.shape[0]
    inf = np.inf
    n_cw = n_c * n_w
    here = np.full((n, n_cw, n_m), inf)
    there = np.empty((n, n_cw, n_m))
    came = np.empty((days, n, n_cw, n_m), dtype=np.int16)  # read back only along the path, all written
    alive = np.zeros(n, dtype=np.bool_)
    alive[start] = True
    here[start, 0, 0] = 0.0
    top_step = 0
    for t in range(lengths.shape[0]):
        top_step = max(top_step, lengths[t])
    seen_w = 0  # weekends the plan has had before day d
    for d in range(days):
        there[:] = inf
        hi_m = min(n_m, d * top_step + 1)  # minutes reachable before day d
        hi_w = min(n_w, seen_w + 1)
        hi_c = min(n_c, d + 1)
        for i in range(n):
            t = kinds[i]
            if t < 0:
                c = off[d]
                if c == inf:
                    continue
                for k in range(pointers[i], pointers[i + 1]):
                    j = sources[k]
                    if not alive[j]:
                        continue
                    for q in range(hi_c):
                        for w in range(hi_w):
                            x = q * n_w + w
                            for m in range(hi_m):
                                v = here[j, x, m] + c
                                if v < there[i, x, m]:
                                    there[i, x, m] = v
                                    came[d, i, x, m] = j
                continue
            c = work[d, t]
            if c == inf:
                continue
            step = lengths[t]
            if step >= n_m:
                continue
            dc = 1 if t == counted else 0
            for k in range(pointers[i], pointers[i + 1]):
                j = sources[k]
                if not alive[j]:
                    continue
                dw = 0
                if weekend[d] and (kinds[j] < 0 or first[d]):
                    dw = 1
                for q in range(min(hi_c, n_c - dc)):
                    for w in range(min(hi_w, n_w - dw)):
                        x = q * n_w + w
                        y = (q + dc) * n_w + w + dw
                        for m in range(min(hi_m, n_m - step)):
                            v = here[j, x, m] + c
                            if v < there[i, y, m + step]:
                                there[i, y, m + step] = v
                                came[d, i, y, m + step] = j
        here, there = there, here
        for i in range(n):
            alive[i] = False
            for x in range(n_cw):
                for m in range(n_m):
                    if here[i, x, m] < inf:
                        alive[i] = True
                        break
                if alive[i]:
                    break
        if weekend[d] and first[d]:
            seen_w += 1
    best = inf
    bi, bx, bm = -1, 0, 0
    for i in range(n):
        for x in range(n_cw):
            for m in range(min_units, n_m):
                if here[i, x, m] < best:
                    best = here[i, x, m]
                    bi, bx, bm = i, x, m
    row = np.full(days, -1, dtype=np.int64)
    if bi < 0:
        row[0] = -2
        return row
    i, x, m = bi, bx, bm
    for d in range(days - 1, -1, -1):
        j = came[d, i, x, m]
        t = kinds[i]
        row[d] = t
        if t >= 0:
            m -= lengths[t]
            if weekend[d] and (kinds[j] < 0 or first[d]):
                x -= 1
            if t == counted:
                x -= n_w
        i = j
    return row


def warm() -> None:
    """Compile the programme once (it is cached beside this module), so the first solve does not wait for it."""
    from .problem import Cover, Employee, ShiftType

    problem = RosterProblem(days=7, shift_types=[ShiftType("D", 480)], employees=[Employee("a", max_weekends=1)],
                            cover=[Cover(0, "D", 1)])
    rows = RowSearch(problem, {}, 1)
    work, off = rows.row_costs(0, {}, rows.counts({}))
    rows.best_row(0, work, off)
