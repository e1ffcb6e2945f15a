"""The calendar in real Chromium: FullCalendar renders under the strict CSP (its run-time stylesheet carries the
page's nonce), an appointment dragged to another time is saved, and an empty slot is booked in three steps."""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, datetime, timedelta

import holidays
import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from clinicdesk.scheduling.models import Appointment
from clinicdesk.scheduling.tests.screens import Desk

pytestmark = pytest.mark.browser

TZ = zoneinfo.ZoneInfo("America/New_York")
# Records every CSP violation the page reports, before any of the page's own scripts run.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sample || ""));
});
"""


def a_working_day() -> date:
    """A Tuesday to Thursday at least a week ahead that is not a New York public holiday (the office week applies)."""
    day = timezone.now().astimezone(TZ).date() + timedelta(days=7)
    off = holidays.country_holidays("US", subdiv="NY", years=[day.year, day.year + 1])
    while day.weekday() not in (1, 2, 3) or day in off:
        day += timedelta(days=1)
    return day


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


@pytest.fixture
def desk(org):
    return Desk.build(org)


@pytest.fixture
def watched(page: Page):
    """The page, with CSP violations and console errors collected."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.add_init_script(WATCH_CSP)
    page.console_errors = errors
    return page


def open_calendar(page: Page, url, desk, day: date, view: str = "providers") -> None:
    page.goto(url(f"{reverse('scheduling:calendar')}?location={desk.location.pk}&date={day.isoformat()}&view={view}"))
    expect(page.locator(".fc-view-harness")).to_be_visible()


def lane(page: Page, hhmm: str) -> dict:
    """The on-screen box of the time grid's row for hh:mm, scrolled into view (the mouse only reaches the viewport)."""
    row = page.locator(f'td.fc-timegrid-slot-lane[data-time="{hhmm}:00"]')
    row.scroll_into_view_if_needed()
    return row.bounding_box()


def column_x(page: Page, provider) -> float:
    header = page.locator(f'th.fc-col-header-cell.fc-resource[data-resource-id="{provider.pk}"]').bounding_box()
    return header["x"] + header["width"] / 2


def test_the_calendar_renders_events_with_no_csp_violation(watched: Page, url, sign_in, desk):
    # given
    day = a_working_day()
    desk.appointment(desk.dr_chen, desk.ana, at(day, 9), room=desk.room)
    desk.appointment(desk.dr_osei, desk.luis, at(day, 10), kind=desk.physical)
    sign_in(desk.user)
    # when
    open_calendar(watched, url, desk, day)
    # then both providers are columns and both visits are drawn in their columns
    expect(watched.locator("th.fc-resource")).to_have_count(2)
    expect(watched.locator("th.fc-resource").first).to_contain_text("Wei Chen")
    ana = watched.locator('.fc-event[data-appointment]').filter(has_text="Alvarez, Ana")
    expect(ana).to_be_visible()
    expect(ana).to_contain_text("09:00")
    expect(watched.locator('.fc-event[data-appointment]').filter(has_text="Alvarez, Luis")).to_contain_text("New patient physical")
    # FullCalendar's own stylesheet was let in by the nonce, and it took effect
    style = watched.locator("style[data-fullcalendar]")
    expect(style).to_have_count(1)
    assert watched.evaluate("document.querySelector('style[data-fullcalendar]').nonce") != ""
    assert watched.evaluate("getComputedStyle(document.querySelector('.fc-view-harness')).position") == "relative"
    # type colours applied through the DOM, not through style attributes in the HTML
    assert watched.evaluate("getComputedStyle(document.querySelector('.fc-event[data-appointment]')).backgroundColor") == "rgb(30, 107, 53)"
    # and nothing was blocked
    assert watched.evaluate("window.__cspViolations") == []
    assert not [e for e in watched.console_errors if "Content Security Policy" in e or "Refused" in e], watched.console_errors
    # the week view shows the same visit in the location's time
    watched.get_by_role("button", name="Week").click()
    expect(watched.locator('.fc-event[data-appointment]').filter(has_text="Alvarez, Ana")).to_contain_text("09:00")
    assert watched.evaluate("window.__cspViolations") == []


def test_dragging_an_appointment_to_another_time_saves_it(watched: Page, url, sign_in, desk):
    # given Ana at 09:00 with Dr. Chen
    day = a_working_day()
    appointment = desk.appointment(desk.dr_chen, desk.ana, at(day, 9))
    sign_in(desk.user)
    open_calendar(watched, url, desk, day)
    event = watched.locator(f'.fc-event[data-appointment="{appointment.public_id}"]')
    expect(event).to_be_visible()
    # when she drags it down to 10:30 in the same column
    target = lane(watched, "10:30")
    box = event.bounding_box()
    start_x, start_y = box["x"] + box["width"] / 2, box["y"] + 4
    watched.mouse.move(start_x, start_y)
    watched.mouse.down()
    watched.mouse.move(start_x, start_y + 10, steps=5)
    watched.mouse.move(start_x, target["y"] + 4, steps=15)
    watched.mouse.up()
    # then the server saved it and says so
    expect(watched.locator("#calendar-status")).to_have_text("Appointment moved.")
    appointment.refresh_from_db()
    assert appointment.starts_at == at(day, 10, 30) and appointment.ends_at == at(day, 10, 45)
    expect(watched.locator(f'.fc-event[data-appointment="{appointment.public_id}"]')).to_contain_text("10:30")
    assert watched.evaluate("window.__cspViolations") == []


def test_a_refused_drag_goes_back_and_says_why(watched: Page, url, sign_in, desk):
    # given Ana at 09:00 and Luis at 10:00, both with Dr. Chen
    day = a_working_day()
    appointment = desk.appointment(desk.dr_chen, desk.ana, at(day, 9))
    desk.appointment(desk.dr_chen, desk.luis, at(day, 10))
    sign_in(desk.user)
    open_calendar(watched, url, desk, day)
    event = watched.locator(f'.fc-event[data-appointment="{appointment.public_id}"]')
    # when she drags Ana onto Luis's time
    target = lane(watched, "10:00")
    box = event.bounding_box()
    start_x, start_y = box["x"] + box["width"] / 2, box["y"] + 4
    watched.mouse.move(start_x, start_y)
    watched.mouse.down()
    watched.mouse.move(start_x, start_y + 10, steps=5)
    watched.mouse.move(start_x, target["y"] + 4, steps=15)
    watched.mouse.up()
    # then the move is refused, the event goes back to 09:00 and the reason is shown
    expect(watched.locator("#calendar-status")).to_contain_text("Not moved, the time is taken")
    expect(watched.locator(f'.fc-event[data-appointment="{appointment.public_id}"]')).to_contain_text("09:00")
    appointment.refresh_from_db()
    assert appointment.starts_at == at(day, 9)


def test_clicking_an_empty_slot_books_in_three_steps(watched: Page, url, sign_in, desk):
    # given an empty morning for Dr. Osei
    day = a_working_day()
    sign_in(desk.user)
    open_calendar(watched, url, desk, day)
    # when she clicks 11:00 in Dr. Osei's column
    slot = lane(watched, "11:00")
    watched.mouse.click(column_x(watched, desk.dr_osei), slot["y"] + slot["height"] / 2)
    dialog = watched.get_by_role("dialog", name="Book an appointment")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("11:00")
    expect(dialog.get_by_label("Provider")).to_have_value(str(desk.dr_osei.pk))
    # step 1: the patient, found by typing
    dialog.get_by_role("combobox", name="Patient").fill("alv")
    options = dialog.get_by_role("listbox", name="Matching patients").get_by_role("option")
    expect(options).to_have_count(2)
    options.filter(has_text="Alvarez, Ana").click()
    expect(dialog.get_by_text("Patient: Alvarez, Ana (born 03/07/1984")).to_be_visible()
    # step 2: the type of visit
    dialog.get_by_label("Type of visit").select_option(label="New patient physical (45 min)")
    # step 3: book
    dialog.get_by_role("button", name="Book").click()
    # then
    expect(dialog).to_be_hidden()
    expect(watched.locator("#calendar-status")).to_contain_text("Booked Ana Alvarez at 11:00 with Ama Osei")
    booked = Appointment.objects.get(patient=desk.ana)
    assert (booked.provider, booked.appointment_type) == (desk.dr_osei, desk.physical)
    assert booked.starts_at == at(day, 11) and booked.ends_at == at(day, 11, 45)
    expect(watched.locator(f'.fc-event[data-appointment="{booked.public_id}"]')).to_contain_text("Alvarez, Ana")
    assert watched.evaluate("window.__cspViolations") == []


def test_a_refused_booking_keeps_the_dialog_open_with_the_reason(watched: Page, url, sign_in, desk):
    # given Dr. Chen is at lunch from 12:00 to 13:00
    day = a_working_day()
    sign_in(desk.user)
    open_calendar(watched, url, desk, day)
    slot = lane(watched, "12:15")
    watched.mouse.click(column_x(watched, desk.dr_chen), slot["y"] + slot["height"] / 2)
    dialog = watched.get_by_role("dialog", name="Book an appointment")
    dialog.get_by_role("combobox", name="Patient").fill("Luis")
    dialog.get_by_role("option").filter(has_text="Alvarez, Luis").click()
    dialog.get_by_role("button", name="Book").click()
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("alert").filter(has_text=re.compile(r"availab|hours|not working", re.I)).first).to_be_visible()
    assert not Appointment.objects.exists()
