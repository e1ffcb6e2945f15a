"""The Curtois & Qu reader: the real files (from ../shared/data) and malformed ones, named by file and line."""

from __future__ import annotations

import pytest

from clinicdesk.rostering.curtois import InstanceFormatError, read_instance
from clinicdesk.rostering.solver.problem import EdgeRule

SIZES = {  # instance: (days, staff, shift types, on-requests, off-requests), as counted in FORMAT.md
    1: (14, 8, 1, 21, 5),
    2: (14, 14, 2, 50, 12),
    8: (28, 30, 4, 139, 86),
    13: (28, 120, 18, 589, 252),
    19: (84, 40, 5, 587, 247),
    24: (364, 150, 32, 9540, 4269),
}


@pytest.mark.parametrize("number", sorted(SIZES))
def test_real_instances_have_the_documented_sizes(curtois, number):
    p = read_instance(curtois / f"Instance{number}.txt")
    on = sum(1 for r in p.requests if r.on)
    off = sum(1 for r in p.requests if not r.on)
    assert (p.days, len(p.employees), len(p.shift_types), on, off) == SIZES[number]
    assert p.edge_rule == EdgeRule.LENIENT
    assert p.name == f"Instance{number}"
    assert all(c.minimum == 0 and c.weight_under == 100 and c.weight_over == 1 for c in p.cover)


def test_instance2_reads_contracts_successions_days_off_and_cover(curtois):
    p = read_instance(curtois / "Instance2.txt")
    shifts = {s.id: s for s in p.shift_types}
    assert shifts["L"].forbidden_next == frozenset({"E"})
    assert shifts["E"].length_minutes == 480
    a = p.employees[0]
    assert (a.id, a.max_shifts_by_type, a.max_minutes, a.min_minutes) == ("A", {"E": 14, "L": 14}, 4320, 3360)
    assert (a.max_consecutive_shifts, a.min_consecutive_shifts, a.min_consecutive_days_off, a.max_weekends) == (5, 2, 2, 1)
    assert p.employees[3].max_shifts_by_type["L"] == 0
    assert all(0 <= d < 14 for _, d in p.days_off)
    assert len({(c.day, c.shift) for c in p.cover}) == len(p.cover)


GOOD = """SECTION_HORIZON\r
7\r
\r
SECTION_SHIFTS\r
D,480,\r
\r
SECTION_STAFF\r
A,D=7,2400,0,5,1,1,1\r
\r
SECTION_DAYS_OFF\r
A,3\r
\r
SECTION_SHIFT_ON_REQUESTS\r
A,0,D,2\r
\r
SECTION_SHIFT_OFF_REQUESTS\r
\r
SECTION_COVER\r
0,D,1,100,1\r
"""


def test_a_small_crlf_file_reads(tmp_path):
    path = tmp_path / "Small.txt"
    path.write_bytes(GOOD.encode())
    p = read_instance(path)
    assert p.days == 7 and p.days_off == {("A", 3)} and len(p.cover) == 1 and p.requests[0].weight == 2


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("7\r\n", "seven\r\n", 2, "the horizon must be an integer, not 'seven'"),
        ("D,480,\r\n", "D,480\r\n", 5, "SECTION_SHIFTS expects 3 comma-separated fields, found 2"),
        ("A,D=7,2400", "A,X=7,2400", 8, "unknown shift X in MaxShifts"),
        ("A,3\r\n", "A,9\r\n", 11, "day 9 is outside the horizon 0..6"),
        ("A,0,D,2\r\n", "B,0,D,2\r\n", 14, "unknown employee B"),
        ("0,D,1,100,1\r\n", "0,D,1,100\r\n", 19, "SECTION_COVER expects 5 comma-separated fields, found 4"),
        ("SECTION_DAYS_OFF", "SECTION_NOTES", 10, "unknown section SECTION_NOTES"),
        ("SECTION_STAFF", "SECTION_COVER", 7, "expected SECTION_STAFF, found SECTION_COVER"),
    ],
)
def test_malformed_files_name_the_file_and_line(tmp_path, old, new, line, message):
    path = tmp_path / "Broken.txt"
    assert old in GOOD
    path.write_bytes(GOOD.replace(old, new, 1).encode())
    with pytest.raises(InstanceFormatError) as err:
        read_instance(path)
    assert str(err.value) == f"{path}, line {line}: {message}"
    assert err.value.line == line


def test_a_missing_section_is_named(tmp_path):
    path = tmp_path / "Short.txt"
    path.write_bytes(GOOD[: GOOD.index("SECTION_COVER")].encode())
    with pytest.raises(InstanceFormatError, match="missing section SECTION_COVER"):
        read_instance(path)
