"""Reminder links and the staff task inbox in real Chromium: a patient confirms from one link and picks a new
time from another; the front desk adds a task from the patient's Messages tab, writes a note and closes it
from the inbox."""

from __future__ import annotations

import re
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from clinicdesk.communications.choices import MessagePurpose, StaffTaskStatus
from clinicdesk.communications.models import StaffTask
from clinicdesk.communications.services.links import appointment_links
from clinicdesk.communications.tests.factories_links import MessageFactory
from clinicdesk.scheduling.choices import AppointmentStatus
from clinicdesk.scheduling.tests.screens import Desk, a_working_day

pytestmark = pytest.mark.browser

TZ = zoneinfo.ZoneInfo("America/New_York")


@pytest.fixture
def desk(org):
    return Desk.build(org)


@pytest.fixture(autouse=True)
def stored_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


def _path(absolute: str) -> str:
    return "/" + absolute.split("/", 3)[3]


def test_a_patient_confirms_one_visit_and_moves_another_from_reminder_links(page: Page, url, desk):
    # given two visits on a working day, each with a reminder's links
    day = a_working_day(days_ahead=3)
    first = desk.appointment(desk.dr_chen, desk.ana, desk.at(day.year, day.month, day.day, 9), notes="Private note")
    second = desk.appointment(desk.dr_osei, desk.luis, desk.at(day.year, day.month, day.day, 11))
    confirm = _path(appointment_links(appointment=first)["confirm_url"])
    reschedule = _path(appointment_links(appointment=second)["reschedule_url"])
    # when Ana opens her confirm link: her visit is shown, nothing private, and she confirms from the keyboard
    page.goto(url(confirm))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your appointment")
    expect(page.locator("main").get_by_text("Riverside Main")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("Private note")
    button = page.get_by_role("button", name="Yes, I will come")
    expect(button).to_be_focused()
    page.keyboard.press("Enter")
    # then it is confirmed, and the link says so when opened again
    expect(page.get_by_role("status")).to_contain_text("is confirmed")
    first.refresh_from_db()
    assert first.status == AppointmentStatus.CONFIRMED
    page.goto(url(confirm))
    expect(page.get_by_role("status")).to_contain_text("already confirmed")
    # when Luis opens his reschedule link and picks the second time offered
    page.goto(url(reschedule))
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new time")
    choices = page.get_by_role("radio")
    expect(choices.first).to_be_visible()
    label = page.locator("label[for='time-2']").inner_text()
    page.get_by_label(label).check()
    page.get_by_role("button", name="Move my appointment").click()
    # then his visit is at that time
    expect(page.get_by_role("status")).to_contain_text(f"now on {label}")
    second.refresh_from_db()
    assert second.starts_at != desk.at(day.year, day.month, day.day, 11)
    assert f"{second.starts_at.astimezone(TZ):%H:%M}" in label


def test_no_time_suits_so_the_patient_asks_for_a_call(page: Page, url, desk):
    day = a_working_day(days_ahead=3)
    visit = desk.appointment(desk.dr_chen, desk.ana, desk.at(day.year, day.month, day.day, 9))
    page.goto(url(_path(appointment_links(appointment=visit)["reschedule_url"])))
    page.get_by_role("button", name=re.compile("please call me")).click()
    expect(page.get_by_role("status")).to_contain_text("The office will call you")
    task = StaffTask.objects.get()
    assert task.patient == desk.ana and task.appointment == visit


def test_the_front_desk_adds_a_task_from_the_messages_tab_and_closes_it_from_the_inbox(page: Page, url, sign_in, desk):
    # given Ana was sent a reminder
    MessageFactory(organization=desk.organization, patient=desk.ana, purpose=MessagePurpose.REMINDER,
                   body="Reminder: your visit on Tuesday")
    sign_in(desk.user)
    page.goto(url(reverse("patients:detail", args=[desk.ana.public_id]) + "?tab=communications"))
    expect(page.get_by_role("tabpanel")).to_contain_text("Reminder: your visit on Tuesday")
    # when Maria adds a task for the front desk from there
    page.get_by_role("link", name="New task").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Alvarez, Ana")
    expect(page.get_by_label("What is to be done")).to_be_focused()
    page.get_by_label("What is to be done").fill("Ask Ana for her new insurance card")
    page.get_by_label("For a role").select_option(label="Front desk")
    page.get_by_label("Due").fill(timezone.localdate().isoformat())
    page.get_by_role("button", name="Add task").click()
    # then she is on the task, and adds a note
    expect(page.get_by_role("heading", level=1)).to_have_text("Ask Ana for her new insurance card")
    page.get_by_role("textbox", name=re.compile(r"^Note")).fill("Left a voicemail")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_role("list", name="Notes")).to_contain_text("Left a voicemail")
    # when she opens the inbox, the task is there with Ana's name, and she marks it done
    page.get_by_role("link", name="← Tasks").click()
    task = StaffTask.objects.get()
    row = page.locator(f"#task-{task.pk}")
    expect(row).to_contain_text("Alvarez, Ana")
    row.get_by_role("button", name=re.compile("^Done")).click()
    expect(page.get_by_role("status")).to_contain_text("Task done.")
    expect(page.locator(f"#task-{task.pk}")).to_have_count(0)
    task.refresh_from_db()
    assert task.status == StaffTaskStatus.DONE and task.completed_by == desk.user
    # and the task is on Ana's timeline
    page.goto(url(reverse("patients:detail", args=[desk.ana.public_id]) + "?tab=communications"))
    expect(page.get_by_role("tabpanel")).to_contain_text("Ask Ana for her new insurance card")
