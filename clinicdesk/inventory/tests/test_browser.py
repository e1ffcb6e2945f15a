"""In real Chromium: Jamal scans a box of flu vaccine, receives a lot, gives a dose to a patient and sees on hand
drop; the supply pages (items, on hand, alerts, lot recall) with the keyboard."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from clinicdesk.core.choices import Role
from clinicdesk.patients.tests.factories import PatientFactory

from ..choices import ItemKind
from .factories import ItemFactory, PackFactory, StockLevelFactory, StockLocationFactory

pytestmark = pytest.mark.browser


def test_scan_receive_a_lot_use_it_and_see_on_hand_drop(page: Page, url, sign_in, make_user, org):
    # given the flu vaccine, boxes of 10 with their barcode, and the Main Street fridge
    jamal = make_user(Role.NURSE, username="jamal", first_name="Jamal", last_name="Brooks")
    fridge = StockLocationFactory(organization=org, name="Main Street vaccine fridge")
    flu = ItemFactory(organization=org, name="Influenza vaccine", kind=ItemKind.VACCINE, tracks_lots=True,
                      base_unit="dose", price=Decimal("18.50"))
    box = PackFactory(item=flu, name="box", quantity=Decimal(10))
    StockLevelFactory(item=flu, stock_location=fridge, par_level=Decimal(40), reorder_point=Decimal(15))
    patient = PatientFactory(organization=org, last_name="Okonkwo", first_name="Ada", mrn="R-1001")
    expires = timezone.localdate() + timedelta(days=200)
    sign_in(jamal)

    # when Jamal scans a box into the receive form: the item and the pack are filled in, the cursor on quantity
    page.goto(url(reverse("inventory:receive")))
    page.get_by_label("Scan GTIN").fill(box.gtin)
    page.get_by_label("Scan GTIN").press("Enter")
    expect(page.locator("#scan-status")).to_contain_text("Found Influenza vaccine, box of 10 dose")
    expect(page.get_by_label("Item")).to_have_value(str(flu.pk))
    expect(page.get_by_label("Quantity")).to_be_focused()
    page.keyboard.type("2")
    page.get_by_label("Stock location").select_option(label="Main Street vaccine fridge")
    page.get_by_label("Lot number").fill("FLU-B2702")
    page.get_by_label("Expires").fill(expires.isoformat())
    page.get_by_label("Lot number").press("Enter")
    expect(page.locator(".messages")).to_contain_text(
        "Received 20 dose of Influenza vaccine lot FLU-B2702")

    # and gives one dose to Ada from the use form (FEFO picks the lot)
    page.goto(url(reverse("inventory:use")))
    page.get_by_label("Scan GTIN").fill(box.gtin)
    page.get_by_label("Scan GTIN").press("Enter")
    expect(page.get_by_label("Quantity")).to_be_focused()
    page.keyboard.type("1")
    page.get_by_label("Unit").fill("dose")
    page.get_by_label("Stock location").select_option(label="Main Street vaccine fridge")
    page.get_by_label("Patient MRN").fill("R-1001")
    page.get_by_label("Patient MRN").press("Enter")
    expect(page.locator("body")).to_contain_text("Used 1 dose of Influenza vaccine (lot FLU-B2702)")

    # then on hand shows 19, and the lot recall finds Ada
    page.goto(url(reverse("inventory:on_hand")))
    expect(page.locator(f"#on-hand-{flu.pk}-{fridge.pk} .on-hand")).to_have_text("19")
    page.goto(url(reverse("inventory:lot_recall")))
    page.get_by_label("Lot number").fill("FLU-B2702")
    page.get_by_label("Lot number").press("Enter")
    expect(page.locator("#recall-table")).to_contain_text("Okonkwo, Ada")
    assert patient.pk


def test_using_more_than_on_hand_is_refused_on_the_quantity(page: Page, url, sign_in, make_user, org):
    nurse = make_user(Role.NURSE, username="nurse2")
    place = StockLocationFactory(organization=org, name="Supply room")
    ItemFactory(organization=org, name="Gauze pads")
    sign_in(nurse)
    page.goto(url(reverse("inventory:use")))
    page.get_by_label("Item").select_option(label="Gauze pads")
    page.get_by_label("Stock location").select_option(label=place.name)
    page.get_by_label("Quantity").fill("3")
    page.get_by_label("Quantity").press("Enter")
    expect(page.locator("#id_quantity-error")).to_contain_text("Only 0 each of Gauze pads")


def test_the_supply_lists_and_alerts(page: Page, url, sign_in, make_user, org):
    manager = make_user(Role.OFFICE_MANAGER, username="om")
    place = StockLocationFactory(organization=org, name="Supply room")
    gloves = ItemFactory(organization=org, name="Exam gloves")
    StockLevelFactory(item=gloves, stock_location=place, par_level=Decimal(100), reorder_point=Decimal(20))
    sign_in(manager)
    page.goto(url(reverse("home")))
    page.get_by_role("link", name="Supplies").first.click()
    expect(page.locator("#items-table")).to_contain_text("Exam gloves")
    page.get_by_label("Search").fill("gloves")
    page.get_by_label("Search").press("Enter")
    expect(page.locator("#items-table tbody tr")).to_have_count(1)
    page.get_by_role("link", name="Alerts").click()
    expect(page.locator("#low")).to_contain_text("Exam gloves")
