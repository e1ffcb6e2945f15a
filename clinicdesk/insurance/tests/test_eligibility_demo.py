"""The eligibility demo: roster filled for the coverages, tomorrow's appointments checked, once."""

from datetime import datetime, timedelta

from django.utils import timezone

from clinicdesk.core.demo import DemoContext
from clinicdesk.insurance.clearinghouse.local import roster_get
from clinicdesk.insurance.demo_eligibility import seed_eligibility
from clinicdesk.insurance.models import EligibilityCheck
from clinicdesk.insurance.services.eligibility import next_business_day
from clinicdesk.scheduling.tests.factories import AppointmentFactory

from .eligibility_setup import *  # noqa: F403  (the shared fixtures)


def test_the_demo_fills_the_roster_and_checks_tomorrow(practice, clearinghouse, coverage):
    ctx = DemoContext(organization=practice)
    assert seed_eligibility(DemoContext(organization=practice.__class__.objects.create(name="Empty", slug="e"))) == 0
    day = next_business_day(timezone.localdate())
    starts = timezone.make_aware(datetime.combine(day, datetime.min.time()) + timedelta(hours=10))
    AppointmentFactory(organization=practice, patient=coverage.patient, starts_at=starts,
                       ends_at=starts + timedelta(minutes=20))
    assert seed_eligibility(ctx) == 2
    assert roster_get(clearinghouse, "ACME1", coverage.member_id) is not None
    check = EligibilityCheck.objects.get()
    assert check.service_date == day and check.status in ("active", "inactive")
    assert seed_eligibility(ctx) == 0
