"""A use put back on the shelf (its encounter was voided): the same lot into the same place at the cost the use took,
naming the patient and the encounter, booked as an inventory entry; only a use can be put back, with a reason. The
lot recall leaves a returned use out, but not another patient's use of the lot."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from clinicdesk.core.choices import Role
from clinicdesk.ledger.choices import EntryKind
from clinicdesk.patients.tests.factories import PatientFactory

from ..choices import ItemKind, MovementKind
from ..models import StockBalance
from ..selectors import lot_recall
from ..services.stock import stock_consume, stock_receive, stock_use_return
from .factories import ItemFactory, StockLocationFactory

D = Decimal


@pytest.fixture
def shot(org):
    place = StockLocationFactory(organization=org, name="Fridge")
    vaccine = ItemFactory(organization=org, name="Tdap vaccine", kind=ItemKind.VACCINE, tracks_lots=True, base_unit="dose")
    receipt = stock_receive(item=vaccine, stock_location=place, quantity=D("3"), actor=None, lot_number="TD1",
                            expires_on=date(2099, 1, 1), unit_cost=D("31.25"))
    return place, vaccine, receipt


def test_a_use_is_put_back_at_its_cost(org, make_user, shot):
    place, vaccine, receipt = shot
    nurse = make_user(Role.NURSE, username="nurse-return")
    ada, ben = PatientFactory(organization=org), PatientFactory(organization=org)
    [use] = stock_consume(item=vaccine, stock_location=place, quantity=D("1"), actor=nurse, patient=ada,
                          encounter_ref="ENC1")
    stock_consume(item=vaccine, stock_location=place, quantity=D("1"), actor=nurse, patient=ben, encounter_ref="ENC2")
    # when the first use is put back
    back = stock_use_return(use=use, actor=nurse, reason="Encounter voided: wrong patient")
    # then the lot is back in the fridge at the use's cost, naming the patient and encounter
    assert StockBalance.objects.get(item=vaccine, stock_location=place).on_hand == D("2")
    assert (back.kind, back.quantity, back.value, back.patient_id, back.encounter_ref, back.lot_id) == (
        MovementKind.ADJUSTMENT, D("1"), D("31.25"), ada.pk, "ENC1", receipt.lot_id)
    assert back.journal_entry.kind == EntryKind.INVENTORY and use.journal_entry.kind == EntryKind.INVENTORY
    # and the recall names only the patient who kept the dose
    assert [u.patient_id for u in lot_recall(user=nurse, lot_number="TD1")] == [ben.pk]


def test_only_a_use_is_put_back_and_with_a_reason(org, shot):
    place, vaccine, receipt = shot
    with pytest.raises(ValidationError) as caught:
        stock_use_return(use=receipt, actor=None, reason="oops")
    assert caught.value.message_dict == {"use": ["Only a use of stock can be put back."]}
    [use] = stock_consume(item=vaccine, stock_location=place, quantity=D("1"), actor=None)
    with pytest.raises(ValidationError) as caught:
        stock_use_return(use=use, actor=None, reason="  ")
    assert caught.value.message_dict == {"reason": ["Say why the stock is put back."]}
    assert StockBalance.objects.get(item=vaccine, stock_location=place).on_hand == D("2")
