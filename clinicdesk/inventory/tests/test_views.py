from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.patients.tests.factories import PatientFactory

from ..choices import ItemKind
from ..models import StockBalance, StockMovement
from ..services.stock import stock_consume, stock_receive
from .factories import ItemFactory, PackFactory, StockLevelFactory, StockLocationFactory

D = Decimal
TODAY = date.today()


@pytest.fixture
def place(org):
    return StockLocationFactory(organization=org, name="Supply room")


def stock(org, place, n: int):
    for _ in range(n):
        item = ItemFactory(organization=org)
        PackFactory(item=item)
        StockLevelFactory(item=item, stock_location=place)
        stock_receive(item=item, stock_location=place, quantity=D(5), actor=None)


def queries(client, url) -> int:
    client.get(url)  # the first request of a session does its own once-only work
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("name", ["inventory:item_list", "inventory:on_hand", "inventory:alerts"])
def test_list_pages_take_the_same_queries_for_more_rows(client_as, org, place, nurse, name):
    client = client_as(nurse)
    stock(org, place, 2)
    few = queries(client, reverse(name))
    stock(org, place, 6)
    assert queries(client, reverse(name)) == few


def test_item_detail_takes_the_same_queries_for_more_movements(client_as, org, place, nurse):
    client = client_as(nurse)
    item = ItemFactory(organization=org)
    stock_receive(item=item, stock_location=place, quantity=D(50), actor=nurse)
    url = reverse("inventory:item_detail", args=[item.pk])
    few = queries(client, url)
    for _ in range(5):
        stock_consume(item=item, stock_location=place, quantity=D(1), actor=nurse)
    assert queries(client, url) == few


def test_items_search_and_csv(client_as, org, place, nurse):
    ItemFactory(organization=org, name="Influenza vaccine", kind=ItemKind.VACCINE, tracks_lots=True, cvx="158")
    ItemFactory(organization=org, name="Gauze")
    client = client_as(nurse)
    page = client.get(reverse("inventory:item_list"), {"q": "158"}).content.decode()
    assert "Influenza vaccine" in page and "Gauze" not in page
    body = b"".join(client.get(reverse("inventory:item_list"), {"format": "csv"}).streaming_content).decode()
    assert "Influenza vaccine" in body and "Gauze" in body and body.splitlines()[0].lstrip("\ufeff").startswith("name")


def test_on_hand_csv(client_as, org, place, nurse):
    stock(org, place, 1)
    body = b"".join(client_as(nurse).get(reverse("inventory:on_hand"), {"format": "csv"}).streaming_content).decode()
    assert "Supply room" in body and ",5," in body


def test_on_hand_pages_read_location_by_location_in_the_same_order_as_the_export(org, nurse):
    # given three stock locations whose names do not sort like their ids, items in some of them, two lots of one
    places = [StockLocationFactory(organization=org, name=name) for name in ("Room C", "Room A", "Room B")]
    items = [ItemFactory(organization=org, name=f"Item {n}", tracks_lots=True) for n in (5, 1, 4, 2, 3)]
    for k, item in enumerate(items):
        for place in places[: 1 + k % 3]:
            stock_receive(item=item, stock_location=place, quantity=D(1 + k), actor=nurse, lot_number="L1",
                          expires_on=TODAY + timedelta(days=90))
    stock_receive(item=items[0], stock_location=places[0], quantity=D(10), actor=nurse, lot_number="L2",
                  expires_on=TODAY + timedelta(days=99))
    from ..selectors import on_hand_by_location

    rows = on_hand_by_location(user=nurse)
    everything = [(r["stock_location_name"], r["item_name"], r["on_hand"]) for r in rows]
    # then the rows are by location name, then item name, lots summed
    assert everything == sorted(everything, key=lambda r: (r[0], r[1]))
    assert ("Room C", "Item 5", D(11)) in everything and rows.count() == len(everything) == 9
    # and every slice a page could ask for, across location boundaries, is the same stretch of that order
    for start in range(0, 11):
        for size in (1, 3, 4, 50):
            assert [(r["stock_location_name"], r["item_name"], r["on_hand"]) for r in rows[start:start + size]] == \
                everything[start:start + size]
    # and a slice across all three locations is one query once the counts are known
    with CaptureQueriesContext(connection) as queries:
        assert len(rows[1:9]) == 8
    assert len(queries) == 1
    # and filters keep to the location and the name asked for
    one = on_hand_by_location(user=nurse, stock_location_id=places[2].pk, q="item 4")
    assert [(r["stock_location_name"], r["item_name"]) for r in one[0:50]] == [("Room B", "Item 4")]
    assert one.count() == 1


def test_a_scanned_gtin_finds_the_item_and_pack_and_a_box_is_a_hundred(client_as, org, place, nurse):
    item = ItemFactory(organization=org, name="Gloves")
    pack = PackFactory(item=item, name="box", quantity=D(100))
    client = client_as(nurse)
    found = client.get(reverse("inventory:gtin_lookup"), {"gtin": pack.gtin}).json()
    assert (found["item_id"], found["unit"], found["quantity"]) == (item.pk, "box", "100")
    assert client.get(reverse("inventory:gtin_lookup"), {"gtin": "4006381333932"}).status_code == 400
    PackFactory(item=item, name="case", quantity=D(1000), gtin="")  # a pack with no barcode is never "scanned"
    assert client.get(reverse("inventory:gtin_lookup"), {"gtin": ""}).status_code == 404
    # without script: the GTIN on the form is enough to find the item and pack
    response = client.post(reverse("inventory:receive"), {"gtin": pack.gtin, "stock_location": place.pk,
                                                          "quantity": "2"})
    assert response.status_code == 302
    assert StockBalance.objects.get(item=item).on_hand == 200


def test_a_misread_barcode_is_named_on_the_scan_field(client_as, org, place, nurse):
    response = client_as(nurse).post(reverse("inventory:use"), {"gtin": "4006381333932", "stock_location": place.pk,
                                                                "quantity": "1"})
    assert response.status_code == 400 and "the check digit is wrong" in response.content.decode()


def test_using_more_than_on_hand_shows_the_error_on_the_quantity_and_posts_nothing(client_as, org, place, nurse):
    item = ItemFactory(organization=org, name="Gloves")
    stock_receive(item=item, stock_location=place, quantity=D(3), actor=nurse)
    response = client_as(nurse).post(reverse("inventory:use"), {"item": item.pk, "stock_location": place.pk,
                                                                "quantity": "4"})
    assert response.status_code == 400
    assert "Only 3 each of Gloves" in response.content.decode()
    assert StockMovement.objects.filter(item=item).count() == 1


def test_a_unit_the_item_does_not_come_in_is_named(client_as, org, place, nurse):
    item = ItemFactory(organization=org)
    response = client_as(nurse).post(reverse("inventory:receive"), {"item": item.pk, "stock_location": place.pk,
                                                                    "quantity": "1", "unit": "crate"})
    assert response.status_code == 400 and "does not come in" in response.content.decode()
    assert not StockMovement.objects.filter(item=item).exists()


def test_an_expired_lot_asks_for_confirmation(client_as, org, place, nurse):
    vaccine = ItemFactory(organization=org, kind=ItemKind.VACCINE, tracks_lots=True)
    data = {"item": vaccine.pk, "stock_location": place.pk, "quantity": "5", "lot_number": "FLU1",
            "expires_on": (TODAY - timedelta(days=2)).isoformat()}
    client = client_as(nurse)
    response = client.post(reverse("inventory:receive"), data)
    assert response.status_code == 400 and "confirm to receive it anyway" in response.content.decode()
    assert client.post(reverse("inventory:receive"), {**data, "confirm_expired": "on"}).status_code == 302


def test_an_adjustment_is_for_managers_only(client_as, org, place, nurse):
    item = ItemFactory(organization=org)
    lot = stock_receive(item=item, stock_location=place, quantity=D(3), actor=nurse).lot
    response = client_as(nurse).post(reverse("inventory:remove"), {
        "item": item.pk, "stock_location": place.pk, "quantity": "1", "lot": lot.pk, "kind": "adjustment",
        "reason": "lost"})
    assert response.status_code == 400 and "Only a manager" in response.content.decode()


def test_a_cycle_count_posts_variances(client_as, org, place, make_user):
    manager = make_user(Role.OFFICE_MANAGER, username="om")
    item = ItemFactory(organization=org)
    lot = stock_receive(item=item, stock_location=place, quantity=D(10), actor=manager).lot
    response = client_as(manager).post(reverse("inventory:cycle_count", args=[place.pk]), {f"lot_{lot.pk}": "8"})
    assert response.status_code == 302 and StockBalance.objects.get(item=item).on_hand == 8


def test_lot_recall_lists_the_patients_and_audits_each_one(client_as, org, other_org, place, nurse):
    vaccine = ItemFactory(organization=org, kind=ItemKind.VACCINE, tracks_lots=True)
    stock_receive(item=vaccine, stock_location=place, quantity=D(5), actor=nurse, lot_number="FLU7",
                  expires_on=TODAY + timedelta(days=90))
    ann, bob = PatientFactory(organization=org, last_name="Annwick"), PatientFactory(organization=org, last_name="Bobbet")
    for patient in (ann, bob):
        stock_consume(item=vaccine, stock_location=place, quantity=D(1), actor=nurse, patient=patient)
    # the same lot number in another practice is not ours
    far = StockLocationFactory(organization=other_org)
    far_vaccine = ItemFactory(organization=other_org, kind=ItemKind.VACCINE, tracks_lots=True)
    stock_receive(item=far_vaccine, stock_location=far, quantity=D(1), actor=None, lot_number="FLU7",
                  expires_on=TODAY + timedelta(days=90))
    stock_consume(item=far_vaccine, stock_location=far, quantity=D(1), actor=None,
                  patient=PatientFactory(organization=other_org, last_name="Faraway"))
    page = client_as(nurse).get(reverse("inventory:lot_recall"), {"lot": "flu7"}).content.decode()
    assert "Annwick" in page and "Bobbet" in page and "Faraway" not in page
    audited = set(AuditEvent.objects.filter(action="patient.listed", actor=nurse).values_list("patient_id", flat=True))
    assert audited == {ann.pk, bob.pk}


def test_the_front_desk_sees_supplies_but_cannot_use_them(client_as, org, make_user):
    client = client_as(make_user(Role.FRONT_DESK, username="fd"))
    assert client.get(reverse("inventory:item_list")).status_code == 200
    assert client.get(reverse("inventory:use")).status_code == 403
    assert client.get(reverse("inventory:lot_recall")).status_code == 403
