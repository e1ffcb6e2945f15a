"""In real Chromium: the biller uploads an 835, reads the remittance (balanced, adjustments explained), then opens
the exceptions queue and posts the unmatched claim payment to the right claim from the keyboard."""

from __future__ import annotations

import dataclasses

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinicdesk.core.choices import Role
from clinicdesk.insurance.choices import ClaimStatus
from clinicdesk.insurance.tests.remittances_world import claims_build, envelope, payer_for, payment_for, remit_835
from clinicdesk.insurance.x12.x835 import write_835
from clinicdesk.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.browser


def test_upload_read_and_resolve_an_exception(page: Page, url, sign_in, org, make_user, tmp_path):
    biller = make_user(Role.BILLER, username="devon", first_name="Devon", last_name="Reyes")
    payer = payer_for(org)
    claims = claims_build(org, payer=payer, provider=make_user(Role.CLINICIAN),
                          patients=[PatientFactory(organization=org)], count=2)
    lost = dataclasses.replace(payment_for(claims[1]), claim_id="LOST0001")
    era = tmp_path / "era.835"
    era.write_text(write_835([remit_835([payment_for(claims[0]), lost], payer=payer)], envelope=envelope()))
    sign_in(biller)

    page.goto(url(reverse("insurance:remittance_upload")))
    page.get_by_label("835 files").set_input_files(str(era))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("ERA CHK1001")
    expect(page.locator("#balance-check")).to_contain_text("balanced")
    expect(page.locator("#remittance-claims")).to_contain_text("CO-45")
    expect(page.locator("#remittance-claims")).to_contain_text("unknown claim")

    page.get_by_role("link", name="Exceptions").click()
    expect(page.locator("#exceptions-summary")).to_contain_text("1 claim payment waiting")
    field = page.get_by_label("Post to claim number")
    field.fill(claims[1].claim_number)
    field.press("Enter")
    expect(page.locator("#exceptions-summary")).to_contain_text("0 claim payments waiting")
    claims[1].refresh_from_db()
    assert claims[1].status == ClaimStatus.PAID
