"""The demo schedule: deterministic, idempotent, and Dr. Chen has 14 patients on the next weekday (Scenario 1)."""

import pytest

from clinicdesk.core import demo as core_demo
from clinicdesk.patients import demo as patient_demo
from clinicdesk.scheduling import demo
from clinicdesk.scheduling.choices import AppointmentStatus
from clinicdesk.scheduling.models import Appointment, AppointmentType, AvailabilityTemplate
from clinicdesk.scheduling.selectors.availability import location_tz

pytestmark = pytest.mark.django_db


def test_seed_is_idempotent_and_sets_up_scenario_one():
    ctx = core_demo.seed()
    patient_demo.seed(ctx, patients=300, seed=2026)
    added = demo.seed(ctx, patients=300, seed=2026, stdout=None)
    assert added > 500
    assert demo.seed(ctx, patients=300, seed=2026, stdout=None) == 0
    assert AppointmentType.objects.filter(organization=ctx.organization).count() == 7
    assert AvailabilityTemplate.objects.filter(organization=ctx.organization).count() == 7  # Dr. Weiss works at both
    rows = list(Appointment.objects.filter(organization=ctx.organization).select_related("location"))
    assert {a.busy_until >= a.ends_at and a.busy_from <= a.starts_at for a in rows} == {True}
    tz = location_tz(ctx.locations[0].time_zone)
    from django.utils import timezone

    day = demo._next_weekday(timezone.now().astimezone(tz).date())
    chen = [a for a in rows if a.provider_id == ctx.users["drchen"].pk and a.starts_at.astimezone(tz).date() == day
            and a.status in (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED)]
    assert len(chen) == 14
    group = [a for a in rows if a.appointment_type.code == "diabetes-class"]
    assert group and all(not a.exclusive for a in group)
