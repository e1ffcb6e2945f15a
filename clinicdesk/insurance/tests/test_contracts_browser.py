"""In real Chromium: the office manager creates a payer contract from the keyboard and imports its fee list; the
biller opens the payer scorecard and sees the chart drawn and the figures in the table."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinicdesk.core.choices import Role
from clinicdesk.insurance.models import ContractRate, PayerContract

from .contracts_world import ClaimMaker, make_payer, make_reference

pytestmark = pytest.mark.browser


def test_create_a_contract_and_import_its_fee_list(page: Page, url, sign_in, make_user, org, tmp_path):
    # given Maria, the office manager, a payer and a reference schedule
    maria = make_user(Role.OFFICE_MANAGER, username="maria")
    make_payer(org, "Acme Health", "ACME1")
    make_reference(org, {"99213": "100.00"})
    sign_in(maria)
    page.goto(url(reverse("insurance:contract_create")))
    # when she fills the form from the keyboard
    page.get_by_label("Payer").select_option(label="Acme Health")
    page.get_by_label("Name").fill("Acme 2026")
    page.get_by_label("Reference schedule").select_option(label="Reference 2026")
    page.get_by_label("Percent of the reference").fill("110")
    page.get_by_label("Effective from").fill("2026-01-01")
    page.get_by_label("Effective from").press("Enter")
    # then the contract page shows its terms, and its fee list is imported in two steps
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme 2026")
    expect(page.locator("#terms")).to_contain_text("110.00% of Reference 2026")
    page.get_by_role("link", name="Import from CSV").click()
    file = tmp_path / "acme.csv"
    file.write_text("code,modifiers,amount\n99213,,95.00\n99214,25,140.00\n")
    page.get_by_label("CSV file").set_input_files(str(file))
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator("#import-counts")).to_contain_text("2 new")
    assert not ContractRate.objects.exists()
    page.get_by_role("button", name="Import 2 rows").click()
    expect(page.locator("#rates")).to_contain_text("140.00")
    assert PayerContract.objects.get(name="Acme 2026").rates.count() == 2


def test_the_scorecard_draws_its_chart(page: Page, url, sign_in, make_user, org):
    # given two payers' claims in March
    kim = make_user(Role.BILLER, username="kim")
    maker = ClaimMaker(org)
    day = date(2026, 3, 2)
    for name, allowed in (("Acme Health", "85.00"), ("Zenith Care", "70.00")):
        maker.claim(make_payer(org, name), day=day, lines=[("99213", "", 1, "150.00", allowed, "60.00")],
                    submitted=day, adjudicated=day + timedelta(days=14))
    sign_in(kim)
    # when Kim opens the scorecard for March
    page.goto(url(reverse("insurance:scorecard") + "?start=2026-03-01&end=2026-03-31"))
    # then the chart is drawn by Chart.js and the table carries the figures
    expect(page.locator("#scorecard")).to_contain_text("Zenith Care")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('scorecard-chart'))")
    labels = page.evaluate("() => Chart.getChart(document.getElementById('scorecard-chart')).data.labels")
    assert sorted(labels) == ["Acme Health", "Zenith Care"]
    expect(page.locator("#download-csv")).to_be_visible()
