"""Every write of the goals app: objectives and key results (managers edit all, a department's owner edits its
own), and the daily snapshot of each key result's value."""

from __future__ import annotations

import calendar
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import Department, Location, Organization, User
from clinicdesk.core.permissions import Perm

from . import figures
from .choices import Direction, PeriodKind
from .kpis.registry import Scope
from .models import KeyResult, KeyResultSnapshot, Objective
from .status import key_result_status

OBJECTIVE_FIELDS = ("department", "owner", "title", "description", "period_kind", "start", "end")
KEY_RESULT_FIELDS = ("kpi_code", "target", "direction", "baseline", "department", "location", "provider")


def may_edit(*, user: User, department: Department | None) -> bool:
    """Managers edit every objective; a department's owner edits its department's."""
    if user.has_perm_code(Perm.GOALS_MANAGE):
        return True
    return department is not None and user.has_perm_code(Perm.GOALS_VIEW) and department.owner_id == user.pk


def _require_edit(actor: User, department: Department | None) -> None:
    if not may_edit(user=actor, department=department):
        raise PermissionDenied("Only the practice's managers and the department's owner change its objectives.")


def period_bounds(*, kind: str, start: date | None, end: date | None) -> tuple[date, date]:
    """The period's first and last days: a quarter or a month containing `start`, or the custom dates as given."""
    if start is None:
        raise ValidationError({"start": "Give the period's first day."})
    if kind == PeriodKind.QUARTER:
        first_month = 3 * ((start.month - 1) // 3) + 1
        last_month = first_month + 2
        return date(start.year, first_month, 1), date(start.year, last_month, calendar.monthrange(start.year, last_month)[1])
    if kind == PeriodKind.MONTH:
        return start.replace(day=1), start.replace(day=calendar.monthrange(start.year, start.month)[1])
    if kind != PeriodKind.CUSTOM:
        raise ValidationError({"period_kind": "Choose a quarter, a month or custom dates."})
    if end is None:
        raise ValidationError({"end": "Give the period's last day."})
    if end < start:
        raise ValidationError({"end": "The period ends before it starts."})
    if (end - start).days > 366 * 2:
        raise ValidationError({"end": "A period is at most two years."})
    return start, end


def _of_practice(model, organization: Organization, value, field: str, *, required: bool = False):
    if value is None or value == "":
        if required:
            raise ValidationError({field: "This field is required."})
        return None
    if isinstance(value, model):
        found = value if value.organization_id == organization.pk else None
    else:
        try:
            found = model.objects.filter(organization=organization, pk=int(value)).first()
        except (TypeError, ValueError):
            found = None
    if found is None:
        raise ValidationError({field: f"Choose a {field} of this practice."})
    return found


@transaction.atomic
def objective_save(*, organization: Organization, actor: User, objective: Objective | None = None,
                   data: dict) -> Objective:
    """Create or change an objective; the actor must be allowed to edit both its old and its new department."""
    department = _of_practice(Department, organization, data.get("department"), "department", required=True)
    owner = _of_practice(User, organization, data.get("owner"), "owner", required=True)
    if objective is not None:
        _require_edit(actor, objective.department)
    _require_edit(actor, department)
    title = (data.get("title") or "").strip()
    if not title:
        raise ValidationError({"title": "Give the objective a title."})
    kind = data.get("period_kind") or PeriodKind.QUARTER
    start, end = period_bounds(kind=kind, start=data.get("start"), end=data.get("end"))
    creating = objective is None
    objective = objective or Objective(organization=organization, created_by=actor)
    before = {f: str(getattr(objective, f if f not in ("department", "owner") else f"{f}_id")) for f in OBJECTIVE_FIELDS} \
        if not creating else {}
    objective.department, objective.owner, objective.title = department, owner, title
    objective.description = (data.get("description") or "").strip()
    objective.period_kind, objective.start, objective.end = kind, start, end
    objective.full_clean()
    if creating:
        objective.save()
    else:
        objective.save(update_fields=[*OBJECTIVE_FIELDS, "updated_at"])
    after = {f: str(getattr(objective, f if f not in ("department", "owner") else f"{f}_id")) for f in OBJECTIVE_FIELDS}
    audit_event(action="goals.objective_created" if creating else "goals.objective_changed", actor=actor,
                target=objective, organization_id=organization.pk, summary=f"Objective {title} ({department.name})",
                changes={k: [before.get(k), v] for k, v in after.items() if before.get(k) != v})
    return objective


def _decimal(value, field: str) -> Decimal:
    if value is None or value == "":
        raise ValidationError({field: "This field is required."})
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ValidationError({field: "Enter a number."}) from None
    if not number.is_finite() or abs(number) >= Decimal("1e12"):
        raise ValidationError({field: "Enter a number."})
    return number.quantize(Decimal("0.01"))


@transaction.atomic
def key_result_save(*, objective: Objective, actor: User, key_result: KeyResult | None = None, data: dict) -> KeyResult:
    """Create or change a key result of the objective: a KPI from the registry, target, direction and baseline."""
    _require_edit(actor, objective.department)
    organization = objective.organization
    errors: dict[str, list[str]] = {}
    values = {}
    for field in ("target", "baseline"):
        try:
            values[field] = _decimal(data.get(field), field)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    direction = data.get("direction")
    if direction not in Direction.values:
        errors["direction"] = ["Choose at least or at most."]
    for field, model in (("department", Department), ("location", Location), ("provider", User)):
        try:
            values[field] = _of_practice(model, organization, data.get(field), field)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    creating = key_result is None
    key_result = key_result or KeyResult(organization=organization, objective=objective,
                                         position=objective.key_results.count())
    key_result.kpi_code = (data.get("kpi_code") or "").strip()
    key_result.direction = direction
    for field, value in values.items():
        setattr(key_result, field, value)
    key_result.full_clean()
    if creating:
        key_result.save()
    else:
        key_result.save(update_fields=[*KEY_RESULT_FIELDS, "updated_at"])
    audit_event(action="goals.key_result_created" if creating else "goals.key_result_changed", actor=actor,
                target=key_result, organization_id=organization.pk,
                summary=f"{key_result.kpi_code} {direction} {key_result.target} on {objective.title}")
    return key_result


@transaction.atomic
def key_result_delete(*, key_result: KeyResult, actor: User) -> None:
    _require_edit(actor, key_result.objective.department)
    audit_event(action="goals.key_result_removed", actor=actor, target=key_result.objective,
                organization_id=key_result.organization_id, summary=f"Removed {key_result.kpi_code} from "
                f"{key_result.objective.title}")
    key_result.delete()


def key_result_scope(key_result: KeyResult) -> Scope:
    return Scope(department_id=key_result.department_id, location_id=key_result.location_id,
                 provider_id=key_result.provider_id)


def key_result_current(key_result: KeyResult, *, on: date):
    """The figure from the period's start to `on` (or its end), and its status."""
    objective = key_result.objective
    until = min(on, objective.end)
    if until < objective.start:
        return None, key_result_status(value=None, baseline=key_result.baseline, target=key_result.target,
                                       direction=key_result.direction, start=objective.start, end=objective.end, on=on)
    result = figures.figure(organization_id=key_result.organization_id, code=key_result.kpi_code,
                            start=objective.start, end=until, scope=key_result_scope(key_result))
    return result, key_result_status(value=result.value, baseline=key_result.baseline, target=key_result.target,
                                     direction=key_result.direction, start=objective.start, end=objective.end, on=on)


def key_result_snapshots_take(*, organization: Organization, on: date | None = None) -> int:
    """Record today's value and status of every key result whose period is under way (once a day; a second run
    the same day updates the day's row). Returns how many were recorded."""
    on = on or timezone.localdate()
    taken = 0
    for key_result in (KeyResult.objects.filter(organization=organization, objective__start__lte=on,
                                                objective__end__gte=on)
                       .select_related("objective")):
        result, status = key_result_current(key_result, on=on)
        KeyResultSnapshot.objects.update_or_create(key_result=key_result, taken_on=on, defaults={
            "value": result.value if result else None, "status": status})
        taken += 1
    return taken
