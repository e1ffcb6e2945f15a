"""The roster problem as plain data: what the solver, the checker and the benchmark reader share.

Nothing here touches Django. The rostering services build a `RosterProblem` from the practice's shift
types, coverage needs, contracts, requests and locks; the Curtois & Qu reader builds one from a
benchmark file. Both go to the same solver and the same independent checker.

Days are 0-based indexes from `RosterProblem.start` (day 0 need not be a Monday: weekends come from
`weekend_days`). Every weight is an integer penalty; the objective is their sum, to minimise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

OFF = None  # an assignment of "no shift" on a day


class EdgeRule(StrEnum):
    """How minimum-run rules treat blocks that touch the first or last day of the plan.

    LENIENT: a block of shifts or days off touching day 0 or the last day is exempt from the
    minimum-length rules; days outside the plan count as days off for the maximum run; forbidden
    successions are not checked across the edges (the reading the Curtois & Qu best-known values use).
    HISTORY: the days before day 0 come from `Employee.history` (the last published roster), and only
    blocks touching the last day are exempt.
    """

    LENIENT = "lenient"
    HISTORY = "history"


@dataclass(frozen=True, slots=True)
class ShiftType:
    """A kind of shift: when it starts, how long it lasts, and which shifts may not follow it next day."""

    id: str
    length_minutes: int
    start_minute: int = 0  # minutes after midnight; start + length past 1440 runs over midnight
    forbidden_next: frozenset[str] = frozenset()
    is_night: bool = False


@dataclass(frozen=True, slots=True)
class Employee:
    """One person's contract for the plan; a limit of None means no limit."""

    id: str
    skills: frozenset[str] = frozenset()
    max_shifts_by_type: dict[str, int] = field(default_factory=dict)  # absent type = no limit; 0 = never
    min_minutes: int = 0
    max_minutes: int | None = None
    max_consecutive_shifts: int | None = None
    min_consecutive_shifts: int = 1
    min_consecutive_days_off: int = 1
    max_weekends: int | None = None
    history: tuple[str | None, ...] = ()  # shifts on the days just before day 0, oldest first (HISTORY edges)


@dataclass(frozen=True, slots=True)
class Cover:
    """How many people a shift on a day needs, optionally with one skill.

    Fewer than `minimum` is a hard rule (no roster is returned that breaks it). Between minimum and
    `preferred`, each missing person costs `weight_under`; each person above `preferred` costs
    `weight_over`. When `skill` is set, only employees holding it count, and a person counts towards
    one cover line per shift at most (the solver decides which).
    """

    day: int
    shift: str
    preferred: int
    minimum: int = 0
    skill: str | None = None
    weight_under: int = 100
    weight_over: int = 1


@dataclass(frozen=True, slots=True)
class ShiftRequest:
    """A wish: `on=True` to work `shift` on `day` (penalty if not given), `on=False` not to (penalty if given).

    `shift=None` with on=False means "any shift that day" (a soft day-off request).
    """

    employee: str
    day: int
    shift: str | None
    weight: int
    on: bool


@dataclass(frozen=True, slots=True)
class Fairness:
    """Spread nights, weekends and holidays evenly: each unit above the team's rounded mean costs the weight."""

    night_weight: int = 0
    weekend_weight: int = 0
    holiday_weight: int = 0
    holidays: frozenset[int] = frozenset()


@dataclass(slots=True)
class RosterProblem:
    """Everything the solver needs for one plan."""

    days: int
    shift_types: list[ShiftType]
    employees: list[Employee]
    cover: list[Cover]
    requests: list[ShiftRequest] = field(default_factory=list)
    days_off: set[tuple[str, int]] = field(default_factory=set)  # (employee, day): hard, no shift at all
    locks: dict[tuple[str, int], str | None] = field(default_factory=dict)  # (employee, day) -> shift or OFF
    fairness: Fairness = field(default_factory=Fairness)
    start: dt.date | None = None
    weekend_days: frozenset[int] = frozenset({5, 6})  # weekday numbers (Mon=0) that make a weekend
    edge_rule: EdgeRule = EdgeRule.LENIENT
    name: str = ""

    def weekday(self, day: int) -> int:
        """Monday = 0; without a start date, day 0 is a Monday (as in the benchmark files)."""
        if self.start is None:
            return day % 7
        return (self.start + dt.timedelta(days=day)).weekday()


# A roster: (employee, day) -> shift id; a missing key is a day off.
Assignment = dict[tuple[str, int], str]


@dataclass(slots=True)
class Progress:
    """One step of an anytime solve, as shown live on the roster page."""

    seconds: float
    objective: int
    bound: int
    solutions: int
    phase: str  # "first", "search", "neighbourhood", "done"


@dataclass(slots=True)
class CoverageGap:
    """Why a day, shift and skill cannot be covered: who could have worked it and what stopped each."""

    day: int
    shift: str
    skill: str | None
    needed: int
    possible: int
    reasons: list[str]


@dataclass(slots=True)
class SolveResult:
    """The best roster found, its cost by rule, and the proof state; gaps explain an infeasible plan."""

    status: str  # "optimal", "feasible", "infeasible", "unknown"
    assignment: Assignment
    objective: int | None
    bound: int | None
    seconds: float
    cost_by_rule: dict[str, int] = field(default_factory=dict)
    gaps: list[CoverageGap] = field(default_factory=list)
    progress: list[Progress] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # why the plan cannot be solved (locks, contracts), in words
