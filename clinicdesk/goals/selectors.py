"""Reads of the goals app, scoped to the user's practice and what their role and department let them see."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.http import Http404

from clinicdesk.core.models import Department, User
from clinicdesk.core.permissions import Perm

from . import figures
from .choices import KeyResultStatus
from .kpis import registry
from .kpis.registry import Figure, Kpi, Scope
from .models import KeyResult, Objective
from .services import key_result_scope
from .status import key_result_status

REVENUE_CYCLE = ("days_in_ar", "clean_claim_rate", "denial_rate", "net_collection_rate", "time_of_service")
SCHEDULING = ("no_show_rate", "wait_time", "new_patients")
DEPARTMENT = ("no_show_rate", "wait_time", "new_patients", "budget_variance", "credential_compliance",
              "training_compliance", "overtime")
CHART_MONTHS = 6


def owned_department_ids(user: User) -> list[int]:
    return list(Department.objects.filter(organization_id=user.organization_id, owner=user).values_list("pk", flat=True))


def objectives_for(*, user: User) -> QuerySet[Objective]:
    """Managers see every objective of the practice; others those of their own department and of any they own."""
    qs = Objective.objects.filter(organization_id=user.organization_id)
    if not user.has_perm_code(Perm.GOALS_MANAGE):
        qs = qs.filter(Q(department_id=user.department_id) | Q(department__owner=user)) if user.department_id \
            else qs.filter(department__owner=user)
    return qs.select_related("department", "owner")


def objective_get(*, user: User, objective_id: int) -> Objective:
    objective = objectives_for(user=user).filter(pk=objective_id).first()
    if objective is None:
        raise Http404("No such objective.")
    return objective


def key_result_get(*, user: User, key_result_id: int) -> KeyResult:
    key_result = (KeyResult.objects.filter(pk=key_result_id, objective__in=objectives_for(user=user))
                  .select_related("objective__department", "objective__owner").first())
    if key_result is None:
        raise Http404("No such key result.")
    return key_result


def month_spans(start: date, end: date) -> list[tuple[date, date]]:
    spans = []
    first = start.replace(day=1)
    while first <= end:
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        spans.append((max(first, start), min(last, end)))
        first = date(last.year + (last.month == 12), last.month % 12 + 1, 1)
    return spans


def quarter_of(on: date) -> tuple[date, date]:
    first = 3 * ((on.month - 1) // 3) + 1
    return date(on.year, first, 1), date(on.year, first + 2, calendar.monthrange(on.year, first + 2)[1])


@dataclass
class Card:
    kpi: Kpi
    title: str
    start: date
    end: date
    scope: Scope
    figure: Figure
    status: str = KeyResultStatus.NO_DATA
    target: Decimal | None = None
    direction: str = ""
    key_result: KeyResult | None = None
    months: list[tuple[str, Decimal | None]] = field(default_factory=list)

    @property
    def status_label(self) -> str:
        return KeyResultStatus(self.status).label if self.key_result else ""

    def chart(self) -> dict:
        return {"labels": [m for m, _ in self.months], "values": [str(v) if v is not None else None for _, v in self.months],
                "target": str(self.target) if self.target is not None else None, "unit": self.kpi.unit}

    def scope_query(self) -> str:
        parts = [f"start={self.start.isoformat()}", f"end={self.end.isoformat()}"]
        for name in ("department", "location", "provider"):
            value = getattr(self.scope, f"{name}_id")
            if value:
                parts.append(f"{name}={value}")
        return "&".join(parts)


@dataclass
class Dashboard:
    title: str
    on: date
    cards: list[Card]
    kpi_cards: list[Card]


def _cards(user: User, specs: list[tuple[Kpi, str, date, date, Scope, KeyResult | None]], on: date) -> list[Card]:
    """Cards with their figures and monthly chart values, all fetched through the cache in one round trip."""
    wanted = []
    for kpi, _title, start, end, scope, _kr in specs:
        wanted.append((kpi.code, start, min(end, on), scope))
        wanted.extend((kpi.code, a, b, scope) for a, b in month_spans(start, min(end, on)))
    found = figures.figures_many(organization_id=user.organization_id, wanted=[w for w in wanted if w[1] <= w[2]])
    cards = []
    for kpi, title, start, end, scope, kr in specs:
        until = min(end, on)
        figure = found.get((kpi.code, start, until, scope)) or Figure(value=None)
        months = [(a.strftime("%b %Y"), found[(kpi.code, a, b, scope)].value) for a, b in month_spans(start, until)]
        card = Card(kpi=kpi, title=title, start=start, end=until, scope=scope, figure=figure, months=months,
                    key_result=kr)
        if kr is not None:
            card.target, card.direction = kr.target, kr.direction
            card.status = key_result_status(value=figure.value, baseline=kr.baseline, target=kr.target,
                                            direction=kr.direction, start=kr.objective.start, end=kr.objective.end, on=on)
        cards.append(card)
    return cards


def visible_kpi(user: User, kpi: Kpi) -> bool:
    return user.has_perm_code(kpi.perm) or kpi.perm == Perm.GOALS_VIEW


def dashboard(*, user: User, on: date) -> Dashboard:
    """The user's dashboard: the key results of the objectives under way they may see, and their role's KPIs
    (practice-wide for managers, the owned department's for a department owner, the revenue cycle for billers,
    scheduling for the front desk) over the last months."""
    key_results = (KeyResult.objects.filter(objective__in=objectives_for(user=user), objective__start__lte=on,
                                            objective__end__gte=on)
                   .select_related("objective__department").order_by("objective__department__name", "objective_id",
                                                                     "position", "id"))
    specs = []
    for kr in key_results:
        kpi = registry.get(kr.kpi_code)
        if kpi is None:
            continue
        specs.append((kpi, f"{kr.objective.title}: {kpi.name}", kr.objective.start, kr.objective.end,
                      key_result_scope(kr), kr))
    year, month = on.year, on.month - (CHART_MONTHS - 1)
    if month <= 0:
        year, month = year - 1, month + 12
    start = date(year, month, 1)
    owned = owned_department_ids(user)
    if user.has_perm_code(Perm.GOALS_MANAGE):
        title, codes, scope = "Practice dashboard", [k.code for k in registry.all_kpis()], Scope()
    elif owned:
        department = Department.objects.get(pk=owned[0])
        title, codes, scope = f"{department.name} dashboard", list(DEPARTMENT), Scope(department_id=department.pk)
    elif user.has_perm_code(Perm.CLAIMS_VIEW) and user.has_perm_code(Perm.BILLING_VIEW):
        title, codes, scope = "Revenue cycle dashboard", list(REVENUE_CYCLE), Scope()
    elif user.has_perm_code(Perm.SCHEDULE_BOOK) and user.has_perm_code(Perm.WAITLIST):
        title, codes, scope = "Front desk dashboard", list(SCHEDULING), Scope()
    else:
        title, codes, scope = "My department's goals", [], Scope()
    kpi_specs = []
    for code in codes:
        kpi = registry.get(code)
        if kpi is None or not visible_kpi(user, kpi):
            continue
        kpi_scope = scope if all(getattr(scope, f"{n}_id") is None or n in kpi.scopes
                                 for n in ("department", "location", "provider")) else Scope()
        kpi_specs.append((kpi, kpi.name, start, on, kpi_scope, None))
    return Dashboard(title=title, on=on, cards=_cards(user, specs, on), kpi_cards=_cards(user, kpi_specs, on))


def objective_report(*, user: User, month: date) -> list[tuple[Objective, list[Card]]]:
    """The monthly goals report: each visible objective running in the month, its key results' figures for the
    month and their status at its end."""
    last = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    objectives = list(objectives_for(user=user).filter(start__lte=last, end__gte=month).prefetch_related("key_results"))
    result = []
    for objective in objectives:
        specs = []
        for kr in objective.key_results.all():
            kr.objective = objective
            kpi = registry.get(kr.kpi_code)
            if kpi is not None:
                specs.append((kpi, kpi.name, objective.start, objective.end, key_result_scope(kr), kr))
        result.append((objective, _cards(user, specs, min(last, objective.end))))
    return result
