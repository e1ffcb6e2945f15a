"""A patient books online in a real browser: choose the kind of visit, pick a time, fill in the form, follow
the link from the e-mail, confirm, and see the booking; the office's calendar has the appointment."""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from clinicdesk.scheduling.choices import BookingChannel, OnlineRequestStatus
from clinicdesk.scheduling.models import Appointment, OnlineBookingRequest
from clinicdesk.scheduling.tests.factories import AppointmentTypeFactory, Clinic

pytestmark = pytest.mark.browser

SLUG = "riverside-browser"


@pytest.fixture
def clinic(org):
    clinic = Clinic.build(org)
    clinic.schedule.online_booking_enabled = True
    clinic.schedule.online_booking_slug = SLUG
    clinic.schedule.save()
    clinic.kind.bookable_online = True
    clinic.kind.save()
    AppointmentTypeFactory(organization=org, name="Annual physical", code="physical", duration_minutes=30, bookable_online=True)
    AppointmentTypeFactory(organization=org, name="Staff-only procedure", code="procedure", bookable_online=False)
    return clinic


def test_a_patient_books_online_end_to_end(page: Page, url, clinic):
    # given the location's public booking page
    page.goto(url(f"/book/{SLUG}/"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Book an appointment at")
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    kinds = page.get_by_label("Kind of visit")
    expect(kinds.locator("option")).to_have_count(3)  # "Choose…" and the two online types
    # when the patient chooses a kind of visit, the free times appear (the page submits itself)
    kinds.select_option(label="Follow-up (15 min)")
    first_time = page.locator("a.booking-time").first
    expect(first_time).to_be_visible()
    expect(first_time).to_contain_text("Wei Chen, MD")
    chosen = first_time.locator(".time").inner_text()
    first_time.click()
    # and fills in the form
    expect(page.get_by_role("heading", level=1)).to_have_text("Request this time")
    expect(page.locator("#chosen-time")).to_contain_text(chosen)
    page.get_by_label("First name").fill("Maria")
    page.get_by_label("Last name").fill("Lopez")
    page.get_by_label("Date of birth").fill("1985-04-02")
    page.get_by_label("E-mail").fill("maria.lopez@example.com")
    page.get_by_label("Phone").fill("(202) 555-0143")
    page.get_by_label("Reason for the visit").fill("Sore throat")
    page.get_by_role("button", name="Send me the confirmation link").click()
    # then the page asks to check the e-mail; nothing is booked yet
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    assert not Appointment.objects.exists()
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/verify/\S+/", mail.outbox[0].body).group(0)
    # when the patient follows the link and confirms
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your appointment")
    page.get_by_role("button", name="Confirm the appointment").click()
    # then the booking is confirmed on the page and in the schedule
    expect(page.locator("#booking-confirmed")).to_contain_text("Your appointment is booked")
    expect(page.locator("#booking-confirmed")).to_contain_text(chosen)
    appointment = Appointment.objects.get()
    assert appointment.channel == BookingChannel.ONLINE
    assert appointment.provider == clinic.provider
    assert (appointment.patient.first_name, appointment.patient.last_name) == ("Maria", "Lopez")
    assert OnlineBookingRequest.objects.get().status == OnlineRequestStatus.BOOKED
    assert "is booked" in mail.outbox[-1].subject
