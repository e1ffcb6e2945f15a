"""In real Chromium: the front desk finds the patient for a physical therapy slot and sees, beside the booking
button, that the payer needs a prior authorisation none covers; the visit still books."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from clinicdesk.scheduling.models import Appointment

from .booking_world import BookingWorld

pytestmark = pytest.mark.browser


def test_the_authorisation_warning_appears_when_booking(page: Page, url, sign_in, org):
    # given a covered patient with no authorisation for therapy
    w = BookingWorld(org)
    sign_in(w.clinic.actor)
    # when the desk opens the therapy slot and finds the patient
    page.goto(url(w.book_url()))
    warnings = page.get_by_role("status", name=f"Before booking {w.patient.first_name}")
    # then the warning is shown next to the booking button, and booking still goes ahead
    expect(warnings).to_contain_text("Acme Health needs a prior authorisation for 97110 on 03/15/2027")
    page.get_by_role("button", name=f"Book for {w.patient.first_name}").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert Appointment.objects.filter(patient=w.patient, appointment_type=w.therapy).count() == 1
