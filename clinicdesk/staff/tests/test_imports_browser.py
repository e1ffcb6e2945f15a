"""In real Chromium: the office manager imports a staff file from the staff list, sees the unknown department named
on its line in the preview, fixes the file, checks it again and imports it."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinicdesk.core.choices import Role
from clinicdesk.core.tests.factories import DepartmentFactory
from clinicdesk.core.tests.import_steps import expect_one_line_to_fix, upload
from clinicdesk.staff.models import StaffMember

pytestmark = pytest.mark.browser

HEADER = "last_name,first_name,job_title,department,fte,email\n"
GOOD = "Moore,Keisha,Nurse,Laboratory,0.80,keisha@example.com\n"



def test_import_staff_fixing_an_unknown_department_before_confirming(page: Page, url, sign_in, make_user, org):
    # given the office manager on the staff list, and a laboratory department
    DepartmentFactory(organization=org, code="LAB", name="Laboratory")
    sign_in(make_user(Role.OFFICE_MANAGER, username="priya"))
    page.goto(url(reverse("staff:list")))
    page.get_by_role("link", name="Import").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import staff")
    # when she checks a file naming a department the practice does not have
    upload(page, "staff.csv", HEADER + GOOD + "Baker,Ben,Receptionist,Front office,1.00,ben@example.com\n")
    # then that line is named with its column, and there is nothing to confirm
    expect_one_line_to_fix(page, "Line 3, column department: Front office is not a department of the practice.")
    assert not StaffMember.objects.exists()
    # when she fixes the file and checks it again, then confirms
    upload(page, "staff.csv", HEADER + GOOD + "Baker,Ben,Receptionist,LAB,1.00,ben@example.com\n")
    expect(page.get_by_role("heading", name="Preview: nothing saved yet")).to_be_visible()
    assert not StaffMember.objects.exists()
    page.get_by_role("button", name="Import 2 rows").click()
    # then she is back on the list with both staff members, in the laboratory
    expect(page.get_by_role("status")).to_contain_text("Imported staff.csv: 2 new, 0 updated, 0 unchanged.")
    assert set(StaffMember.objects.values_list("last_name", "department__code")) == {("Moore", "LAB"), ("Baker", "LAB")}
