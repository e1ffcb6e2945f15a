"""Reader for the Curtois & Qu shift scheduling benchmark files (Instance1.txt .. Instance24.txt).

Each file becomes the same `RosterProblem` the practice's rosters use: cover lines are preferred
counts with no hard minimum, day 0 is a Monday, and the horizon edges are lenient (the reading the
published best-known values follow). A malformed file raises `InstanceFormatError` naming the file
and the line.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from .solver.problem import Cover, EdgeRule, Employee, RosterProblem, ShiftRequest, ShiftType

SECTIONS = (
    "SECTION_HORIZON",
    "SECTION_SHIFTS",
    "SECTION_STAFF",
    "SECTION_DAYS_OFF",
    "SECTION_SHIFT_ON_REQUESTS",
    "SECTION_SHIFT_OFF_REQUESTS",
    "SECTION_COVER",
)


class InstanceFormatError(ValueError):
    """A benchmark file that does not follow the format; the message names the file and line."""

    def __init__(self, path: Path | str, line: int, message: str):
        super().__init__(f"{path}, line {line}: {message}")
        self.path = str(path)
        self.line = line


@dataclass(frozen=True, slots=True)
class _Line:
    number: int
    fields: list[str]


def _int(path, line: _Line, text: str, what: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise InstanceFormatError(path, line.number, f"{what} must be an integer, not {text.strip()!r}") from None


def _fields(path, line: _Line, count: int, section: str) -> list[str]:
    if len(line.fields) != count:
        raise InstanceFormatError(
            path, line.number, f"{section} expects {count} comma-separated fields, found {len(line.fields)}"
        )
    return line.fields


def read_instance(path: Path | str) -> RosterProblem:
    """Parse one instance file into a RosterProblem (lenient edges, Monday start, minimum cover 0)."""
    path = Path(path)
    text = path.read_bytes().decode("ascii", errors="replace")
    sections: dict[str, list[_Line]] = {}
    current = None
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r").strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("SECTION_"):
            if line not in SECTIONS:
                raise InstanceFormatError(path, number, f"unknown section {line}")
            if line in sections:
                raise InstanceFormatError(path, number, f"section {line} appears twice")
            expected = SECTIONS[len(sections)]
            if line != expected:
                raise InstanceFormatError(path, number, f"expected {expected}, found {line}")
            current = line
            sections[current] = []
            continue
        if current is None:
            raise InstanceFormatError(path, number, "data before the first section")
        sections[current].append(_Line(number, next(csv.reader([line]))))
    if len(sections) != len(SECTIONS):
        missing = [s for s in SECTIONS if s not in sections]
        raise InstanceFormatError(path, number, f"missing section {missing[0]}")

    horizon = sections["SECTION_HORIZON"]
    if len(horizon) != 1:
        where = horizon[1].number if len(horizon) > 1 else number
        raise InstanceFormatError(path, where, "SECTION_HORIZON holds exactly one integer")
    days = _int(path, horizon[0], horizon[0].fields[0], "the horizon")
    if days <= 0:
        raise InstanceFormatError(path, horizon[0].number, "the horizon must be positive")

    shift_lines = sections["SECTION_SHIFTS"]
    shift_ids = [ln.fields[0].strip() for ln in shift_lines]
    shifts = []
    for ln in shift_lines:
        sid, length, nxt = _fields(path, ln, 3, "SECTION_SHIFTS")
        forbidden = frozenset(s.strip() for s in nxt.split("|") if s.strip())
        unknown = forbidden - set(shift_ids)
        if unknown:
            raise InstanceFormatError(path, ln.number, f"unknown shift {sorted(unknown)[0]} in ForbiddenNext")
        shifts.append(ShiftType(id=sid.strip(), length_minutes=_int(path, ln, length, "the length"), forbidden_next=forbidden))

    emps = []
    for ln in sections["SECTION_STAFF"]:
        eid, maxes, max_min, min_min, max_cons, min_cons, min_off, max_wk = _fields(path, ln, 8, "SECTION_STAFF")
        by_type = {}
        for pair in (p for p in maxes.split("|") if p.strip()):
            if "=" not in pair:
                raise InstanceFormatError(path, ln.number, f"MaxShifts entry {pair!r} is not ShiftID=max")
            sid, value = pair.split("=", 1)
            if sid.strip() not in shift_ids:
                raise InstanceFormatError(path, ln.number, f"unknown shift {sid.strip()} in MaxShifts")
            by_type[sid.strip()] = _int(path, ln, value, "a MaxShifts value")
        emps.append(
            Employee(
                id=eid.strip(),
                max_shifts_by_type=by_type,
                max_minutes=_int(path, ln, max_min, "MaxTotalMinutes"),
                min_minutes=_int(path, ln, min_min, "MinTotalMinutes"),
                max_consecutive_shifts=_int(path, ln, max_cons, "MaxConsecutiveShifts"),
                min_consecutive_shifts=_int(path, ln, min_cons, "MinConsecutiveShifts"),
                min_consecutive_days_off=_int(path, ln, min_off, "MinConsecutiveDaysOff"),
                max_weekends=_int(path, ln, max_wk, "MaxWeekends"),
            )
        )
    emp_ids = {e.id for e in emps}

    def employee(ln: _Line, text: str) -> str:
        if text.strip() not in emp_ids:
            raise InstanceFormatError(path, ln.number, f"unknown employee {text.strip()}")
        return text.strip()

    def day(ln: _Line, text: str) -> int:
        value = _int(path, ln, text, "a day")
        if not 0 <= value < days:
            raise InstanceFormatError(path, ln.number, f"day {value} is outside the horizon 0..{days - 1}")
        return value

    def shift(ln: _Line, text: str) -> str:
        if text.strip() not in shift_ids:
            raise InstanceFormatError(path, ln.number, f"unknown shift {text.strip()}")
        return text.strip()

    days_off = set()
    for ln in sections["SECTION_DAYS_OFF"]:
        if len(ln.fields) < 2:
            raise InstanceFormatError(path, ln.number, "SECTION_DAYS_OFF expects an employee and at least one day")
        eid = employee(ln, ln.fields[0])
        days_off.update((eid, day(ln, f)) for f in ln.fields[1:] if f.strip())

    requests = []
    for key, on in (("SECTION_SHIFT_ON_REQUESTS", True), ("SECTION_SHIFT_OFF_REQUESTS", False)):
        for ln in sections[key]:
            eid, d, sid, weight = _fields(path, ln, 4, key)
            requests.append(
                ShiftRequest(
                    employee=employee(ln, eid), day=day(ln, d), shift=shift(ln, sid),
                    weight=_int(path, ln, weight, "the weight"), on=on,
                )
            )

    cover = []
    for ln in sections["SECTION_COVER"]:
        d, sid, req, under, over = _fields(path, ln, 5, "SECTION_COVER")
        cover.append(
            Cover(
                day=day(ln, d), shift=shift(ln, sid), preferred=_int(path, ln, req, "the requirement"), minimum=0,
                weight_under=_int(path, ln, under, "WeightUnder"), weight_over=_int(path, ln, over, "WeightOver"),
            )
        )
    return RosterProblem(
        days=days, shift_types=shifts, employees=emps, cover=cover, requests=requests, days_off=days_off,
        edge_rule=EdgeRule.LENIENT, name=path.stem,
    )
