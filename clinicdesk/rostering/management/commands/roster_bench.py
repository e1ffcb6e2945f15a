"""Solve the Curtois & Qu benchmark instances with the roster solver and check each roster independently.

    manage.py roster_bench --instances DIR --time-limit SECONDS [--workers N] [--only 1-19] [--seeds 0-2]

Prints one CSV line per instance: instance,objective,best_known,gap_percent,seconds,status. The run fails
(non-zero exit) when the checker disagrees with the solver (another objective, or a hard rule broken).
A malformed instance file stops the run with the file and line named.

With more than one seed (`--seeds`), each instance is solved once per seed, the lines gain a last column
`seed`, and the summary gives the geometric mean of each seed's table and of each instance's median: one
run of a neighbourhood search varies more from seed to seed than most changes to it.
"""

from __future__ import annotations

import csv
import statistics
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clinicdesk.rostering.checker import check
from clinicdesk.rostering.curtois import InstanceFormatError, read_instance
from clinicdesk.rostering.solver import solve


def parse_only(text: str, option: str = "--only", what: str = "instance numbers") -> list[int]:
    """'1-19', '2,5,8' or '1-3,20' -> instance numbers (or seeds)."""
    numbers: list[int] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        try:
            if "-" in part:
                low, high = (int(v) for v in part.split("-", 1))
                if low > high:
                    raise ValueError
                numbers.extend(range(low, high + 1))
            else:
                numbers.append(int(part))
        except ValueError:
            raise CommandError(f"{option}: '{text}' is not a list of {what} like 1-19 or 2,5,8.") from None
    if not numbers:
        raise CommandError(f"{option}: '{text}' names no {what}.")
    return numbers


def best_known(directory: Path) -> dict[str, int]:
    path = directory / "best_known.csv"
    if not path.exists():
        return {}
    with path.open(newline="") as handle:
        return {row["instance"]: int(row["best_upper"]) for row in csv.DictReader(handle) if row.get("best_upper")}


class Command(BaseCommand):
    help = "Solve the Curtois & Qu instances, check each roster independently, print one CSV line per instance."

    def add_arguments(self, parser):
        parser.add_argument("--instances", required=True, metavar="DIR", help="Folder with Instance1.txt .. Instance24.txt.")
        parser.add_argument("--time-limit", type=float, default=60.0, metavar="SECONDS", help="Per instance (default 60).")
        parser.add_argument("--workers", type=int, default=2, help="CP-SAT workers (default 2).")
        parser.add_argument("--only", default="1-24", help="Instance numbers, e.g. 1-19 or 2,5,8 (default 1-24).")
        parser.add_argument("--seeds", default="0", help="Solver seeds, e.g. 0-2: each instance solved once per seed "
                                                         "(default 0).")

    def handle(self, *args, instances, time_limit, workers, only, seeds, **options):
        directory = Path(instances)
        if not directory.is_dir():
            raise CommandError(f"--instances: {directory} is not a folder.")
        if time_limit <= 0:
            raise CommandError("--time-limit must be positive.")
        numbers = parse_only(only)
        seed_list = list(dict.fromkeys(parse_only(seeds, "--seeds", "seeds")))
        several = len(seed_list) > 1
        known = best_known(directory)
        self.stdout.write("instance,objective,best_known,gap_percent,seconds,status" + (",seed" if several else ""))
        failures: list[str] = []
        ratios: dict[int, dict[int, float]] = {seed: {} for seed in seed_list}  # seed -> instance -> ratio
        for number in numbers:
            name = f"Instance{number}"
            path = directory / f"{name}.txt"
            if not path.exists():
                raise CommandError(f"{path}: no such instance file.")
            try:
                problem = read_instance(path)
            except InstanceFormatError as exc:
                raise CommandError(str(exc)) from None
            best = known.get(name)
            for seed in seed_list:
                started = time.monotonic()
                result = solve(problem, time_limit=time_limit, workers=workers, seed=seed)
                seconds = time.monotonic() - started
                status = result.status
                gap = ""
                if result.objective is not None:
                    report = check(problem, result.assignment)
                    if report.hard_violations:
                        failures.append(f"{name}: the checker finds {len(report.hard_violations)} broken rule(s), "
                                        f"first: {report.hard_violations[0]}")
                        status = "check_failed"
                    elif report.objective != result.objective:
                        failures.append(f"{name}: solver objective {result.objective}, checker {report.objective}")
                        status = "check_failed"
                    if best:
                        gap = f"{100.0 * (result.objective - best) / best:.2f}"
                        if number <= 19:
                            ratios[seed][number] = result.objective / best
                objective = "" if result.objective is None else str(result.objective)
                self.stdout.write(f"{name},{objective},{best or ''},{gap},{seconds:.1f},{status}"
                                  + (f",{seed}" if several else ""))
                self.stdout.flush()
        for seed, by_instance in ratios.items():
            if by_instance:
                which = f" (seed {seed})" if several else ""
                self.stderr.write(f"geometric mean of objective/best_known over {len(by_instance)} instance(s) of "
                                  f"1-19{which}: {statistics.geometric_mean(by_instance.values()):.4f}")
        if several:
            by_number: dict[int, list[float]] = {}
            for by_instance in ratios.values():
                for number, ratio in by_instance.items():
                    by_number.setdefault(number, []).append(ratio)
            medians = [statistics.median(values) for values in by_number.values()]
            if medians:
                self.stderr.write(f"geometric mean of each instance's median over {len(seed_list)} seeds, "
                                  f"{len(medians)} instance(s) of 1-19: {statistics.geometric_mean(medians):.4f}")
        if failures:
            raise CommandError("checker mismatch: " + "; ".join(failures))
