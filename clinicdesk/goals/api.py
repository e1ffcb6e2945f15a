"""API routes of the goals app (/api/v1/goals): the KPI registry with its formulas, a KPI's figure for a period and
scope, objectives with their key results' current figures and status, and creating objectives and key results.
Figures are strings; dates are ISO 8601. The same services and selectors as the pages decide."""

from datetime import date

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from pydantic import Field

from clinicdesk.core.api_auth import api_requires
from clinicdesk.core.api_schemas import DetailOut, ErrorsOut, Strict
from clinicdesk.core.audit import audit_event
from clinicdesk.core.permissions import Perm

from . import figures, selectors, services
from .choices import Direction, PeriodKind
from .kpis import registry
from .kpis.registry import Scope

router = Router(tags=["goals"])


class KpiOut(Schema):
    code: str
    name: str
    unit: str
    source: str
    formula: str
    scopes: list[str]
    available: bool


class FigureOut(Schema):
    code: str
    start: date
    end: date
    value: str | None
    numerator: str | None
    denominator: str | None
    note: str


class FigureQuery(Strict):
    start: date
    end: date
    department: int | None = Field(None, ge=1)
    location: int | None = Field(None, ge=1)
    provider: int | None = Field(None, ge=1)


class KeyResultOut(Schema):
    id: str
    kpi_code: str
    direction: str
    baseline: str
    target: str
    department_id: str | None
    location_id: str | None
    provider_id: str | None
    value: str | None
    status: str


class ObjectiveOut(Schema):
    id: str
    title: str
    description: str
    department_id: str
    owner_id: str
    period_kind: str
    start: date
    end: date
    key_results: list[KeyResultOut]


class ObjectiveIn(Strict):
    title: str = Field(max_length=160)
    description: str = Field("", max_length=4000)
    department_id: int
    owner_id: int
    period_kind: PeriodKind = PeriodKind.QUARTER
    start: date
    end: date | None = None


class KeyResultIn(Strict):
    kpi_code: str = Field(max_length=40)
    direction: Direction
    target: str = Field(max_length=20)
    baseline: str = Field(max_length=20)
    department_id: int | None = None
    location_id: int | None = None
    provider_id: int | None = None


def _str(value) -> str | None:
    return None if value is None else str(value)


def _key_result_out(kr, on: date) -> dict:
    figure, status = services.key_result_current(kr, on=on)
    return {"id": str(kr.pk), "kpi_code": kr.kpi_code, "direction": kr.direction, "baseline": str(kr.baseline),
            "target": str(kr.target), "department_id": _str(kr.department_id), "location_id": _str(kr.location_id),
            "provider_id": _str(kr.provider_id), "value": _str(figure.value) if figure else None, "status": status}


def _objective_out(o, on: date) -> dict:
    key_results = list(o.key_results.all())
    for kr in key_results:
        kr.objective = o
    return {"id": str(o.pk), "title": o.title, "description": o.description, "department_id": str(o.department_id),
            "owner_id": str(o.owner_id), "period_kind": o.period_kind, "start": o.start, "end": o.end,
            "key_results": [_key_result_out(kr, on) for kr in key_results]}


@router.get("/kpis", response=list[KpiOut], summary="The KPIs and their written formulas")
@api_requires(Perm.GOALS_VIEW)
def kpi_list(request: HttpRequest):
    return [{"code": k.code, "name": k.name, "unit": k.unit, "source": k.source, "formula": k.formula,
             "scopes": sorted(k.scopes), "available": k.available} for k in registry.all_kpis()]


@router.get("/kpis/{kpi_code}", response={200: FigureOut, 400: ErrorsOut, 403: DetailOut, 404: DetailOut},
            summary="A KPI's figure for a period and scope")
@api_requires(Perm.GOALS_VIEW)
def kpi_figure(request: HttpRequest, kpi_code: str, query: Query[FigureQuery]):
    kpi = registry.get(kpi_code)
    if kpi is None:
        raise Http404
    if not selectors.visible_kpi(request.user, kpi):
        raise PermissionDenied
    if query.end < query.start:
        return Status(400, {"errors": {"end": ["The period ends before it starts."]}})
    scope = Scope(department_id=query.department if "department" in kpi.scopes else None,
                  location_id=query.location if "location" in kpi.scopes else None,
                  provider_id=query.provider if "provider" in kpi.scopes else None)
    figure = figures.figure(organization_id=request.user.organization_id, code=kpi.code, start=query.start,
                            end=query.end, scope=scope)
    return {"code": kpi.code, "start": query.start, "end": query.end, "value": _str(figure.value),
            "numerator": _str(figure.numerator), "denominator": _str(figure.denominator), "note": figure.note}


@router.get("/objectives", response=list[ObjectiveOut], summary="Objectives you may see, with key results")
@api_requires(Perm.GOALS_VIEW)
def objective_list(request: HttpRequest):
    on = timezone.localdate()
    objectives = selectors.objectives_for(user=request.user).prefetch_related("key_results")[:200]
    return [_objective_out(o, on) for o in objectives]


@router.get("/objectives/{objective_id}", response={200: ObjectiveOut, 404: DetailOut}, summary="One objective")
@api_requires(Perm.GOALS_VIEW)
def objective_detail(request: HttpRequest, objective_id: int):
    objective = selectors.objective_get(user=request.user, objective_id=objective_id)
    return _objective_out(objective, timezone.localdate())


@router.post("/objectives", response={201: ObjectiveOut, 400: ErrorsOut, 403: DetailOut}, summary="Set an objective")
@api_requires(Perm.GOALS_VIEW)
def objective_create(request: HttpRequest, payload: ObjectiveIn):
    data = payload.dict()
    data["department"], data["owner"] = data.pop("department_id"), data.pop("owner_id")
    objective = services.objective_save(organization=request.user.organization, actor=request.user, data=data)
    audit_event(action="goals.api_write", actor=request.user, target=objective, summary="Objective set by API")
    return Status(201, _objective_out(objective, timezone.localdate()))


@router.post("/objectives/{objective_id}/key-results", response={201: KeyResultOut, 400: ErrorsOut, 403: DetailOut,
                                                                 404: DetailOut}, summary="Add a key result")
@api_requires(Perm.GOALS_VIEW)
def key_result_create(request: HttpRequest, objective_id: int, payload: KeyResultIn):
    objective = selectors.objective_get(user=request.user, objective_id=objective_id)
    data = payload.dict()
    for name in ("department", "location", "provider"):
        data[name] = data.pop(f"{name}_id")
    key_result = services.key_result_save(objective=objective, actor=request.user, data=data)
    key_result.objective = objective
    return Status(201, _key_result_out(key_result, timezone.localdate()))
