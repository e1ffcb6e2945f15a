"""What scheduling adds to the patient page: the Appointments tab and the 'Next appointment' header fact.

Registered from SchedulingConfig.ready through the hooks the patients app offers, so patients never
imports scheduling.
"""

from __future__ import annotations

from django.http import HttpRequest

from clinicdesk.core.permissions import Perm
from clinicdesk.patients.views import PatientFact, PatientTab, register_patient_fact, register_patient_tab

from .selectors.calendar import location_time_zone, patient_appointments, patient_next_appointment


def _appointments_tab(request: HttpRequest, patient) -> dict:
    appointments = patient_appointments(actor=request.user, patient=patient)
    for appointment in [*appointments.upcoming, *appointments.past]:
        appointment.local_zone = str(location_time_zone(appointment.location))
    return {
        "upcoming": appointments.upcoming,
        "past": appointments.past,
        "can_book": request.user.has_perm_code(Perm.SCHEDULE_BOOK),
        "has_content": True,
    }


def _next_appointment(request: HttpRequest, patient) -> str | None:
    if not request.user.has_perm_code(Perm.SCHEDULE_VIEW):
        return None
    appointment = patient_next_appointment(actor=request.user, patient=patient)
    if appointment is None:
        return None
    local = appointment.starts_at.astimezone(location_time_zone(appointment.location))
    return f"{local:%a %b} {local.day}, {local:%Y %H:%M} · {appointment.appointment_type.name} with {appointment.provider}"


def register() -> None:
    register_patient_tab(
        PatientTab("appointments", "Appointments", "scheduling/partials/patient_appointments.html", _appointments_tab,
                   Perm.SCHEDULE_VIEW, order=20)
    )
    register_patient_fact(PatientFact("next_appointment", "Next appointment", _next_appointment, order=20))
