"""Rosters in real Chromium. Scenario 9: Priya builds next month's roster for the 24/7 nursing unit (38 nurses,
3 shifts, 2 skills, 23 time-off requests): the solver shows its progress, then the roster and its cost by rule;
she locks two assignments, re-solves the rest, publishes, and everyone gets their shifts and a calendar link.
The solver's worker is stood in for by a thread running the same service the background task runs."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinicdesk.communications.models import Message
from clinicdesk.core import demo as core_demo
from clinicdesk.core.choices import Role
from clinicdesk.rostering import demo as roster_demo
from clinicdesk.rostering.choices import PeriodStatus, RequestStatus
from clinicdesk.rostering.models import RosterAssignment, RosterPeriod, SolveRun, TimeOffRequest
from clinicdesk.rostering.services.solving import solve_run_execute
from clinicdesk.rostering.tests.factories import fill, make_period, make_unit, manager, rotation
from clinicdesk.staff import demo as staff_demo

pytestmark = pytest.mark.browser

SOLVE_SECONDS = "30"  # 38 nurses over a month: enough for a first full roster on two shared cores
WAIT_MS = 90_000


def _worker(period: RosterPeriod) -> threading.Thread:
    """Run the queued solve the way the background worker does (live progress rows, cancel watch)."""
    run = SolveRun.objects.filter(period=period, status="queued").latest("created_at")
    thread = threading.Thread(target=solve_run_execute, kwargs={"run_id": run.pk, "live": True}, daemon=True)
    thread.start()
    return thread


def _solve(page: Page, period: RosterPeriod) -> None:
    page.get_by_label("Time limit (seconds)").fill(SOLVE_SECONDS)
    page.locator("#solve-button").click()
    expect(page.get_by_role("heading", name="Solver: Queued")).to_be_visible()
    thread = _worker(period)
    expect(page.locator("#solve-bar")).to_be_visible()
    # the page polls while the solver works: the best cost so far appears, then the page reloads with the roster
    expect(page.locator("#solve-objective")).not_to_have_text("none yet", timeout=WAIT_MS)
    thread.join(timeout=120)
    expect(page.get_by_role("heading", name="Solver: Done · feasible").or_(
        page.get_by_role("heading", name="Solver: Done · optimal"))).to_be_visible(timeout=WAIT_MS)


def test_scenario_9_priya_builds_locks_resolves_and_publishes_next_months_roster(page: Page, url, sign_in, db):
    # given: the demo's nursing unit and next month's draft with its 23 time-off requests
    ctx = core_demo.seed()
    staff_demo.seed(ctx, patients=0, seed=2026)
    roster_demo.build(ctx, seed=2026, solve_seconds=None)
    priya = ctx.users["priya"]
    period = RosterPeriod.objects.filter(department=ctx.departments["nursing"]).order_by("-start").first()
    nurses = period.department.staff_members.count()
    assert nurses == 38
    assert TimeOffRequest.objects.filter(start__gte=period.start, start__lte=period.end).count() == 23
    sign_in(priya)
    page.goto(url(reverse("rostering:period_detail", args=[period.pk])))
    expect(page.get_by_role("heading", level=1)).to_contain_text(period.name)

    # when: she solves
    _solve(page, period)

    # then: the roster and its cost by rule
    expect(page.locator("#cost-by-rule")).to_be_visible()
    expect(page.locator("#cost-by-rule")).to_contain_text("Total")
    assert RosterAssignment.objects.filter(period=period).count() > 300
    expect(page.locator("#solve-chart")).to_be_visible()

    # when: she locks two assignments through the cell editor
    locked = []
    for _ in range(2):
        cell = page.locator("td.cell[data-locked='0']:not([data-code=''])").first
        locked.append((int(cell.get_attribute("data-staff")), cell.get_attribute("data-day"), cell.get_attribute("data-code")))
        cell.click()
        expect(page.locator("#cell-editor")).to_be_visible()
        page.locator("#cell-editor-lock").click()
        page.wait_for_load_state("load")
        expect(page.locator(f"td.cell[data-staff='{locked[-1][0]}'][data-day='{locked[-1][1]}']")).to_have_attribute(
            "data-locked", "1")

    # and re-solves the rest
    _solve(page, period)

    for staff_id, day, code in locked:
        cell = RosterAssignment.objects.get(period=period, staff_id=staff_id, day=date.fromisoformat(day))
        assert cell.locked and cell.shift_type.code == code

    # when: she publishes
    page.locator("#publish-button").click()

    # then: everyone on the roster gets their shifts and their calendar link
    expect(page.get_by_text("published; everyone on it has been sent their shifts")).to_be_visible()
    period.refresh_from_db()
    assert period.status == PeriodStatus.PUBLISHED
    people = RosterAssignment.objects.filter(period=period, shift_type__isnull=False).values("staff_id").distinct().count()
    messages = list(Message.objects.filter(idempotency_key__startswith=f"roster:{period.pk}:"))
    assert len(messages) == people >= 30
    link = next(line for line in messages[0].body.splitlines() if "/roster-feeds/" in line).strip()
    calendar = page.request.get(url(link[link.index("/roster-feeds/"):]))
    assert calendar.status == 200 and "BEGIN:VEVENT" in calendar.text()


def test_a_cell_edit_that_breaks_the_rest_rule_is_refused_next_to_the_grid(page: Page, url, sign_in, org):
    unit = make_unit(org, nurses=6)
    period = make_period(unit)
    fill(period, rotation(6, 7))
    sign_in(manager(org))
    page.goto(url(reverse("rostering:period_detail", args=[period.pk])))

    # nurse 0 works a night on Wednesday; a day shift on Thursday leaves no rest
    page.locator(f"td.cell[data-staff='{unit.nurses[0].pk}'][data-day='2027-03-04']").click()
    page.get_by_label("Shift").select_option("D")
    page.locator("#cell-editor-save").click()

    expect(page.get_by_role("alert").filter(has_text="D on Thu 2027-03-04 right after N")).to_be_visible()
    expect(page.locator(f"td.cell[data-staff='{unit.nurses[0].pk}'][data-day='2027-03-04']")).to_have_attribute("data-code", "")

    # an allowed change is saved and its cost shown
    page.locator(f"td.cell[data-staff='{unit.nurses[0].pk}'][data-day='2027-03-05']").press("Enter")
    page.get_by_label("Shift").select_option("D")
    page.locator("#cell-editor-save").click()
    expect(page.get_by_role("status").filter(has_text="Cost")).to_be_visible()
    expect(page.locator(f"td.cell[data-staff='{unit.nurses[0].pk}'][data-day='2027-03-05']")).to_have_text("D")


def test_roster_list_and_new_roster_form_names_the_field(page: Page, url, sign_in, org):
    unit = make_unit(org, nurses=2)
    sign_in(manager(org))
    page.goto(url(reverse("rostering:period_list")))
    page.get_by_role("link", name="New roster").click()
    page.get_by_label("Name").fill("April")
    page.get_by_label("Department").select_option(str(unit.department.pk))
    page.get_by_label("Location").select_option(str(unit.location.pk))
    page.get_by_label("First day").fill("2027-04-10")
    page.get_by_label("Last day").fill("2027-04-01")
    page.get_by_role("button", name="Create the roster").click()
    expect(page.get_by_text("The last day cannot be before the first.")).to_be_visible()
    page.get_by_label("Last day").fill("2027-04-30")
    page.get_by_role("button", name="Create the roster").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("April")
    page.get_by_role("link", name="All rosters").click()
    expect(page.get_by_role("link", name="April")).to_be_visible()


def test_nurse_asks_for_time_off_and_the_manager_refusal_names_the_day_and_shift(page: Page, url, sign_in, org, make_user):
    unit = make_unit(org, nurses=3, charge=1)
    nurse_user = make_user(Role.NURSE, username="nurse-browser")
    unit.nurses[0].user = nurse_user
    unit.nurses[0].save(update_fields=["user"])
    sign_in(nurse_user)
    page.goto(url(reverse("rostering:my_shifts")))
    expect(page.locator("#feed-url")).to_contain_text("/roster-feeds/")
    page.get_by_role("link", name="Ask for time off").click()
    page.get_by_label("First day off").fill("2027-03-01")
    page.get_by_label("Last day off").fill("2027-03-01")
    page.get_by_label("Reason").fill("Wedding")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Time off requested")).to_be_visible()

    page.context.clear_cookies()
    sign_in(manager(org))
    page.goto(url(reverse("rostering:requests")))
    page.locator("#time-off-requests").get_by_role("button", name="Approve").click()

    expect(page.get_by_text("Mon 2027-03-01: 2 people could work, the day's shifts need 3.")).to_be_visible()
    assert TimeOffRequest.objects.get().status == RequestStatus.PENDING
