"""Roster set-up in real Chromium: Priya opens the nursing unit's shifts, coverage and contracts from the rosters
page, asks for a charge nurse on weekend nights (a preferred number below the minimum is refused on its field), and
limits a nurse to four nights in four weeks."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinicdesk.rostering.models import Contract, CoverageNeed
from clinicdesk.rostering.tests.factories import make_unit, manager

pytestmark = pytest.mark.browser


def test_priya_sets_up_coverage_and_a_contract(page: Page, url, sign_in, org):
    # given the unit with its three shifts
    unit = make_unit(org, nurses=3)
    sign_in(manager(org))
    page.goto(url(reverse("rostering:period_list")))
    page.get_by_role("link", name="Shifts, coverage and contracts").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Shifts, coverage and contracts · Nursing")
    expect(page.locator("#shift-types tbody tr")).to_have_count(3)
    expect(page.locator("#shift-types")).to_contain_text("Night")
    # when she adds a charge nurse on Saturday nights, first with the preferred number below the minimum
    page.get_by_role("link", name="New coverage need").click()
    page.get_by_label("Shift type").select_option(label=str(unit.shifts["N"]))
    page.get_by_label("Skill").select_option(label="Charge nurse")
    page.get_by_label("Weekday").select_option(label="Saturday")
    page.get_by_label("Minimum").fill("2")
    page.get_by_label("Preferred").fill("1")
    page.get_by_role("button", name="Save").click()
    # then it is refused on its field
    expect(page.get_by_text("The preferred number cannot be below the minimum.")).to_be_visible()
    assert not CoverageNeed.objects.filter(skill=unit.charge).exists()
    # when she corrects it
    page.get_by_label("Preferred").fill("2")
    page.get_by_role("button", name="Save").click()
    # then it is listed
    expect(page.locator("#coverage")).to_contain_text("Saturdays")
    expect(page.locator("#coverage")).to_contain_text("Charge nurse")
    # when she limits the first nurse to four nights
    page.get_by_role("link", name=unit.nurses[0].full_name).click()
    page.get_by_label("Most shifts per type in 4 weeks").fill("N=4")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#contracts")).to_contain_text("N=4")
    assert Contract.objects.get(staff=unit.nurses[0]).max_shifts_by_type == {"N": 4}
