"""In real Chromium: the biller posts the bank's lockbox file. A file with a bad row is refused naming it; the
corrected file previews what each check does, and posting it settles the family's charges."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinicdesk.billing.models import Payment
from clinicdesk.core.choices import Role
from clinicdesk.ledger.selectors import patient_balance

pytestmark = pytest.mark.browser
HEADER = "reference,account,amount,method,check_number\n"


def _file(body: str) -> dict:
    return {"name": "lockbox.csv", "mimeType": "text/csv", "buffer": (HEADER + body).encode()}


def test_the_biller_posts_a_lockbox_file(page: Page, url, sign_in, make_user, family, post_charge):
    # given the Lopez family owes 100.00 and 50.00, and Devon is on the payments page
    post_charge(family["parent"], "100.00", service_date=date(2026, 9, 1))
    post_charge(family["child"], "50.00", service_date=date(2026, 10, 1))
    number = family["account"].number
    sign_in(make_user(Role.BILLER, username="devon"))
    page.goto(url(reverse("billing:payments")))
    page.get_by_role("link", name="Post a lockbox or batch file").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Post a lockbox or batch file")
    # when the file has a check without its number
    page.get_by_label("CSV file").set_input_files(_file(f"LB-1,{number},100.00,check,4410\nLB-2,{number},50.00,check,\n"))
    page.get_by_role("button", name="Check the file").click()
    # then that row is named, and nothing is posted
    expect(page.get_by_role("heading", level=2)).to_have_text("1 row to fix; nothing was saved")
    expect(page.locator("#import-preview tbody tr").nth(1)).to_contain_text("check_number: a check needs its number.")
    assert not Payment.objects.exists()
    # when the corrected file is checked
    page.get_by_label("CSV file").set_input_files(_file(f"LB-1,{number},100.00,check,4410\nLB-2,{number},50.00,check,4411\n"))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", name="Preview: nothing saved yet")).to_be_visible()
    expect(page.locator("#import-counts")).to_contain_text("2 new")
    assert not Payment.objects.exists()
    # and posted
    page.get_by_role("button", name="Import 2 rows").click()
    # then the payments are on the list and the family owes nothing
    expect(page.get_by_role("heading", level=1)).to_have_text("Payments")
    expect(page.get_by_text("Posted lockbox.csv: 2 payments of $150.00; 0 were posted before.")).to_be_visible()
    expect(page.locator("#payments tbody tr")).to_have_count(2)
    assert patient_balance(patient=family["parent"]) == 0 and patient_balance(patient=family["child"]) == 0
