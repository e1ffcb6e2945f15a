"""Reads of the practice's own records, always scoped to the acting user's organization."""

from datetime import date, datetime, time

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from .models import AuditEvent, User
from .permissions import Perm

AUDIT_FILTERS = ("user", "patient", "action", "outcome", "date_from", "date_to")


def audit_event_list(*, actor: User, filters: dict[str, str] | None = None) -> QuerySet[AuditEvent]:
    """The audit trail of the actor's organization, filtered by user, patient, action, outcome and dates."""
    if not actor.has_perm_code(Perm.AUDIT_VIEW):
        return AuditEvent.objects.none()
    filters = {k: (v or "").strip() for k, v in (filters or {}).items() if k in AUDIT_FILTERS}
    qs = AuditEvent.objects.filter(organization_id=actor.organization_id)
    errors = {}
    if filters.get("user"):
        value = filters["user"]
        qs = qs.filter(actor_id=int(value)) if value.isdigit() else qs.filter(actor_label__iexact=value)
    if filters.get("patient"):
        value = filters["patient"]
        qs = qs.filter(patient_id=int(value)) if value.isdigit() else qs.filter(patient_label__icontains=value)
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
    if not actor.has_perm_code(Perm.USERS_MANAGE):
        return User.objects.none()
    return User.objects.filter(organization_id=actor.organization_id).order_by("last_name", "first_name")
