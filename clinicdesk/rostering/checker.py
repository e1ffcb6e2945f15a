"""The independent roster checker: every hard rule and every cost of a `RosterProblem`, in plain loops.

It shares nothing with the solver's model but the problem's data classes, so a roster the solver
returns can be verified by a second reading of the rules: the hard violations it breaks (as messages)
and its objective split by rule. Where people with skills could count on more than one cover line of a
shift, the checker finds the cheapest way to count them (a small min-cost flow), as the solver may.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from .solver.problem import Assignment, Cover, EdgeRule, RosterProblem

BIG = 10**9


@dataclass(slots=True)
class CheckReport:
    hard_violations: list[str]
    objective: int
    cost_by_rule: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.hard_violations


def _weekends(problem: RosterProblem) -> list[list[int]]:
    out: list[list[int]] = []
    previous = None
    for day in range(problem.days):
        if problem.weekday(day) in problem.weekend_days:
            if previous == day - 1 and out:
                out[-1].append(day)
            else:
                out.append([day])
            previous = day
    return out


def _runs(states: list[bool]) -> list[tuple[int, int, bool]]:
    """Maximal runs as (first index, length, state)."""
    runs = []
    i = 0
    while i < len(states):
        j = i
        while j < len(states) and states[j] == states[i]:
            j += 1
        runs.append((i, j - i, states[i]))
        i = j
    return runs


def check(problem: RosterProblem, assignment: Assignment) -> CheckReport:
    """Every hard rule broken by the roster, and its cost by rule."""
    bad: list[str] = []
    costs = dict.fromkeys(
        (
            "cover_under",
            "cover_over",
            "request_on",
            "request_off",
            "fairness_nights",
            "fairness_weekends",
            "fairness_holidays",
        ),
        0,
    )
    types = {s.id: s for s in problem.shift_types}
    emps = {e.id: e for e in problem.employees}
    for (eid, day), sid in assignment.items():
        if eid not in emps:
            bad.append(f"unknown employee {eid} on day {day}")
        if not 0 <= day < problem.days:
            bad.append(f"{eid}: day {day} is outside the plan")
        if sid not in types:
            bad.append(f"{eid} day {day}: unknown shift {sid}")
    roster = {
        e.id: [assignment.get((e.id, d)) if assignment.get((e.id, d)) in types else None for d in range(problem.days)]
        for e in problem.employees
    }
    history = problem.edge_rule == EdgeRule.HISTORY

    for (eid, day) in sorted(problem.days_off):
        if eid in roster and 0 <= day < problem.days and roster[eid][day] is not None:
            bad.append(f"{eid} works {roster[eid][day]} on day {day}, a day off")
    for (eid, day), sid in sorted(problem.locks.items(), key=lambda kv: kv[0]):
        if eid in roster and 0 <= day < problem.days and roster[eid][day] != sid:
            bad.append(f"{eid} day {day}: locked to {sid or 'off'}, has {roster[eid][day] or 'off'}")

    for emp in problem.employees:
        row = roster[emp.id]
        per_type: dict[str, int] = defaultdict(int)
        minutes = 0
        for sid in row:
            if sid is not None:
                per_type[sid] += 1
                minutes += types[sid].length_minutes
        for sid, limit in emp.max_shifts_by_type.items():
            if per_type.get(sid, 0) > limit:
                bad.append(f"{emp.id}: {per_type[sid]} {sid} shifts, the contract allows {limit}")
        if emp.max_minutes is not None and minutes > emp.max_minutes:
            bad.append(f"{emp.id}: {minutes} minutes, more than the maximum {emp.max_minutes}")
        if minutes < emp.min_minutes:
            bad.append(f"{emp.id}: {minutes} minutes, fewer than the minimum {emp.min_minutes}")

        hist = list(emp.history) if history else []
        full = hist + row
        offset = len(hist)
        for i in range(max(offset - 1, 0), len(full) - 1):
            a, b = full[i], full[i + 1]
            if a is not None and b is not None and a in types and b in types[a].forbidden_next:
                bad.append(f"{emp.id}: {b} on day {i + 1 - offset} right after {a}")

        states = [s is not None for s in full]
        last = len(full) - 1
        for first, length, worked in _runs(states):
            end = first + length - 1
            if end < offset - 1:
                continue  # ended inside the history, before day 0 could change it
            if worked and end >= offset and emp.max_consecutive_shifts is not None and length > emp.max_consecutive_shifts:
                bad.append(f"{emp.id}: {length} shifts in a row ending day {end - offset}, max {emp.max_consecutive_shifts}")
            minimum = emp.min_consecutive_shifts if worked else emp.min_consecutive_days_off
            if length >= minimum or end == last:
                continue
            if first == 0:
                # touches the start of what is known: exempt (lenient edge, or a run older than the history)
                continue
            what = "shifts" if worked else "days off"
            bad.append(f"{emp.id}: {length} {what} in a row from day {first - offset}, min {minimum}")

        if emp.max_weekends is not None:
            worked_weekends = sum(1 for group in _weekends(problem) if any(row[d] is not None for d in group))
            if worked_weekends > emp.max_weekends:
                bad.append(f"{emp.id}: works {worked_weekends} weekends, max {emp.max_weekends}")

    # Cover, line by line.
    lines: dict[tuple[int, str], list[Cover]] = defaultdict(list)
    for c in problem.cover:
        if c.shift in types and 0 <= c.day < problem.days:
            lines[c.day, c.shift].append(c)
    for (day, sid), group in sorted(lines.items()):
        workers = [e for e in problem.employees if roster[e.id][day] == sid]
        counts = _count_lines(group, workers)
        for c, n in zip(group, counts, strict=True):
            if n < c.minimum:
                label = f"{sid}" + (f" ({c.skill})" if c.skill else "")
                bad.append(f"day {day} {label}: {n} staff, the minimum is {c.minimum}")
            costs["cover_under"] += c.weight_under * max(0, c.preferred - n)
            costs["cover_over"] += c.weight_over * max(0, n - c.preferred)

    for r in problem.requests:
        if r.employee not in roster or not 0 <= r.day < problem.days:
            continue
        got = roster[r.employee][r.day]
        if r.on and got != r.shift:
            costs["request_on"] += r.weight
        elif not r.on and got is not None and (r.shift is None or got == r.shift):
            costs["request_off"] += r.weight

    fair = problem.fairness
    n_emp = len(problem.employees)
    if n_emp:
        nights = {s.id for s in problem.shift_types if s.is_night}
        groups = _weekends(problem)
        tallies = {
            "fairness_nights": (fair.night_weight, [sum(1 for s in roster[e.id] if s in nights) for e in problem.employees]),
            "fairness_weekends": (
                fair.weekend_weight,
                [sum(1 for g in groups if any(roster[e.id][d] is not None for d in g)) for e in problem.employees],
            ),
            "fairness_holidays": (
                fair.holiday_weight,
                [
                    sum(1 for d in fair.holidays if 0 <= d < problem.days and roster[e.id][d] is not None)
                    for e in problem.employees
                ],
            ),
        }
        for rule, (weight, counts) in tallies.items():
            if not weight:
                continue
            total = sum(counts)
            mean = (2 * total + n_emp) // (2 * n_emp)  # rounded half up
            costs[rule] += weight * sum(max(0, c - mean) for c in counts)
    return CheckReport(hard_violations=bad, objective=sum(costs.values()), cost_by_rule=costs)


def _count_lines(group: list[Cover], workers) -> list[int]:
    """How many of the workers count on each line: each counts on exactly one line they qualify for, cheapest way."""
    if len(group) == 1:
        c = group[0]
        return [sum(1 for e in workers if c.skill is None or c.skill in e.skills)]
    # Min-cost flow: source -> eligibility class -> line -> sink, the line's arcs priced by position
    # (first `minimum` units very cheap, up to `preferred` at -weight_under, then +weight_over).
    classes: dict[tuple[int, ...], int] = defaultdict(int)
    for e in workers:
        key = tuple(i for i, c in enumerate(group) if c.skill is None or c.skill in e.skills)
        if key:
            classes[key] += 1
    n_lines = len(group)
    keys = list(classes)
    # nodes: 0 source, 1..K classes, K+1..K+L lines, K+L+1 sink
    source, sink = 0, len(keys) + n_lines + 1
    graph: list[list[list[int]]] = [[] for _ in range(sink + 1)]  # edge: [to, cap, cost, rev index]

    def edge(a: int, b: int, cap: int, cost: int) -> None:
        graph[a].append([b, cap, cost, len(graph[b])])
        graph[b].append([a, 0, -cost, len(graph[a]) - 1])

    total = sum(classes.values())
    for k, key in enumerate(keys, start=1):
        edge(source, k, classes[key], 0)
        for li in key:
            edge(k, len(keys) + 1 + li, total, 0)
    for li, c in enumerate(group):
        node = len(keys) + 1 + li
        edge(node, sink, c.minimum, -BIG)
        edge(node, sink, max(0, c.preferred - c.minimum), -c.weight_under)
        edge(node, sink, total, c.weight_over)
    for _ in range(total):  # one unit at a time along a cheapest path (Bellman-Ford: costs may be negative)
        dist = [None] * (sink + 1)
        back: list[tuple[int, int] | None] = [None] * (sink + 1)
        dist[source] = 0
        for _ in range(sink + 1):
            changed = False
            for a in range(sink + 1):
                if dist[a] is None:
                    continue
                for i, (b, cap, cost, _rev) in enumerate(graph[a]):
                    if cap > 0 and (dist[b] is None or dist[a] + cost < dist[b]):
                        dist[b] = dist[a] + cost
                        back[b] = (a, i)
                        changed = True
            if not changed:
                break
        node = sink
        while node != source:
            a, i = back[node]
            graph[a][i][1] -= 1
            b, _cap, _cost, rev = graph[a][i]
            graph[b][rev][1] += 1
            node = a
    counts = []
    for li in range(n_lines):
        node = len(keys) + 1 + li
        counts.append(sum(graph[sink][e[3]][1] for e in graph[node] if e[0] == sink))
    return counts
