"""The goals pages in real Chromium: the dashboard draws its charts and a number opens the rows behind it; an
objective and its key result are set from the keyboard alone, and a bad target is named without saving."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinicdesk.core.choices import Role
from clinicdesk.core.tests.factories import DepartmentFactory, LocationFactory
from clinicdesk.goals.models import KeyResult, Objective
from clinicdesk.goals.services import key_result_save, objective_save
from clinicdesk.scheduling.choices import AppointmentStatus
from clinicdesk.scheduling.tests.factories import AppointmentFactory

pytestmark = pytest.mark.browser


def test_the_dashboard_draws_charts_and_a_number_opens_its_rows(sign_in, url, org, make_user):
    manager = make_user(Role.OFFICE_MANAGER, username="om-browser")
    front = DepartmentFactory(organization=org, name="Front office")
    objective = objective_save(organization=org, actor=manager, data={
        "department": front.pk, "owner": manager.pk, "title": "Fewer empty chairs", "period_kind": "month",
        "start": timezone.localdate()})
    key_result_save(objective=objective, actor=manager, data={"kpi_code": "no_show_rate", "direction": "at_most",
                                                              "target": "5", "baseline": "10"})
    location = LocationFactory(organization=org)
    for status in (AppointmentStatus.COMPLETED, AppointmentStatus.COMPLETED, AppointmentStatus.COMPLETED,
                   AppointmentStatus.NO_SHOW):
        AppointmentFactory(organization=org, location=location, status=status, starts_at=timezone.now())
    page = sign_in(manager)

    page.goto(url("/goals/"))
    card = page.locator("article.goal-card").filter(has_text="Fewer empty chairs: No-show rate")
    expect(card.locator("canvas[data-ready=true]")).to_have_count(1)
    expect(card).to_contain_text("25.00 %")
    expect(card).to_contain_text("Off track")
    card.get_by_role("link", name="No-show rate: the rows behind the number").click()
    expect(page.locator("h1")).to_have_text("No-show rate")
    expect(page.locator("#kpi-figure")).to_contain_text("25.00 % (1 ÷ 4)")
    expect(page.locator("#kpi-rows tbody tr")).to_have_count(4)
    expect(page.get_by_role("link", name="Export CSV")).to_be_visible()


def test_an_objective_and_a_key_result_are_set_from_the_keyboard(sign_in, url, org, make_user):
    owner = make_user(Role.NURSE, username="nurse-owner-browser")
    DepartmentFactory(organization=org, name="Nursing", owner=owner)
    page = sign_in(owner)

    page.goto(url("/goals/objectives/new"))
    page.get_by_label("Title").focus()
    page.keyboard.type("A rested team")
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")  # the only department they own
    page.get_by_label("Start").fill(timezone.localdate().isoformat())
    page.get_by_label("Start").press("Enter")
    expect(page.locator("h1")).to_contain_text("Add a key result")
    objective = Objective.objects.get()
    assert (objective.title, objective.department.name) == ("A rested team", "Nursing")

    page.get_by_label("KPI").select_option(label="Overtime")
    page.get_by_label("Direction").select_option(label="At most")
    page.get_by_label("Target").fill("lots")
    page.get_by_label("Baseline").fill("8")
    page.get_by_label("Baseline").press("Enter")
    expect(page.locator("#id_target-error")).to_contain_text("Enter a number.")
    assert not KeyResult.objects.exists()
    page.get_by_label("Target").fill("3")
    page.get_by_label("Target").press("Enter")
    expect(page.locator("#key-results")).to_contain_text("Overtime")
    assert KeyResult.objects.get().target == Decimal("3.00")


def test_the_quarterly_review_shows_why_billing_is_over_budget(sign_in, url, db):
    """Scenario 11 on the demo practice: Billing's budget key result is at risk, its card names the postage account
    and the number opens the statement runs and certified letters behind it."""
    from clinicdesk.core import demo as core_demo
    from clinicdesk.goals import demo as goals_demo
    from clinicdesk.ledger import demo as ledger_demo

    ctx = core_demo.seed()
    ledger_demo.seed(ctx, patients=0, seed=2026)
    goals_demo.seed(ctx, patients=0, seed=2026)
    page = sign_in(ctx.users["priya"])

    page.goto(url("/goals/"))
    card = page.locator("article.goal-card").filter(has_text="Statements for less: Budget variance")
    expect(card.locator("canvas[data-ready=true]")).to_have_count(1)
    expect(card.locator(".status")).to_have_text("At risk")
    expect(card).to_contain_text("Most over budget: 6600 Postage and printing")
    expect(page.locator("article.goal-card").filter(has_text="Paid the first time: Days in A/R")).to_contain_text(
        "Target: at most 35.00")
    card.get_by_role("link", name="Budget variance: the rows behind the number").click()
    expect(page.locator("h1")).to_have_text("Budget variance")
    postage = page.locator("#kpi-rows tbody tr").filter(has_text="6600 Postage and printing")
    expect(postage.filter(has_text="statement run").first).to_be_visible()
    expect(postage.filter(has_text="certified mail").first).to_be_visible()
    expect(page.locator("#kpi-rows tbody tr").filter(has_text="Nursing")).to_have_count(0)
