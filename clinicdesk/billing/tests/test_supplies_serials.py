"""Supplies tracked by serial number used in care: each supply row takes one serial (the first-expiring not taken by
another row, or the one named), posting uses it for the patient, and the lot recall finds the patient by it."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from clinicdesk.billing.models import EncounterSupply
from clinicdesk.billing.services.charges import ServiceInput, SupplyInput, encounter_code, encounter_post
from clinicdesk.core.choices import Role
from clinicdesk.inventory.choices import MovementKind
from clinicdesk.inventory.models import StockBalance, StockMovement
from clinicdesk.inventory.selectors import lot_recall
from clinicdesk.inventory.services.serials import stock_receive_serials
from clinicdesk.inventory.tests.factories import ItemFactory

from .factories_supplies import FLU, flu_shot

D = Decimal


@pytest.fixture
def doctor(make_user):
    return make_user(Role.CLINICIAN, username="drlee")


@pytest.fixture
def biller(make_user):
    return make_user(Role.BILLER, username="devon")


@pytest.fixture
def braces(org, clinic):
    """Three hinged knee braces by serial in the office's stock, the middle one expiring first."""
    brace = ItemFactory(organization=org, name="Knee brace, hinged", tracks_serials=True, price=D("64.00"))
    for number, expires in (("KB-1", date(2029, 1, 1)), ("KB-2", date(2028, 1, 1)), ("KB-3", None)):
        stock_receive_serials(item=brace, stock_location=clinic.fridge, serials=[number], quantity=D(1), actor=None,
                              expires_on=expires)
    return brace


def test_each_supply_row_takes_its_own_serial_and_posting_uses_it_for_the_patient(
        org, doctor, biller, flu_prices, clinic, braces):
    # when two braces are coded without naming their serials
    encounter = flu_shot(org, doctor, clinic, supplies=[SupplyInput(line=1, item_id=braces.pk),
                                                         SupplyInput(line=2, item_id=braces.pk)])
    # then each row names a different serial, first-expiring first
    assert [s.lot.number for s in EncounterSupply.objects.filter(encounter=encounter).order_by("sequence")] == [
        "KB-2", "KB-1"]
    # and posting takes both off the shelf for the patient; the recall finds the patient by serial
    encounter_post(encounter=encounter, actor=biller)
    uses = StockMovement.objects.filter(kind=MovementKind.CONSUMPTION, item=braces)
    assert sorted(u.lot.number for u in uses) == ["KB-1", "KB-2"]
    assert [u.patient_id for u in lot_recall(user=biller, lot_number="kb-2")] == [encounter.patient_id]
    assert list(StockBalance.objects.filter(item=braces, on_hand=1).values_list("lot__number", flat=True)) == ["KB-3"]


@pytest.mark.parametrize("rows, message", [
    ([{"quantity": "2"}], "Supply 1: Knee brace, hinged is tracked by serial number: enter one supply"),
    ([{"lot": "KB-1"}, {"lot": "KB-1"}], "Supply 2: serial KB-1 of Knee brace, hinged is on another supply row."),
])
def test_a_serial_is_one_unit_on_one_row(org, doctor, flu_prices, clinic, braces, rows, message):
    lots = {lot.number: lot.pk for lot in braces.lots.all()}
    encounter = flu_shot(org, doctor, clinic, submit=False, supplies=[])
    supplies = [SupplyInput(line=1, item_id=braces.pk, quantity=row.get("quantity", "1"),
                            lot_id=lots.get(row.get("lot"))) for row in rows]
    with pytest.raises(ValidationError) as caught:
        encounter_code(encounter=encounter, actor=doctor, diagnoses=["Z23"], supplies=supplies, services=[
            ServiceInput(code=code, modifiers=mods, units=units, pointers="1") for code, mods, units in FLU])
    assert any(m.startswith(message) for m in caught.value.message_dict["supplies"]), caught.value.message_dict
    assert not EncounterSupply.objects.filter(encounter=encounter).exists()
