"""Scenario 6 in miniature, in real Chromium: Monday, the charge review queue holds Friday's encounters, two of
them flagged (a heading ICD-10-CM code, a missing modifier 25). Devon fixes the first with the suggested billable
code and the second by adding modifier 25 and a diagnosis from the keyboard, then posts the batch; the charges
and their balances are on the patients."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinicdesk.billing import icd10
from clinicdesk.billing.choices import EncounterStatus
from clinicdesk.billing.models import Encounter, FeeSchedule
from clinicdesk.billing.tests.conftest import fee_schedule  # noqa: F401  (the billing tests' fee schedule)
from clinicdesk.billing.tests.factories_encounters import add_procedures, coded, with_header_code
from clinicdesk.core.choices import Role
from clinicdesk.ledger.selectors import patient_balance
from clinicdesk.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.browser


@pytest.mark.usefixtures("fee_schedule")
def test_fix_two_flagged_encounters_and_post_the_batch(page: Page, url, sign_in, org, make_user):
    icd10.index()  # built once per process: not what this test waits for
    add_procedures(FeeSchedule.objects.get(organization=org))
    # given Friday's queue: one clean visit, one with a heading code, one missing modifier 25
    doctor = make_user(Role.CLINICIAN, username="drchen", first_name="Wei", last_name="Chen")
    devon = make_user(Role.BILLER, username="devon", first_name="Devon", last_name="Reyes")
    clean = coded(org, doctor, patient=PatientFactory(organization=org, first_name="Ana", last_name="Alvarez", preferred_name=""))
    header = with_header_code(org, doctor, patient=PatientFactory(organization=org, first_name="Ben", last_name="Brooks", preferred_name=""))
    modifier = coded(org, doctor, services=(("99213", "", 1), ("96372", "", 1)),
                     patient=PatientFactory(organization=org, first_name="Cleo", last_name="Cruz", preferred_name=""))
    sign_in(devon)
    page.goto(url(reverse("billing:review_queue")))
    expect(page.locator("#queue-summary")).to_contain_text("3 encounters waiting · 2 flagged")
    expect(page.locator(f"#review-{header.public_id}")).to_contain_text("a heading")
    expect(page.locator(f"#review-{modifier.public_id}")).to_contain_text("missing modifier 25")

    # posting everything is refused, naming the flagged encounters
    page.locator("#tick-all").check()
    page.locator(f"#tick-{header.public_id}").check()
    page.get_by_role("button", name="Post charges for the ticked encounters").click()
    expect(page.locator("#post-errors")).to_contain_text("Brooks, Ben")
    assert not Encounter.objects.filter(status=EncounterStatus.POSTED).exists()

    # when he opens the heading one: the row says why and offers the billable codes
    page.get_by_role("link", name="Fix Brooks, Ben").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Code visit: Brooks, Ben")
    row = page.locator('.dx-row[data-row="1"]')
    expect(row).to_contain_text("is a heading")
    row.get_by_role("button", name="M54.50").click()
    expect(page.get_by_label("Diagnosis 1", exact=True)).to_have_value("M54.50")
    expect(row.locator(".error")).to_have_count(0)
    page.get_by_role("button", name="Save and send to review").click()
    expect(page.get_by_role("status")).to_contain_text("Sent to review: Brooks, Ben")

    # and the one without modifier 25: adds it, and a second diagnosis from the keyboard
    page.get_by_role("link", name="Fix Cruz, Cleo").click()
    expect(page.locator("tr.row-errors").first).to_contain_text("missing modifier 25")
    page.get_by_label("Service 1 modifiers").fill("25")
    box = page.get_by_label("Diagnosis 2", exact=True)
    box.click()
    page.keyboard.type("i10")
    expect(page.locator("#dx-2-list [role=option]").first).to_contain_text("I10")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    expect(box).to_have_value("I10")
    expect(page.locator('.dx-row[data-row="2"] .dx-description')).to_contain_text("hypertension")
    page.get_by_label("Service 1 diagnosis pointers").fill("1,2")
    page.get_by_role("button", name="Save and send to review").click()
    expect(page.get_by_role("status")).to_contain_text("Sent to review: Cruz, Cleo")

    # then nothing is flagged, and the batch posts
    expect(page.locator("#queue-summary")).to_contain_text("3 encounters waiting · 0 flagged")
    page.locator("#tick-all").check()
    page.get_by_role("button", name="Post charges for the ticked encounters").click()
    expect(page.get_by_role("status")).to_contain_text("Charges posted for 3 encounters: $365.00")
    expect(page.locator("#queue-summary")).to_contain_text("0 encounters waiting")
    assert patient_balance(patient=modifier.patient) == 110 + 35  # 99213-25 has no price of its own: the plain price
    assert patient_balance(patient=header.patient) == 110
    assert patient_balance(patient=clean.patient) == 110

    # the posted encounter shows its charges and their open balances
    page.goto(url(reverse("billing:encounter_list") + "?status=posted"))
    page.locator(f"#encounter-{modifier.public_id} a").click()
    charges = page.locator("#charge-table")
    expect(charges).to_contain_text("99213-25")
    expect(charges.locator("tfoot")).to_contain_text("$145.00")
