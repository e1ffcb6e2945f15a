"""Billing listens to the schedule: a completed visit gets its encounter, ready for the clinician to code."""

import logging

from django.core.exceptions import ValidationError
from django.dispatch import receiver

from clinicdesk.scheduling.signals import appointment_status_changed

from .services.charges import encounter_from_appointment

logger = logging.getLogger(__name__)

# The visit is over when it is checked out; the encounter is made then (once: the service is idempotent).
ENCOUNTER_ON = ("completed",)


@receiver(appointment_status_changed)
def encounter_for_completed_visit(sender, appointment, previous_status=None, **kwargs) -> None:
    if appointment.status not in ENCOUNTER_ON:
        return
    try:
        encounter_from_appointment(appointment=appointment, actor=None)
    except ValidationError:  # a visit the service refuses (not billable) simply has no encounter
        logger.info("No encounter for appointment %s", appointment.pk, exc_info=True)
