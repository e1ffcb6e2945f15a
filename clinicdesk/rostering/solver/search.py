"""Anytime search: a first roster built a few people at a time, then large neighbourhood search.

1. First roster: people are added in small groups, each group solved by CP-SAT against the cover the
   earlier groups left (minimum cover is a heavy cost here, so a partial roster is never refused).
2. Neighbourhood search: most of the best roster is fixed (all but a few people over a stretch of
   days, all but a window of days, or a scatter of person-weeks) and the free part is re-solved for
   a moment with the best roster as hint; improvements are kept and the neighbourhood grows while
   its solves finish and shrinks when they time out.
3. Proof: when the whole model is small enough, the remaining time goes to CP-SAT on the whole
   model, hinted with the best roster, which improves the lower bound (and sometimes the roster).

On a large plan whose weekends are just enough, the team's weekends are planned first (`weekends.py`) and steps
1-3 run with them locked until WEEKEND_LOCKED_SHARE of the time; their roster is where the search goes on.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable

from ortools.sat.python import cp_model

from .model import RULES, Cells, RosterModel, build_model, forced_cells
from .problem import Assignment, Progress, RosterProblem, SolveResult
from .rows import RowSearch
from .weekends import SlotModel, WeekendModel, weekends_come_first

MINIMUM_WEIGHT = 1_000_000  # per person short of a hard minimum while the search still repairs it
FULL_MODEL_LIMIT = 60_000  # free shift literals up to which the whole model is solved for a bound
# A neighbourhood's solve time the size aims at: 0.3 s and 0.6 s measured alike (Instances 8, 12, 19, 15 s of
# process time each: geometric mean 4,507 and 4,479, against 5,095 with the earlier growth while proven, 4,937 at 0.15 s).
TARGET_SECONDS = 0.6
# Free shift literals up to which a plan whose rows the programme re-solves still starts from CP-SAT on the whole
# model: measured at 60 s, starting from the patterns and the row moves instead gave Instances 5-8 (728 to 2,324
# literals) 1,234 / 2,047 / 1,076 / 1,569 against 1,343 / 2,056 / 1,187 / 2,044, but Instance 4 (504) 1,719 against
# its optimum 1,716, and Instance 1 (112) was proven optimal only at 51 s instead of 0.6 s.
ROWS_FIRST_SIZE = 600
ROW_MOVE_SECONDS = 0.3  # single-person moves between two neighbourhoods of the first worker
# Late acceptance of those moves: measured side by side at 60 s (Instances 8, 13, 19: 2,160 / 5,903 / 5,616 taking
# only better moves, 1,851 / 5,822 / 5,200 with a memory of 100; Instances 5, 12, 15, 18 alike within the noise).
WALK_MEMORY = 100
# The share of the walk's moves aimed at a short cover line (`RowSearch.aimed_people`); the rest draw people at
# random. Measured over 1,500 moves from one Instance 13 roster (5,113), two seeds: random only 5,012 and 4,914,
# half aimed 4,630 and 4,805, all aimed 4,429 and 4,803; over 600 moves, all aimed against random only, Instance 15
# went 6,537 against 6,635 and 12 6,654 against 6,673, but 19 7,080 against 6,837; over 500 moves from another
# Instance 19 roster, half aimed reached 5,889 against 6,257 for random only.
AIMED_SHARE = 0.5
# CP-SAT's workers on the whole model of a plan with hard minimum cover (the practice's own plans): the search on the
# fullest linear relaxation and the tree search on its bound. Measured on bench/roster_solver.py's 40-person month,
# 60 s on 2 cores: CP-SAT's default pair of workers ended at 847 above a bound of 746 (828 after 300 s, the bound
# unmoved); these two proved 748 optimal in 27 s.
WHOLE_MODEL_SUBSOLVERS = ("max_lp", "lb_tree_search")
# Weekends first (`weekends.py`, large plans whose weekends are just enough): the share of the time for planning
# the weekends, at most WEEKEND_PLAN_MAX seconds, of which WEEKEND_SLOTS_SHARE goes to who works which days and the
# rest to the types, and the share by whose end the search with those weekends locked stops. Measured with the typed
# plan alone on Instance 13 at 60 s: plans of 8 s and 15 s, locked until 0.4, 0.6 or 0.8 of the time, ended at
# 2,224 to 2,702 (seven runs), against 2,854 to 3,719 for the search without them. With both plans, a quarter of the
# time: Instance 19's days plan cost 4,600 after 5 s, 3,300 after 10 s and 2,900 after 20 s (docs/benchmarks.md).
WEEKEND_PLAN_SHARE = 0.25
WEEKEND_SLOTS_SHARE = 0.65
WEEKEND_PLAN_MAX = 30.0
WEEKEND_LOCKED_SHARE = 0.6


class _Stopper:
    """Stop a CP-SAT run when the caller's event is set."""

    def __init__(self, solver: cp_model.CpSolver, stop: threading.Event | None):
        self.solver, self.stop, self.done = solver, stop, threading.Event()
        self.thread = None
        if stop is not None:
            self.thread = threading.Thread(target=self._watch, daemon=True)
            self.thread.start()

    def _watch(self) -> None:
        while not self.done.is_set():
            if self.stop.wait(0.1):
                self.solver.stop_search()
                return

    def close(self) -> None:
        self.done.set()


class _Reporter(cp_model.CpSolverSolutionCallback):
    def __init__(self, on_solution, objective):
        super().__init__()
        self.on_solution = on_solution
        self.objective = objective

    def on_solution_callback(self) -> None:
        if self.on_solution:
            self.on_solution(int(self.value(self.objective)), int(self.best_objective_bound))


def run_model(
    rm: RosterModel,
    *,
    seconds: float,
    workers: int,
    hint: Cells | None = None,
    stop: threading.Event | None = None,
    on_solution: Callable[[int, int], None] | None = None,
    seed: int = 0,
    first_only: bool = False,
    feasibility: bool = False,
    linearization: int = 1,
    subsolvers: tuple[str, ...] = (),
) -> tuple[str, Cells | None, int | None, int | None]:
    """Solve a built model: (status name, roster, objective, bound)."""
    if hint:
        complete_hint(rm, hint)
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.max_time_in_seconds = max(0.05, seconds)
    params.num_workers = max(1, workers)
    params.random_seed = seed
    # measured: level 2 proves small neighbourhoods optimal several times faster; level 0 finds a first
    # roster of a long plan sooner
    params.linearization_level = 0 if feasibility else linearization
    if first_only:
        params.stop_after_first_solution = True
    if subsolvers:
        params.subsolvers.extend(subsolvers)
    stopper = _Stopper(solver, stop)
    try:
        status = solver.solve(rm.model, _Reporter(on_solution, rm.objective_expr()) if on_solution else None)
    finally:
        stopper.close()
    name = solver.status_name(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return name, None, None, None
    # the exact cost of the roster (CP-SAT's own objective value may count slack the presolve left)
    if feasibility:
        return name, rm.read(solver.boolean_value), None, None
    objective = int(solver.value(rm.objective_expr()))
    return name, rm.read(solver.boolean_value), objective, int(solver.best_objective_bound)


def complete_hint(rm: RosterModel, hint: Cells) -> bool:
    """Hint every variable of the model (not only the shifts), so CP-SAT starts from the roster as given.

    The auxiliary variables (cover shortfalls, weekends worked...) are found by solving a copy of the
    model with the shifts fixed to the hint; an incomplete hint is often lost by the presolve.
    """
    copy = rm.model.clone()
    copy.clear_hints()
    for (ei, d, si), v in rm.x.items():
        copy.add(copy.get_bool_var_from_proto_index(v.index) == int(hint.get((ei, d)) == si))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 2.0
    status = solver.solve(copy)
    rm.model.clear_hints()
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        for (ei, d, si), v in rm.x.items():
            rm.model.add_hint(v, hint.get((ei, d)) == si)
        return False
    values = list(solver.response_proto.solution)
    proto_hint = rm.model.proto.solution_hint
    proto_hint.vars.extend(range(len(values)))
    proto_hint.values.extend(values)
    return True


class Search:
    """One anytime solve of a problem; `run` returns the SolveResult."""

    def __init__(self, problem, *, time_limit, workers, on_progress, hint, stop, seed=0, on_roster=None):
        self.problem = problem
        self.on_roster = on_roster
        self.time_limit = time_limit
        self.workers = workers
        self.on_progress = on_progress
        self.hint = hint
        self.stop = stop
        self.rng = random.Random(seed)  # noqa: S311  (neighbourhood choice, not security)
        self.lock = threading.Lock()
        self.sub_time = 1.0
        self.optimal = False
        self.proved_infeasible = False
        self.infeasible_people: list[str] = []
        self.soft_roster: Cells | None = None
        self.t0 = time.monotonic()
        self.forced, _ = forced_cells(problem)
        self.best: Cells | None = None
        self.best_obj: int | None = None  # includes the minimum-cover shortfall penalty
        self.bound: int | None = None
        self.solutions = 0
        self.progress: list[Progress] = []
        self.e_index = {e.id: i for i, e in enumerate(problem.employees)}
        self.s_index = {s.id: i for i, s in enumerate(problem.shift_types)}
        n_types = [sum(1 for s in problem.shift_types if e.max_shifts_by_type.get(s.id, 1) != 0) for e in problem.employees]
        self.full_size = sum(n_types) * problem.days
        self.has_minimum = any(c.minimum > 0 for c in problem.cover)
        self.last_kind = ""  # the kind of the last neighbourhood drawn (for measuring)
        rows = RowSearch(problem, self.forced, MINIMUM_WEIGHT)
        self.rows = rows if rows.enabled else None
        self.rows_from: Cells | None = None  # the roster the last pass of row moves started from
        self.walk: Cells | None = None  # the late-acceptance walk of row moves (`row_walk`)
        self.walk_from: Cells | None = None
        self.walk_cost = 0
        self.walk_history: list[int] = []
        self.walk_steps = 0
        self.plan_weekends = True  # `weekends_first` where it applies (not inside its own locked search)

    # -- bookkeeping -------------------------------------------------------------------------
    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def remaining(self) -> float:
        return self.time_limit - self.elapsed()

    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def report(self, phase: str) -> None:
        p = Progress(
            seconds=round(self.elapsed(), 3),
            objective=self.best_obj if self.best_obj is not None else -1,
            bound=self.bound if self.bound is not None else 0,
            solutions=self.solutions,
            phase=phase,
        )
        self.progress.append(p)
        if self.on_progress:
            self.on_progress(p)

    def report_running(self, objective: int, bound: int) -> None:
        """Progress from inside a CP-SAT run (the roster itself is read when the run ends)."""
        if self.best_obj is not None and objective >= self.best_obj:
            return
        self.solutions += 1
        p = Progress(seconds=round(self.elapsed(), 3), objective=objective, bound=max(bound, 0), solutions=self.solutions,
                     phase="first" if self.best_obj is None else "search")
        self.progress.append(p)
        if self.on_progress:
            self.on_progress(p)

    def offer(self, cells: Cells, objective: int, phase: str) -> bool:
        if self.best_obj is not None and objective >= self.best_obj:
            return False
        self.best, self.best_obj = cells, objective
        self.solutions += 1
        self.report(phase)
        if self.on_roster is not None and objective < MINIMUM_WEIGHT:
            self.on_roster(cells_to_assignment(self.problem, cells), objective)
        return True

    def hint_cells(self) -> Cells | None:
        if not self.hint:
            return None
        out: Cells = {}
        for ei, emp in enumerate(self.problem.employees):
            for d in range(self.problem.days):
                sid = self.hint.get((emp.id, d))
                out[ei, d] = self.s_index.get(sid) if sid is not None else None
        return out

    # -- phases --------------------------------------------------------------------------------
    def construct(self, budget: float) -> None:
        """A first roster, a few people at a time (all of them at once when the model is small)."""
        problem = self.problem
        n = len(problem.employees)
        start = self.hint_cells()
        if start is not None:
            rm = build_model(problem, fixed=start, soft_minimum=True, minimum_weight=MINIMUM_WEIGHT, forced=self.forced)
            status, cells, obj, _ = run_model(rm, seconds=min(budget, 2.0), workers=self.workers, stop=self.stop)
            if cells is not None:
                self.offer(cells, obj, "first")
                return
        if self.has_minimum and self.full_size <= FULL_MODEL_LIMIT:
            # hard minimum cover: the whole model finds a first roster keeping it fastest (measured)
            rm = build_model(problem, forced=self.forced)
            status, cells, obj, bound = run_model(
                rm, seconds=budget, workers=self.workers, stop=self.stop, on_solution=self.report_running,
                subsolvers=WHOLE_MODEL_SUBSOLVERS,
            )
            if status == "INFEASIBLE":
                self.proved_infeasible = True
            if cells is not None:
                self.bound = bound
                self.offer(cells, obj, "first")
                if status == "OPTIMAL":
                    self.bound, self.optimal = obj, True
                return
        if self.construct_greedy(budget) and (problem.days > 100 or (self.rows is not None and self.full_size > ROWS_FIRST_SIZE)):
            # long plans, and plans whose rows the programme re-solves past a tiny size: the patterns are the first
            # roster and the search improves it. Measured on Instance 13 (120 people, 18 types, 30 s): CP-SAT on
            # the whole model from the patterns overran its 2.4 s to 24 s (its presolve) and reached 20,537;
            # re-solving the rows in turn reaches about 6,700 in 5 s.
            return
        per_person = max(1, self.full_size // max(n, 1))
        group = max(1, min(n, 1500 // per_person))
        # many small groups (many people, many shift types) give a poor first roster: measured on Instance 13
        # (120 people, 18 types), the whole model's first 30 % gave 15,832 at 30 s against 33,217
        if self.full_size <= 3000 or (problem.days <= 100 and -(-n // group) > 20):
            rm = build_model(problem, soft_minimum=True, minimum_weight=MINIMUM_WEIGHT, forced=self.forced)
            status, cells, obj, bound = run_model(rm, seconds=max(0.5, budget - self.elapsed()), workers=self.workers,
                                                  stop=self.stop, hint=self.best)
            if cells is not None:
                self.offer(cells, obj, "first")
                if status == "OPTIMAL" and obj < MINIMUM_WEIGHT:
                    self.bound, self.optimal = obj, True
                return
        if problem.days > 100:
            self.construct_whole(self.remaining() - 1.0)
            return
        order = list(range(n))
        cells: Cells = {(ei, d): None for ei in range(n) for d in range(problem.days)}
        groups = [order[i : i + group] for i in range(0, n, group)]
        deadline = self.elapsed() + budget
        for gi, members in enumerate(groups):
            if self.stopped():
                return
            fixed = {k: v for k, v in cells.items() if k[0] not in members}
            rm = build_model(problem, fixed=fixed, soft_minimum=True, minimum_weight=MINIMUM_WEIGHT, forced=self.forced)
            share = max(0.5, (deadline - self.elapsed()) / (len(groups) - gi))
            status, sub, obj, _ = run_model(rm, seconds=share, workers=self.workers, stop=self.stop)
            if sub is None and status != "INFEASIBLE":
                rm.model.clear_objective()  # any roster of the group that keeps its contracts will do
                status, sub, obj, _ = run_model(rm, seconds=5.0, workers=self.workers, stop=self.stop, feasibility=True)
            if sub is None and status == "INFEASIBLE":
                # this group cannot meet its contracts even alone: try its people one by one for the message
                self.infeasible_people = [
                    problem.employees[ei].id for ei in members if not self._alone_feasible(ei, cells)
                ]
                if self.infeasible_people:
                    return
                status, sub, obj, _ = run_model(rm, seconds=max(share, 5.0), workers=self.workers, stop=self.stop)
            if sub is None:
                return
            cells = sub
        self.offer(cells, self.cost_of(cells), "first")

    def construct_greedy(self, budget: float) -> bool:
        """A first roster from each person's pattern of work and rest (no CP-SAT), its broken rows re-solved.

        Returns True when a roster keeping every contract was offered.
        """
        from ..checker import check
        from .construct import greedy_roster

        problem = self.problem
        cells = greedy_roster(problem, self.forced, seed=self.rng.randrange(1 << 30))
        report = check(problem, cells_to_assignment(problem, cells))
        ids = {e.id: i for i, e in enumerate(problem.employees)}
        bad = set()
        for message in report.hard_violations:
            head = message.split(":")[0].split(" ")[0]
            if head in ids:
                bad.add(ids[head])
        if bad and self.rows is not None:
            repaired = self.rows.repair(cells, sorted(bad))
            if repaired is not None:
                cells, bad = repaired, set()
        if bad:
            fixed = {k: v for k, v in cells.items() if k[0] not in bad}
            rm = build_model(problem, fixed=fixed, soft_minimum=True, minimum_weight=MINIMUM_WEIGHT, forced=self.forced)
            for (ei, d, si), v in rm.x.items():
                rm.model.add_hint(v, cells.get((ei, d)) == si)
            seconds = max(1.0, min(max(budget, 0.5 * self.remaining()), self.remaining() - 1.0))
            status, sub, _, _ = run_model(rm, seconds=seconds, workers=self.workers, stop=self.stop, first_only=True)
            if sub is None:
                return False
            cells = sub
        self.offer(cells, self.cost_of(cells), "first")
        return True

    def cost_of(self, cells: Cells) -> int:
        """The cost of a complete roster (minimum cover shortfalls at their penalty weight)."""
        costs = fixed_costs(self.problem, cells, self.forced, soft_minimum=True)
        return sum(costs.values())

    def construct_whole(self, seconds: float) -> None:
        """Any roster keeping every contract, from the whole model without its objective."""
        rm = build_model(self.problem, soft_minimum=True, minimum_weight=MINIMUM_WEIGHT, forced=self.forced)
        rm.model.clear_objective()
        status, cells, _, _ = run_model(rm, seconds=seconds, workers=self.workers, stop=self.stop, feasibility=True)
        if status == "INFEASIBLE":
            self.proved_infeasible = True
        if cells is not None:
            self.offer(cells, self.cost_of(cells), "first")

    def explain_soft(self) -> None:
        """After a proof that the minimums cannot all be met: the roster that leaves the fewest short."""
        rm = build_model(self.problem, soft_minimum=True, minimum_weight=MINIMUM_WEIGHT, forced=self.forced)
        _, cells, _, _ = run_model(rm, seconds=max(1.0, min(10.0, self.remaining())), workers=self.workers,
                                   stop=self.stop)
        self.soft_roster = cells

    def _alone_feasible(self, ei: int, cells: Cells) -> bool:
        fixed = {k: v for k, v in cells.items() if k[0] != ei}
        rm = build_model(self.problem, fixed=fixed, soft_minimum=True, minimum_weight=MINIMUM_WEIGHT, forced=self.forced)
        rm.model.clear_objective()
        status, sub, _, _ = run_model(rm, seconds=5.0, workers=self.workers, stop=self.stop)
        return status != "INFEASIBLE"

    def neighbourhood(self, size: int) -> set[tuple[int, int]]:
        """The cells to free: a few people over a stretch of days, a window of days, or person-weeks."""
        problem = self.problem
        n, days = len(problem.employees), problem.days
        kind = self.rng.random()
        free: set[tuple[int, int]] = set()
        if kind < 0.35:
            free = self.cover_neighbourhood(size)
            if free:
                self.last_kind = "cover"
                return free
            kind = self.rng.random()
        self.last_kind = "people" if kind < 0.45 else "days" if kind < 0.7 else "weeks"
        if kind < 0.45:
            length = min(days, max(7, self.rng.choice([7, 14, 28, 56])))
            k = min(n, max(2, size // length))
            start = self.rng.randrange(0, days - length + 1)
            people = self.rng.sample(range(n), k)
            free = {(ei, d) for ei in people for d in range(start, start + length)}
        elif kind < 0.7:
            length = max(2, min(days, size // max(n, 1)))
            start = self.rng.randrange(0, days - length + 1)
            free = {(ei, d) for ei in range(n) for d in range(start, start + length)}
        else:
            weeks = max(1, days // 7)
            count = max(2, size // 7)
            pairs = [(ei, w) for ei in range(n) for w in range(weeks)]
            # favour weeks where cover is off target
            for ei, w in self.rng.sample(pairs, min(count, len(pairs))):
                free.update((ei, d) for d in range(7 * w, min(days, 7 * w + 7)))
        return free

    def cover_neighbourhood(self, size: int) -> set[tuple[int, int]]:
        """Free the days around a costly short (or over-full) cover line, for people who could move onto it.

        The line is drawn with odds by its cost in the best roster; the people freed are those resting
        that day or working a shift above its preferred cover, then anyone.
        """
        problem, best = self.problem, self.best
        n, days = len(problem.employees), problem.days
        on = defaultdict(int)
        for (_, d), si in best.items():
            if si is not None:
                on[d, si] += 1
        wanted = defaultdict(int)
        for c in problem.cover:
            if c.shift in self.s_index:
                wanted[c.day, self.s_index[c.shift]] += c.preferred
        costly, weights = [], []
        for c in problem.cover:
            si = self.s_index.get(c.shift)
            if si is None:
                continue
            count = on[c.day, si]
            cost = c.weight_under * max(0, c.preferred - count) + c.weight_over * max(0, count - wanted[c.day, si])
            if cost > 0:
                costly.append((c.day, si))
                weights.append(cost)
        if not costly:
            return set()
        day, _ = self.rng.choices(costly, weights=weights)[0]
        length = min(days, self.rng.choice([3, 5, 7, 14]))
        start = max(0, min(days - length, day - self.rng.randrange(length)))
        movable = [ei for ei in range(n) if best.get((ei, day)) is None
                   or on[day, best[ei, day]] > wanted[day, best[ei, day]]]
        self.rng.shuffle(movable)
        chosen = set(movable)
        rest = [ei for ei in range(n) if ei not in chosen]
        self.rng.shuffle(rest)
        k = min(n, max(2, size // length))
        people = (movable + rest)[:k]
        return {(ei, d) for ei in people for d in range(start, start + length)}

    def improve(self, until: float) -> None:
        """Large neighbourhood search around the best roster until `until` seconds.

        One loop per worker, each solving its own neighbourhoods with a single CP-SAT worker (the
        solver releases the interpreter while it searches, so the loops run side by side).
        """
        threads = [
            threading.Thread(target=self._improve_loop, args=(until, k), daemon=True) for k in range(max(1, self.workers))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def _improve_loop(self, until: float, worker: int) -> None:
        problem = self.problem
        total = len(problem.employees) * problem.days
        size = min(150, max(20, total // 4))
        iteration = 0
        stale = 0  # neighbourhoods in a row without a better roster
        while self.elapsed() < until - 0.2 and not self.stopped() and self.best is not None:
            iteration += 1
            if worker == 0 and self.rows is not None:
                self.row_moves(until)
            with self.lock:
                incumbent = self.best
                free = self.neighbourhood(size)
            fixed = {k: v for k, v in incumbent.items() if k not in free}
            rm = build_model(problem, fixed=fixed, soft_minimum=True, minimum_weight=MINIMUM_WEIGHT, forced=self.forced)
            limit = min(self.sub_time, until - self.elapsed())
            if limit < 0.05:
                break
            began = time.monotonic()
            status, cells, obj, _ = run_model(
                rm, seconds=limit, workers=1, hint=incumbent, stop=self.stop, seed=1000 * worker + iteration,
                linearization=2,
            )
            took = time.monotonic() - began
            if cells is None:
                size = max(20, int(size * 0.8))
                stale += 1
                continue
            with self.lock:
                better = self.offer(cells, obj, "neighbourhood")
            stale = 0 if better else stale + 1
            # Measured on Instance 19: neighbourhoods of 150 cells gave about 1,600 per second of search, 300 cells
            # 1,200 and 600 cells 280 (most of those time out), so the size follows a target solve time rather than
            # growing while the solves are proven; the target grows while no neighbourhood finds a better roster.
            target = TARGET_SECONDS * (1 + min(stale, 40) / 10)
            if status == "OPTIMAL" and took < 0.5 * target:
                size = min(int(size * 1.2) + 1, total)
            elif status == "OPTIMAL" and took < target:
                size = min(int(size * 1.03) + 1, total)
            else:
                size = max(20, int(size * 0.9))

    def row_moves(self, until: float) -> None:
        """Single-person moves (see `rows.py`): every row re-solved in turn on a new best roster, else a few
        people taken off and put back, for a short while between neighbourhoods."""
        rows = self.rows
        out_of_time = lambda: self.elapsed() > until - 0.2 or self.stopped()  # noqa: E731
        with self.lock:
            incumbent, objective = self.best, self.best_obj
        if incumbent is not self.rows_from:
            cells, gain = rows.descend(incumbent, self.rng, until=out_of_time)
            if gain > 0:
                with self.lock:
                    self.offer(cells, objective - gain, "neighbourhood")
                    self.rows_from = self.best
            else:
                self.rows_from = incumbent
            return
        self.row_walk(out_of_time)

    def row_walk(self, out_of_time) -> None:
        """A late-acceptance walk of ruin-and-recreate moves (a few people taken off and put back at their best
        rows), carried on across calls for ROW_MOVE_SECONDS at a time. A move is taken when it is no worse than
        the walk's roster now or than the walk's roster WALK_MEMORY moves ago, so the walk can cross ridges that
        only better moves cannot; each roster it reaches below the best is descended and offered. It starts
        again from the best roster whenever another part of the search finds a better one."""
        rows = self.rows
        if self.walk is None or self.walk_from is not self.rows_from:
            with self.lock:
                start, cost = self.best, self.best_obj
            self.walk, self.walk_cost, self.walk_from = start, cost, self.rows_from
            self.walk_history = [cost] * WALK_MEMORY
            self.walk_steps = 0
        n = len(self.problem.employees)
        length = WALK_MEMORY
        stop_at = self.elapsed() + ROW_MOVE_SECONDS
        while self.elapsed() < stop_at and not out_of_time():
            k = min(n, self.rng.choice((2, 3, 4, 5)))
            people = None
            if self.rng.random() < AIMED_SHARE:
                people = rows.aimed_people(self.walk, rows.counts(self.walk), self.rng, k)
            if people is None:
                people = self.rng.sample(range(n), k)
            found = rows.ruin_recreate(self.walk, people, self.rng)
            if found is None:
                continue
            cost = self.walk_cost - found[1]
            v = self.walk_steps % length
            self.walk_steps += 1
            if cost <= self.walk_cost or cost <= self.walk_history[v]:
                self.walk, self.walk_cost = found[0], cost
            if self.walk_cost < self.walk_history[v]:
                self.walk_history[v] = self.walk_cost
            if self.walk_cost < self.best_obj:
                cells, gain = rows.descend(self.walk, self.rng, until=out_of_time)
                with self.lock:
                    if self.offer(cells, self.walk_cost - gain, "neighbourhood"):
                        self.rows_from = self.walk_from = self.best
                self.walk, self.walk_cost = cells, self.walk_cost - gain

    def prove(self, seconds: float) -> None:
        """CP-SAT on the whole model (hard minimums), hinted with the best roster, for the bound."""
        rm = build_model(self.problem, forced=self.forced)

        def seen(objective: int, bound: int) -> None:
            self.bound = max(self.bound or 0, bound)

        status, cells, obj, bound = run_model(
            rm, seconds=seconds, workers=self.workers, hint=self.best, stop=self.stop, on_solution=seen,
            subsolvers=WHOLE_MODEL_SUBSOLVERS if self.has_minimum else (),
        )
        if status == "INFEASIBLE":
            self.proved_infeasible = True
            return
        if cells is not None:
            self.bound = max(self.bound or 0, bound)
            self.offer(cells, obj, "search")
            if status == "OPTIMAL":
                self.bound = obj
                self.optimal = True

    def weekends_first(self) -> None:
        """The team's weekends planned first (`weekends.py`: who works which days, then the types of the weekend
        cells), then the search with them locked until WEEKEND_LOCKED_SHARE of the time; its best roster becomes
        this search's first."""
        seconds = min(WEEKEND_PLAN_MAX, WEEKEND_PLAN_SHARE * self.time_limit)
        until = self.elapsed() + seconds
        slots = SlotModel(self.problem, self.forced, self.rows)
        # the days plan at CP-SAT's default level (Instance 19, 8 s, one seed each: level 0 3,700, 1 4,000, 2 4,200)
        value = self._plan(slots.model, WEEKEND_SLOTS_SHARE * seconds, linearization=1)
        if value is None:
            return
        planner = WeekendModel(self.problem, {**self.forced, **slots.offs(value)}, self.rows)
        # the typed plan at level 2: measured on Instance 13's weekends, three seeds, 9 s at level 1 ended at 1,602 /
        # 2,875 / 2,140, at level 2 1,342 / 1,730 / 2,025 (15 s: 1,329 / 1,515 / 1,428 and 1,353 / 1,183 / 1,190)
        value = self._plan(planner.model, until - self.elapsed(), linearization=2)
        if value is None:
            return
        locks = planner.locks(value)
        if not locks:
            return
        self.report("weekends")
        locked = dataclasses.replace(self.problem, locks={**self.problem.locks, **locks})
        inner = Search(locked, time_limit=WEEKEND_LOCKED_SHARE * self.time_limit, workers=self.workers,
                       on_progress=self.on_progress, hint=self.hint, stop=self.stop, seed=self.rng.randrange(1 << 30),
                       on_roster=self.on_roster)
        inner.t0 = self.t0  # one clock: the inner search's progress reads as this search's
        inner.plan_weekends = False
        cells, objective = inner.run()
        self.progress.extend(inner.progress)
        self.solutions += inner.solutions
        # the inner search's bound and proof hold for its locked plan only, so neither is kept
        if cells is not None and objective is not None and not inner.infeasible_people:
            self.best, self.best_obj = cells, objective

    def _plan(self, model: cp_model.CpModel, seconds: float, linearization: int):
        """Solve one of the weekend plans; its solution's `value`, or None (no plan, or the search was stopped)."""
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.5, seconds)
        solver.parameters.num_workers = max(1, self.workers)
        solver.parameters.random_seed = self.rng.randrange(1 << 30)
        solver.parameters.linearization_level = linearization
        stopper = _Stopper(solver, self.stop)
        try:
            status = solver.solve(model)
        finally:
            stopper.close()
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE) or self.stopped():
            return None
        return solver.value

    def run(self) -> tuple[Cells | None, int | None]:
        budget = self.time_limit
        small = self.full_size <= FULL_MODEL_LIMIT
        if (self.plan_weekends and self.rows is not None and not self.has_minimum and not self.hint
                and weekends_come_first(self.problem, self.full_size, self.time_limit)):
            self.weekends_first()  # when it gives a roster, that is the first one
        if self.best is None and self.has_minimum and small:
            # hard minimum cover (the practice's plans): CP-SAT on the whole model finds the first roster
            # keeping it soonest and gives the bound; measured better than the neighbourhoods at this size
            self.construct(budget)
        elif self.best is None:
            self.construct(min(budget * 0.3, max(2.0, budget * 0.1)))
        if self.infeasible_people or self.stopped() or self.optimal:
            return self.best, self.best_obj
        if self.best is None:
            if self.proved_infeasible:
                self.explain_soft()
            elif small:
                self.prove(self.remaining())
            elif not self.proved_infeasible and self.problem.days <= 100:
                self.construct_whole(self.remaining())
            return self.best, self.best_obj
        # with hard minimums (the practice's plans) half the time goes to the whole model for its bound
        share = 0.5 if self.has_minimum else 0.85
        until = self.time_limit * (share if small else 1.0)
        self.improve(until)
        repairing = self.best_obj is not None and self.best_obj >= MINIMUM_WEIGHT
        if (small or repairing) and not self.stopped() and self.remaining() > 0.5:
            self.prove(self.remaining())
        return self.best, self.best_obj


def cells_to_assignment(problem: RosterProblem, cells: Cells) -> Assignment:
    out: Assignment = {}
    for (ei, d), si in cells.items():
        if si is not None:
            out[problem.employees[ei].id, d] = problem.shift_types[si].id
    return out


def fixed_costs(problem: RosterProblem, cells: Cells, forced, *, soft_minimum: bool = False) -> dict[str, int]:
    """The cost of a complete roster by rule, from the model with every shift fixed.

    Most costs are then constants; where skilled people could count on more than one cover line, the
    cheapest way to count them is left to CP-SAT (a tiny model).
    """
    rm = build_model(problem, fixed=cells, forced=forced, soft_minimum=soft_minimum, minimum_weight=MINIMUM_WEIGHT)
    rules = [*RULES, "cover_minimum"] if soft_minimum else list(RULES)
    if not any(rm.costs.get(rule) for rule in rules):
        return {rule: rm.constants.get(rule, 0) for rule in rules}
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 10.0
    status = solver.solve(rm.model)
    if status != cp_model.OPTIMAL:
        raise RuntimeError(f"cost of a fixed roster not proven: {solver.status_name(status)}")
    return {rule: int(rm.rule_value(rule, solver.value)) for rule in rules}


def cost_by_rule(problem: RosterProblem, cells: Cells, forced) -> dict[str, int]:
    """The objective of a roster split by rule."""
    return fixed_costs(problem, cells, forced)


def solve(
    problem: RosterProblem,
    time_limit: float = 60.0,
    workers: int = 2,
    on_progress: Callable[[Progress], None] | None = None,
    hint: Assignment | None = None,
    stop: threading.Event | None = None,
    seed: int = 0,
    on_roster: Callable[[Assignment, int], None] | None = None,
) -> SolveResult:
    """The best roster found within `time_limit` seconds (see the module docstring for how).

    `on_roster(assignment, objective)` is called with each better roster keeping every hard rule, as it is
    found (from the solver's threads), so a caller can keep it should the run not finish.
    """
    from .explain import coverage_gaps, lock_conflicts, quick_gaps

    t0 = time.monotonic()
    conflicts = lock_conflicts(problem)
    if conflicts:
        return SolveResult(status="infeasible", assignment={}, objective=None, bound=None,
                           seconds=time.monotonic() - t0, messages=conflicts)
    gaps = quick_gaps(problem)
    if gaps:
        return SolveResult(status="infeasible", assignment={}, objective=None, bound=None,
                           seconds=time.monotonic() - t0, gaps=gaps,
                           messages=[f"{len(gaps)} cover line(s) need more qualified people than are available"])
    search = Search(problem, time_limit=time_limit, workers=workers, on_progress=on_progress, hint=hint, stop=stop, seed=seed,
                    on_roster=on_roster)
    cells, obj = search.run()
    seconds = time.monotonic() - t0
    if search.infeasible_people:
        return SolveResult(status="infeasible", assignment={}, objective=None, bound=None, seconds=seconds,
                           progress=search.progress,
                           messages=[f"{eid}: the contract cannot be met with these days off, locks and rules"
                                     for eid in search.infeasible_people])
    if cells is None and search.soft_roster is not None:
        soft = cells_to_assignment(problem, search.soft_roster)
        return SolveResult(status="infeasible", assignment={}, objective=None, bound=None, seconds=seconds,
                           gaps=coverage_gaps(problem, soft), progress=search.progress,
                           messages=["minimum cover cannot be met: the lines below stay short"])
    if cells is None:
        status = "infeasible" if search.proved_infeasible else "unknown"
        return SolveResult(status=status, assignment={}, objective=None, bound=None, seconds=seconds,
                           progress=search.progress,
                           messages=["no roster meets the hard rules"] if search.proved_infeasible else
                           ["no roster found in the time allowed"])
    assignment = cells_to_assignment(problem, cells)
    costs = cost_by_rule(problem, cells, search.forced)
    if obj >= MINIMUM_WEIGHT:
        gaps = coverage_gaps(problem, assignment)
        return SolveResult(status="infeasible" if search.proved_infeasible else "unknown", assignment=assignment,
                           objective=None, bound=None, seconds=seconds, cost_by_rule=costs, gaps=gaps,
                           progress=search.progress,
                           messages=["minimum cover cannot be met: the lines below stay short"])
    objective = sum(costs.values())
    bound = search.bound if search.bound is not None else None
    if bound is not None:
        bound = min(bound, objective)
    status = "optimal" if (search.optimal or (bound is not None and bound >= objective)) else "feasible"
    result = SolveResult(status=status, assignment=assignment, objective=objective, bound=bound, seconds=seconds,
                         cost_by_rule=costs, progress=search.progress)
    p = Progress(seconds=round(seconds, 3), objective=objective, bound=bound or 0, solutions=search.solutions, phase="done")
    result.progress.append(p)
    if on_progress:
        on_progress(p)
    return result
