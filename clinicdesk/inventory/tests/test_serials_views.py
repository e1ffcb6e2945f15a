"""Serial numbers on the pages and the API: the receive form's serial numbers (one per line or comma-separated), a
miscount or a known serial named on its field with nothing received, the item form's serial tracking, the item page's
serials on hand, the lot recall by serial; purchase order receipts by serial on the page and the API."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from clinicdesk.core.models import AuditEvent
from clinicdesk.patients.tests.factories import PatientFactory

from ..choices import ItemKind
from ..models import Item, Lot, PurchaseReceipt, StockBalance, StockMovement
from ..services import purchasing as po
from ..services.serials import stock_receive_serials
from ..services.stock import stock_consume
from .factories import ItemFactory, StockLocationFactory, make_order

D = Decimal
TODAY = date.today()
API = "/api/v1/inventory"


@pytest.fixture
def place(org):
    return StockLocationFactory(organization=org, name="Supply room")


def test_the_receive_form_takes_serials_one_per_line_or_comma_separated(client_as, org, place, brace, nurse):
    expires = (TODAY + timedelta(days=400)).isoformat()
    response = client_as(nurse).post(reverse("inventory:receive"), {
        "item": brace.pk, "stock_location": place.pk, "quantity": "3", "serials": "KB-1\r\nKB-2, KB-3",
        "expires_on": expires}, follow=True)
    assert response.status_code == 200
    assert "Received 3 each of Knee brace, hinged serials KB-1, KB-2, KB-3 into Supply room." in response.content.decode()
    assert sorted(Lot.objects.filter(item=brace, is_serial=True).values_list("number", flat=True)) == [
        "KB-1", "KB-2", "KB-3"]
    assert {lot.expires_on.isoformat() for lot in Lot.objects.filter(item=brace)} == {expires}


@pytest.mark.parametrize("data, field_text", [
    ({"quantity": "3", "serials": "KB-1, KB-2"}, "2 serial numbers for a quantity of 3"),
    ({"quantity": "1", "serials": ""}, "enter the serial number of each each received"),
    ({"quantity": "1", "serials": "KB-1", "lot_number": "L7"}, "enter the serial numbers, not a lot"),
    ({"quantity": "1.5", "serials": "KB-1"}, "counted in whole units"),
    ({"quantity": "1", "serials": "KB-0"}, "Serial KB-0 is already on hand in Supply room."),
])
def test_bad_serials_on_the_receive_form_are_named_and_nothing_is_received(client_as, org, place, brace, nurse,
                                                                            data, field_text):
    stock_receive_serials(item=brace, stock_location=place, serials=["KB-0"], quantity=D(1), actor=nurse)
    response = client_as(nurse).post(reverse("inventory:receive"), {
        "item": brace.pk, "stock_location": place.pk, **data})
    assert response.status_code == 400
    assert field_text in response.content.decode()
    assert StockMovement.objects.filter(item=brace).count() == 1 and Lot.objects.filter(item=brace).count() == 1


def test_serials_for_an_item_not_tracked_by_serial_are_named(client_as, org, place, nurse):
    gauze = ItemFactory(organization=org, name="Gauze")
    response = client_as(nurse).post(reverse("inventory:receive"), {
        "item": gauze.pk, "stock_location": place.pk, "quantity": "1", "serials": "G-1"})
    assert response.status_code == 400 and "Gauze is not tracked by serial number" in response.content.decode()
    assert not StockMovement.objects.exists()


def test_the_use_form_names_the_serial(client_as, org, place, brace, nurse):
    stock_receive_serials(item=brace, stock_location=place, serials=["KB-1", "KB-2"], quantity=D(2), actor=nurse)
    patient = PatientFactory(organization=org)
    kb2 = Lot.objects.get(number="KB-2")
    response = client_as(nurse).post(reverse("inventory:use"), {
        "item": brace.pk, "stock_location": place.pk, "quantity": "1", "lot": kb2.pk, "patient_mrn": patient.mrn},
        follow=True)
    assert "Used 1 each of Knee brace, hinged (serial KB-2)." in response.content.decode()
    assert StockMovement.objects.get(lot=kb2, quantity=-1).patient_id == patient.pk


def test_the_item_form_refuses_serials_with_negative_stock_and_the_page_lists_serials_on_hand(
        client_as, org, place, manager):
    client = client_as(manager)
    data = {"name": "Holter monitor", "kind": ItemKind.CLINICAL_SUPPLY, "base_unit": "each", "price": "900",
            "valuation": "fifo", "tracks_serials": "on", "is_active": "on"}
    response = client.post(reverse("inventory:item_create"), {**data, "allow_negative": "on"})
    assert response.status_code == 400 and "An item tracked by serial number cannot go below zero" in (
        response.content.decode())
    assert not Item.objects.filter(name="Holter monitor").exists()
    assert client.post(reverse("inventory:item_create"), data).status_code == 302
    monitor = Item.objects.get(name="Holter monitor")
    assert monitor.tracks_serials
    stock_receive_serials(item=monitor, stock_location=place, serials=["HM-1", "HM-2"], quantity=D(2), actor=manager,
                          expires_on=date(2031, 5, 1))
    stock_consume(item=monitor, stock_location=place, quantity=D(1), actor=manager, lot=Lot.objects.get(number="HM-1"))
    page = client.get(reverse("inventory:item_detail", args=[monitor.pk])).content.decode()
    assert "Serial numbers on hand (1)" in page and "Serial number (each unit)" in page
    assert "<td>HM-2</td><td>May 1, 2031</td><td>Supply room</td>" in page
    assert "<td>HM-1</td><td>May 1, 2031</td>" not in page


def test_the_lot_recall_page_finds_the_patient_by_serial_and_audits_the_read(client_as, org, place, brace, nurse):
    stock_receive_serials(item=brace, stock_location=place, serials=["KB-7"], quantity=D(1), actor=nurse)
    ann = PatientFactory(organization=org, last_name="Annwick")
    stock_consume(item=brace, stock_location=place, quantity=D(1), actor=nurse, patient=ann, encounter_ref="fit-1")
    page = client_as(nurse).get(reverse("inventory:lot_recall"), {"lot": "kb-7"}).content.decode()
    assert "Annwick" in page and "serial KB-7" in page
    assert list(AuditEvent.objects.filter(action="patient.listed", actor=nurse).values_list("patient_id", flat=True)) \
        == [ann.pk]


def test_the_api_receives_serials_as_a_list_and_uses_one_by_name(client_as, org, place, brace, nurse):
    client = client_as(nurse)
    body = {"kind": "receipt", "item_id": str(brace.pk), "stock_location_id": str(place.pk), "quantity": "2",
            "serials": ["KB-1", "KB-2"]}
    response = client.post(f"{API}/movements", body, content_type="application/json")
    assert response.status_code == 201, response.content
    assert [(m["lot"], m["is_serial"], m["quantity"]) for m in response.json()] == [("KB-1", True, "1"),
                                                                                     ("KB-2", True, "1")]
    response = client.post(f"{API}/movements", {
        "kind": "consumption", "item_id": str(brace.pk), "stock_location_id": str(place.pk), "quantity": "1",
        "lot_number": "KB-2"}, content_type="application/json")
    assert response.status_code == 201 and response.json()[0]["lot"] == "KB-2"
    items = client.get(f"{API}/items", {"q": "brace"}).json()["items"]
    assert items[0]["tracks_serials"] is True and items[0]["on_hand"] == "1"


@pytest.mark.parametrize("change, field", [
    ({"serials": ["KB-1"]}, "serials"),                       # two units, one serial
    ({"serials": ["KB-1", "KB-1"]}, "serials"),               # twice
    ({"serials": ["KB-1", "KB-0"]}, "serials"),               # on hand already
    ({"serials": ["KB-1", "KB-2"], "lot_number": "L1"}, "lot_number"),
    ({"serials": ["KB-1", "KB-2"], "quantity": "2.5"}, "quantity"),
    ({"serials": "KB-1, KB-2"}, "serials"),                   # a list, not a string
])
def test_api_bad_serials_name_the_field_and_post_nothing(client_as, org, place, brace, nurse, change, field):
    stock_receive_serials(item=brace, stock_location=place, serials=["KB-0"], quantity=D(1), actor=nurse)
    body = {"kind": "receipt", "item_id": str(brace.pk), "stock_location_id": str(place.pk), "quantity": "2",
            **change}
    response = client_as(nurse).post(f"{API}/movements", body, content_type="application/json")
    assert response.status_code in (400, 422), response.content
    assert field in str(response.json()), response.content
    assert StockMovement.objects.filter(item=brace).count() == 1


def test_a_purchase_order_line_is_received_by_serial_on_the_page(client_as, org, place, brace, manager):
    order = make_order(org=org, place=place, actor=manager, status="approved",
                       lines=[po.LineIn(item=brace, quantity=D(3))])
    client = client_as(manager)
    url = reverse("inventory:order_receive", args=[order.pk])
    assert 'name="line_1_serials"' in client.get(url).content.decode()
    # a miscount is named on the line and nothing is received
    response = client.post(url, {"line_1_quantity": "2", "line_1_serials": "KB-1"})
    assert response.status_code == 400
    assert "Line 1 (Knee brace, hinged): 1 serial number for a quantity of 2" in response.content.decode()
    assert not StockMovement.objects.exists()
    # two arrive, the third is on backorder
    response = client.post(url, {"line_1_quantity": "2", "line_1_serials": "KB-1\nKB-2"})
    assert response.status_code == 302
    receipts = PurchaseReceipt.objects.filter(line__order=order).select_related("movement__lot")
    assert sorted(r.movement.lot.number for r in receipts) == ["KB-1", "KB-2"]
    assert {r.quantity for r in receipts} == {D(1)} and sum(r.value for r in receipts) == D("128.00")
    order.refresh_from_db()
    assert order.status == "partly_received" and order.lines.get().received == 2


def test_the_api_receives_a_purchase_order_line_by_serial(client_as, org, place, brace, manager):
    order = make_order(org=org, place=place, actor=manager, status="approved",
                       lines=[po.LineIn(item=brace, quantity=D(2))])
    client = client_as(manager)
    response = client.post(f"{API}/orders/{order.pk}/receive", {"lines": [
        {"position": 1, "quantity": "2", "serials": ["KB-1", "KB-1"]}]}, content_type="application/json")
    assert response.status_code == 400 and "line_1_serials" in response.json()["errors"]
    assert not StockMovement.objects.exists()
    response = client.post(f"{API}/orders/{order.pk}/receive", {"lines": [
        {"position": 1, "quantity": "2", "serials": ["KB-1", "KB-2"]}]}, content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "received"
    assert StockBalance.objects.filter(item=brace, on_hand=1).count() == 2
