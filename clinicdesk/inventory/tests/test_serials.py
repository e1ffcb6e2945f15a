"""Serial numbers: received one per unit (each a lot of one), refused when missing, miscounted or known already;
used, moved and removed by name or first-expiring first; never two of one serial; found by the lot recall."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clinicdesk.core.models import AuditEvent
from clinicdesk.ledger.choices import AccountRole
from clinicdesk.ledger.models import JournalEntry
from clinicdesk.patients.tests.factories import PatientFactory

from ..choices import ItemKind, MovementKind
from ..models import Lot, StockBalance, StockMovement
from ..selectors import lot_recall
from ..services.items import item_save, pack_add, quantity_in_base
from ..services.serials import serial_numbers_parse, stock_receive_serials, stock_receive_tracked
from ..services.stock import (
    cycle_count_post,
    stock_adjust,
    stock_consume,
    stock_receive,
    stock_remove,
    stock_transfer,
)
from .factories import ItemFactory, StockLocationFactory

D = Decimal
TODAY = date.today()


@pytest.fixture
def place(org):
    return StockLocationFactory(organization=org, name="Supply room")


def receive(brace, place, serials, actor=None, **kwargs):
    return stock_receive_serials(item=brace, stock_location=place, serials=serials, actor=actor,
                                 quantity=D(len(serials)), **kwargs)


def nothing_changed(item, entries_before: int = 0) -> None:
    assert not Lot.objects.filter(item=item, is_serial=True).exists()
    assert not StockMovement.objects.filter(item=item).exists()
    assert not StockBalance.objects.filter(item=item).exists()
    assert JournalEntry.objects.count() == entries_before


def test_serial_numbers_are_typed_one_per_line_or_separated_by_commas():
    assert serial_numbers_parse(" SN1\r\nSN2, SN3 ,\n\n;SN4 ") == ["SN1", "SN2", "SN3", "SN4"]
    assert serial_numbers_parse("") == []


def test_a_receipt_makes_each_serial_a_lot_of_one_with_the_receipts_expiry(org, place, brace, nurse):
    # when
    expires = TODAY + timedelta(days=700)
    movements = receive(brace, place, ["KB-1", "KB-2", "KB-3"], actor=nurse, expires_on=expires)
    # then
    assert [m.lot.number for m in movements] == ["KB-1", "KB-2", "KB-3"]
    lots = Lot.objects.filter(item=brace)
    assert lots.count() == 3 and all(lot.is_serial and lot.expires_on == expires for lot in lots)
    balances = StockBalance.objects.filter(item=brace)
    assert sorted(b.on_hand for b in balances) == [1, 1, 1] and all(b.is_serial for b in balances)
    assert [m.location_on_hand_after for m in movements] == [1, 2, 3]
    assert sum(m.value for m in movements) == D("192.00")
    assert AuditEvent.objects.filter(action="inventory.received", organization_id=org.pk).count() == 3


@pytest.mark.parametrize("serials, quantity, field, text", [
    (["KB-1", "KB-2"], D(3), "serials", "2 serial numbers for a quantity of 3"),
    (["KB-1", "KB-2", "KB-3"], D(2), "serials", "3 serial numbers for a quantity of 2"),
    ([], D(1), "serials", "enter the serial number of each each received"),
    (["KB-1", " kb-1 "], D(2), "serials", "Serial kb-1 is entered twice."),
    (["KB-1"], D("1.5"), "quantity", "counted in whole units"),
    (["X" * 41], D(1), "serials", "longer than 40 characters"),
])
def test_a_receipt_with_missing_or_miscounted_serials_is_refused_naming_the_field(
        org, place, brace, nurse, serials, quantity, field, text):
    with pytest.raises(ValidationError) as caught:
        stock_receive_serials(item=brace, stock_location=place, serials=serials, quantity=quantity, actor=nurse)
    assert text in caught.value.message_dict[field][0]
    nothing_changed(brace)


def test_a_serial_on_hand_or_received_before_is_refused_by_name_and_nothing_is_received(org, place, brace, nurse):
    # given KB-1 on hand and KB-2 received and used
    receive(brace, place, ["KB-1", "KB-2"], actor=nurse)
    stock_consume(item=brace, stock_location=place, quantity=D(1), actor=nurse, lot=Lot.objects.get(number="KB-2"))
    entries, movements = JournalEntry.objects.count(), StockMovement.objects.count()
    # when / then
    with pytest.raises(ValidationError) as caught:
        receive(brace, place, ["KB-9", "kb-1"], actor=nurse)
    assert caught.value.message_dict["serials"] == ["Serial KB-1 is already on hand in Supply room."]
    with pytest.raises(ValidationError) as caught:
        receive(brace, place, ["KB-8", "KB-2"], actor=nurse)
    assert "Serial KB-2 of Knee brace, hinged was received before" in caught.value.message_dict["serials"][0]
    assert not Lot.objects.filter(number__in=["KB-8", "KB-9"]).exists()
    assert (JournalEntry.objects.count(), StockMovement.objects.count()) == (entries, movements)


def test_the_same_serial_number_may_belong_to_another_item(org, place, brace, nurse):
    receive(brace, place, ["SN-1"], actor=nurse)
    monitor = ItemFactory(organization=org, name="Holter monitor", tracks_serials=True)
    assert receive(monitor, place, ["SN-1"], actor=nurse)[0].lot.item_id == monitor.pk


def test_a_serial_tracked_item_is_not_received_by_lot_and_other_items_take_no_serials(org, place, brace, nurse):
    with pytest.raises(ValidationError) as caught:
        stock_receive(item=brace, stock_location=place, quantity=D(1), actor=nurse, lot_number="L1")
    assert "tracked by serial number" in caught.value.message_dict["serials"][0]
    with pytest.raises(ValidationError) as caught:
        stock_receive_tracked(item=brace, stock_location=place, quantity=D(1), actor=nurse, lot_number="L1",
                              serials=["KB-1"])
    assert "lot_number" in caught.value.message_dict
    gauze = ItemFactory(organization=org, name="Gauze")
    with pytest.raises(ValidationError) as caught:
        stock_receive_tracked(item=gauze, stock_location=place, quantity=D(1), actor=nurse, serials=["G-1"])
    assert "not tracked by serial number" in caught.value.message_dict["serials"][0]
    nothing_changed(brace)
    assert stock_receive_tracked(item=gauze, stock_location=place, quantity=D(5), actor=nurse)[0].quantity == 5


def test_an_expired_serial_receipt_needs_its_confirmation(org, place, brace, nurse):
    with pytest.raises(ValidationError) as caught:
        receive(brace, place, ["KB-1"], actor=nurse, expires_on=TODAY - timedelta(days=1))
    assert "These serials expired" in caught.value.message_dict["expires_on"][0]
    nothing_changed(brace)
    assert receive(brace, place, ["KB-1"], actor=nurse, expires_on=TODAY - timedelta(days=1), confirm_expired=True)


def test_a_use_names_the_serial_and_the_same_serial_is_not_used_twice(org, place, brace, nurse):
    # given
    receive(brace, place, ["KB-1", "KB-2"], actor=nurse)
    patient = PatientFactory(organization=org)
    kb2 = Lot.objects.get(item=brace, number="KB-2")
    # when
    [used] = stock_consume(item=brace, stock_location=place, quantity=D(1), actor=nurse, lot=kb2, patient=patient,
                           encounter_ref="fit-1")
    # then
    assert used.lot == kb2 and used.value == D("-64.00")
    assert StockBalance.objects.get(lot=kb2).on_hand == 0
    assert "serial KB-2 in Supply room" in AuditEvent.objects.filter(action="inventory.used").get().summary
    with pytest.raises(ValidationError) as caught:
        stock_consume(item=brace, stock_location=place, quantity=D(1), actor=nurse, lot=kb2)
    assert "Only 0 each of serial KB-2" in caught.value.message_dict["quantity"][0]
    with pytest.raises(ValidationError) as caught:
        stock_consume(item=brace, stock_location=place, quantity=D(2), actor=nurse,
                      lot=Lot.objects.get(number="KB-1"))
    assert "Only 1 each of serial KB-1" in caught.value.message_dict["quantity"][0]
    assert StockMovement.objects.filter(kind=MovementKind.CONSUMPTION).count() == 1


def test_a_use_without_a_serial_takes_the_first_expiring_usable_serials(org, place, brace, nurse):
    # given serials expiring at different dates, one already expired, one that never expires
    receive(brace, place, ["LATE"], actor=nurse, expires_on=TODAY + timedelta(days=300))
    receive(brace, place, ["NEVER"], actor=nurse)
    receive(brace, place, ["SOON"], actor=nurse, expires_on=TODAY + timedelta(days=10))
    receive(brace, place, ["GONE"], actor=nurse, expires_on=TODAY - timedelta(days=1), confirm_expired=True)
    # when
    first = stock_consume(item=brace, stock_location=place, quantity=D(1), actor=nurse)
    two = stock_consume(item=brace, stock_location=place, quantity=D(2), actor=nurse)
    # then
    assert [m.lot.number for m in first] == ["SOON"]
    assert [(m.lot.number, m.quantity) for m in two] == [("LATE", -1), ("NEVER", -1)]
    with pytest.raises(ValidationError) as caught:
        stock_consume(item=brace, stock_location=place, quantity=D(1), actor=nurse)
    assert "Only 0 each of Knee brace, hinged usable" in caught.value.message_dict["quantity"][0]


def test_a_fraction_of_a_serial_is_refused(org, place, brace, nurse):
    receive(brace, place, ["KB-1"], actor=nurse)
    lot = Lot.objects.get(number="KB-1")
    with pytest.raises(ValidationError) as caught:
        stock_consume(item=brace, stock_location=place, quantity=D("0.5"), actor=nurse)
    assert "whole units" in caught.value.message_dict["quantity"][0]
    with pytest.raises(ValidationError) as caught:
        stock_remove(item=brace, stock_location=place, lot=lot, quantity=D("0.5"), kind=MovementKind.WASTE,
                     reason="torn", actor=nurse)
    assert "whole units" in caught.value.message_dict["quantity"][0]
    with pytest.raises(ValidationError):
        quantity_in_base(item=brace, quantity="0.5")
    assert StockBalance.objects.get(lot=lot).on_hand == 1


def test_a_serial_moves_and_is_removed_by_name_and_is_never_on_hand_twice(org, place, brace, nurse):
    # given
    receive(brace, place, ["KB-1", "KB-2"], actor=nurse)
    kb1, kb2 = Lot.objects.get(number="KB-1"), Lot.objects.get(number="KB-2")
    clinic = StockLocationFactory(organization=org, name="Ortho clinic")
    # when KB-1 moves to the clinic and KB-2 goes back to the vendor
    stock_transfer(item=brace, from_location=place, to_location=clinic, lot=kb1, quantity=D(1), actor=nurse)
    stock_remove(item=brace, stock_location=place, lot=kb2, quantity=D(1), kind=MovementKind.RETURN,
                 reason="Wrong size", actor=nurse)
    # then
    assert StockBalance.objects.get(lot=kb1, stock_location=clinic).on_hand == 1
    assert StockBalance.objects.get(lot=kb1, stock_location=place).on_hand == 0
    # a serial on hand in the clinic is not "found" in the supply room, nor counted twice
    with pytest.raises(ValidationError) as caught:
        stock_adjust(item=brace, stock_location=place, lot=kb1, quantity=D(1), reason="found", actor=nurse)
    assert caught.value.message_dict["lot"] == ["Serial KB-1 is already on hand in Ortho clinic."]
    with pytest.raises(ValidationError) as caught:
        cycle_count_post(stock_location=clinic, counts=[(kb1, D(2))], actor=nurse)
    assert caught.value.message_dict["lot"] == ["Serial KB-1 is already on hand in Ortho clinic."]
    with pytest.raises(ValidationError) as caught:
        stock_transfer(item=brace, from_location=clinic, to_location=place, lot=kb1, quantity=D(2), actor=nurse)
    assert "Only 1 each of serial KB-1" in caught.value.message_dict["quantity"][0]
    with pytest.raises(ValidationError) as caught:
        stock_adjust(item=brace, stock_location=place, lot=kb2, quantity=D(2), reason="found", actor=nurse)
    assert "Serial KB-2 is one each: 2 cannot be added." in caught.value.message_dict["quantity"][0]
    # a serial returned to the vendor may be found again (it was never sent)
    stock_adjust(item=brace, stock_location=place, lot=kb2, quantity=D(1), reason="found", actor=nurse)
    assert StockBalance.objects.get(lot=kb2, stock_location=place).on_hand == 1


def test_a_serial_tracked_item_is_not_moved_without_its_serial(org, place, brace, nurse):
    receive(brace, place, ["KB-1"], actor=nurse)
    loose, _ = Lot.objects.get_or_create(item=brace, number="", defaults={"organization": org})
    with pytest.raises(ValidationError) as caught:
        stock_adjust(item=brace, stock_location=place, lot=loose, quantity=D(1), reason="found", actor=nurse)
    assert "name the serial" in caught.value.message_dict["lot"][0]
    with pytest.raises(ValidationError) as caught:
        stock_consume(item=brace, stock_location=place, quantity=D(1), actor=nurse, lot=loose)
    assert "name the serial" in caught.value.message_dict["lot"][0]


def test_the_database_refuses_two_of_one_serial(org, place, brace, nurse):
    receive(brace, place, ["KB-1"], actor=nurse)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockBalance.objects.filter(item=brace).update(on_hand=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        Lot.objects.create(organization=org, item=brace, number="", is_serial=True)


def test_the_lot_recall_finds_the_patient_who_received_a_serial(org, place, brace, nurse, make_user):
    receive(brace, place, ["KB-1", "KB-2"], actor=nurse)
    ann = PatientFactory(organization=org, last_name="Annwick")
    stock_consume(item=brace, stock_location=place, quantity=D(1), actor=nurse, patient=ann,
                  lot=Lot.objects.get(number="KB-2"), encounter_ref="fit-7")
    found = list(lot_recall(user=nurse, lot_number="kb-2"))
    assert [(u.patient_id, u.lot.number, u.encounter_ref) for u in found] == [(ann.pk, "KB-2", "fit-7")]
    assert not list(lot_recall(user=nurse, lot_number="KB-1"))


def test_an_item_tracked_by_serial_never_goes_negative_nor_by_lot_and_counts_each(org, manager):
    base = {"name": "Holter monitor", "kind": ItemKind.CLINICAL_SUPPLY, "base_unit": "each", "price": D("900"),
            "tracks_serials": True}
    for change, field in [({"allow_negative": True}, "allow_negative"), ({"tracks_lots": True}, "tracks_serials"),
                          ({"base_unit": "box"}, "base_unit")]:
        with pytest.raises(ValidationError) as caught:
            item_save(organization=org, actor=manager, data={**base, **change})
        assert field in caught.value.message_dict, change
    item = item_save(organization=org, actor=manager, data=base)
    assert item.tracks_serials
    with pytest.raises(ValidationError) as caught:
        pack_add(item=item, name="half", quantity=D("0.5"), actor=manager)
    assert "whole units" in caught.value.message_dict["quantity"][0]


def test_serial_tracking_changes_only_while_nothing_is_on_hand(org, place, manager):
    gauze = ItemFactory(organization=org, name="Gauze")
    stock_receive(item=gauze, stock_location=place, quantity=D(10), actor=manager)
    data = {"name": "Gauze", "kind": ItemKind.CLINICAL_SUPPLY, "base_unit": "each", "price": D("0.10"),
            "tracks_serials": True}
    with pytest.raises(ValidationError) as caught:
        item_save(organization=org, actor=manager, item=gauze, data=data)
    assert "Gauze has stock on hand" in caught.value.message_dict["tracks_serials"][0]
    gauze.refresh_from_db()
    assert not gauze.tracks_serials
    stock_consume(item=gauze, stock_location=place, quantity=D(10), actor=manager)
    assert item_save(organization=org, actor=manager, item=gauze, data=data).tracks_serials


def test_a_receipt_posts_inventory_against_payables_per_serial(org, place, brace, nurse):
    movements = receive(brace, place, ["KB-1", "KB-2"], actor=nurse, unit_cost=D("60.00"))
    assert [m.value for m in movements] == [D("60.00"), D("60.00")]
    lines = [line for m in movements for line in m.journal_entry.lines.all()]
    assert sum(line.amount for line in lines if line.account.role == AccountRole.INVENTORY) == D("120.00")
    assert sum(line.amount for line in lines if line.account.role == AccountRole.ACCOUNTS_PAYABLE) == D("-120.00")
