"""A first roster without CP-SAT: each person's pattern of work and rest, built day by day.

People are rostered one after the other. For each person a backward table gives, for every day, run
state (working or resting, and for how long) and number of weekends still allowed, the most shifts
that can still be worked from that day on while keeping the run rules, the days off and the weekend
limit. Going forward through the plan, the person then works the shift type whose cover lines are
shortest (or that they asked for), or rests, always keeping enough shifts reachable to meet the
contract's minimum minutes and never passing its maximum, the per-type maxima or a forbidden
succession. The result is checked by the caller; a person whose row still breaks a rule is
re-solved alone.
"""

from __future__ import annotations

import random
from collections import defaultdict

import numpy as np

from .model import Cells, allowed_types, weekend_groups
from .problem import EdgeRule, RosterProblem

NEG = -(10**6)
MINIMUM_GAIN = 10_000  # value of one more person on a line still below its hard minimum


class _Pattern:
    """Run states of one contract: work runs W1..Wk, exempt first-day work runs, rest runs O1..Om."""

    def __init__(self, min_work: int, max_work: int | None, min_off: int, days: int):
        self.min_work = max(1, min_work)
        cap = max_work if max_work is not None else max(self.min_work, 1)
        self.max_work = max_work
        self.cap = max(1, cap)
        self.min_off = max(1, min_off)
        names: list[tuple[str, int]] = [("W", n) for n in range(1, self.cap + 1)]
        names += [("E", n) for n in range(1, min(self.min_work, self.cap + 1))]  # work run from day 0, exempt
        names += [("O", n) for n in range(1, self.min_off + 1)]
        names.append(("S", 0))  # before day 0 (lenient: anything may start)
        self.names = names
        self.index = {nm: i for i, nm in enumerate(names)}
        n = len(names)
        self.on_work = [-1] * n
        self.on_off = [-1] * n
        self.working = [nm[0] in "WE" for nm in names]
        for i, (kind, length) in enumerate(names):
            if kind == "W":
                if max_work is None:
                    self.on_work[i] = self.index["W", min(length + 1, self.cap)]
                elif length < self.cap:
                    self.on_work[i] = self.index["W", length + 1]
                if length >= self.min_work:
                    self.on_off[i] = self.index["O", 1]
            elif kind == "E":
                nxt = length + 1
                self.on_work[i] = self.index["E", nxt] if ("E", nxt) in self.index else self.index["W", min(nxt, self.cap)]
                self.on_off[i] = self.index["O", 1]
            elif kind == "O":
                self.on_off[i] = self.index["O", min(length + 1, self.min_off)]
                if length >= self.min_off:
                    self.on_work[i] = self._start_work()
            else:
                self.on_off[i] = self.index["O", self.min_off]
                self.on_work[i] = self.index["E", 1] if ("E", 1) in self.index else self.index["W", 1]
        self.on_work_arr = np.array([max(v, 0) for v in self.on_work])
        self.on_off_arr = np.array([max(v, 0) for v in self.on_off])
        self.can_work = np.array([v >= 0 for v in self.on_work])
        self.can_off = np.array([v >= 0 for v in self.on_off])

    def _start_work(self) -> int:
        return self.index["W", 1]

    def from_history(self, hist: list[bool]) -> int:
        """The state after the known days before day 0 (HISTORY edges)."""
        if not hist:
            return self.index["S", 0]
        last = hist[-1]
        length = 0
        for h in reversed(hist):
            if h != last:
                break
            length += 1
        whole = length == len(hist)  # the run began before the known history: treat it as exempt
        if last:
            if whole and length < self.min_work:
                return self.index["E", length] if ("E", length) in self.index else self.index["W", min(length, self.cap)]
            return self.index["W", min(length, self.cap)]
        return self.index["O", self.min_off if whole else min(length, self.min_off)]


def greedy_roster(problem: RosterProblem, forced: Cells, seed: int = 0) -> Cells:
    """A complete roster (every cell set); most rows keep every hard rule, the caller checks which do not."""
    rng = random.Random(seed)  # noqa: S311  (tie-breaking, not security)
    emps = problem.employees
    days = problem.days
    shifts = problem.shift_types
    s_index = {s.id: i for i, s in enumerate(shifts)}
    lines: dict[tuple[int, int], list[list]] = defaultdict(list)  # (day, shift) -> [[cover, count]]
    for c in problem.cover:
        if c.shift in s_index and 0 <= c.day < days:
            lines[c.day, s_index[c.shift]].append([c, 0])
    holders: dict[str, int] = defaultdict(int)
    for e in emps:
        for skill in e.skills:
            holders[skill] += 1
    for group in lines.values():
        # the rarest skill's line first: a person holding it fills that line before the common ones
        group.sort(key=lambda lc: holders[lc[0].skill] if lc[0].skill is not None else len(emps) + 1)
    wish: dict[tuple[int, int], dict[int | None, int]] = defaultdict(lambda: defaultdict(int))
    e_index = {e.id: i for i, e in enumerate(emps)}
    for r in problem.requests:
        ei = e_index.get(r.employee)
        if ei is None or not 0 <= r.day < days:
            continue
        if r.on and r.shift in s_index:
            wish[ei, r.day][s_index[r.shift]] += r.weight
        elif not r.on:
            key = s_index.get(r.shift) if r.shift is not None else None
            if r.shift is None or key is not None:
                wish[ei, r.day][key if key is not None else -1] -= r.weight
    weekend_of = {}
    for gi, group in enumerate(weekend_groups(problem)):
        for d in group:
            weekend_of[d] = gi
    demand = [0] * days
    for (d, _), group in lines.items():
        demand[d] += sum(lc[0].preferred for lc in group)
    total = sum(demand) or 1
    running, pace = 0, []  # the person's minutes are spread like the cover wanted
    for d in range(days):
        running += demand[d]
        pace.append(running / total if sum(demand) else (d + 1) / days)
    forbid = [frozenset(s_index[n] for n in s.forbidden_next if n in s_index) for s in shifts]
    cells: Cells = {}
    order = list(range(len(emps)))
    rng.shuffle(order)
    # the rarest skills first (they fill the skilled lines), then the fewest allowed types
    order.sort(key=lambda ei: (min((holders[s] for s in emps[ei].skills), default=len(emps)),
                               len(allowed_types(problem, emps[ei]))))
    for ei in order:
        for slack in (1, 3, 6, 12, 24):
            row = _person(problem, ei, forced, lines, wish, weekend_of, forbid, rng, pace, slack)
            if _row_ok(problem, ei, row):
                break
        for d, si in enumerate(row):
            cells[ei, d] = si
            if si is not None:
                _count(lines.get((d, si), []), emps[ei])
    _retype(problem, cells, forced, lines, wish, forbid)
    return cells


def _value(group: list[list], emp) -> int:
    """What one person on a shift is worth to its cover lines as they stand (counting that person)."""
    best = None
    for c, count in group:
        if c.skill is not None and c.skill not in emp.skills:
            continue
        if count <= c.minimum:
            value = MINIMUM_GAIN + c.weight_under
        elif count <= c.preferred:
            value = c.weight_under
        else:
            value = -c.weight_over
        best = value if best is None else max(best, value)
    return best if best is not None else 0


def _uncount(group: list[list], emp) -> None:
    for lc in reversed(group):
        if (lc[0].skill is None or lc[0].skill in emp.skills) and lc[1] > 0:
            lc[1] -= 1
            return


def _retype(problem: RosterProblem, cells: Cells, forced: Cells, lines, wish, forbid) -> None:
    """Move people from shifts above their preferred cover to short shifts the same day.

    Only the shift type changes (the pattern of work and rest stays), and only where the contract's
    per-type maximum, minutes window and forbidden successions still hold.
    """
    emps = problem.employees
    days = problem.days
    shifts = problem.shift_types
    for ei, emp in enumerate(emps):
        types = allowed_types(problem, emp)
        used = dict.fromkeys(types, 0)
        minutes = 0
        for d in range(days):
            si = cells[ei, d]
            if si is not None:
                used[si] = used.get(si, 0) + 1
                minutes += shifts[si].length_minutes
        quota = {si: emp.max_shifts_by_type.get(shifts[si].id, days) - used.get(si, 0) for si in types}
        for d in range(days):
            si = cells[ei, d]
            if si is None or (ei, d) in forced:
                continue
            group = lines.get((d, si), [])
            w = wish.get((ei, d), {})
            keep = _value(group, emp) + w.get(si, 0)
            if keep > 0:
                continue
            prev = cells.get((ei, d - 1)) if d > 0 else None
            nxt = cells.get((ei, d + 1)) if d + 1 < days else None
            best_gain, best_t = 0, None
            for t in types:
                if t == si or quota[t] <= 0:
                    continue
                if (prev is not None and t in forbid[prev]) or (nxt is not None and nxt in forbid[t]):
                    continue
                m2 = minutes - shifts[si].length_minutes + shifts[t].length_minutes
                if m2 < emp.min_minutes or (emp.max_minutes is not None and m2 > emp.max_minutes):
                    continue
                gain = _gain(lines.get((d, t), []), emp) + w.get(t, 0) - keep
                if gain > best_gain:
                    best_gain, best_t = gain, t
            if best_t is None:
                continue
            _uncount(group, emp)
            _count(lines.get((d, best_t), []), emp)
            minutes += shifts[best_t].length_minutes - shifts[si].length_minutes
            quota[si] += 1
            quota[best_t] -= 1
            cells[ei, d] = best_t


def _count(group: list[list], emp) -> None:
    for lc in group:
        c = lc[0]
        if (c.skill is None or c.skill in emp.skills) and lc[1] < c.preferred:
            lc[1] += 1
            return
    for lc in group:
        if lc[0].skill is None or lc[0].skill in emp.skills:
            lc[1] += 1
            return


def _gain(group: list[list], emp) -> int:
    best = None
    for c, count in group:
        if c.skill is not None and c.skill not in emp.skills:
            continue
        if count < c.minimum:
            value = MINIMUM_GAIN + c.weight_under
        elif count < c.preferred:
            value = c.weight_under
        else:
            value = -c.weight_over
        best = value if best is None else max(best, value)
    return best if best is not None else 0


def _person(problem, ei, forced, lines, wish, weekend_of, forbid, rng, pace, slack=1) -> list[int | None]:
    """One person's row; `pace` is the share of the plan's cover wanted by the end of each day."""
    emp = problem.employees[ei]
    days = problem.days
    shifts = problem.shift_types
    types = allowed_types(problem, emp)
    quota = {si: emp.max_shifts_by_type.get(shifts[si].id, days) for si in types}
    pat = _Pattern(emp.min_consecutive_shifts, emp.max_consecutive_shifts, emp.min_consecutive_days_off, days)
    n_weekends = len(set(weekend_of.values()))
    wmax = min(emp.max_weekends, n_weekends) if emp.max_weekends is not None else n_weekends
    fixed = [forced.get((ei, d), "free") for d in range(days)]
    # backward table: most shifts from day d on, by state before d and weekends left
    ns = len(pat.names)
    best = np.zeros((days + 1, ns, wmax + 1), dtype=np.int64)
    for d in range(days - 1, -1, -1):
        nxt = best[d + 1]
        val = np.full((ns, wmax + 1), NEG, dtype=np.int64)
        if fixed[d] is None or fixed[d] == "free":
            off = nxt[pat.on_off_arr]
            val = np.where(pat.can_off[:, None], off, val)
        if fixed[d] is not None and types:
            work = nxt[pat.on_work_arr] + 1
            g = weekend_of.get(d)
            if g is not None:
                same = weekend_of.get(d - 1) == g
                costly = np.array([not (same and pat.working[s]) for s in range(ns)])
                shifted = np.full_like(work, NEG)
                shifted[:, 1:] = work[:, :-1]
                work = np.where(costly[:, None], shifted, work)
            val = np.maximum(val, np.where(pat.can_work[:, None], work, NEG))
        best[d] = np.maximum(val, NEG)
    lengths = [shifts[si].length_minutes for si in types] or [0]
    lo, hi = emp.min_minutes, emp.max_minutes
    state = pat.index["S", 0]
    if problem.edge_rule == EdgeRule.HISTORY and emp.history:
        state = pat.from_history([h is not None for h in emp.history])
    prev = None
    if problem.edge_rule == EdgeRule.HISTORY and emp.history and emp.history[-1] is not None:
        prev = next((i for i, s in enumerate(shifts) if s.id == emp.history[-1]), None)
    unit = min(lengths)
    if best[0][state][wmax] * unit < lo:
        unit = max(lengths)
    target = (lo + (hi if hi is not None else lo)) / 2
    for extra in range(slack, 0, -1):
        # shifts of slack against what the table does not see (per-type maxima, successions)
        if best[0][state][wmax] * unit >= lo + extra * unit and (hi is None or lo + unit <= hi):
            lo += extra * unit
            break
    w_left, used = wmax, 0
    row: list[int | None] = []
    for d in range(days):
        f = fixed[d]
        candidates: list[tuple[float, int | None, int]] = []
        behind_lo: list[tuple[float, int | None, int]] = []  # options that can no longer reach the minimum
        if f is None or f == "free":
            s2 = pat.on_off[state]
            if s2 >= 0:
                reach = used + best[d + 1][s2][w_left] * unit
                (candidates if reach >= lo else behind_lo).append((0.0, None, reach))
        if f is not None and pat.on_work[state] >= 0:
            s2 = pat.on_work[state]
            g = weekend_of.get(d)
            cost = 1 if g is not None and not (weekend_of.get(d - 1) == g and pat.working[state]) else 0
            w2 = w_left - cost
            options = [f] if f != "free" else [si for si in types if quota[si] > 0]
            behind = target * pace[d] - used
            for si in options:
                length = shifts[si].length_minutes
                if w2 < 0 or (hi is not None and used + length > hi and f == "free"):
                    continue
                if prev is not None and si in forbid[prev]:
                    continue
                if d + 1 < days and fixed[d + 1] not in ("free", None) and fixed[d + 1] in forbid[si]:
                    continue
                if f == "free" and hi is not None and d + 1 < days and pat.on_off[s2] < 0 and (
                    used + length + min(lengths) > hi
                ):
                    continue
                follow = any(quota[t] > (1 if t == si else 0) and t not in forbid[si] for t in types)
                reach = used + length + _reach(best, d + 1, s2, w2, follow, pat, days) * unit
                w = wish.get((ei, d), {})
                score = _gain(lines.get((d, si), []), emp) + w.get(si, 0) + w.get(-1, 0)
                if behind >= length / 2:
                    score += 50
                elif -behind >= 2 * length:
                    score -= 200  # well ahead of an even pace: leave the shift to someone else
                (candidates if reach >= lo or f != "free" else behind_lo).append((score + rng.random(), si, reach))
        if not candidates and behind_lo:
            # the minimum is out of reach: come as close as the rules allow
            top = max(c[2] for c in behind_lo)
            candidates = [c for c in behind_lo if c[2] == top]
        if not candidates:
            # nothing keeps every rule: rest if allowed, else the first type (the caller repairs the row)
            choice = None if f in (None, "free") else f
        else:
            choice = max(candidates, key=lambda sc: (sc[1] is not None and sc[0] > 0, sc[0]))[1]
            if f == "free" and choice is not None:
                work_score = max(sc[0] for sc in candidates if sc[1] is not None)
                rest_ok = any(sc[1] is None for sc in candidates)
                if work_score <= 0 and rest_ok:
                    choice = None
        if choice is None:
            s2 = pat.on_off[state]
            state = s2 if s2 >= 0 else pat.index["O", 1]
            prev = None
        else:
            g = weekend_of.get(d)
            if g is not None and not (weekend_of.get(d - 1) == g and pat.working[state]):
                w_left = max(0, w_left - 1)
            s2 = pat.on_work[state]
            state = s2 if s2 >= 0 else pat.index["W", 1]
            used += shifts[choice].length_minutes
            if choice in quota:
                quota[choice] -= 1
            prev = choice
        row.append(choice)
    return row


def _reach(best, d: int, s2: int, w2: int, follow: bool, pat: _Pattern, days: int) -> int:
    """Most shifts reachable from day d in state s2; without a shift type to follow, day d is a rest day."""
    if d >= days:
        return 0
    if follow:
        return int(best[d][s2][w2])
    s3 = pat.on_off[s2]
    if s3 < 0:
        return NEG
    return int(best[d + 1][s3][w2])


def _row_ok(problem: RosterProblem, ei: int, row: list[int | None]) -> bool:
    """Whether one person's row keeps every rule of their contract (the checker on that person alone)."""
    from ..checker import check

    emp = problem.employees[ei]
    alone = RosterProblem(
        days=problem.days, shift_types=problem.shift_types, employees=[emp], cover=[],
        days_off={k for k in problem.days_off if k[0] == emp.id},
        locks={k: v for k, v in problem.locks.items() if k[0] == emp.id},
        start=problem.start, weekend_days=problem.weekend_days, edge_rule=problem.edge_rule,
    )
    assignment = {(emp.id, d): problem.shift_types[si].id for d, si in enumerate(row) if si is not None}
    return not check(alone, assignment).hard_violations
