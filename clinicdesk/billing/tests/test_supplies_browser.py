"""In real Chromium: at the flu clinic, Dr Lee scans the vaccine's barcode into a flu shot's supplies and the
first-expiring lot in the office's fridge is filled in; she picks the other lot from the keyboard instead. Once the
biller posts the visit, the encounter lists the dose taken off the shelf and the lot recall names the patient."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinicdesk.billing.models import EncounterSupply, FeeSchedule
from clinicdesk.billing.services.charges import encounter_post, encounter_submit
from clinicdesk.billing.tests.conftest import fee_schedule  # noqa: F401  (the billing tests' fee schedule)
from clinicdesk.core.choices import Role
from clinicdesk.inventory.services.stock import stock_receive
from clinicdesk.inventory.tests.factories import ItemFactory, PackFactory
from clinicdesk.patients.tests.factories import PatientFactory

from .factories_encounters import coded
from .factories_supplies import FLU, Clinic, add_flu_prices

pytestmark = pytest.mark.browser


@pytest.mark.usefixtures("fee_schedule")
def test_add_a_vaccine_with_its_lot_to_a_flu_shot(page: Page, url, sign_in, org, make_user):
    # given a flu shot coded for Ada at the main office, whose fridge holds two lots of flu vaccine
    add_flu_prices(FeeSchedule.objects.get(organization=org))
    clinic = Clinic(org)
    pack = PackFactory(item=clinic.vaccine, name="single-dose syringe", quantity=Decimal("1"))
    gauze = ItemFactory(organization=org, name="Gauze pads")
    stock_receive(item=gauze, stock_location=clinic.fridge, quantity=Decimal("50"), actor=None)
    doctor = make_user(Role.CLINICIAN, username="drlee", first_name="Mia", last_name="Lee")
    ada = PatientFactory(organization=org, first_name="Ada", last_name="Okonkwo", preferred_name="")
    encounter = coded(org, doctor, diagnoses=("Z23",), services=FLU, location=clinic.office, patient=ada, submit=False)
    sign_in(doctor)
    page.goto(url(reverse("billing:encounter_code", args=[encounter.public_id])))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Code visit: Okonkwo, Ada")

    # when she scans the syringe's barcode into the first supply row (the scanner ends with Enter)
    page.get_by_label("Supply 1 barcode (GTIN)").click()
    page.keyboard.type(pack.gtin)
    page.keyboard.press("Enter")

    # then the dose is saved for service 1 with the lot that expires first
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    soon, late = clinic.lots["SOON1"], clinic.lots["LATE1"]
    expect(page.get_by_label("Supply 1 item")).to_have_value(str(clinic.vaccine.pk))
    expect(page.get_by_label("Supply 1 lot")).to_have_value(str(soon.pk))
    expect(page.get_by_label("Supply 1 for service number")).to_have_value("1")

    # and each row's lot picker offers only the lots of the item chosen in it
    vaccine_lots = 'select[name="sup_{}_lot"] optgroup[label="Flu vaccine (quadrivalent)"]'
    gauze_lots = 'select[name="sup_{}_lot"] optgroup[label="Gauze pads"]'
    expect(page.locator(gauze_lots.format(1))).to_have_js_property("disabled", True)
    expect(page.locator(vaccine_lots.format(1))).to_have_js_property("disabled", False)
    page.get_by_label("Supply 2 item").select_option(label="Gauze pads (each)")
    expect(page.locator(vaccine_lots.format(2))).to_have_js_property("disabled", True)
    expect(page.locator(gauze_lots.format(2))).to_have_js_property("disabled", False)
    page.get_by_label("Supply 2 item").select_option("")

    # when she takes the other lot from the keyboard and saves
    lot = page.get_by_label("Supply 1 lot")
    lot.focus()
    lot.select_option(str(late.pk))
    page.get_by_label("Supply 1 quantity").press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    expect(page.get_by_label("Supply 1 lot")).to_have_value(str(late.pk))
    assert EncounterSupply.objects.get(encounter=encounter).lot_id == late.pk

    # and a bad quantity is refused next to its row, changing nothing
    page.get_by_label("Supply 1 quantity").fill("-2")
    page.get_by_label("Supply 1 quantity").press("Enter")
    expect(page.locator("#supply-table")).to_contain_text("Supply 1: the quantity of Flu vaccine (quadrivalent)")
    assert EncounterSupply.objects.get(encounter=encounter).quantity == 1

    # when the biller posts the visit
    encounter_submit(encounter=encounter, actor=doctor)
    encounter_post(encounter=encounter, actor=make_user(Role.BILLER, username="devon"))
    page.goto(url(reverse("billing:encounter_detail", args=[encounter.public_id])))
    # then the encounter lists the dose taken off the shelf
    table = page.locator("#supply-table")
    expect(table).to_contain_text("taken off the shelf for the patient")
    expect(table).to_contain_text("LATE1")
    # and the lot recall names Ada
    page.goto(url(reverse("inventory:lot_recall")))
    page.get_by_label("Lot number").fill("LATE1")
    page.get_by_label("Lot number").press("Enter")
    expect(page.locator("#recall-table")).to_contain_text("Okonkwo, Ada")
    expect(page.locator("#recall-table")).to_contain_text(encounter.public_id)
