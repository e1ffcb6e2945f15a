"""In real Chromium: the front desk imports a patient file from the patient list, sees the bad line named in the
preview, fixes the file, checks it again and imports it."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinicdesk.core.tests.import_steps import expect_one_line_to_fix, upload
from clinicdesk.patients.models import Patient

pytestmark = pytest.mark.browser

HEADER = "mrn,last_name,first_name,date_of_birth,sex,mobile_phone\n"
GOOD = ",Alvarez,Ana,1984-03-07,female,(202) 555-0143\n"



def test_import_patients_fixing_a_bad_line_before_confirming(page: Page, url, sign_in, front_desk):
    # given the front desk on the patient list
    sign_in(front_desk)
    page.goto(url(reverse("patients:list")))
    page.get_by_role("link", name="Import").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import patients")
    expect(page.get_by_label("CSV or XLSX file")).to_be_focused()
    # when she checks a file with a date written the wrong way
    upload(page, "patients.csv", HEADER + GOOD + ",Baker,Ben,07/03/1990,male,\n")
    # then the bad line is named with its column, and there is nothing to confirm
    rows = expect_one_line_to_fix(page, "Line 3, column date_of_birth: 07/03/1990 is not a date")
    assert not Patient.objects.exists()
    # when she fixes the file and checks it again
    upload(page, "patients.csv", HEADER + GOOD + ",Baker,Ben,1990-03-07,male,\n")
    expect(page.get_by_role("heading", name="Preview: nothing saved yet")).to_be_visible()
    expect(rows.nth(0)).to_contain_text("New")
    assert not Patient.objects.exists()
    page.get_by_role("button", name="Import 2 rows").click()
    # then she is back on the list with both patients registered
    expect(page.get_by_role("status")).to_contain_text("Imported patients.csv: 2 new, 0 updated, 0 unchanged.")
    assert set(Patient.objects.values_list("last_name", flat=True)) == {"Alvarez", "Baker"}
    assert Patient.objects.get(last_name="Alvarez").phone_mobile == "+12025550143"
