"""Solving a roster in the background: a run is queued, the solver reports each better roster (stored as progress
rows the page polls), the best roster replaces the unlocked cells, and a cancel stops it early."""

from __future__ import annotations

import logging
import threading
import time

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import User

from ..choices import SolveStatus
from ..models import RosterAssignment, RosterPeriod, SolveProgress, SolveRun
from ..solver import lock_conflicts, solve
from ..solver.problem import Progress
from .problem_build import BuiltProblem, current_assignment, problem_build

logger = logging.getLogger(__name__)
CANCEL_POLL_SECONDS = 0.5
MAX_TIME_LIMIT = 600


def _period_label(built: BuiltProblem, key: tuple[str, int]) -> str:
    member = built.staff.get(key[0])
    day = built.dates[key[1]] if 0 <= key[1] < len(built.dates) else None
    return f"{member.full_name if member else key[0]} on {day:%a %Y-%m-%d}" if day else str(key)


@transaction.atomic
def solve_run_start(*, actor: User, period: RosterPeriod, time_limit_seconds: int, run_now: bool = False) -> SolveRun:
    """Queue a solve of `period` that keeps its locked cells and starts from the current roster.

    Conflicting locks are refused here with the solver's messages, before any time is spent.
    """
    if not period.is_editable:
        raise ValidationError({"period": f"{period} is {period.get_status_display().lower()}; start a new version to change it."})
    if not 1 <= time_limit_seconds <= MAX_TIME_LIMIT:
        raise ValidationError({"time_limit_seconds": f"Give a time limit between 1 and {MAX_TIME_LIMIT} seconds."})
    if SolveRun.objects.select_for_update().filter(period=period, status__in=[SolveStatus.QUEUED, SolveStatus.RUNNING]).exists():
        raise ValidationError({"period": "The solver is already working on this roster."})
    built = problem_build(period=period)
    conflicts = lock_conflicts(built.problem)
    if conflicts:
        raise ValidationError({"locks": [built.say(message) for message in conflicts]})
    if not built.problem.employees:
        raise ValidationError({"period": f"No staff in {period.department} to roster."})
    run = SolveRun(period=period, time_limit_seconds=time_limit_seconds, started_by=actor)
    run.full_clean()
    run.save()
    audit_event(action="roster.solve_started", actor=actor, target=period, organization_id=period.organization_id,
                summary=f"Solver started on {period} ({time_limit_seconds} s)")
    if not run_now:
        from ..tasks import roster_solve

        transaction.on_commit(lambda: roster_solve.enqueue(run_id=run.pk))
    return run



def solve_run_cancel(*, actor: User, run: SolveRun) -> SolveRun:
    """Ask a running solve to stop; it keeps the best roster found so far."""
    if run.is_active:
        SolveRun.objects.filter(pk=run.pk).update(cancel_requested=True)
        run.cancel_requested = True
        audit_event(action="roster.solve_cancelled", actor=actor, target=run.period, organization_id=run.period.organization_id,
                    summary=f"Solver stopped on {run.period}")
    return run


class _LiveRun:
    """Carries the solver's progress to the database from a thread of its own (the solver calls back from its
    threads) and watches for a cancel. In a synchronous run (tests, `live=False`) it only collects."""

    def __init__(self, run_id: int, live: bool) -> None:
        self.run_id = run_id
        self.live = live
        self.steps: list[Progress] = []
        self.written = 0
        self.stop = threading.Event()
        self.finished = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._loop, daemon=True) if live else None

    def on_progress(self, step: Progress) -> None:
        with self.lock:
            self.steps.append(step)

    def _loop(self) -> None:
        try:
            while not self.finished.wait(CANCEL_POLL_SECONDS):
                self.flush()
                if SolveRun.objects.filter(pk=self.run_id, cancel_requested=True).exists():
                    self.stop.set()
        finally:
            connection.close()

    def flush(self) -> None:
        with self.lock:
            pending = self.steps[self.written:]
            self.written = len(self.steps)
        if pending:
            SolveProgress.objects.bulk_create(
                [SolveProgress(run_id=self.run_id, seconds=round(p.seconds, 3), objective=p.objective, bound=p.bound)
                 for p in pending]
            )
            last = pending[-1]
            SolveRun.objects.filter(pk=self.run_id).update(objective=last.objective, bound=last.bound,
                                                           seconds=round(last.seconds, 3))

    def __enter__(self) -> _LiveRun:
        if self.thread:
            self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.finished.set()
        if self.thread:
            self.thread.join()


def solve_run_execute(*, run_id: int, live: bool = True) -> SolveRun:
    """Run the solver for a queued run (in the worker, or at once in tests) and store what it found."""
    run = SolveRun.objects.select_related("period", "period__location", "period__department").get(pk=run_id)
    if run.status != SolveStatus.QUEUED:
        return run
    period = run.period
    run.status = SolveStatus.RUNNING
    run.started_at = timezone.now()
    run.save(update_fields=["status", "started_at", "updated_at"])
    started = time.monotonic()
    tracker = _LiveRun(run.pk, live)
    if run.cancel_requested:
        tracker.stop.set()
    try:
        built = problem_build(period=period, keep_locks=run.keep_locks)
        with tracker:
            result = solve(built.problem, time_limit=float(run.time_limit_seconds), workers=2,
                           on_progress=tracker.on_progress, hint=current_assignment(period) or None, stop=tracker.stop)
    except Exception:
        logger.exception("roster solve %s failed", run.pk)
        run.status = SolveStatus.FAILED
        run.messages = ["The solver stopped with an error; the roster was not changed."]
        run.finished_at = timezone.now()
        run.seconds = round(time.monotonic() - started, 3)
        run.save(update_fields=["status", "messages", "finished_at", "seconds", "updated_at"])
        return run
    with transaction.atomic():
        tracker.flush()
        run.refresh_from_db(fields=["cancel_requested"])
        run.result_status = result.status
        run.objective = result.objective
        run.bound = result.bound
        run.seconds = round(result.seconds, 3)
        run.cost_by_rule = dict(result.cost_by_rule)
        run.gaps = [_gap_json(built, gap) for gap in result.gaps]
        run.status = SolveStatus.CANCELLED if run.cancel_requested else SolveStatus.DONE
        run.finished_at = timezone.now()
        run.save()
        if result.assignment and result.status in ("optimal", "feasible"):
            _store_roster(built, result.assignment)
        audit_event(action="roster.solved", target=period, organization_id=period.organization_id,
                    actor_label="roster solver",
                    summary=f"Solver finished on {period}: {result.status}, cost {result.objective}")
    return run


def _gap_json(built: BuiltProblem, gap) -> dict:
    day = built.dates[gap.day] if 0 <= gap.day < len(built.dates) else None
    kind = built.shift_types.get(gap.shift)
    return {
        "day": day.isoformat() if day else str(gap.day), "weekday": f"{day:%a}" if day else "",
        "shift": kind.name if kind else gap.shift, "skill": gap.skill or "", "needed": gap.needed,
        "possible": gap.possible, "reasons": [built.say(r) for r in gap.reasons],
    }


def _store_roster(built: BuiltProblem, assignment: dict[tuple[str, int], str]) -> None:
    """Replace the unlocked cells with the solver's roster; locked cells stay as they are."""
    period = built.period
    RosterAssignment.objects.filter(period=period, locked=False).delete()
    locked = set(RosterAssignment.objects.filter(period=period, locked=True).values_list("staff_id", "day"))
    rows = []
    for (employee, day_index), code in assignment.items():
        staff_id, day = int(employee), built.dates[day_index]
        if (staff_id, day) in locked or code is None:
            continue
        rows.append(RosterAssignment(period=period, staff_id=staff_id, day=day, shift_type=built.shift_types[code]))
    RosterAssignment.objects.bulk_create(rows, batch_size=500)
    RosterPeriod.objects.filter(pk=period.pk).update(updated_at=timezone.now())
