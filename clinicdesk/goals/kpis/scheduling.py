"""Scheduling KPIs: no-show rate, patient wait time and new patients, from the appointments the calendar and the
flow board record (arrived_at at check-in, roomed_at when the patient is taken to a room)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Count, DurationField, Exists, ExpressionWrapper, F, OuterRef, Q, Sum
from django.utils import timezone

from clinicdesk.core.permissions import Perm
from clinicdesk.scheduling.choices import AppointmentStatus
from clinicdesk.scheduling.models import Appointment

from ..choices import Direction, KpiUnit
from .registry import Figure, Kpi, Rows, Scope, local_days, one_place, percent, register

SCOPES = frozenset({"department", "location", "provider"})
# An appointment whose outcome is known: the patient came (at any stage of the visit) or did not.
RESOLVED = (AppointmentStatus.ARRIVED, AppointmentStatus.ROOMED, AppointmentStatus.WITH_PROVIDER,
            AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW)


def _scoped(qs, scope: Scope, *, provider: str = "provider"):
    if scope.department_id:
        qs = qs.filter(**{f"{provider}__department_id": scope.department_id})
    if scope.location_id:
        qs = qs.filter(location_id=scope.location_id)
    if scope.provider_id:
        qs = qs.filter(**{f"{provider}_id": scope.provider_id})
    return qs


def _appointments(org: int, start: date, end: date, scope: Scope):
    since, until = local_days(start, end)
    return _scoped(Appointment.objects.filter(organization_id=org, starts_at__gte=since, starts_at__lt=until), scope)


def _local(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _row(a: Appointment) -> list:
    return [a.public_id, _local(a.starts_at), f"{a.patient.last_name}, {a.patient.first_name}",
            f"{a.provider.first_name} {a.provider.last_name}".strip(), a.location.name, a.get_status_display()]


COLUMNS = ["Appointment", "Starts", "Patient", "Provider", "Location", "Status"]


def _patients(items) -> list:
    return [a.patient for a in items]


# --- no-show rate --------------------------------------------------------------------------------------------


def no_show_rate(org: int, start: date, end: date, scope: Scope) -> Figure:
    counts = _appointments(org, start, end, scope).filter(status__in=RESOLVED).aggregate(
        total=Count("id"), missed=Count("id", filter=Q(status=AppointmentStatus.NO_SHOW)))
    return Figure(value=percent(counts["missed"], counts["total"]), numerator=Decimal(counts["missed"]),
                  denominator=Decimal(counts["total"]))


def no_show_rows(org: int, start: date, end: date, scope: Scope) -> Rows:
    items = (_appointments(org, start, end, scope).filter(status__in=RESOLVED)
             .select_related("patient", "provider", "location").order_by("starts_at", "id"))
    return Rows(columns=COLUMNS, items=items, cells=_row, patients=_patients)


register(Kpi(
    code="no_show_rate", name="No-show rate", unit=KpiUnit.PERCENT, source="scheduling", perm=Perm.SCHEDULE_VIEW,
    better=Direction.AT_MOST, compute=no_show_rate, rows=no_show_rows, scopes=SCOPES,
    formula="Appointments marked no-show ÷ appointments whose outcome is known (arrived, roomed, with the provider, "
            "completed or no-show) × 100, by the appointment's start date. Excluded: cancelled appointments and "
            "appointments still scheduled or confirmed. Department = the provider's department."))


# --- wait time -----------------------------------------------------------------------------------------------


def _waits(org: int, start: date, end: date, scope: Scope):
    since, until = local_days(start, end)
    return (_scoped(Appointment.objects.filter(organization_id=org, arrived_at__gte=since, arrived_at__lt=until,
                                               roomed_at__isnull=False), scope)
            .exclude(status=AppointmentStatus.CANCELLED))


def wait_time(org: int, start: date, end: date, scope: Scope) -> Figure:
    found = _waits(org, start, end, scope).filter(roomed_at__gte=F("arrived_at")).aggregate(
        waited=Sum(ExpressionWrapper(F("roomed_at") - F("arrived_at"), output_field=DurationField())),
        visits=Count("id"))
    visits = found["visits"]
    if not visits:
        return Figure(value=None, numerator=Decimal(0), denominator=Decimal(0))
    minutes = Decimal(int(found["waited"].total_seconds())) / 60
    return Figure(value=one_place(minutes / visits), numerator=one_place(minutes), denominator=Decimal(visits))


def _wait_row(a: Appointment) -> list:
    wait = one_place(Decimal(int((a.roomed_at - a.arrived_at).total_seconds())) / 60)
    return [a.public_id, f"{a.patient.last_name}, {a.patient.first_name}",
            f"{a.provider.first_name} {a.provider.last_name}".strip(), a.location.name, _local(a.arrived_at),
            _local(a.roomed_at), wait]


def wait_rows(org: int, start: date, end: date, scope: Scope) -> Rows:
    items = (_waits(org, start, end, scope).select_related("patient", "provider", "location")
             .order_by("arrived_at", "id"))
    return Rows(columns=["Appointment", "Patient", "Provider", "Location", "Checked in", "Roomed", "Minutes"],
                items=items, cells=_wait_row, patients=_patients)


register(Kpi(
    code="wait_time", name="Patient wait time", unit=KpiUnit.MINUTES, source="scheduling", perm=Perm.SCHEDULE_VIEW,
    better=Direction.AT_MOST, compute=wait_time, rows=wait_rows, scopes=SCOPES,
    formula="Average minutes from check-in (arrived) to roomed, over the visits checked in during the period that "
            "were roomed: Σ (roomed − checked in) ÷ number of those visits, to one decimal. Excluded: visits never "
            "roomed, cancelled visits, and times out of order (roomed before check-in)."))


# --- new patients --------------------------------------------------------------------------------------------


def _first_visits(org: int, start: date, end: date, scope: Scope):
    earlier = Appointment.objects.filter(organization_id=org, patient_id=OuterRef("patient_id"),
                                         status=AppointmentStatus.COMPLETED, starts_at__lt=OuterRef("starts_at"))
    return (_appointments(org, start, end, scope).filter(status=AppointmentStatus.COMPLETED)
            .filter(~Exists(earlier)))


def new_patients(org: int, start: date, end: date, scope: Scope) -> Figure:
    count = _first_visits(org, start, end, scope).values("patient_id").distinct().count()
    return Figure(value=Decimal(count), numerator=Decimal(count))


def new_patient_rows(org: int, start: date, end: date, scope: Scope) -> Rows:
    items = (_first_visits(org, start, end, scope).select_related("patient", "provider", "location")
             .order_by("starts_at", "id"))
    return Rows(columns=COLUMNS, items=items, cells=_row, patients=_patients)


register(Kpi(
    code="new_patients", name="New patients", unit=KpiUnit.COUNT, source="scheduling", perm=Perm.SCHEDULE_VIEW,
    better=Direction.AT_LEAST, compute=new_patients, rows=new_patient_rows, scopes=SCOPES,
    formula="Patients whose first completed visit at the practice falls in the period (and, when narrowed, was with "
            "that department, location or provider). Excluded: patients with any completed visit before it, "
            "cancelled and no-show appointments."))
