"""In real Chromium: the front desk imports bookings from the calendar, sees an unknown provider named on its line
in the preview, fixes the file, checks it again and books both visits."""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinicdesk.core.tests.import_steps import expect_one_line_to_fix, upload
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.models import Appointment

from .factories import Clinic

pytestmark = pytest.mark.browser

HEADER = "patient_mrn,provider,location,appointment_type,starts_at\n"


def _working_monday() -> date:
    """A Monday at least a week ahead that is not a New York holiday (the clinic's provider works Mondays)."""
    day = date.today() + timedelta(days=7)
    day += timedelta(days=(7 - day.weekday()) % 7)
    while day in holidays.US(subdiv="NY", years=day.year):
        day += timedelta(days=7)
    return day



def test_import_bookings_fixing_an_unknown_provider_before_confirming(page: Page, url, sign_in, org):
    # given the front desk on the calendar of a clinic whose provider works Mondays
    clinic = Clinic.build(org)
    second = PatientFactory(organization=org)
    monday = _working_monday()
    first_line = f"{clinic.patient.mrn},{clinic.provider.username},{clinic.location.code},{clinic.kind.code},{monday} 09:00\n"
    sign_in(clinic.actor)
    page.goto(url(reverse("scheduling:calendar")))
    page.locator("#appointments-import").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import appointments")
    # when she checks a file whose second line names a provider the practice does not have
    upload(page, "appointments.csv", HEADER + first_line
            + f"{second.mrn},nobody,{clinic.location.code},{clinic.kind.code},{monday} 09:30\n")
    # then that line is named with its column, and nothing is booked
    expect_one_line_to_fix(page, "Line 3, column provider: no provider nobody in this practice.")
    assert not Appointment.objects.exists()
    # when she fixes the provider, checks the file again and confirms
    upload(page, "appointments.csv", HEADER + first_line
            + f"{second.mrn},{clinic.provider.username},{clinic.location.code},{clinic.kind.code},{monday} 09:30\n")
    expect(page.get_by_role("heading", name="Preview: nothing saved yet")).to_be_visible()
    assert not Appointment.objects.exists()
    page.get_by_role("button", name="Import 2 rows").click()
    # then both visits are booked with the provider, a quarter of an hour apart
    expect(page.locator("ul.messages")).to_contain_text("Imported appointments.csv: 2 new, 0 updated, 0 unchanged.")
    starts = sorted(Appointment.objects.filter(provider=clinic.provider).values_list("starts_at", flat=True))
    assert [s.astimezone(clinic.at(2027, 1, 4, 9).tzinfo).strftime("%Y-%m-%d %H:%M") for s in starts] == [
        f"{monday} 09:00", f"{monday} 09:30"]
