"""In real Chromium: Jamal scans a box of flu vaccine, receives a lot, gives a dose to a patient and sees on hand
drop; knee braces received by serial number, one fitted and its patient found by the serial; the supply pages
(items, on hand, alerts, lot recall) with the keyboard."""

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


def test_a_manager_adds_an_item_moves_wastes_and_counts_stock(page: Page, url, sign_in, make_user, org):
    # given exam gloves on hand in the supply room, and an empty exam room cabinet
    from ..models import Lot, StockBalance
    from ..services.stock import stock_receive

    manager = make_user(Role.OFFICE_MANAGER, username="om2")
    room = StockLocationFactory(organization=org, name="Supply room")
    cabinet = StockLocationFactory(organization=org, name="Exam room cabinet")
    gloves = ItemFactory(organization=org, name="Exam gloves")
    stock_receive(item=gloves, stock_location=room, quantity=Decimal(50), actor=None)
    lot = Lot.objects.get(item=gloves)
    sign_in(manager)

    # when the manager adds a new item from the keyboard
    page.goto(url(reverse("inventory:item_create")))
    page.get_by_label("Name").fill("Alcohol swabs")
    page.get_by_label("Name").press("Enter")
    expect(page.locator(".messages")).to_contain_text("Saved Alcohol swabs.")

    # and moves 10 gloves to the cabinet
    page.goto(url(reverse("inventory:transfer")))
    page.locator("#id_item").select_option(label="Exam gloves")
    page.locator("#id_stock_location").select_option(label="Supply room")
    page.locator("#id_lot").select_option(value=str(lot.pk))
    page.locator("#id_to_location").select_option(label="Exam room cabinet")
    page.locator("#id_quantity").fill("10")
    page.locator("#id_quantity").press("Enter")
    expect(page.locator(".messages")).to_contain_text("Moved 10 each of Exam gloves to Exam room cabinet")

    # and throws away 5 torn ones from the supply room
    page.goto(url(reverse("inventory:remove")))
    page.locator("#id_item").select_option(label="Exam gloves")
    page.locator("#id_stock_location").select_option(label="Supply room")
    page.locator("#id_lot").select_option(value=str(lot.pk))
    page.locator("#id_kind").select_option(label="Waste")
    page.locator("#id_quantity").fill("5")
    page.locator("#id_reason").fill("Torn box")
    page.locator("#id_reason").press("Enter")
    expect(page.locator(".messages")).to_contain_text("Recorded: waste of 5 each Exam gloves")

    # and counts the cabinet: 8 found where 10 were expected
    page.goto(url(reverse("inventory:cycle_count", args=[cabinet.pk])))
    page.locator(f"#id_lot_{lot.pk}").fill("8")
    page.locator(f"#id_lot_{lot.pk}").press("Enter")
    expect(page.locator(".messages")).to_contain_text("Count of Exam room cabinet posted: 1 variance(s).")

    # then the stock ledger holds what the pages did
    on_hand = {b.stock_location_id: b.on_hand for b in StockBalance.objects.filter(item=gloves)}
    assert on_hand == {room.pk: Decimal(35), cabinet.pk: Decimal(8)}


def test_an_order_from_the_suggestions_approved_by_another_manager_and_received_in_part(page: Page, url, sign_in,
                                                                                       make_user, org):
    # given exam gloves (boxes of 100) out of stock in the supply room, below their reorder point of 100
    from clinicdesk.ledger.bills import vendor_for

    from ..models import PurchaseOrder, StockBalance

    manager = make_user(Role.OFFICE_MANAGER, username="om3")
    approver = make_user(Role.ADMINISTRATOR, username="admin3")
    room = StockLocationFactory(organization=org, name="Supply room")
    gloves = ItemFactory(organization=org, name="Exam gloves", price=Decimal("0.08"),
                         preferred_vendor=vendor_for(organization=org, name="Henry Supply"))
    PackFactory(item=gloves, name="box", quantity=Decimal(100))
    StockLevelFactory(item=gloves, stock_location=room, par_level=Decimal(500), reorder_point=Decimal(100))
    sign_in(manager)

    # when the manager drafts an order from the suggestions (five boxes to fill the shelf to par)
    page.goto(url(reverse("inventory:order_suggestions")))
    expect(page.locator("#suggestions-table")).to_contain_text("5 box")
    page.locator("#draft-orders").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".messages")).to_contain_text("Drafted PO-")
    # and sends it for approval, which another manager gives
    page.locator("#submit-order").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#order-status")).to_have_text("Awaiting approval")
    expect(page.locator("#budget-check")).to_contain_text("has no supplies budget")
    expect(page.locator("#approve-note")).to_have_text("You raised this order: another manager approves it.")
    sign_in(approver)
    page.reload()
    page.locator("#approve-order").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#order-status")).to_have_text("Approved")
    # and receives two of the five boxes, the rest on backorder
    page.locator("#receive-link").focus()
    page.keyboard.press("Enter")
    page.get_by_label("Line 1 Exam gloves received").focus()
    page.keyboard.type("2")
    page.keyboard.press("Enter")
    expect(page.locator(".messages")).to_contain_text("The rest is on backorder.")
    expect(page.locator("#order-status")).to_have_text("Partly received")
    expect(page.locator("#line-1 .backorder")).to_have_text("300")

    # then the stock ledger holds the 200 gloves
    assert StockBalance.objects.get(item=gloves, stock_location=room).on_hand == 200
    assert PurchaseOrder.objects.get().status == "partly_received"


def test_stock_locations_are_added_from_the_keyboard(page: Page, url, sign_in, make_user, org):
    from clinicdesk.core.tests.factories import DepartmentFactory, LocationFactory

    manager = make_user(Role.OFFICE_MANAGER, username="om4")
    LocationFactory(organization=org, name="Main Street")
    DepartmentFactory(organization=org, name="Nursing")
    sign_in(manager)
    page.goto(url(reverse("inventory:stock_location_list")))
    page.get_by_role("link", name="Add a stock location").click()
    page.get_by_label("Name").fill("Main Street vaccine fridge")
    page.get_by_label("Office").select_option(label="Main Street")
    page.get_by_label("Department").select_option(label="Nursing")
    page.get_by_label("Kind").select_option(label="Vaccine fridge")
    page.get_by_label("Name").press("Enter")
    expect(page.locator(".messages")).to_contain_text("Saved stock location Main Street vaccine fridge.")
    expect(page.locator("#locations-table")).to_contain_text("Vaccine fridge")


def test_the_order_list_and_a_new_order_from_the_keyboard(page: Page, url, sign_in, make_user, org):
    from clinicdesk.ledger.bills import vendor_for

    manager = make_user(Role.OFFICE_MANAGER, username="om5")
    StockLocationFactory(organization=org, name="Supply room")
    vendor_for(organization=org, name="Staples")
    paper = ItemFactory(organization=org, name="Copy paper", base_unit="ream", price=Decimal("6.40"))
    PackFactory(item=paper, name="case", quantity=Decimal(10))
    sign_in(manager)
    page.goto(url(reverse("inventory:order_list")))
    page.get_by_role("link", name="New order").click()
    page.get_by_label("Vendor", exact=True).select_option(label="Staples")
    page.get_by_label("Deliver to").select_option(label="Supply room")
    page.get_by_label("Line 1 item").select_option(label="Copy paper")
    page.get_by_label("Line 1 quantity").fill("3")
    page.get_by_label("Line 1 unit").fill("crate")
    page.get_by_label("Line 1 unit").press("Enter")
    expect(page.locator("#id_line_1_unit-error")).to_contain_text("Copy paper does not come in 'crate'")
    page.get_by_label("Line 1 unit").fill("case")
    page.get_by_label("Line 1 unit").press("Enter")
    expect(page.locator(".messages")).to_contain_text("Saved purchase order PO-")
    expect(page.locator("#order-total")).to_have_text("192.00")
    page.goto(url(reverse("inventory:order_list")))
    expect(page.locator("#orders-table")).to_contain_text("Staples")


def test_receive_braces_by_serial_fit_one_and_find_the_patient_by_its_serial(page: Page, url, sign_in, make_user,
                                                                             org):
    # given hinged knee braces tracked by serial number and the Main Street supply room
    jamal = make_user(Role.NURSE, username="jamal", first_name="Jamal", last_name="Brooks")
    StockLocationFactory(organization=org, name="Main Street supply room")
    brace = ItemFactory(organization=org, name="Knee brace, hinged", tracks_serials=True, price=Decimal("64.00"))
    PatientFactory(organization=org, last_name="Okonkwo", first_name="Ada", mrn="R-1001")
    sign_in(jamal)

    # when Jamal receives three, scanning their serial numbers one per line, and miscounts first
    page.goto(url(reverse("inventory:receive")))
    page.get_by_label("Item").select_option(label="Knee brace, hinged")
    page.get_by_label("Stock location").select_option(label="Main Street supply room")
    page.get_by_label("Quantity").fill("3")
    page.get_by_label("Serial numbers").fill("KB-1\nKB-2")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("body")).to_contain_text("2 serial numbers for a quantity of 3")
    page.get_by_label("Serial numbers").fill("KB-1\nKB-2\nKB-3")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text(
        "Received 3 each of Knee brace, hinged serials KB-1, KB-2, KB-3 into Main Street supply room.")

    # and fits KB-2 to Ada, naming the serial
    page.goto(url(reverse("inventory:use")))
    page.get_by_label("Item").select_option(label="Knee brace, hinged")
    page.get_by_label("Stock location").select_option(label="Main Street supply room")
    page.get_by_label("Quantity").fill("1")
    page.get_by_label("Lot or serial").select_option(label="KB-2")
    page.get_by_label("Patient MRN").fill("R-1001")
    page.get_by_label("Patient MRN").press("Enter")
    expect(page.locator("body")).to_contain_text("Used 1 each of Knee brace, hinged (serial KB-2)")

    # then the item page lists the two serials left, and the recall finds Ada by KB-2
    page.goto(url(reverse("inventory:item_detail", args=[brace.pk])))
    expect(page.locator("#lots-h")).to_have_text("Serial numbers on hand (2)")
    expect(page.locator("#lots tbody")).to_contain_text("KB-1")
    expect(page.locator("#lots tbody")).not_to_contain_text("KB-2")
    expect(page.locator("#lots tbody")).to_contain_text("Main Street supply room")
    page.goto(url(reverse("inventory:lot_recall")))
    page.get_by_label("Lot number").fill("kb-2")
    page.get_by_label("Lot number").press("Enter")
    expect(page.locator("#recall-table")).to_contain_text("Okonkwo, Ada")
    expect(page.locator("#recall-table")).to_contain_text("serial KB-2")


def test_a_manager_imports_items_from_a_file_after_its_preview(page: Page, url, sign_in, make_user, org, tmp_path):
    # given a file that changes the gloves' price and adds gauze
    from ..models import Item

    manager = make_user(Role.OFFICE_MANAGER, username="om3")
    ItemFactory(organization=org, name="Exam gloves", sku="GL-100", price=Decimal("0.08"))
    file = tmp_path / "items.csv"
    file.write_text("name,kind,sku,base_unit,price\nExam gloves,Clinical supply,GL-100,each,0.09\n"
                    "Gauze 4x4,Clinical supply,GZ-44,each,0.05\n")
    sign_in(manager)

    # when the manager goes from the list to Import and checks the file from the keyboard
    page.goto(url(reverse("inventory:item_list")))
    page.get_by_role("link", name="Import").click()
    page.get_by_label("CSV or XLSX file").set_input_files(str(file))
    page.get_by_role("button", name="Check the file").press("Enter")

    # then the preview shows each row's outcome and nothing is saved yet
    expect(page.locator("#import-counts")).to_contain_text("1 new · 1 updated · 0 unchanged · 0 with errors")
    expect(page.locator("#import-preview")).to_contain_text("GZ-44")
    assert not Item.objects.filter(sku="GZ-44").exists()

    # and confirming imports both rows
    page.get_by_role("button", name="Import 2 rows").click()
    expect(page.locator(".messages")).to_contain_text("Imported items.csv: 1 new, 1 updated, 0 unchanged.")
    expect(page.locator("#items-table")).to_contain_text("Gauze 4x4")
    assert Item.objects.get(sku="GL-100").price == Decimal("0.09")
