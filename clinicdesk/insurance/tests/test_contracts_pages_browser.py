"""In real Chromium, the contract pages a user works with: the front desk's cost estimate (and its PDF), the
biller's underpayments and negotiation packet (with their CSV and PDF), and the manager's reference schedules
(created, imported in two steps, exported)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinicdesk.core.choices import Role
from clinicdesk.insurance.models import ClaimLine, ReferenceSchedule
from clinicdesk.insurance.services.contracts import underpayments_flag

from .contracts_world import ClaimMaker, make_contract, make_payer, make_reference

pytestmark = pytest.mark.browser
DAY = date(2026, 3, 2)


def _contracted(org):
    """Acme pays 90.00 for 99213 by contract; two March claims were allowed 85.00 and 90.00."""
    acme = make_payer(org, "Acme Health", "ACME1")
    make_contract(acme, rates={"99213": "90.00"}, reference=make_reference(org, {"99213": "100.00"}), percent="100")
    maker = ClaimMaker(org)
    for allowed in ("85.00", "90.00"):
        maker.claim(acme, day=DAY, lines=[("99213", "", 1, "150.00", allowed, "70.00")], submitted=DAY,
                    adjudicated=DAY + timedelta(days=12))
    underpayments_flag(ClaimLine.objects.select_related("claim"))
    return acme, maker


def _download(page: Page, name: str) -> str:
    with page.expect_download() as info:
        page.get_by_role("link", name=name).click()
    return Path(info.value.path()).read_text(encoding="utf-8-sig")


def _fetch_pdf(page: Page, link_id: str) -> bytes:
    # the PDF opens inline in the browser; read it with the page's own session instead of Chromium's viewer
    response = page.request.get(page.locator(link_id).evaluate("link => link.href"))
    assert response.ok and response.headers["content-type"] == "application/pdf"
    return response.body()


def test_cost_estimate_for_a_patient(page: Page, url, sign_in, make_user, org):
    # given a patient whose Acme coverage has a 20.00 copay
    acme, maker = _contracted(org)
    coverage = maker.coverage(acme)
    coverage.copay = Decimal("20.00")
    coverage.save(update_fields=["copay"])
    sign_in(make_user(Role.FRONT_DESK, username="desk"))
    page.goto(url(reverse("insurance:cost_estimate")))
    # when the desk asks for an office visit's estimate, first with a mistyped code
    page.get_by_label("Patient MRN").fill(maker.patient.mrn)
    page.get_by_label("Procedure codes").fill("99213, 9921")
    page.get_by_label("Visit date").fill("2026-03-10")
    page.get_by_role("button", name="Estimate").click()
    expect(page.get_by_role("alert")).to_contain_text("Not procedure codes: 9921")
    page.get_by_label("Procedure codes").fill("99213")
    page.get_by_role("button", name="Estimate").click()
    # then the patient's share is the copay, and the estimate prints for the patient
    expect(page.locator("#patient-total")).to_have_text("20.00")
    expect(page.locator("#estimate caption")).to_contain_text("Acme Health")
    assert _fetch_pdf(page, "#estimate-pdf").startswith(b"%PDF")


def test_underpayments_by_payer_and_their_csv(page: Page, url, sign_in, make_user, org):
    # given one claim allowed 5.00 under the contract, and another payer with none
    _contracted(org)
    make_payer(org, "Zenith Care", "ZEN1")
    sign_in(make_user(Role.BILLER, username="kim"))
    page.goto(url(reverse("insurance:underpayments")))
    # when the biller chooses the year and Acme
    page.locator("#id_start").fill("2026-01-01")
    page.locator("#id_end").fill("2026-12-31")
    page.get_by_label("Payer", exact=True).select_option(label="Zenith Care")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#underpayments tbody")).to_contain_text("No underpaid lines")
    page.get_by_label("Payer", exact=True).select_option(label="Acme Health")
    page.get_by_role("button", name="Show").click()
    # then the underpaid line shows, and the CSV carries it
    row = page.locator("#underpayments tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("5.00")
    assert "Acme Health" in _download(page, "Download CSV")


def test_negotiation_packet_with_csv_and_pdf(page: Page, url, sign_in, make_user, org):
    _contracted(org)
    sign_in(make_user(Role.BILLER, username="kim"))
    page.goto(url(reverse("insurance:negotiation_packet")))
    # when the biller asks for March's top five codes
    page.locator("#id_start").fill("2026-03-01")
    page.locator("#id_end").fill("2026-03-31")
    page.get_by_label("Top codes").fill("5")
    page.get_by_role("button", name="Show").click()
    # then 99213 is compared payer by payer, and the packet downloads as CSV and PDF
    expect(page.locator(".packet-code caption")).to_contain_text("99213: 2 units billed; reference 100.00")
    expect(page.locator(".packet-code tbody")).to_contain_text("Acme Health")
    assert "99213,2,100.00,Acme Health,90.00" in _download(page, "Download CSV")
    assert _fetch_pdf(page, "#download-pdf").startswith(b"%PDF")


def test_reference_schedule_created_imported_and_exported(page: Page, url, sign_in, make_user, org, tmp_path):
    sign_in(make_user(Role.OFFICE_MANAGER, username="maria"))
    page.goto(url(reverse("insurance:reference_schedule_list")))
    # when the manager adds a schedule and imports its amounts, fixing a bad row first
    page.get_by_role("link", name="New reference schedule").click()
    page.get_by_label("Name").fill("Medicare 2026 locality 01")
    page.get_by_label("Effective from").fill("2026-01-01")
    page.get_by_role("button", name="Save").click()
    bad = tmp_path / "bad.csv"
    bad.write_text("code,modifiers,amount\n99213,,abc\n")
    page.get_by_label("CSV file").set_input_files(str(bad))
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator("#import-preview")).to_contain_text("Error")
    good = tmp_path / "good.csv"
    good.write_text("code,modifiers,amount\n99213,,92.50\n99214,,131.00\n")
    page.get_by_label("CSV file").set_input_files(str(good))
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator("#import-counts")).to_contain_text("2 new")
    page.get_by_role("button", name="Import 2 rows").click()
    # then the schedule lists its amounts, finds a code, and exports them
    expect(page.get_by_role("status").first).to_contain_text("2 new")
    expect(page.locator("#rates tbody tr")).to_have_count(2)
    page.get_by_label("Code starts with").fill("99214")
    page.get_by_role("button", name="Find").click()
    expect(page.locator("#rates tbody tr")).to_have_count(1)
    assert "99214,,131.00" in _download(page, "Download CSV")
    assert ReferenceSchedule.objects.get(name="Medicare 2026 locality 01").rates.count() == 2
