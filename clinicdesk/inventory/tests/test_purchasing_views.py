"""The purchasing pages and API: lists (query counts, CSV), the order's steps from its page, receiving with errors
named on the line, the PDF's text, stock locations; who may do what."""

import shutil
import subprocess
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from clinicdesk.core.choices import Role
from clinicdesk.ledger.models import Bill

from ..choices import PurchaseOrderStatus as S
from ..models import PurchaseOrder, StockLocation, StockMovement
from ..services import purchasing as po
from .factories import ItemFactory, PackFactory, StockLevelFactory, StockLocationFactory, make_order
from .test_views import queries

D = Decimal
TODAY = timezone.localdate()
API = "/api/v1/inventory"


@pytest.fixture
def place(org):
    return StockLocationFactory(organization=org, name="Main supply room")


def csv_of(response) -> str:
    return b"".join(response.streaming_content).decode().lstrip("\ufeff")


def test_the_order_list_takes_the_same_queries_for_more_orders_and_exports_csv(client_as, org, place, manager):
    client = client_as(manager)
    make_order(org=org, place=place, actor=manager)
    few = queries(client, reverse("inventory:order_list"))
    for _ in range(4):
        make_order(org=org, place=place, actor=manager, status="approved")
    assert queries(client, reverse("inventory:order_list")) == few
    body = csv_of(client.get(reverse("inventory:order_list"), {"format": "csv", "status": "open"}))
    assert body.splitlines()[0].startswith("number,vendor") and len(body.splitlines()) == 5
    assert "Henry Supply" in body and ",Approved," in body


def test_the_suggestions_page_takes_the_same_queries_for_more_rows_and_drafts_an_order(client_as, org, place,
                                                                                       gloves, manager):
    client = client_as(manager)
    StockLevelFactory(item=gloves, stock_location=place, par_level=D(500), reorder_point=D(100))
    few = queries(client, reverse("inventory:order_suggestions"))
    for _ in range(4):
        item = ItemFactory(organization=org, preferred_vendor=gloves.preferred_vendor)
        PackFactory(item=item)
        StockLevelFactory(item=item, stock_location=place)
    assert queries(client, reverse("inventory:order_suggestions")) == few
    body = csv_of(client.get(reverse("inventory:order_suggestions"), {"format": "csv"}))
    assert "Exam gloves" in body and ",5,box," in body
    level = gloves.levels.get()
    response = client.post(reverse("inventory:order_suggestions"), {"level": [str(level.pk)]})
    order = PurchaseOrder.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("inventory:order_detail", args=[order.pk])
    assert order.lines.get().item == gloves and order.status == S.DRAFT


def test_creating_an_order_on_the_page_names_a_bad_line_and_a_duplicate_number(client_as, org, place, gloves,
                                                                              manager):
    client = client_as(manager)
    vendor = gloves.preferred_vendor
    data = {"vendor": vendor.pk, "stock_location": place.pk, "number": "PO-77", "line_1_item": gloves.pk,
            "line_1_quantity": "2", "line_1_unit": "crate"}
    response = client.post(reverse("inventory:order_create"), data)
    assert response.status_code == 400
    assert "Line 1 (Exam gloves): Exam gloves does not come in &#x27;crate&#x27;" in response.content.decode()
    assert not PurchaseOrder.objects.exists()
    response = client.post(reverse("inventory:order_create"), {**data, "line_1_unit": "box"})
    assert response.status_code == 302
    response = client.post(reverse("inventory:order_create"), {**data, "line_1_unit": "box", "number": "po-77"})
    assert response.status_code == 400 and "Purchase order po-77 already exists." in response.content.decode()
    assert PurchaseOrder.objects.count() == 1


def test_an_order_from_draft_to_billed_on_its_page(client_as, org, place, gloves, manager, approver):
    client = client_as(manager)
    order = make_order(org=org, place=place, actor=manager, lines=[po.LineIn(item=gloves, quantity=D(4), unit="box")])
    detail = reverse("inventory:order_detail", args=[order.pk])
    assert client.post(reverse("inventory:order_submit", args=[order.pk])).status_code == 302
    # who raised it is told another manager approves it, and approving it anyway is refused with that message
    page = client.get(detail).content.decode()
    assert "You raised this order: another manager approves it." in page and 'id="approve-order"' not in page
    response = client.post(reverse("inventory:order_approve", args=[order.pk]), {}, follow=True)
    assert "An order is approved by someone other than who raised it." in response.content.decode()
    order.refresh_from_db()
    assert order.status == S.AWAITING_APPROVAL
    # another manager approves it and carries on
    client = client_as(approver)
    assert 'id="approve-order"' in client.get(detail).content.decode()
    client.post(reverse("inventory:order_approve", args=[order.pk]), {})
    client.post(reverse("inventory:order_send", args=[order.pk]), {"vendor_email": "orders@henry.example"})
    order.refresh_from_db()
    assert order.status == S.SENT and order.vendor_email == "orders@henry.example"
    # receiving more than ordered is named on the line, nothing is received
    receive = reverse("inventory:order_receive", args=[order.pk])
    response = client.post(receive, {"line_1_quantity": "5", "line_1_unit": "box"})
    assert response.status_code == 400
    assert "Line 1 (Exam gloves): 500 each is more than the 400 still to come." in response.content.decode()
    assert not StockMovement.objects.exists()
    # part arrives; the rest is on backorder
    response = client.post(receive, {"line_1_quantity": "3", "line_1_unit": "box",
                                     "expected_on": (TODAY + timedelta(days=7)).isoformat()})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == S.PARTLY_RECEIVED
    page = client.get(detail).content.decode()
    assert "300 of 400 each" in page and "Close, giving up the backorder" in page
    # the bill, then the backorder is given up
    response = client.post(reverse("inventory:order_bill", args=[order.pk]), {
        "number": "INV-9", "bill_date": TODAY.isoformat(), "due_date": TODAY.isoformat(), "amount": "24.00"})
    assert response.status_code == 302 and Bill.objects.get().number == "INV-9"
    client.post(reverse("inventory:order_close", args=[order.pk]), {"reason": "Vendor is out of stock"})
    order.refresh_from_db()
    assert order.status == S.CLOSED


def test_an_over_budget_approval_without_a_reason_is_shown_and_changes_nothing(client_as, org, place, gloves,
                                                                              manager, approver):
    from clinicdesk.ledger.choices import AccountRole
    from clinicdesk.ledger.models import Budget
    from clinicdesk.ledger.services import account_for

    Budget.objects.create(organization=org, department=place.department, month=TODAY.replace(day=1),
                          account=account_for(org, AccountRole.SUPPLIES_EXPENSE), amount=D("10.00"))
    order = make_order(org=org, place=place, actor=manager, status="awaiting_approval",
                       lines=[po.LineIn(item=gloves, quantity=D(5), unit="box")])
    client = client_as(approver)
    page = client.get(reverse("inventory:order_detail", args=[order.pk])).content.decode()
    assert "Over budget by 30.00" in page and "Reason to approve over budget" in page
    response = client.post(reverse("inventory:order_approve", args=[order.pk]), {}, follow=True)
    assert "Over budget by $30.00" in response.content.decode()
    order.refresh_from_db()
    assert order.status == S.AWAITING_APPROVAL


def test_the_pdf_reads_as_the_order(client_as, org, place, gloves, manager):
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed: the PDF's text cannot be read")
    order = make_order(org=org, place=place, actor=manager, status="approved",
                       lines=[po.LineIn(item=gloves, quantity=D(4), unit="box", unit_price=D("7.25"))])
    response = client_as(manager).get(reverse("inventory:order_pdf", args=[order.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=response.content, capture_output=True,  # noqa: S607
                          check=True).stdout.decode()
    assert f"Purchase order {order.number}" in text and "Henry Supply" in text and "Main supply room" in text
    assert "Exam gloves" in text and "7.25" in text and "29.00" in text


def test_stock_locations_are_added_and_changed_and_a_duplicate_name_is_named(client_as, org, place, manager):
    from clinicdesk.core.tests.factories import DepartmentFactory, LocationFactory

    client = client_as(manager)
    office, dept = LocationFactory(organization=org), DepartmentFactory(organization=org)
    data = {"name": "North fridge", "location": office.pk, "department": dept.pk, "kind": "fridge", "is_active": "on"}
    assert client.post(reverse("inventory:stock_location_create"), data).status_code == 302
    fridge = StockLocation.objects.get(name="North fridge")
    response = client.post(reverse("inventory:stock_location_create"), {**data, "name": "north FRIDGE"})
    assert response.status_code == 400 and "Another stock location is called north FRIDGE." in response.content.decode()
    response = client.post(reverse("inventory:stock_location_edit", args=[fridge.pk]), {**data, "is_active": ""})
    fridge.refresh_from_db()
    assert response.status_code == 302 and not fridge.is_active
    page = client.get(reverse("inventory:stock_location_list")).content.decode()
    assert "North fridge" in page and "closed" in page
    assert "North fridge" in csv_of(client.get(reverse("inventory:stock_location_list"), {"format": "csv"}))


def test_a_nurse_sees_stock_locations_but_no_orders(client_as, org, place, make_user):
    client = client_as(make_user(Role.NURSE, username="nurse7"))
    assert client.get(reverse("inventory:stock_location_list")).status_code == 200
    assert client.get(reverse("inventory:stock_location_create")).status_code == 403
    assert client.get(reverse("inventory:order_list")).status_code == 403
    assert client.get(f"{API}/orders").status_code == 403


def test_another_practices_order_is_not_found(client_as, org, other_org, manager):
    theirs = make_order(org=other_org, actor=None)
    client = client_as(manager)
    assert client.get(reverse("inventory:order_detail", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("inventory:order_submit", args=[theirs.pk])).status_code == 404
    assert client.get(f"{API}/orders/{theirs.pk}").status_code == 404


# --- API -----------------------------------------------------------------------------------------------------------


def test_the_api_drafts_approves_and_receives_an_order(client_as, org, place, gloves, manager, approver):
    client = client_as(manager)
    response = client.post(f"{API}/orders", {
        "vendor_id": str(gloves.preferred_vendor_id), "stock_location_id": str(place.pk), "number": "API-1",
        "lines": [{"item_id": str(gloves.pk), "quantity": "3", "unit": "box", "unit_price": "7.00"}]},
        content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["total"] == "21.00" and body["lines"][0]["backorder"] == "300"
    order_id = body["id"]
    assert client.post(f"{API}/orders/{order_id}/submit").json()["status"] == "awaiting_approval"
    response = client.post(f"{API}/orders/{order_id}/approve", {}, content_type="application/json")
    assert response.status_code == 400 and "approved_by" in response.json()["errors"]
    client = client_as(approver)
    assert client.post(f"{API}/orders/{order_id}/approve", {}, content_type="application/json").json()[
        "status"] == "approved"
    response = client.post(f"{API}/orders/{order_id}/receive", {"lines": [{"position": 1, "quantity": "2"}]},
                           content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "partly_received"
    assert response.json()["lines"][0]["received"] == "200"
    listed = client.get(f"{API}/orders", {"status": "backorder"}).json()
    assert listed["count"] == 1 and listed["orders"][0]["number"] == "API-1"


@pytest.mark.parametrize(("change", "field"), [
    ({"number": "DUP-1"}, "number"),
    ({"lines": [{"item_id": "x", "quantity": "1"}]}, "line_1_item"),
    ({"lines": [{"item_id": "ITEM", "quantity": "1e999999"}]}, "line_1_quantity"),
    ({"lines": [{"item_id": "ITEM", "quantity": "1", "unit": "crate"}]}, "line_1_unit"),
    ({"lines": [{"item_id": "ITEM", "quantity": "1", "unit_price": "-1"}]}, "line_1_unit_price"),
    ({"lines": [{"item_id": "ITEM", "quantity": "1", "unit_price": "1e99"}]}, "line_1_unit_price"),
    ({"lines": [{"item_id": "ITEM", "quantity": "1", "unit_price": "NaN"}]}, "line_1_unit_price"),
    ({"lines": [{"item_id": "ITEM", "quantity": "0.0001"}]}, "line_1_quantity"),
    ({"lines": [{"item_id": "ITEM", "quantity": "99999999999", "unit": "box"}]}, "line_1_quantity"),
    ({"vendor_id": "999999"}, "vendor_id"),
    ({"lines": []}, "lines"),
])
def test_api_bad_input_names_the_field_and_saves_nothing(client_as, org, place, gloves, manager, change, field):
    make_order(org=org, place=place, actor=manager, number="DUP-1")
    body = {"vendor_id": str(gloves.preferred_vendor_id), "stock_location_id": str(place.pk),
            "lines": [{"item_id": str(gloves.pk), "quantity": "1"}], **change}
    for line in body["lines"]:
        if line.get("item_id") == "ITEM":
            line["item_id"] = str(gloves.pk)
    response = client_as(manager).post(f"{API}/orders", body, content_type="application/json")
    assert response.status_code == 400 and field in response.json()["errors"], response.content
    assert PurchaseOrder.objects.count() == 1


def test_api_receiving_more_than_ordered_names_the_line(client_as, org, place, gloves, manager):
    order = make_order(org=org, place=place, actor=manager, status="approved",
                       lines=[po.LineIn(item=gloves, quantity=D(1), unit="box")])
    client = client_as(manager)
    response = client.post(f"{API}/orders/{order.pk}/receive", {"lines": [{"position": 1, "quantity": "2"}]},
                           content_type="application/json")
    assert response.status_code == 400 and "line_1_quantity" in response.json()["errors"]
    response = client.post(f"{API}/orders/{order.pk}/receive", {"lines": [{"position": 9, "quantity": "1"}]},
                           content_type="application/json")
    assert response.status_code == 400 and "lines" in response.json()["errors"]
    assert not StockMovement.objects.exists()


def test_api_suggested_orders(client_as, org, place, gloves, manager):
    StockLevelFactory(item=gloves, stock_location=place, par_level=D(300), reorder_point=D(100))
    rows = client_as(manager).get(f"{API}/suggested-orders").json()
    assert rows == [{"item_id": str(gloves.pk), "item": "Exam gloves", "stock_location_id": str(place.pk),
                     "vendor": "Henry Supply", "on_hand": "0", "on_order": "0", "used_30_days": "0",
                     "order_quantity": "3", "unit": "box", "total": "24.00"}]


def test_the_stock_locations_and_an_orders_page_take_the_same_queries_for_more_rows(client_as, org, place, gloves,
                                                                                    manager):
    client = client_as(manager)
    few = queries(client, reverse("inventory:stock_location_list"))
    for _ in range(3):
        StockLocationFactory(organization=org)
    assert queries(client, reverse("inventory:stock_location_list")) == few
    # an order's page: more lines, each received in two parts, take no more queries
    short = make_order(org=org, place=place, actor=manager, status="approved",
                       lines=[po.LineIn(item=gloves, quantity=D(2), unit="box")])
    long = make_order(org=org, place=place, actor=manager, status="approved",
                      lines=[po.LineIn(item=gloves, quantity=D(2), unit="box") for _ in range(4)])
    for order in (short, long):
        for _ in range(2):
            po.purchase_order_receive(order=order, actor=manager, receipts=[
                po.ReceiptIn(line=line, quantity=D(1)) for line in order.lines.all()])
    assert (queries(client, reverse("inventory:order_detail", args=[long.pk]))
            == queries(client, reverse("inventory:order_detail", args=[short.pk])))
