"""`manage.py roster_bench`: the CSV table, the independent check, and clear errors."""

from __future__ import annotations

import shutil
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from clinicdesk.rostering.checker import CheckReport
from clinicdesk.rostering.management.commands import roster_bench


def run(*args, err: StringIO | None = None) -> str:
    out = StringIO()
    call_command("roster_bench", *args, stdout=out, stderr=err or StringIO())
    return out.getvalue()


def test_instance1_is_solved_to_its_best_known_value_and_checked(curtois):
    lines = run("--instances", str(curtois), "--time-limit", "20", "--only", "1").splitlines()
    assert lines[0] == "instance,objective,best_known,gap_percent,seconds,status"
    name, objective, best, gap, seconds, status = lines[1].split(",")
    assert (name, objective, best, gap, status) == ("Instance1", "607", "607", "0.00", "optimal")
    assert float(seconds) <= 25


def test_several_seeds_solve_each_instance_once_per_seed_and_summarise_the_medians(curtois, monkeypatch):
    seen = []
    real_solve = roster_bench.solve

    def solve(problem, **kwargs):
        seen.append(kwargs["seed"])
        return real_solve(problem, **kwargs)

    monkeypatch.setattr(roster_bench, "solve", solve)
    err = StringIO()
    lines = run("--instances", str(curtois), "--time-limit", "5", "--only", "1", "--seeds", "3,5-6,3", err=err).splitlines()
    assert seen == [3, 5, 6]
    assert lines[0] == "instance,objective,best_known,gap_percent,seconds,status,seed"
    rows = [line.split(",") for line in lines[1:]]
    assert [(r[0], r[1], r[5], r[6]) for r in rows] == [("Instance1", "607", "optimal", s) for s in ("3", "5", "6")]
    summary = err.getvalue()
    assert "over 1 instance(s) of 1-19 (seed 5): 1.0000" in summary
    assert "geometric mean of each instance's median over 3 seeds, 1 instance(s) of 1-19: 1.0000" in summary


def test_one_seed_keeps_the_table_as_it_was(curtois):
    err = StringIO()
    lines = run("--instances", str(curtois), "--time-limit", "5", "--only", "1", "--seeds", "4", err=err).splitlines()
    assert lines[0] == "instance,objective,best_known,gap_percent,seconds,status"
    assert lines[1].split(",")[1] == "607" and len(lines[1].split(",")) == 6
    assert "median" not in err.getvalue() and "(seed" not in err.getvalue()


def test_a_checker_mismatch_fails_the_run(curtois, monkeypatch):
    monkeypatch.setattr(roster_bench, "check", lambda problem, assignment: CheckReport(["A: broken"], 0, {}))
    with pytest.raises(CommandError, match="checker mismatch: Instance1: the checker finds 1 broken rule"):
        run("--instances", str(curtois), "--time-limit", "5", "--only", "1")


def test_a_malformed_instance_names_file_and_line(curtois, tmp_path):
    shutil.copy(curtois / "best_known.csv", tmp_path / "best_known.csv")
    text = (curtois / "Instance1.txt").read_bytes().replace(b"SECTION_HORIZON\r\n# All instances start on a Monday\r\n"
                                                            b"# The horizon length in days:\r\n14", b"SECTION_HORIZON\r\n"
                                                            b"# All instances start on a Monday\r\n# The horizon length in days:\r\nfourteen")
    assert b"fourteen" in text
    (tmp_path / "Instance1.txt").write_bytes(text)
    with pytest.raises(CommandError, match=r"Instance1.txt, line 5: the horizon must be an integer, not 'fourteen'"):
        run("--instances", str(tmp_path), "--time-limit", "5", "--only", "1")


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(CommandError, match="--only: 'x' is not a list of instance numbers"):
        run("--instances", str(tmp_path), "--only", "x")
    with pytest.raises(CommandError, match="--seeds: '1-x' is not a list of seeds"):
        run("--instances", str(tmp_path), "--seeds", "1-x")
    with pytest.raises(CommandError, match="--seeds: ',' names no seeds"):
        run("--instances", str(tmp_path), "--seeds", ",")
    with pytest.raises(CommandError, match="is not a folder"):
        run("--instances", str(tmp_path / "missing"))
    with pytest.raises(CommandError, match="no such instance file"):
        run("--instances", str(tmp_path), "--only", "3", "--time-limit", "1")


def test_only_accepts_ranges_and_lists():
    assert roster_bench.parse_only("1-3,20") == [1, 2, 3, 20]
    assert roster_bench.parse_only("5") == [5]
