"""The front desk's queues in real Chromium: a call with a callback logged from the patient page lands in
the callback queue and is closed from there; a cancelled appointment is offered to a waitlisted patient
at once and booked with one click (Scenario 5, from the desk's side)."""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from clinicdesk.scheduling.choices import AppointmentStatus, OfferStatus
from clinicdesk.scheduling.models import Appointment, PhoneCall, WaitlistOffer
from clinicdesk.scheduling.services.appointments import appointment_book, appointment_cancel
from clinicdesk.scheduling.tests.screens import Desk, a_working_day

pytestmark = pytest.mark.browser

TZ = zoneinfo.ZoneInfo("America/New_York")


@pytest.fixture
def desk(org):
    return Desk.build(org)


@pytest.fixture(autouse=True)
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def test_log_a_call_with_a_callback_and_close_it_from_the_queue(page: Page, url, sign_in, desk):
    # given Maria on Ana's page
    sign_in(desk.user)
    page.goto(url(reverse("patients:detail", args=[desk.ana.public_id]) + "?tab=calls"))
    expect(page.get_by_text("No calls logged yet.")).to_be_visible()
    # when she logs the call from the keyboard
    page.get_by_role("link", name="Log a call").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Log a call · Alvarez, Ana"))
    expect(page.get_by_label("Inbound")).to_be_focused()
    page.keyboard.press("Tab")
    page.get_by_label("Reason").select_option(label="Test results")
    page.get_by_label("Outcome").select_option(label="Message taken")
    page.get_by_label("Notes").fill("Asks whether the lab results are in")
    page.get_by_label("Callback needed").check()
    due = (timezone.now() + timedelta(hours=3)).astimezone(TZ)
    page.get_by_label("Call back by").fill(due.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Notes").press("Tab")
    page.get_by_role("button", name="Log call").click()
    # then she is back on Ana's calls with the call listed
    expect(page.get_by_role("status")).to_contain_text("Call logged. Callback due")
    expect(page.get_by_role("tabpanel")).to_contain_text("Asks whether the lab results are in")
    call = PhoneCall.objects.get(patient=desk.ana)
    assert call.assigned_to == desk.user and call.callback_due.astimezone(TZ).strftime("%H:%M") == due.strftime("%H:%M")
    # when she opens her callbacks
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Calls", exact=True).click()
    page.get_by_role("link", name=re.compile("^Callbacks")).click()
    page.get_by_role("link", name=re.compile("^Mine")).click()
    row = page.locator(f"#callback-{call.pk}")
    expect(row).to_contain_text("Alvarez, Ana")
    expect(row).to_contain_text("Asks whether the lab results are in")
    # and marks it done with a note
    row.get_by_label("Outcome").select_option(label="Resolved")
    row.get_by_label("Note").fill("Results normal, told her")
    row.get_by_role("button", name=re.compile("^Done")).click()
    # then it has left the queue
    expect(page.get_by_role("status")).to_contain_text("Callback to Alvarez, Ana done.")
    expect(page.locator(f"#callback-{call.pk}")).to_have_count(0)
    call.refresh_from_db()
    assert call.callback_done_at is not None and "Results normal" in call.notes


def test_waitlist_then_a_cancellation_is_booked_with_one_click(page: Page, url, sign_in, desk):
    # given Luis booked at 14:00 on a working day with Dr. Chen, and Maria Chen wanting any earlier follow-up
    day = a_working_day()
    two_pm = datetime(day.year, day.month, day.day, 14, tzinfo=TZ)
    luis_visit = appointment_book(actor=desk.user, patient=desk.luis, provider=desk.dr_chen, location=desk.location,
                                  appointment_type=desk.follow_up, starts_at=two_pm)
    sign_in(desk.user)
    page.goto(url(reverse("scheduling:waitlist")))
    page.get_by_role("link", name="Add a patient").click()
    page.get_by_label("Find the patient").fill("Chen")
    page.get_by_label("Find the patient").press("Enter")
    page.get_by_role("link", name="Chen, Maria").click()
    page.get_by_label("Appointment type").select_option(label="Follow-up")
    page.get_by_label("Wei Chen, MD").check()
    page.get_by_role("button", name="Add to waitlist").click()
    expect(page.get_by_role("status")).to_contain_text("Chen, Maria is on the waitlist.")
    expect(page.get_by_role("table").last).to_contain_text("Chen, Maria")
    # when Luis cancels (on the phone, at the desk)
    appointment_cancel(actor=desk.user, appointment=luis_visit, reason="Feeling better")
    # then the freed time is offered to Maria Chen at once
    offer = WaitlistOffer.objects.get(entry__patient=desk.maria)
    assert offer.starts_at == two_pm and offer.status == OfferStatus.PENDING
    page.reload()
    row = page.locator(f"#offer-{offer.pk}")
    expect(row).to_contain_text("Chen, Maria")
    expect(row).to_contain_text(two_pm.strftime("%a %d %b 14:00"))
    # when Maria at the desk books it with one click
    row.get_by_role("button", name=re.compile("^Book")).click()
    # then
    expect(page.get_by_role("status")).to_contain_text("Booked Chen, Maria")
    booked = Appointment.objects.get(patient=desk.maria, status=AppointmentStatus.SCHEDULED)
    assert (booked.starts_at, booked.provider) == (two_pm, desk.dr_chen)
    expect(page.locator(f"#offer-{offer.pk}")).to_have_count(0)
    expect(page.get_by_text("No open offers.")).to_be_visible()


def test_the_patient_takes_the_offered_time_by_the_reply_link(page: Page, url, desk):
    # given an offer of a freed 14:00 to Maria Chen (the SMS with the link comes with the communications app)
    from clinicdesk.scheduling.services.waitlist import waitlist_entry_add, waitlist_offer_freed_time

    day = a_working_day()
    two_pm = datetime(day.year, day.month, day.day, 14, tzinfo=TZ)
    entry = waitlist_entry_add(actor=desk.user, patient=desk.maria, appointment_type=desk.follow_up)
    [offer] = waitlist_offer_freed_time(provider_id=desk.dr_chen.pk, location_id=desk.location.pk, starts_at=two_pm,
                                        ends_at=two_pm + timedelta(minutes=15))
    # when she opens the link (not signed in) and says yes
    page.goto(url(reverse("scheduling_public:waitlist_offer_reply", args=[offer.token])))
    expect(page.get_by_role("heading", level=1)).to_have_text("An earlier time is free")
    expect(page.get_by_text(re.compile(r"14:00"))).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("Chen")
    page.get_by_role("button", name="Yes, book it").click()
    # then the time is hers
    expect(page.get_by_role("status")).to_have_text("Thank you: the time is booked for you.")
    booked = Appointment.objects.get(patient=entry.patient, status=AppointmentStatus.SCHEDULED)
    assert booked.starts_at == two_pm
