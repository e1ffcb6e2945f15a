"""Why a plan cannot be solved, in words a roster manager can act on.

- `lock_conflicts`: locks that break a hard rule by themselves (checked before any solving).
- `quick_gaps`: cover lines whose minimum exceeds the people who could work them at all (day off,
  skill, contract, locks), ignoring the sequence rules.
- `coverage_gaps`: for a roster solved with the minimums softened, the lines left short and why each
  person not on them could not be (day off, skill, contract maximum, rest rule, runs, weekends...).
"""

from __future__ import annotations

from collections import defaultdict

from .model import weekend_groups
from .problem import Assignment, Cover, CoverageGap, RosterProblem


def lock_conflicts(problem: RosterProblem) -> list[str]:
    """Locks that cannot hold whatever else the roster does, as messages."""
    out: list[str] = []
    emps = {e.id: e for e in problem.employees}
    types = {s.id: s for s in problem.shift_types}
    per_type: dict[tuple[str, str], int] = defaultdict(int)
    for (eid, day), sid in sorted(problem.locks.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        where = f"{eid} on day {day}"
        if eid not in emps:
            out.append(f"{where}: locked, but {eid} is not on this plan")
            continue
        if not 0 <= day < problem.days:
            out.append(f"{where}: locked outside the plan's {problem.days} days")
            continue
        if sid is None:
            continue
        if sid not in types:
            out.append(f"{where}: locked onto unknown shift {sid}")
            continue
        if (eid, day) in problem.days_off:
            out.append(f"{where}: locked onto {sid} on a day off")
        limit = emps[eid].max_shifts_by_type.get(sid)
        if limit == 0:
            out.append(f"{where}: locked onto {sid}, which {eid}'s contract does not allow")
        per_type[eid, sid] += 1
        nxt = problem.locks.get((eid, day + 1))
        if nxt is not None and nxt in types[sid].forbidden_next:
            out.append(f"{where}: locked onto {sid} and day {day + 1} onto {nxt}, which may not follow {sid}")
    for (eid, sid), count in sorted(per_type.items()):
        limit = emps[eid].max_shifts_by_type.get(sid)
        if limit and count > limit:
            out.append(f"{eid}: locked onto {count} {sid} shifts, the contract allows {limit}")
    for emp in problem.employees:
        k = emp.max_consecutive_shifts
        if k is None:
            continue
        run = 0
        for day in range(problem.days):
            run = run + 1 if problem.locks.get((emp.id, day)) is not None else 0
            if run == k + 1:
                out.append(f"{emp.id}: locked onto {run} shifts in a row up to day {day}, the contract allows {k}")
    return out


def _lines(problem: RosterProblem) -> dict[tuple[int, str], list[Cover]]:
    lines: dict[tuple[int, str], list[Cover]] = defaultdict(list)
    for c in problem.cover:
        lines[c.day, c.shift].append(c)
    return lines


def _static_reason(problem: RosterProblem, emp, day: int, shift: str, skill: str | None) -> str | None:
    """Why this person can never work this line, from days off, skills, contract and locks alone."""
    if (emp.id, day) in problem.days_off:
        return f"{emp.id}: day off"
    if skill is not None and skill not in emp.skills:
        return f"{emp.id}: lacks {skill}"
    if emp.max_shifts_by_type.get(shift, 1) == 0:
        return f"{emp.id}: contract allows no {shift} shifts"
    if (emp.id, day) in problem.locks:
        locked = problem.locks[emp.id, day]
        if locked != shift:
            return f"{emp.id}: locked {'off' if locked is None else 'onto ' + locked}"
    return None


def quick_gaps(problem: RosterProblem) -> list[CoverageGap]:
    """Minimums that more people than exist would be needed for, ignoring the sequence rules."""
    gaps = []
    for (day, shift), group in sorted(_lines(problem).items()):
        if not any(c.minimum for c in group):
            continue
        for c in group:
            if not c.minimum:
                continue
            reasons, possible = [], 0
            for emp in problem.employees:
                why = _static_reason(problem, emp, day, shift, c.skill)
                if why is None:
                    possible += 1
                else:
                    reasons.append(why)
            if possible < c.minimum:
                gaps.append(CoverageGap(day=day, shift=shift, skill=c.skill, needed=c.minimum, possible=possible,
                                        reasons=reasons))
        if len(group) > 1:
            needed = sum(c.minimum for c in group)
            able = [e for e in problem.employees
                    if any(_static_reason(problem, e, day, shift, c.skill) is None for c in group)]
            if len(able) < needed and not any(g.day == day and g.shift == shift for g in gaps):
                gaps.append(CoverageGap(day=day, shift=shift, skill=None, needed=needed, possible=len(able),
                                        reasons=[f"the lines of {shift} need {needed} people together"]))
    return gaps


def coverage_gaps(problem: RosterProblem, assignment: Assignment) -> list[CoverageGap]:
    """The lines a roster leaves below their minimum, and why each other person is not on them."""
    from ..checker import _count_lines

    types = {s.id: s for s in problem.shift_types}
    groups = weekend_groups(problem)
    weekend_of = {d: i for i, g in enumerate(groups) for d in g}
    gaps = []
    for (day, shift), group in sorted(_lines(problem).items()):
        workers = [e for e in problem.employees if assignment.get((e.id, day)) == shift]
        counts = _count_lines(group, workers)
        for c, n in zip(group, counts, strict=True):
            if n >= c.minimum:
                continue
            reasons = []
            for emp in problem.employees:
                if assignment.get((emp.id, day)) == shift:
                    continue
                why = _static_reason(problem, emp, day, shift, c.skill)
                if why is None:
                    why = _roster_reason(problem, assignment, emp, day, shift, types, groups, weekend_of)
                reasons.append(why)
            gaps.append(CoverageGap(day=day, shift=shift, skill=c.skill, needed=c.minimum, possible=n, reasons=reasons))
    return gaps


def _roster_reason(problem, assignment, emp, day, shift, types, groups, weekend_of) -> str:
    row = [assignment.get((emp.id, d)) for d in range(problem.days)]
    if row[day] is not None:
        return f"{emp.id}: works {row[day]} that day"
    if day > 0 and row[day - 1] is not None and shift in types[row[day - 1]].forbidden_next:
        return f"{emp.id}: rest after {row[day - 1]} the day before"
    if day + 1 < problem.days and row[day + 1] is not None and row[day + 1] in types[shift].forbidden_next:
        return f"{emp.id}: {row[day + 1]} the next day may not follow {shift}"
    limit = emp.max_shifts_by_type.get(shift)
    if limit is not None and sum(1 for s in row if s == shift) >= limit:
        return f"{emp.id}: contract maximum of {limit} {shift} shifts reached"
    minutes = sum(types[s].length_minutes for s in row if s is not None)
    if emp.max_minutes is not None and minutes + types[shift].length_minutes > emp.max_minutes:
        return f"{emp.id}: would exceed {emp.max_minutes} contract minutes"
    if emp.max_consecutive_shifts is not None:
        before = 0
        while day - before - 1 >= 0 and row[day - before - 1] is not None:
            before += 1
        after = 0
        while day + after + 1 < problem.days and row[day + after + 1] is not None:
            after += 1
        if before + after + 1 > emp.max_consecutive_shifts:
            return f"{emp.id}: would work more than {emp.max_consecutive_shifts} shifts in a row"
    if day in weekend_of and emp.max_weekends is not None:
        worked = sum(1 for g in groups if any(row[d] is not None for d in g))
        if not any(row[d] is not None for d in groups[weekend_of[day]]) and worked >= emp.max_weekends:
            return f"{emp.id}: already works the maximum of {emp.max_weekends} weekends"
    return f"{emp.id}: needed off by the minimum run rules (shifts or days off in a row)"
