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


@pytest.mark.usefixtures("fee_schedule")
def test_a_clinician_codes_a_completed_visit_from_the_superbill(page: Page, url, sign_in, org, make_user):
    from datetime import timedelta

    from django.utils import timezone

    from clinicdesk.billing.forms_encounters import parse_sections
    from clinicdesk.billing.services.superbills import superbill_save
    from clinicdesk.scheduling.choices import AppointmentStatus
    from clinicdesk.scheduling.tests.factories import AppointmentFactory

    icd10.index()
    add_procedures(FeeSchedule.objects.get(organization=org))
    doctor = make_user(Role.CLINICIAN, username="drchen", first_name="Wei", last_name="Chen")
    superbill_save(organization=org, actor=doctor, name="Family medicine", diagnoses=[{"code": "I10"}, {"code": "E11.9"}],
                   sections=parse_sections("## Visits\n99213 | Follow-up\n99214 25 | Follow-up with a procedure"))
    patient = PatientFactory(organization=org, first_name="Dana", last_name="Diaz", preferred_name="")
    appointment = AppointmentFactory(organization=org, provider=doctor, patient=patient,
                                     status=AppointmentStatus.COMPLETED, starts_at=timezone.now() - timedelta(hours=1))
    sign_in(doctor)
    # from the appointment, "Code this visit"
    page.goto(url(reverse("scheduling:appointment", args=[appointment.public_id])))
    page.get_by_role("link", name="Code this visit").click()
    page.get_by_role("button", name="Start coding").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Code visit: Diaz, Dana")
    # one click per superbill line fills the next empty row
    page.get_by_role("button", name="I10").click()
    page.get_by_role("button", name="E11.9").click()
    page.get_by_role("button", name="99214-25 Follow-up with a procedure").click()
    expect(page.get_by_label("Diagnosis 1", exact=True)).to_have_value("I10")
    expect(page.get_by_label("Diagnosis 2", exact=True)).to_have_value("E11.9")
    expect(page.get_by_label("Service 1 modifiers")).to_have_value("25")
    # the practice's procedure list from the keyboard, with its price
    page.get_by_label("Service 2 code").click()
    page.keyboard.type("9637")
    expect(page.locator("#svc-2-list [role=option]").first).to_contain_text("$35.00")
    page.keyboard.press("Enter")
    expect(page.get_by_label("Service 2 code")).to_have_value("96372")
    expect(page.locator('tr.service-row[data-row="2"] .svc-price')).to_have_text("$35.00")
    page.get_by_label("Service 1 diagnosis pointers").fill("1,2")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    expect(page.locator("#service-table tfoot")).to_contain_text("$205.00")
    page.get_by_role("button", name="Save and send to review").click()
    expect(page.get_by_role("status")).to_contain_text("Sent to review: Diaz, Dana")
    encounter = Encounter.objects.get(appointment=appointment)
    assert encounter.status == EncounterStatus.IN_REVIEW and encounter.review_flags == []


@pytest.mark.usefixtures("fee_schedule")
def test_the_biller_writes_a_superbill(page: Page, url, sign_in, org, make_user):
    icd10.index()
    devon = make_user(Role.BILLER, username="devon")
    sign_in(devon)
    page.goto(url(reverse("billing:superbill_list")))
    page.get_by_role("link", name="New superbill").click()
    page.get_by_label("Name").fill("Chiropractic and massage")
    page.get_by_label("Services").fill("## Evaluation\n99213 | Re-exam\n12345 | Unknown")
    page.get_by_label("Common diagnoses").fill("M54.5 | Low back pain")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Evaluation, line 2: 12345 is not on the practice's procedure list")).to_be_visible()
    expect(page.get_by_text("Diagnosis line 1: M54.5 (")).to_be_visible()
    page.get_by_label("Services").fill("## Evaluation\n99213 | Re-exam")
    page.get_by_label("Common diagnoses").fill("M54.50 | Low back pain")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Superbill Chiropractic and massage saved.")
    expect(page.locator("#superbill-table")).to_contain_text("Evaluation (1)")


@pytest.mark.usefixtures("fee_schedule")
def test_a_visit_without_appointment_and_a_hold_back_to_the_doctor(page: Page, url, sign_in, org, make_user):
    from clinicdesk.core.tests.factories import LocationFactory

    icd10.index()
    doctor = make_user(Role.CLINICIAN, username="drchen", first_name="Wei", last_name="Chen")
    devon = make_user(Role.BILLER, username="devon")
    LocationFactory(organization=org, name="Main street")
    PatientFactory(organization=org, first_name="Elsa", last_name="Eriksen", preferred_name="")
    # the doctor logs a nursing-facility visit
    sign_in(doctor)
    page.goto(url(reverse("billing:encounter_list")))
    page.get_by_role("link", name="New encounter").click()
    page.get_by_label("Patient: name, birth date, phone or MRN").fill("eriksen")
    page.keyboard.press("Enter")
    page.get_by_role("link", name="Eriksen, Elsa").click()
    page.get_by_label("Place of service").select_option(label="32 Nursing facility")
    page.get_by_role("button", name="Start coding").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Code visit: Eriksen, Elsa")
    page.get_by_label("Diagnosis 1", exact=True).fill("J06.9")
    page.get_by_label("Service 1 code").fill("99213")
    page.get_by_role("button", name="Save and send to review").click()
    expect(page.get_by_role("status")).to_contain_text("Sent to review: Eriksen, Elsa")
    encounter = Encounter.objects.get(patient__last_name="Eriksen")
    assert encounter.place_of_service == "32" and encounter.status == EncounterStatus.IN_REVIEW
    # the biller holds it with a question
    page.context.clear_cookies()
    sign_in(devon)
    page.goto(url(reverse("billing:review_queue")))
    page.get_by_role("link", name="Hold Eriksen, Elsa").click()
    page.get_by_label("Reason").fill("Nursing-facility visits bill 99308, not 99213")
    page.get_by_role("button", name="Put on hold").click()
    expect(page.get_by_role("status")).to_contain_text("On hold: Eriksen, Elsa")
    expect(page.locator(f"#review-{encounter.public_id}")).to_contain_text("Nursing-facility visits bill 99308")
    # and the doctor sees it back in their list
    page.context.clear_cookies()
    sign_in(doctor)
    page.goto(url(reverse("billing:encounter_list")))
    expect(page.locator(f"#encounter-{encounter.public_id}")).to_contain_text("On hold")
