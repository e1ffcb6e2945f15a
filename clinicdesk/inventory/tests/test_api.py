from datetime import date, timedelta
from decimal import Decimal

import pytest

from clinicdesk.core.choices import Role

from ..choices import ItemKind
from ..models import StockBalance, StockMovement
from .factories import ItemFactory, PackFactory, StockLocationFactory

URL = "/api/v1/inventory"


@pytest.fixture
def nurse_client(client_as, make_user):
    return client_as(make_user(Role.NURSE, username="nurse1"))


def test_receive_by_gtin_then_use_by_fefo(nurse_client, org):
    place = StockLocationFactory(organization=org)
    vaccine = ItemFactory(organization=org, kind=ItemKind.VACCINE, tracks_lots=True, base_unit="dose")
    pack = PackFactory(item=vaccine, name="box", quantity=Decimal(10))
    later = (date.today() + timedelta(days=100)).isoformat()
    response = nurse_client.post(f"{URL}/movements", {
        "kind": "receipt", "gtin": pack.gtin, "stock_location_id": str(place.pk), "quantity": "2",
        "lot_number": "A1", "expires_on": later, "unit_cost": "12.50"}, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()[0]["quantity"] == "20" and response.json()[0]["value"] == "250.00"
    response = nurse_client.post(f"{URL}/movements", {
        "kind": "consumption", "item_id": str(vaccine.pk), "stock_location_id": str(place.pk), "quantity": "3"},
        content_type="application/json")
    assert response.status_code == 201 and response.json()[0]["lot"] == "A1"
    on_hand = nurse_client.get(f"{URL}/on-hand").json()
    assert on_hand[0]["on_hand"] == "17"
    items = nurse_client.get(f"{URL}/items", {"q": vaccine.name}).json()
    assert items["count"] == 1 and items["items"][0]["packs"][0]["gtin"] == pack.gtin


def test_bad_input_names_the_field_and_posts_nothing(nurse_client, org):
    place = StockLocationFactory(organization=org)
    item = ItemFactory(organization=org)
    cases = [
        ({"quantity": "5"}, "quantity"),            # more than on hand
        ({"quantity": "1", "unit": "crate"}, "unit"),
        ({"quantity": "lots"}, "quantity"),
        ({"quantity": "1", "stock_location_id": "999999"}, "stock_location_id"),
    ]
    for change, field in cases:
        body = {"kind": "consumption", "item_id": str(item.pk), "stock_location_id": str(place.pk), **change}
        response = nurse_client.post(f"{URL}/movements", body, content_type="application/json")
        assert response.status_code == 400 and field in response.json()["errors"], (change, response.content)
    assert not StockMovement.objects.exists() and not StockBalance.objects.exists()
