"""In real Chromium: the biller checks a fee schedule file, sees each row's outcome, imports it; the front desk
looks a diagnosis code up from the keyboard while the results follow the typing."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinicdesk.billing import icd10
from clinicdesk.billing.models import Fee
from clinicdesk.billing.services.codes import fee_schedule_create
from clinicdesk.core.choices import Role

pytestmark = pytest.mark.browser

FILE = (
    "code,modifiers,description,price,effective_from,effective_to\n"
    "99213,,Follow-up visit,110.00,2026-01-01,\n"
    "93000,\"26,TC\",ECG,65.00,2026-01-01,\n"
)



def test_check_a_fee_file_then_import_it(page: Page, url, sign_in, make_user, org):
    # given Kim, the biller, on a new schedule's import page
    kim = make_user(Role.BILLER, username="kim")
    schedule = fee_schedule_create(organization=org, name="Self-pay", actor=kim)
    sign_in(kim)
    page.goto(url(reverse("billing:fee_schedule_import", args=[schedule.pk])))
    expect(page.get_by_role("heading", level=1)).to_have_text("Import prices · Self-pay")
    # when she checks the file
    page.get_by_label("CSV or XLSX file").set_input_files({"name": "fees.csv", "mimeType": "text/csv", "buffer": FILE.encode()})
    page.get_by_label("Code system").select_option(label="CPT")
    page.get_by_role("button", name="Check the file").click()
    # then each row's outcome is shown and nothing is saved yet
    expect(page.get_by_role("heading", name="Preview: nothing saved yet")).to_be_visible()
    rows = page.locator("#import-preview tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("26,TC")
    expect(rows.nth(1)).to_contain_text("New")
    assert not Fee.objects.exists()
    # when she imports it
    page.get_by_role("button", name="Import 2 rows").click()
    # then she is on the schedule with its prices
    expect(page.get_by_role("status")).to_contain_text("Imported fees.csv: 2 new, 0 updated, 0 unchanged.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Self-pay")
    expect(page.locator("table.list tbody tr")).to_have_count(2)
    assert Fee.objects.filter(schedule=schedule).count() == 2


def test_look_a_diagnosis_code_up_from_the_keyboard(page: Page, url, sign_in, front_desk):
    icd10.index()  # built once per process (seconds on a busy machine): not what this test waits for
    sign_in(front_desk)
    page.goto(url(reverse("billing:icd10_lookup")))
    box = page.get_by_label("Code or words")
    expect(box).to_be_focused()
    # when she types words, the results follow without a page load
    page.keyboard.type("diab type 2 without compl")
    first = page.locator("#icd10-table tbody tr").first
    expect(first).to_contain_text("E11.9")
    expect(first).to_contain_text("Billable")
    # and a heading code shows as such
    box.fill("")
    page.keyboard.type("e11")
    expect(page.locator("#icd10-table tbody tr").first).to_contain_text(re.compile(r"E11\s*Type 2 diabetes mellitus\s*Heading"))
    expect(page).to_have_url(re.compile(r"q=e11$"))
