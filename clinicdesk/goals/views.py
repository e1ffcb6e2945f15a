"""The goals pages: the dashboard for the user's role, objectives and their key results, the KPI list with its
written formulas, each KPI's rows behind the number (paged, CSV) and the monthly goals report as PDF. Views parse,
check permission, call one service or selector, and render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_event, audit_events
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.models import Department
from clinicdesk.core.permissions import Perm

from . import selectors, services
from .forms import KeyResultForm, MonthForm, ObjectiveForm, RowsForm
from .kpis import registry
from .kpis.registry import Scope

PAGE_SIZE = 50
EXPORT_MAX_ROWS = 100_000


def _query(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@require_GET
@requires(Perm.GOALS_VIEW)
def dashboard(request: HttpRequest) -> HttpResponse:
    """Cards with each figure, its target and status, and a chart by month; every number opens its rows."""
    today = timezone.localdate()
    board = selectors.dashboard(user=request.user, on=today)
    charts = {}
    for i, card in enumerate([*board.cards, *board.kpi_cards]):
        card.chart_id = f"chart-{i}"
        charts[card.chart_id] = card.chart()
    return render(request, "goals/dashboard.html", {
        "board": board, "charts": charts, "can_edit": services.may_edit(user=request.user, department=None)
        or bool(selectors.owned_department_ids(request.user)), "month": today.strftime("%Y-%m")})


# --- objectives ----------------------------------------------------------------------------------------------


@require_GET
@requires(Perm.GOALS_VIEW)
def objective_list(request: HttpRequest) -> HttpResponse:
    objectives = selectors.objectives_for(user=request.user).prefetch_related("key_results")
    page = Paginator(objectives, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "goals/objective_list.html", {"page": page, "query": _query(request),
                                                         "can_add": _editable_departments(request).exists()})


@require_GET
@requires(Perm.GOALS_VIEW)
def objective_export(request: HttpRequest) -> HttpResponse:
    objectives = selectors.objectives_for(user=request.user).prefetch_related("key_results")[:EXPORT_MAX_ROWS]

    def rows():
        for o in objectives:
            for kr in o.key_results.all() or [None]:
                yield [o.pk, o.title, o.department.name, o.owner.get_full_name() or o.owner.username, o.start, o.end,
                       kr.kpi_code if kr else "", kr.get_direction_display() if kr else "",
                       kr.baseline if kr else "", kr.target if kr else ""]

    return csv_response("objectives.csv", ["Objective id", "Title", "Department", "Owner", "Start", "End", "KPI",
                                           "Direction", "Baseline", "Target"], rows())


def _editable_departments(request: HttpRequest):
    departments = Department.objects.filter(organization_id=request.user.organization_id, is_active=True)
    if not request.user.has_perm_code(Perm.GOALS_MANAGE):
        departments = departments.filter(owner=request.user)
    return departments.order_by("name")


@require_http_methods(["GET", "POST"])
@requires(Perm.GOALS_VIEW)
def objective_new(request: HttpRequest) -> HttpResponse:
    departments = _editable_departments(request)
    form = ObjectiveForm(request.POST or None, user=request.user, departments=departments,
                         initial={"owner": request.user.pk, "start": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            objective = services.objective_save(organization=request.user.organization, actor=request.user,
                                                data=form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Objective “{objective.title}” saved. Add its key results.")
            return redirect("goals:key_result_new", objective_id=objective.pk)
    return render(request, "goals/objective_form.html", {"form": form, "objective": None,
                                                         "no_department": not departments.exists()},
                  status=400 if form.errors else 200)


@require_GET
@requires(Perm.GOALS_VIEW)
def objective_detail(request: HttpRequest, objective_id: int) -> HttpResponse:
    objective = selectors.objective_get(user=request.user, objective_id=objective_id)
    today = timezone.localdate()
    rows = []
    for kr in objective.key_results.select_related("department", "location", "provider"):
        kr.objective = objective
        figure, status = services.key_result_current(kr, on=today)
        history = list(kr.snapshots.order_by("taken_on").values_list("taken_on", "value"))
        rows.append({"kr": kr, "kpi": registry.get(kr.kpi_code), "figure": figure, "status": status,
                     "history": {"labels": [d.isoformat() for d, _ in history],
                                 "values": [str(v) if v is not None else None for _, v in history],
                                 "target": str(kr.target)}})
    return render(request, "goals/objective_detail.html", {
        "objective": objective, "rows": rows, "charts": {f"history-{r['kr'].pk}": r["history"] for r in rows},
        "can_edit": services.may_edit(user=request.user, department=objective.department)})


@require_http_methods(["GET", "POST"])
@requires(Perm.GOALS_VIEW)
def objective_edit(request: HttpRequest, objective_id: int) -> HttpResponse:
    objective = selectors.objective_get(user=request.user, objective_id=objective_id)
    if not services.may_edit(user=request.user, department=objective.department):
        raise PermissionDenied("Only the practice's managers and the department's owner change its objectives.")
    initial = {"title": objective.title, "department": objective.department_id, "owner": objective.owner_id,
               "period_kind": objective.period_kind, "start": objective.start, "end": objective.end,
               "description": objective.description}
    form = ObjectiveForm(request.POST or None, user=request.user, departments=_editable_departments(request),
                         initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.objective_save(organization=request.user.organization, actor=request.user, objective=objective,
                                    data=form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Objective saved.")
            return redirect("goals:objective_detail", objective_id=objective.pk)
    return render(request, "goals/objective_form.html", {"form": form, "objective": objective},
                  status=400 if form.errors else 200)


def _key_result_page(request: HttpRequest, objective, key_result=None) -> HttpResponse:
    if not services.may_edit(user=request.user, department=objective.department):
        raise PermissionDenied("Only the practice's managers and the department's owner change its objectives.")
    initial = {}
    if key_result is not None:
        initial = {"kpi_code": key_result.kpi_code, "direction": key_result.direction, "target": key_result.target,
                   "baseline": key_result.baseline, "department": key_result.department_id,
                   "location": key_result.location_id, "provider": key_result.provider_id}
    form = KeyResultForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.key_result_save(objective=objective, actor=request.user, key_result=key_result,
                                     data=form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Key result saved.")
            return redirect("goals:objective_detail", objective_id=objective.pk)
    return render(request, "goals/key_result_form.html", {
        "form": form, "objective": objective, "key_result": key_result, "kpis": registry.all_kpis()},
        status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@requires(Perm.GOALS_VIEW)
def key_result_new(request: HttpRequest, objective_id: int) -> HttpResponse:
    return _key_result_page(request, selectors.objective_get(user=request.user, objective_id=objective_id))


@require_http_methods(["GET", "POST"])
@requires(Perm.GOALS_VIEW)
def key_result_edit(request: HttpRequest, key_result_id: int) -> HttpResponse:
    key_result = selectors.key_result_get(user=request.user, key_result_id=key_result_id)
    return _key_result_page(request, key_result.objective, key_result)


@require_POST
@requires(Perm.GOALS_VIEW)
def key_result_remove(request: HttpRequest, key_result_id: int) -> HttpResponse:
    key_result = selectors.key_result_get(user=request.user, key_result_id=key_result_id)
    objective_id = key_result.objective_id
    services.key_result_delete(key_result=key_result, actor=request.user)
    messages.success(request, "Key result removed.")
    return redirect("goals:objective_detail", objective_id=objective_id)


# --- KPIs and their rows -------------------------------------------------------------------------------------


@require_GET
@requires(Perm.GOALS_VIEW)
def kpi_list(request: HttpRequest) -> HttpResponse:
    return render(request, "goals/kpi_list.html", {"kpis": registry.all_kpis()})


def _kpi_rows(request: HttpRequest, kpi_code: str):
    kpi = registry.get(kpi_code)
    if kpi is None:
        raise Http404("No such KPI.")
    if not selectors.visible_kpi(request.user, kpi):
        raise PermissionDenied(f"{kpi.name} shows records your role does not open.")
    today = timezone.localdate()
    start, end = selectors.quarter_of(today)
    data = request.GET.copy()
    data.setdefault("start", start.isoformat())
    data.setdefault("end", min(end, today).isoformat())
    form = RowsForm(data)
    if not form.is_valid():
        return kpi, form, None, None, None
    values = form.cleaned_data
    scope = Scope(department_id=values.get("department") if "department" in kpi.scopes else None,
                  location_id=values.get("location") if "location" in kpi.scopes else None,
                  provider_id=values.get("provider") if "provider" in kpi.scopes else None)
    org = request.user.organization_id
    from . import figures

    figure = figures.figure(organization_id=org, code=kpi.code, start=values["start"], end=values["end"], scope=scope)
    return kpi, form, figure, kpi.rows(org, values["start"], values["end"], scope), values


def _audit_rows(request: HttpRequest, kpi, rows, items, values, channel: str) -> None:
    audit_event(action="goals.rows_viewed", actor=request.user, channel=channel,
                summary=f"{kpi.name} rows {values['start'].isoformat()}–{values['end'].isoformat()}")
    if rows.patients is not None:
        patients = list({p.pk: p for p in rows.patients(items)}.values())
        if patients:
            audit_events(action="patient.viewed", actor=request.user, targets=patients, channel=channel,
                         summary=f"Listed behind the KPI {kpi.name}")


@require_GET
@requires(Perm.GOALS_VIEW)
def kpi_rows(request: HttpRequest, kpi_code: str) -> HttpResponse:
    kpi, form, figure, rows, values = _kpi_rows(request, kpi_code)
    page = None
    if rows is not None:
        page = Paginator(rows.items, PAGE_SIZE).get_page(request.GET.get("page"))
        _audit_rows(request, kpi, rows, list(page.object_list), values, AuditChannel.PAGE)
        page.cells = [rows.cells(item) for item in page.object_list]
    return render(request, "goals/kpi_rows.html", {"kpi": kpi, "form": form, "figure": figure, "rows": rows,
                                                   "page": page, "query": _query(request)},
                  status=400 if form.errors else 200)


@require_GET
@requires(Perm.GOALS_VIEW)
def kpi_rows_export(request: HttpRequest, kpi_code: str) -> HttpResponse:
    kpi, form, _figure, rows, values = _kpi_rows(request, kpi_code)
    if rows is None:
        return render(request, "goals/kpi_rows.html", {"kpi": kpi, "form": form, "figure": None, "rows": None,
                                                       "page": None, "query": _query(request)}, status=400)
    items = list(rows.items[:EXPORT_MAX_ROWS])
    _audit_rows(request, kpi, rows, items, values, AuditChannel.EXPORT)
    return csv_response(f"{kpi.code}-{values['start'].isoformat()}-{values['end'].isoformat()}.csv", rows.columns,
                        (rows.cells(item) for item in items))


# --- the monthly report --------------------------------------------------------------------------------------


@require_GET
@requires(Perm.GOALS_VIEW)
def report_pdf(request: HttpRequest) -> HttpResponse:
    """The month's goals on paper: each objective, its key results' figures, targets, status and bars by month."""
    from weasyprint import HTML  # imported here: loading Pango costs a moment and only this view needs it

    form = MonthForm(request.GET)
    month = (form.cleaned_data.get("month") if form.is_valid() else None) or timezone.localdate().replace(day=1)
    month = month.replace(day=1)
    report = selectors.objective_report(user=request.user, month=month)
    for _objective, cards in report:
        for card in cards:
            values = [v for _, v in card.months if v is not None] + ([card.target] if card.target is not None else [])
            top = max((abs(v) for v in values), default=0) or 1
            # widths in steps of 5 % (classes w0…w100 in report-pdf.css: no inline style under the CSP)
            card.bars = [(label, value, 5 * round(abs(value) * 20 / top) if value is not None else 0)
                         for label, value in card.months]
    html = render_to_string("goals/pdf/report.html", {"report": report, "month": month,
                                                      "organization": request.user.organization,
                                                      "printed_at": timezone.localtime()})
    stylesheet = finders.find("goals/report-pdf.css")
    from weasyprint import CSS

    pdf = HTML(string=html).write_pdf(stylesheets=[CSS(filename=stylesheet)] if stylesheet else None)
    audit_event(action="goals.printed", actor=request.user, channel=AuditChannel.PRINT,
                summary=f"Goals report {month.strftime('%B %Y')}")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="goals-{month.strftime("%Y-%m")}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


