"""What a department's rosters are made of, as the office manager sets it up: shift types, coverage needs and each
person's contract. Every save checks the row (`full_clean`) and that everything it names is the practice's own."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clinicdesk.core.audit import audit_event

from ..models import Contract, CoverageNeed, RosterAssignment, ShiftType

SHIFT_TYPE_FIELDS = ("department", "code", "name", "start_time", "length_minutes", "is_night", "is_active")
COVERAGE_FIELDS = ("department", "shift_type", "skill", "location", "weekday", "on_date", "minimum", "preferred")
CONTRACT_FIELDS = ("min_hours_per_week", "max_hours_per_week", "max_shifts_by_type", "max_consecutive_shifts",
                   "min_consecutive_shifts", "min_consecutive_days_off", "min_rest_hours", "max_weekends")


def _own(actor, **objects) -> None:
    """Refuse anything of another practice, naming the field."""
    for field, obj in objects.items():
        if obj is not None and getattr(obj, "organization_id", actor.organization_id) != actor.organization_id:
            raise ValidationError({field: "Choose one of this practice's own."})


def _save(row, *, actor, fields: dict, action: str, unique_message: dict[str, str]):
    creating = row.pk is None
    changes = {name: str(value) for name, value in fields.items() if str(getattr(row, name, None)) != str(value)}
    for name, value in fields.items():
        setattr(row, name, value)
    row.organization_id = actor.organization_id
    # Uniqueness is the database's to enforce (the message below); every other rule is the model's clean and validators.
    row.full_clean(exclude=["organization"], validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError as exc:
        raise ValidationError(unique_message) from exc
    audit_event(action=f"{action}.{'created' if creating else 'changed'}", actor=actor, target=row,
                summary=str(row)[:300], changes=changes)
    return row


@transaction.atomic
def shift_type_save(*, actor, shift_type: ShiftType | None = None, skills=(), **fields) -> ShiftType:
    """Create or change a shift type (code, start, length, night or not, skills everyone on it must hold)."""
    _own(actor, department=fields.get("department"))
    for skill in skills:
        _own(actor, skills=skill)
    if (shift_type is not None and shift_type.department_id != fields["department"].pk
            and RosterAssignment.objects.filter(shift_type=shift_type).exists()):
        raise ValidationError({"department": "This shift is on rosters already; make a new shift type instead."})
    row = _save(shift_type or ShiftType(), actor=actor, fields={k: fields[k] for k in SHIFT_TYPE_FIELDS if k in fields},
                action="roster.shift_type",
                unique_message={"code": f"{fields.get('department')} already has a shift coded {fields.get('code')}."})
    row.skills.set(skills)
    return row


@transaction.atomic
def coverage_need_save(*, actor, need: CoverageNeed | None = None, **fields) -> CoverageNeed:
    """Create or change a coverage need (minimum and preferred people on a shift, every day, a weekday or a date)."""
    _own(actor, department=fields.get("department"), shift_type=fields.get("shift_type"), skill=fields.get("skill"),
         location=fields.get("location"))
    shift_type = fields.get("shift_type")
    if shift_type is not None and shift_type.department_id != fields["department"].pk:
        raise ValidationError({"shift_type": f"{shift_type.name} is a shift of {shift_type.department}."})
    return _save(need or CoverageNeed(), actor=actor, fields={k: fields.get(k) for k in COVERAGE_FIELDS},
                 action="roster.coverage_need", unique_message={"shift_type": "That coverage need exists already."})


@transaction.atomic
def coverage_need_delete(*, actor, need: CoverageNeed) -> None:
    _own(actor, need=need)
    audit_event(action="roster.coverage_need.deleted", actor=actor, target=need, summary=str(need)[:300])
    need.delete()


@transaction.atomic
def contract_save(*, actor, staff, **fields) -> Contract:
    """Create or change a person's contract (hours a week, shifts per type, runs, rest, weekends)."""
    _own(actor, staff=staff)
    codes = set(ShiftType.objects.filter(department_id=staff.department_id).values_list("code", flat=True))
    unknown = sorted(set(fields.get("max_shifts_by_type") or {}) - codes)
    if unknown:
        raise ValidationError({"max_shifts_by_type": f"No shift coded {', '.join(unknown)} in {staff.department}; "
                                                     f"the codes are {', '.join(sorted(codes)) or 'none yet'}."})
    contract = Contract.objects.filter(staff=staff).first() or Contract(staff=staff)
    return _save(contract, actor=actor, fields={k: fields[k] for k in CONTRACT_FIELDS if k in fields},
                 action="roster.contract", unique_message={"staff": "This person has a contract already."})
