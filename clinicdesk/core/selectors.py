"""Reads of the practice's own records, always scoped to the acting user's organization."""

from datetime import date, datetime, time

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from .choices import Role
from .models import AuditEvent, Location, User
from .permissions import ROLE_PERMISSIONS, Perm

AUDIT_FILTERS = ("user", "patient", "action", "outcome", "date_from", "date_to")
# Ids longer than this cannot be a row id (and would overflow a 64-bit column).
_MAX_ID_DIGITS = 18


def _as_id(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and len(value) <= _MAX_ID_DIGITS else None


def audit_event_list(*, actor: User, filters: dict[str, str] | None = None) -> QuerySet[AuditEvent]:
    """The audit trail of the actor's organization, filtered by user, patient, action, outcome and dates."""
    if not actor.has_perm_code(Perm.AUDIT_VIEW):
        return AuditEvent.objects.none()
    filters = {k: str(v or "").strip() for k, v in (filters or {}).items() if k in AUDIT_FILTERS}
    qs = AuditEvent.objects.filter(organization_id=actor.organization_id)
    errors = {}
    for key, value in filters.items():
        if "\x00" in value:
            errors[key] = "Remove the control characters."
    if errors:
        raise ValidationError(errors)
    if filters.get("user"):
        value = filters["user"]
        user_id = _as_id(value)
        qs = qs.filter(actor_id=user_id) if user_id is not None else qs.filter(actor_label__iexact=value)
    if filters.get("patient"):
        value = filters["patient"]
        patient_id = _as_id(value)
        qs = qs.filter(patient_id=patient_id) if patient_id is not None else qs.filter(patient_label__icontains=value)
    if filters.get("action"):
        qs = qs.filter(action__startswith=filters["action"])
    if filters.get("outcome"):
        qs = qs.filter(outcome=filters["outcome"])
    for key, lookup, at in (("date_from", "created_at__gte", time.min), ("date_to", "created_at__lte", time.max)):
        if filters.get(key):
            try:
                day = date.fromisoformat(filters[key])
            except ValueError:
                errors[key] = "Use a date like 2026-11-26."
                continue
            qs = qs.filter(**{lookup: timezone.make_aware(datetime.combine(day, at))})
    if errors:
        raise ValidationError(errors)
    return qs.order_by("-id")


def user_list(*, actor: User) -> QuerySet[User]:
    """The staff of the actor's organization, for those who manage users."""
    if not actor.has_perm_code(Perm.USERS_MANAGE):
        return User.objects.none()
    return User.objects.filter(organization_id=actor.organization_id).order_by("last_name", "first_name", "username")


def role_assignable(*, actor: User, role: str) -> bool:
    """Whether the actor may give (or manage someone holding) this role: never more rights than their own."""
    if role not in ROLE_PERMISSIONS or not actor.has_perm_code(Perm.USERS_MANAGE):
        return False
    if actor.is_superuser:
        return True
    return ROLE_PERMISSIONS[role] <= ROLE_PERMISSIONS.get(actor.role, frozenset())


def assignable_roles(*, actor: User) -> list[tuple[str, str]]:
    """(value, label) of the roles the actor may give, in the order of the role list."""
    return [(value, label) for value, label in Role.choices if role_assignable(actor=actor, role=value)]


def location_list(*, actor: User) -> QuerySet[Location]:
    """The active locations of the actor's organization."""
    return Location.objects.filter(organization_id=actor.organization_id, is_active=True).order_by("name")
