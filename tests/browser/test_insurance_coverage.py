"""Insurance coverage in real Chromium: the front desk adds a coverage from the chart's Insurance tab by keyboard
only; the biller adds a payer and imports payers from CSV; the check-in page shows the coverage panel."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinicdesk.core.choices import Role
from clinicdesk.insurance.choices import EligibilityStatus
from clinicdesk.insurance.models import Coverage, EligibilityCheck, Payer
from clinicdesk.insurance.tests.factories_coverage import CoverageFactory, PayerFactory, PlanFactory
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.tests.factories import AppointmentFactory

pytestmark = pytest.mark.browser


def test_the_front_desk_adds_a_coverage_by_keyboard(page: Page, url, sign_in, make_user, org):
    # given: a patient with no coverage and a payer with one plan
    patient = PatientFactory(organization=org, first_name="Lena", last_name="Marsh", date_of_birth=date(1979, 3, 4))
    plan = PlanFactory(payer=PayerFactory(organization=org, name="Zephyr Health"), name="Zephyr Gold",
                       default_copay=Decimal("30.00"))
    sign_in(make_user(Role.FRONT_DESK))
    page.goto(url(reverse("patients:detail", args=[patient.public_id]) + "?tab=insurance"))
    expect(page.get_by_text("No coverage on file")).to_be_visible()
    # when: Add coverage, then only the keyboard
    page.get_by_role("link", name="Add coverage").click()
    expect(page.get_by_label("Payer")).to_be_focused()
    page.keyboard.type("Zephyr")
    page.keyboard.press("Tab")
    page.keyboard.type("Zephyr Health · Zephyr Gold")
    page.keyboard.press("Tab")  # rank: primary already chosen
    page.keyboard.press("Tab")
    expect(page.get_by_label("Member ID")).to_be_focused()
    page.keyboard.type("ZPH123456")
    page.keyboard.press("Enter")
    # then: back on the tab with the coverage, the subscriber copied from the patient, the plan's copay
    expect(page.get_by_role("heading", name="Primary: Zephyr Health · Zephyr Gold")).to_be_visible()
    coverage = Coverage.objects.get()
    assert coverage.plan == plan and coverage.member_id == "ZPH123456"
    assert coverage.subscriber_last_name == "Marsh" and coverage.copay == Decimal("30.00")


def test_the_biller_adds_and_imports_payers(page: Page, url, sign_in, make_user, org, tmp_path):
    sign_in(make_user(Role.BILLER))
    page.goto(url(reverse("insurance:payer_list")))
    page.get_by_role("link", name="New payer").click()
    page.get_by_label("Name").fill("Acme Mutual")
    page.get_by_label("Payer ID").fill("acme7")
    page.get_by_label("Timely filing days").fill("120")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Mutual")
    page.get_by_role("link", name="All payers").click()
    page.get_by_role("link", name="Import CSV").click()
    bad = tmp_path / "bad.csv"
    bad.write_text("payer_id,name,claim_filing_indicator\nB1,Bad,QQ\n")
    page.get_by_label("CSV file").set_input_files(str(bad))
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator("#import-preview")).to_contain_text("Line 2, column claim_filing_indicator")
    good = tmp_path / "good.csv"
    good.write_text("payer_id,name,timely_filing_days\nACME7,Acme Mutual Benefit,120\nG1,Gamma Health,90\n")
    page.get_by_label("CSV file").set_input_files(str(good))
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator("#import-counts")).to_contain_text("1 new · 1 updated")
    page.get_by_role("button", name="Import 2 lines").click()
    expect(page.locator("#payers")).to_contain_text("Gamma Health")
    assert Payer.objects.get(payer_identifier="ACME7").name == "Acme Mutual Benefit"


def test_the_check_in_page_shows_the_coverage_panel(page: Page, url, sign_in, make_user, org):
    patient = PatientFactory(organization=org, first_name="Omar", last_name="Haddad")
    appointment = AppointmentFactory(organization=org, patient=patient)
    coverage = CoverageFactory(patient=patient, member_id="HAD778899", copay=Decimal("25.00"))
    EligibilityCheck.objects.create(organization=org, coverage=coverage, trace_number="T9",
                                    service_date=appointment.starts_at.date(), status=EligibilityStatus.ACTIVE,
                                    copay=Decimal("20.00"), out_of_pocket_remaining=Decimal("2500.00"))
    sign_in(make_user(Role.FRONT_DESK))
    page.goto(url(reverse("scheduling:check_in", args=[appointment.public_id])))
    expect(page.locator("#check-in-coverage-1")).to_contain_text("HAD778899")
    expect(page.locator("#check-in-eligibility")).to_contain_text("2500.00")
    expect(page.locator("#copay-due")).to_contain_text("20.00")
    page.locator("#edit-coverage").click()
    expect(page.get_by_role("heading", name=f"Primary: {coverage.payer.name}")).to_be_visible()
