"""The flow board in real Chromium: one click checks a patient in and moves them to Arrived; the check-in page
confirms the details first; the board walks a visit through and check-out books the follow-up."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from clinicdesk.scheduling.choices import AppointmentStatus
from clinicdesk.scheduling.models import Appointment
from clinicdesk.scheduling.tests.screens import Desk

pytestmark = pytest.mark.browser

TZ = zoneinfo.ZoneInfo("America/New_York")


def earlier_today(minutes: int = 20) -> datetime:
    """A start a little before now that is still today in New York (the board shows today only)."""
    now = timezone.now().astimezone(TZ)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return max(midnight, now - timedelta(minutes=minutes)).replace(second=0, microsecond=0)


@pytest.fixture
def desk(org):
    return Desk.build(org)


def open_board(page: Page, url, desk) -> None:
    page.goto(url(f"{reverse('scheduling:flow_board')}?location={desk.location.pk}"))
    expect(page.get_by_role("heading", name="Expected")).to_be_visible()


def column(page: Page, name: str):
    return page.get_by_role("region", name=name)


def test_one_click_check_in_moves_the_patient_to_arrived(page: Page, url, sign_in, desk):
    # given Ana is expected today
    appointment = desk.appointment(desk.dr_chen, desk.ana, earlier_today())
    sign_in(desk.user)
    open_board(page, url, desk)
    expect(column(page, "Expected")).to_contain_text("Alvarez, Ana")
    expect(column(page, "Arrived")).to_contain_text("No one")
    # when the desk clicks Check in on her card
    column(page, "Expected").get_by_role("button", name="Check in Ana Alvarez").click()
    # then the board is re-drawn with Ana under Arrived, waiting since now
    expect(page.get_by_role("status").filter(has_text="Ana Alvarez checked in.")).to_be_visible()
    arrived = column(page, "Arrived")
    expect(arrived).to_contain_text("Alvarez, Ana")
    expect(arrived).to_contain_text("Waiting 0 min")
    expect(column(page, "Expected")).not_to_contain_text("Alvarez, Ana")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.ARRIVED and appointment.arrived_at is not None


def test_the_check_in_page_confirms_details_first(page: Page, url, sign_in, desk):
    # given
    desk.ana.address_line1 = "12 River Road"
    desk.ana.save()
    appointment = desk.appointment(desk.dr_chen, desk.ana, earlier_today())
    sign_in(desk.user)
    open_board(page, url, desk)
    # when she opens the details from the card
    column(page, "Expected").get_by_role("link", name="Review details of Ana Alvarez").click()
    # then the details on file and the coverage are shown
    expect(page.get_by_role("heading", level=1)).to_have_text("Check in: Alvarez, Ana")
    expect(page.get_by_text("12 River Road")).to_be_visible()
    expect(page.get_by_role("link", name="Correct the details")).to_be_visible()
    expect(page.get_by_role("region", name="Coverage")).to_contain_text("No coverage on file.")
    # when the patient confirms
    page.get_by_role("button", name="Details confirmed: check in").click()
    # then back on the board, under Arrived
    expect(column(page, "Arrived")).to_contain_text("Alvarez, Ana")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.ARRIVED


def test_the_visit_goes_through_the_board_and_check_out_books_the_follow_up(page: Page, url, sign_in, desk):
    # given Ana has arrived
    appointment = desk.appointment(desk.dr_chen, desk.ana, earlier_today(), status=AppointmentStatus.ARRIVED,
                                   arrived_at=timezone.now())
    sign_in(desk.user)
    open_board(page, url, desk)
    # when she is roomed and the provider comes in
    column(page, "Arrived").get_by_role("button", name="Roomed Ana Alvarez").click()
    expect(column(page, "Roomed")).to_contain_text("Alvarez, Ana")
    column(page, "Roomed").get_by_role("button", name="With provider Ana Alvarez").click()
    expect(column(page, "With provider")).to_contain_text("Alvarez, Ana")
    # and at the desk on the way out
    column(page, "With provider").get_by_role("link", name="Check out Ana Alvarez").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check out: Alvarez, Ana")
    page.get_by_label("When").select_option(label="In 2 weeks")
    page.get_by_role("button", name="Find times").click()
    free = page.get_by_role("list", name="Free times").get_by_role("button")
    expect(free.first).to_be_visible()
    free.first.click()
    # then the follow-up is booked and the visit is completed
    expect(page.get_by_role("status")).to_contain_text("checked out; follow-up booked")
    expect(column(page, "Completed")).to_contain_text("Alvarez, Ana")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.COMPLETED
    follow_up = Appointment.objects.exclude(pk=appointment.pk).get(patient=desk.ana)
    assert follow_up.starts_at.astimezone(TZ).date() >= (timezone.now().astimezone(TZ) + timedelta(days=14)).date()
