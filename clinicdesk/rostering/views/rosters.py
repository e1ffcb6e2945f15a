"""The roster pages of the office manager: the list of rosters, a roster's grid with live-checked edits and locks,
the solver's progress and results, publishing and the hours export for payroll."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_event
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.permissions import Perm

from .. import selectors
from ..forms import CellForm, PeriodForm, SolveForm, add_service_errors
from ..models import SolveRun
from ..services import rosters as roster_services
from ..services import solving

RULE_LABELS = {
    "cover_under": "Below preferred cover", "cover_over": "Above preferred cover", "request_on": "Shift wishes not met",
    "request_off": "Day-off wishes not met", "fairness_nights": "Nights spread unevenly",
    "fairness_weekends": "Weekends spread unevenly", "fairness_holidays": "Holidays spread unevenly",
}


@require_GET
@requires(Perm.ROSTER_VIEW)
def period_list(request: HttpRequest) -> HttpResponse:
    periods = selectors.periods_for(user=request.user)
    if request.GET.get("format") == "csv":
        return csv_response("rosters.csv", ["id", "name", "department", "location", "first day", "last day", "version",
                                            "status", "shifts", "published at"],
                            ([p.pk, p.name, p.department.name, p.location.name, p.start, p.end, p.version,
                              p.get_status_display(), p.shift_count, p.published_at or ""] for p in periods))
    return render(request, "rostering/period_list.html", {"periods": periods[:200],
                                                           "pending": selectors.pending_counts(user=request.user),
                                                           "can_set_up": request.user.has_perm_code(Perm.ROSTER_MANAGE)})


@require_http_methods(["GET", "POST"])
@requires(Perm.ROSTER_MANAGE)
def period_create(request: HttpRequest) -> HttpResponse:
    form = PeriodForm(request.POST or None, organization_id=request.user.organization_id)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                period = roster_services.period_create(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Roster “{period}” created.")
                return redirect("rostering:period_detail", period.pk)
    return render(request, "rostering/period_form.html", {"form": form}, status=status)


def _run_context(period, run: SolveRun | None) -> dict:
    if run is None:
        return {"run": None}
    progress = list(run.progress.values_list("seconds", "objective", "bound"))
    used = run.seconds if not run.is_active or not progress else progress[-1][0]
    return {
        "run": run,
        "chart": {"seconds": [p[0] for p in progress], "objective": [p[1] for p in progress], "bound": [p[2] for p in progress]},
        "used": min(used, run.time_limit_seconds),
        "costs": sorted(((RULE_LABELS.get(rule, rule.replace("_", " ").capitalize()), cost)
                         for rule, cost in (run.cost_by_rule or {}).items() if cost), key=lambda item: -item[1]),
    }


@require_GET
@requires(Perm.ROSTER_VIEW)
def period_detail(request: HttpRequest, period_id: int) -> HttpResponse:
    period = selectors.period_get(user=request.user, period_id=period_id)
    solving.solve_runs_reap(period=period)  # a run whose worker died is closed, keeping its best roster
    grid = selectors.roster_grid(user=request.user, period=period)
    audit_event(action="roster.viewed", actor=request.user, target=period, organization_id=period.organization_id,
                channel=AuditChannel.PAGE, summary=f"Roster {period} opened")
    context = {"period": period, "grid": grid, "solve_form": SolveForm(), "can_manage": request.user.has_perm_code(Perm.ROSTER_MANAGE),
               "current_costs": sorted(((RULE_LABELS.get(rule, rule), cost) for rule, cost in grid.cost_by_rule.items() if cost),
                                       key=lambda item: -item[1])}
    context.update(_run_context(period, selectors.latest_run(period=period)))
    return render(request, "rostering/period_detail.html", context)


@require_POST
@requires(Perm.ROSTER_MANAGE)
def solve_start(request: HttpRequest, period_id: int) -> HttpResponse:
    period = selectors.period_get(user=request.user, period_id=period_id)
    form = SolveForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{form.fields[field].label if field in form.fields else field}: {' '.join(errors)}")
        return redirect("rostering:period_detail", period.pk)
    try:
        solving.solve_run_start(actor=request.user, period=period, time_limit_seconds=form.cleaned_data["time_limit_seconds"])
    except ValidationError as exc:
        _show_errors(request, exc)
    else:
        messages.info(request, "The solver is working; the page shows its progress.")
    return redirect("rostering:period_detail", period.pk)


@require_GET
@requires(Perm.ROSTER_VIEW)
def solve_progress(request: HttpRequest, period_id: int, run_id: int) -> HttpResponse:
    period = selectors.period_get(user=request.user, period_id=period_id)
    solving.solve_runs_reap(period=period)  # a run whose worker died is closed, keeping its best roster
    run = SolveRun.objects.filter(pk=run_id, period=period).first()
    if run is None:
        raise Http404("No such solver run.")
    context = {"period": period, "can_manage": request.user.has_perm_code(Perm.ROSTER_MANAGE), **_run_context(period, run)}
    response = render(request, "rostering/_solve_run.html", context)
    if not run.is_active and request.headers.get("HX-Request") and request.GET.get("was") == "active":
        response["HX-Refresh"] = "true"  # the roster changed: show the new grid
    return response


@require_POST
@requires(Perm.ROSTER_MANAGE)
def solve_cancel(request: HttpRequest, period_id: int, run_id: int) -> HttpResponse:
    period = selectors.period_get(user=request.user, period_id=period_id)
    run = SolveRun.objects.filter(pk=run_id, period=period).first()
    if run is None:
        raise Http404("No such solver run.")
    solving.solve_run_cancel(actor=request.user, run=run)
    messages.info(request, "Stopping the solver; the best roster so far is kept.")
    return redirect("rostering:period_detail", period.pk)


def _cell_response(request: HttpRequest, period, form: CellForm, *, ok: bool, text: list[str], warnings: list[str],
                   status: int) -> HttpResponse:
    if request.headers.get("HX-Request"):
        return render(request, "rostering/_cell_result.html", {"ok": ok, "text": text, "warnings": warnings}, status=status)
    for line in text:
        (messages.success if ok else messages.error)(request, line)
    for line in warnings:
        messages.warning(request, line)
    return redirect("rostering:period_detail", period.pk)


@require_POST
@requires(Perm.ROSTER_MANAGE)
def cell_edit(request: HttpRequest, period_id: int) -> HttpResponse:
    """Change one cell; the checker refuses a change that breaks a hard rule, naming the person, the day and the rule."""
    period = selectors.period_get(user=request.user, period_id=period_id)
    form = CellForm(request.POST, period=period)
    if not form.is_valid():
        text = [f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()]
        return _cell_response(request, period, form, ok=False, text=text, warnings=[], status=400)
    data = form.cleaned_data
    try:
        result = roster_services.assignment_set(actor=request.user, period=period, staff=data["staff"], day=data["day"],
                                                shift_type=data["shift"])
    except ValidationError as exc:
        return _cell_response(request, period, form, ok=False, text=exc.messages, warnings=[], status=409)
    what = data["shift"].code if data["shift"] else "off"
    text = [f"{data['staff']} on {data['day']:%a %Y-%m-%d}: {what}. Cost {result.cost_change:+d} (now {result.cost_after})."]
    lapsed = [f"{data['staff']}: {w}" for w in result.warnings]
    return _cell_response(request, period, form, ok=True, text=text, warnings=lapsed, status=200)


@require_POST
@requires(Perm.ROSTER_MANAGE)
def cell_lock(request: HttpRequest, period_id: int) -> HttpResponse:
    period = selectors.period_get(user=request.user, period_id=period_id)
    form = CellForm(request.POST, period=period)
    lock = request.POST.get("lock") == "1"
    if not form.is_valid():
        text = [f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()]
        return _cell_response(request, period, form, ok=False, text=text, warnings=[], status=400)
    try:
        roster_services.assignment_lock(actor=request.user, period=period, staff=form.cleaned_data["staff"],
                                        day=form.cleaned_data["day"], locked=lock)
    except ValidationError as exc:
        return _cell_response(request, period, form, ok=False, text=exc.messages, warnings=[], status=409)
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    messages.success(request, f"{form.cleaned_data['staff']} on {form.cleaned_data['day']:%a %Y-%m-%d} "
                              f"{'locked' if lock else 'unlocked'}.")
    return redirect("rostering:period_detail", period.pk)


def _show_errors(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


@require_POST
@requires(Perm.ROSTER_MANAGE)
def period_publish(request: HttpRequest, period_id: int) -> HttpResponse:
    period = selectors.period_get(user=request.user, period_id=period_id)
    try:
        roster_services.period_publish(actor=request.user, period=period)
    except ValidationError as exc:
        _show_errors(request, exc)
    else:
        messages.success(request, f"Roster “{period}” published; everyone on it has been sent their shifts and calendar link.")
    return redirect("rostering:period_detail", period.pk)


@require_POST
@requires(Perm.ROSTER_MANAGE)
def period_new_version(request: HttpRequest, period_id: int) -> HttpResponse:
    period = selectors.period_get(user=request.user, period_id=period_id)
    try:
        copy = roster_services.period_new_version(actor=request.user, period=period)
    except ValidationError as exc:
        _show_errors(request, exc)
        return redirect("rostering:period_detail", period.pk)
    messages.success(request, f"Draft version {copy.version} created from the published roster.")
    return redirect("rostering:period_detail", copy.pk)


@require_GET
@requires(Perm.ROSTER_MANAGE)
def hours_export(request: HttpRequest, period_id: int) -> HttpResponse:
    period = selectors.period_get(user=request.user, period_id=period_id)
    rows = selectors.hours_export_rows(user=request.user, period=period)
    audit_event(action="roster.hours_exported", actor=request.user, target=period, organization_id=period.organization_id,
                channel=AuditChannel.EXPORT, summary=f"Hours of {period} exported for payroll ({len(rows)} people)")
    return csv_response(f"roster-hours-{period.start:%Y-%m-%d}-v{period.version}.csv",
                        ["staff id", "name", "period start", "period end", "shifts", "hours", "night hours",
                         "weekend hours", "holiday hours"], rows)
