"""Solving a roster in the background: a run is queued, the solver reports each better roster (stored as progress
rows the page polls, the roster itself kept on the run every few seconds), the best roster replaces the unlocked
cells, and a cancel stops it early. A run whose worker died is marked failed on the next look, keeping its best
roster so far."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import User
from clinicdesk.staff.models import StaffMember

from ..choices import SolveStatus
from ..models import RosterAssignment, RosterPeriod, ShiftType, SolveProgress, SolveRun
from ..solver import lock_conflicts, solve
from ..solver.problem import Progress
from .problem_build import BuiltProblem, current_assignment, problem_build

logger = logging.getLogger(__name__)
CANCEL_POLL_SECONDS = 0.5
INCUMBENT_SAVE_SECONDS = 5.0  # how often a running solve keeps its best roster and says it is alive
STALE_SECONDS = 120  # a running solve silent for this long has lost its worker
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
    solve_runs_reap(period=period)
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
        self.built: BuiltProblem | None = None
        self.incumbent: tuple[dict, int] | None = None  # the best roster keeping every hard rule, its cost
        self.saved: tuple[dict, int] | None = None

    def on_progress(self, step: Progress) -> None:
        with self.lock:
            self.steps.append(step)

    def on_roster(self, assignment: dict, objective: int) -> None:
        with self.lock:
            self.incumbent = (assignment, objective)

    def _loop(self) -> None:
        last_save = time.monotonic()
        try:
            while not self.finished.wait(CANCEL_POLL_SECONDS):
                self.flush()
                if time.monotonic() - last_save >= INCUMBENT_SAVE_SECONDS:
                    self.save_incumbent()
                    last_save = time.monotonic()
                if SolveRun.objects.filter(pk=self.run_id, cancel_requested=True).exists():
                    self.stop.set()
        finally:
            connection.close()

    def save_incumbent(self) -> None:
        """Keep the best roster so far on the run (when it changed) and mark the run alive."""
        with self.lock:
            current = self.incumbent
        fields: dict = {"heartbeat_at": timezone.now()}
        if current is not None and current is not self.saved and self.built is not None:
            fields["incumbent"] = _incumbent_rows(self.built, current[0])
            fields["incumbent_objective"] = current[1]
        SolveRun.objects.filter(pk=self.run_id).update(**fields)
        self.saved = current

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
    run.heartbeat_at = run.started_at
    run.save(update_fields=["heartbeat_at"])
    try:
        built = problem_build(period=period, keep_locks=run.keep_locks)
        tracker.built = built
        with tracker:
            result = solve(built.problem, time_limit=float(run.time_limit_seconds), workers=2,
                           on_progress=tracker.on_progress, hint=current_assignment(period) or None, stop=tracker.stop,
                           on_roster=tracker.on_roster)
    except Exception:
        logger.exception("roster solve %s failed", run.pk)
        with transaction.atomic():
            run.status = SolveStatus.FAILED
            run.finished_at = timezone.now()
            run.seconds = round(time.monotonic() - started, 3)
            run.messages = ["The solver stopped with an error; the roster was not changed."]
            fields = ["status", "messages", "finished_at", "seconds", "updated_at"]
            if tracker.incumbent is not None and tracker.built is not None:
                run.incumbent = _incumbent_rows(tracker.built, tracker.incumbent[0])
                run.incumbent_objective = tracker.incumbent[1]
                fields += ["incumbent", "incumbent_objective"]
                _keep_incumbent(run)
            run.save(update_fields=fields)
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
    _store_cells(built.period, [(int(employee), built.dates[day_index], built.shift_types[code])
                                for (employee, day_index), code in assignment.items() if code is not None])


def _store_cells(period: RosterPeriod, cells: list[tuple[int, dt.date, ShiftType]]) -> None:
    RosterAssignment.objects.filter(period=period, locked=False).delete()
    locked = set(RosterAssignment.objects.filter(period=period, locked=True).values_list("staff_id", "day"))
    rows = [RosterAssignment(period=period, staff_id=staff_id, day=day, shift_type=kind)
            for staff_id, day, kind in cells if (staff_id, day) not in locked]
    RosterAssignment.objects.bulk_create(rows, batch_size=500)
    RosterPeriod.objects.filter(pk=period.pk).update(updated_at=timezone.now())


def _incumbent_rows(built: BuiltProblem, assignment: dict[tuple[str, int], str]) -> list[list]:
    return sorted([int(employee), built.dates[day_index].isoformat(), code]
                  for (employee, day_index), code in assignment.items() if code is not None)


def _keep_incumbent(run: SolveRun) -> bool:
    """Put a run's last saved roster in place of the unlocked cells (when the roster can still change).

    Rows whose person or shift type no longer exists are left out; returns whether the roster was replaced.
    """
    period = run.period
    if not run.incumbent or not period.is_editable:
        return False
    kinds = {k.code: k for k in ShiftType.objects.filter(department_id=period.department_id)}
    cells = []
    for staff_id, day, code in run.incumbent:
        kind = kinds.get(code)
        day = dt.date.fromisoformat(day)
        if kind is not None and period.start <= day <= period.end:
            cells.append((int(staff_id), day, kind))
    staff = set(StaffMember.objects.filter(organization_id=period.organization_id, id__in={c[0] for c in cells})
                .values_list("id", flat=True))
    _store_cells(period, [c for c in cells if c[0] in staff])
    run.messages = [f"The solver stopped before the end; its best roster so far (cost {run.incumbent_objective}) was kept."]
    return True


def solve_runs_reap(*, period: RosterPeriod) -> list[SolveRun]:
    """Mark failed the runs of `period` whose worker stopped answering (no sign of life for STALE_SECONDS, or
    well past their time limit), keeping the best roster each had saved. Called whenever the roster is looked at."""
    now = timezone.now()
    reaped = []
    with transaction.atomic():
        for run in SolveRun.objects.select_for_update().select_related("period", "period__department").filter(
            period=period, status=SolveStatus.RUNNING
        ):
            seen = run.heartbeat_at or run.started_at or run.created_at
            overdue = run.started_at is not None and now - run.started_at > dt.timedelta(
                seconds=run.time_limit_seconds + STALE_SECONDS)
            if now - seen < dt.timedelta(seconds=STALE_SECONDS) and not overdue:
                continue
            run.status = SolveStatus.FAILED
            run.finished_at = now
            run.messages = ["The solver stopped answering; the roster was not changed."]
            _keep_incumbent(run)  # replaces the message when it keeps the roster
            run.save(update_fields=["status", "finished_at", "messages", "updated_at"])
            audit_event(action="roster.solve_failed", target=period, organization_id=period.organization_id,
                        actor_label="roster solver", summary=f"Solver run {run.pk} on {period} stopped answering")
            reaped.append(run)
    return reaped
