"""The coding page's supplies: the lot picker offers the lots in stock at the encounter's location (first-expiring
first, expired and other locations' lots left out), a saved row shows its lot, a bad row is refused next to the row,
a foreign item is no such item; the encounter page lists what was used."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinicdesk.billing.models import EncounterSupply
from clinicdesk.billing.services.charges import encounter_post
from clinicdesk.billing.services.supplies import SupplyInput
from clinicdesk.core.choices import Role
from clinicdesk.core.tests.factories import LocationFactory
from clinicdesk.inventory.services.stock import stock_receive
from clinicdesk.inventory.tests.factories import ItemFactory, StockLocationFactory

from .factories_encounters import coded
from .factories_supplies import FLU, flu_shot

D = Decimal


@pytest.fixture
def doctor(make_user):
    return make_user(Role.CLINICIAN, username="drlee")


@pytest.fixture
def biller(make_user):
    return make_user(Role.BILLER, username="devon")


def code_url(encounter) -> str:
    return reverse("billing:encounter_code", args=[encounter.public_id])


def form(supplies=(), **extra) -> dict:
    data = {"svc_count": "4", "place_of_service": "11", "dx_1": "Z23", "action": "save",
            "sup_count": str(max(len(supplies), 2)), **extra}
    for n, (code, mods, units) in enumerate(FLU, start=1):
        data.update({f"svc_{n}_code": code, f"svc_{n}_modifiers": mods, f"svc_{n}_units": str(units),
                     f"svc_{n}_pointers": "1"})
    for n, row in enumerate(supplies, start=1):
        data.update({f"sup_{n}_{k}": v for k, v in row.items()})
    return data


def test_the_lot_picker_offers_the_lots_on_the_shelf_here_first_expiring_first(client_as, org, doctor, flu_prices, clinic):
    # given an expired lot still in the fridge and a lot in another office's fridge
    stock_receive(item=clinic.vaccine, stock_location=clinic.fridge, quantity=D("1"), actor=None, lot_number="OLD1",
                  expires_on=date(2026, 10, 1), confirm_expired=True)
    elsewhere = StockLocationFactory(organization=org, location=LocationFactory(organization=org), name="North fridge")
    stock_receive(item=clinic.vaccine, stock_location=elsewhere, quantity=D("3"), actor=None, lot_number="NORTH1",
                  expires_on=date(2027, 3, 1))
    encounter = coded(org, doctor, diagnoses=("Z23",), services=FLU, location=clinic.office, submit=False)
    # when the doctor opens the coding page
    page = client_as(doctor).get(code_url(encounter)).content.decode()
    # then the lots here are offered, the one expiring first marked, and the others are not
    assert page.index("Lot SOON1, expires 01/31/2027 · 2 in Vaccine fridge (first to expire)") < page.index("Lot LATE1")
    assert "OLD1" not in page and "NORTH1" not in page


def test_saving_a_dose_shows_its_suggested_lot_and_the_encounter_page_lists_it(client_as, org, doctor, biller,
                                                                               flu_prices, clinic):
    encounter = coded(org, doctor, diagnoses=("Z23",), services=FLU, location=clinic.office, submit=False)
    client = client_as(doctor)
    response = client.post(code_url(encounter), form([{"line": "1", "item": str(clinic.vaccine.pk), "quantity": "1"}]))
    assert response.status_code == 302
    supply = EncounterSupply.objects.get(encounter=encounter)
    assert supply.lot.number == "SOON1"
    page = client.get(code_url(encounter)).content.decode()
    assert f'<option value="{supply.lot_id}" selected>' in page
    # once posted, the encounter page lists the dose as taken off the shelf
    encounter_post(encounter=encounter, actor=biller)
    detail = client_as(biller).get(reverse("billing:encounter_detail", args=[encounter.public_id])).content.decode()
    assert "taken off the shelf for the patient" in detail and "SOON1" in detail


@pytest.mark.parametrize(("row", "message"), [
    ({"line": "9", "item": "ITEM", "quantity": "1"}, "Supply 1: give the number of the service it was used for (1 to 2)."),
    ({"line": "1", "item": "ITEM", "quantity": "lots"}, "Supply 1: the quantity of Flu vaccine"),
    ({"line": "x\x00", "item": "ITEM", "quantity": "1"}, "Supply 1: give the number of the service it was used for (1 to 2)."),
    ({"line": "1", "item": "999999", "quantity": "1"}, "Supply 1: no such item."),
    ({"line": "1", "item": "", "scan": "0000", "quantity": "1"}, "Supply 1: GTIN 0000: a GTIN is 8, 12, 13 or 14 digits."),
    ({"line": "1", "item": "ITEM", "lot": "FOREIGN", "quantity": "1"}, "Supply 1: that lot is not a lot of"),
])
def test_a_bad_supply_row_is_refused_next_to_the_row(client_as, org, other_org, doctor, flu_prices, clinic, row, message):
    foreign = ItemFactory(organization=other_org, name="Their vaccine", tracks_lots=True)
    foreign_lot = stock_receive(item=foreign, stock_location=StockLocationFactory(organization=other_org),
                                quantity=D("1"), actor=None, lot_number="THEIRS", expires_on=date(2099, 1, 1)).lot
    encounter = coded(org, doctor, diagnoses=("Z23",), services=FLU, location=clinic.office, submit=False)
    row = {k: v.replace("ITEM", str(clinic.vaccine.pk)).replace("FOREIGN", str(foreign_lot.pk)) for k, v in row.items()}
    response = client_as(doctor).post(code_url(encounter), form([row]))
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not EncounterSupply.objects.filter(encounter=encounter).exists()


def test_a_form_without_supply_rows_keeps_the_supplies(client_as, org, doctor, flu_prices, clinic):
    encounter = flu_shot(org, doctor, clinic, submit=False, supplies=[SupplyInput(line=1, item_id=clinic.vaccine.pk)])
    data = form()
    data.pop("sup_count")
    assert client_as(doctor).post(code_url(encounter), data).status_code == 302
    assert EncounterSupply.objects.filter(encounter=encounter).count() == 1


def test_the_coding_page_query_count_does_not_grow_with_supplies(client_as, org, doctor, flu_prices, clinic):
    encounter = flu_shot(org, doctor, clinic, submit=False, supplies=[SupplyInput(line=1, item_id=clinic.vaccine.pk)])
    client = client_as(doctor)
    with CaptureQueriesContext(connection) as one:
        client.get(code_url(encounter))
    for n in range(6):
        ItemFactory(organization=org, name=f"Splint {n}")
    flu_shot_rows = [SupplyInput(line=1, item_id=clinic.vaccine.pk)] * 5
    encounter_many = flu_shot(org, doctor, clinic, submit=False, supplies=flu_shot_rows)
    with CaptureQueriesContext(connection) as many:
        client.get(code_url(encounter_many))
    assert len(many) <= len(one)


def test_posting_from_the_queue_without_the_doses_on_hand_names_the_service_and_item(client_as, org, doctor, biller,
                                                                                     flu_prices, clinic):
    encounter = flu_shot(org, doctor, clinic, supplies=[
        SupplyInput(line=1, item_id=clinic.vaccine.pk, lot_id=clinic.lots["SOON1"].pk, quantity="5")])
    response = client_as(biller).post(reverse("billing:review_post"), {"encounter": [encounter.public_id]})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Service 1, supply Flu vaccine (quadrivalent): Only 2 dose of lot SOON1" in page


def test_voiding_from_the_encounter_page_puts_the_dose_back(client_as, org, doctor, biller, flu_prices, clinic):
    from clinicdesk.inventory.models import StockBalance

    encounter = flu_shot(org, doctor, clinic, supplies=[SupplyInput(line=1, item_id=clinic.vaccine.pk)])
    encounter_post(encounter=encounter, actor=biller)
    assert StockBalance.objects.get(lot=clinic.lots["SOON1"]).on_hand == D("1")
    response = client_as(biller).post(reverse("billing:encounter_void", args=[encounter.public_id]),
                                      {"reason": "Billed to the wrong patient"})
    assert response.status_code == 302
    assert StockBalance.objects.get(lot=clinic.lots["SOON1"]).on_hand == D("2")
    detail = client_as(biller).get(reverse("billing:encounter_detail", args=[encounter.public_id])).content.decode()
    assert "put back on the shelf" in detail
