from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum

from clinicdesk.core.models import AuditEvent
from clinicdesk.ledger.choices import AccountRole
from clinicdesk.ledger.models import JournalEntry, JournalLine
from clinicdesk.patients.tests.factories import PatientFactory

from ..choices import ItemKind, MovementKind, Valuation
from ..models import StockBalance, StockMovement
from ..services.items import item_save, pack_add, quantity_in_base
from ..services.stock import (
    cycle_count_post,
    stock_adjust,
    stock_consume,
    stock_receive,
    stock_remove,
    stock_transfer,
)
from .factories import ItemFactory, StockLocationFactory, make_gtin

TODAY = date.today()
D = Decimal


@pytest.fixture
def place(org):
    return StockLocationFactory(organization=org, name="Supply room")


def on_hand(item, place=None) -> Decimal:
    rows = StockBalance.objects.filter(item=item)
    if place is not None:
        rows = rows.filter(stock_location=place)
    return rows.aggregate(t=Sum("on_hand"))["t"] or D(0)


def balance_of(org, role) -> Decimal:
    return JournalLine.objects.filter(entry__organization=org, account__role=role).aggregate(
        t=Sum("amount"))["t"] or D(0)


def test_receipt_adds_stock_and_posts_inventory_against_payables(org, place, nurse):
    item = ItemFactory(organization=org, price=D("0.25"))
    movement = stock_receive(item=item, stock_location=place, quantity=D(200), actor=nurse)
    assert on_hand(item) == 200 and movement.kind == MovementKind.RECEIPT
    assert movement.value == D("50.00") and movement.location_on_hand_after == 200
    assert balance_of(org, AccountRole.INVENTORY) == D("50.00")
    assert balance_of(org, AccountRole.ACCOUNTS_PAYABLE) == D("-50.00")
    assert AuditEvent.objects.filter(action="inventory.received", organization_id=org.pk).count() == 1


def test_use_is_charged_to_the_stock_locations_department(org, place, nurse):
    item = ItemFactory(organization=org, price=D("0.50"))
    stock_receive(item=item, stock_location=place, quantity=D(10), actor=nurse)
    [used] = stock_consume(item=item, stock_location=place, quantity=D(4), actor=nurse)
    assert on_hand(item) == 6 and used.value == D("-2.00")
    expense = JournalLine.objects.get(entry=used.journal_entry, account__role=AccountRole.SUPPLIES_EXPENSE)
    assert expense.amount == D("2.00") and expense.department_id == place.department_id
    assert balance_of(org, AccountRole.INVENTORY) == D("3.00")


def test_using_more_than_is_on_hand_is_refused_and_posts_nothing(org, place, nurse):
    item = ItemFactory(organization=org)
    stock_receive(item=item, stock_location=place, quantity=D(3), actor=nurse)
    entries = JournalEntry.objects.count()
    with pytest.raises(ValidationError) as caught:
        stock_consume(item=item, stock_location=place, quantity=D(5), actor=nurse)
    assert "quantity" in caught.value.message_dict and "Only 3" in caught.value.message_dict["quantity"][0]
    assert on_hand(item) == 3 and JournalEntry.objects.count() == entries
    assert StockMovement.objects.filter(kind=MovementKind.CONSUMPTION).count() == 0


def test_an_item_that_allows_it_goes_negative(org, place, nurse):
    item = ItemFactory(organization=org, allow_negative=True, price=D("1.00"))
    stock_consume(item=item, stock_location=place, quantity=D(2), actor=nurse)
    assert on_hand(item) == -2
    assert balance_of(org, AccountRole.INVENTORY) == D("-2.00")


def test_the_database_refuses_a_negative_balance_for_an_item_that_does_not_allow_it(org, place, nurse):
    item = ItemFactory(organization=org)
    stock_receive(item=item, stock_location=place, quantity=D(1), actor=nurse)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockBalance.objects.filter(item=item).update(on_hand=D(-1))


def test_stock_movements_are_never_changed(org, place, nurse):
    item = ItemFactory(organization=org)
    movement = stock_receive(item=item, stock_location=place, quantity=D(1), actor=nurse)
    movement.reason = "changed"
    with pytest.raises(PermissionError):
        movement.save()
    with pytest.raises(PermissionError):
        movement.delete()
    with pytest.raises(Exception, match="never changed"), transaction.atomic():
        StockMovement.objects.filter(pk=movement.pk).update(reason="changed")


def test_use_takes_the_first_expiring_lot_and_skips_expired_ones(org, place, nurse):
    vaccine = ItemFactory(organization=org, kind=ItemKind.VACCINE, tracks_lots=True, base_unit="dose")
    stock_receive(item=vaccine, stock_location=place, quantity=D(5), actor=nurse, lot_number="LATE",
                  expires_on=TODAY + timedelta(days=200))
    stock_receive(item=vaccine, stock_location=place, quantity=D(2), actor=nurse, lot_number="SOON",
                  expires_on=TODAY + timedelta(days=20))
    stock_receive(item=vaccine, stock_location=place, quantity=D(9), actor=nurse, lot_number="OLD",
                  expires_on=TODAY - timedelta(days=1), confirm_expired=True)
    used = stock_consume(item=vaccine, stock_location=place, quantity=D(3), actor=nurse)
    assert [(m.lot.number, m.quantity) for m in used] == [("SOON", D(-2)), ("LATE", D(-1))]
    with pytest.raises(ValidationError) as caught:
        stock_consume(item=vaccine, stock_location=place, quantity=D(5), actor=nurse)
    assert "Only 4" in caught.value.message_dict["quantity"][0]  # the 9 expired doses are not usable


def test_an_expired_lot_is_received_only_when_confirmed(org, place, nurse):
    vaccine = ItemFactory(organization=org, kind=ItemKind.VACCINE, tracks_lots=True)
    with pytest.raises(ValidationError) as caught:
        stock_receive(item=vaccine, stock_location=place, quantity=D(1), actor=nurse, lot_number="X",
                      expires_on=TODAY - timedelta(days=3))
    assert "expires_on" in caught.value.message_dict and on_hand(vaccine) == 0
    stock_receive(item=vaccine, stock_location=place, quantity=D(1), actor=nurse, lot_number="X",
                  expires_on=TODAY - timedelta(days=3), confirm_expired=True)
    assert on_hand(vaccine) == 1


def test_a_lot_tracked_item_needs_its_lot_and_expiry(org, place, nurse):
    vaccine = ItemFactory(organization=org, kind=ItemKind.VACCINE, tracks_lots=True)
    with pytest.raises(ValidationError) as caught:
        stock_receive(item=vaccine, stock_location=place, quantity=D(1), actor=nurse)
    assert "lot_number" in caught.value.message_dict


def test_fifo_costs_use_from_the_oldest_receipts(org, place, nurse):
    item = ItemFactory(organization=org, valuation=Valuation.FIFO)
    stock_receive(item=item, stock_location=place, quantity=D(10), actor=nurse, unit_cost=D("1.00"))
    stock_receive(item=item, stock_location=place, quantity=D(10), actor=nurse, unit_cost=D("2.00"))
    [used] = stock_consume(item=item, stock_location=place, quantity=D(15), actor=nurse)
    assert used.value == D("-20.00")  # 10 at 1.00 + 5 at 2.00
    assert balance_of(org, AccountRole.INVENTORY) == D("10.00")  # 5 left at 2.00


def test_moving_average_costs_use_at_the_running_average(org, place, nurse):
    item = ItemFactory(organization=org, valuation=Valuation.MOVING_AVERAGE)
    stock_receive(item=item, stock_location=place, quantity=D(10), actor=nurse, unit_cost=D("1.00"))
    stock_receive(item=item, stock_location=place, quantity=D(10), actor=nurse, unit_cost=D("2.00"))
    item.refresh_from_db()
    assert item.average_cost == D("1.5000")
    [used] = stock_consume(item=item, stock_location=place, quantity=D(5), actor=nurse)
    assert used.value == D("-7.50")


def test_pack_quantities_convert_to_base_units_and_an_unknown_unit_names_the_field(org, nurse):
    item = ItemFactory(organization=org)
    pack_add(item=item, name="box", quantity=D(100), gtin=make_gtin(7), actor=nurse)
    assert quantity_in_base(item=item, quantity="2", unit="Box") == 200
    assert quantity_in_base(item=item, quantity="3", unit="") == 3
    with pytest.raises(ValidationError) as caught:
        quantity_in_base(item=item, quantity="1", unit="pallet")
    assert "unit" in caught.value.message_dict and "box" in caught.value.message_dict["unit"][0]


def test_a_barcode_is_on_one_pack_only_and_its_check_digit_is_verified(org, nurse):
    item = ItemFactory(organization=org)
    pack_add(item=item, name="box", quantity=D(100), gtin=make_gtin(8), actor=nurse)
    with pytest.raises(ValidationError, match="already"):
        pack_add(item=ItemFactory(organization=org), name="box", quantity=D(10), gtin=make_gtin(8), actor=nurse)
    with pytest.raises(ValidationError, match="check digit"):
        pack_add(item=item, name="case", quantity=D(1000), gtin=make_gtin(9)[:-1] + "0"
                 if make_gtin(9)[-1] != "0" else make_gtin(9)[:-1] + "1", actor=nurse)


def test_item_ndc_is_normalised_and_unique(org, nurse):
    data = {"name": "Ondansetron 4 mg", "kind": ItemKind.MEDICATION, "base_unit": "tablet", "ndc": "1234-5678-90",
            "price": D("0.30"), "valuation": Valuation.FIFO}
    item = item_save(organization=org, actor=nurse, data=data)
    assert item.ndc == "01234567890"
    with pytest.raises(ValidationError) as caught:
        item_save(organization=org, actor=nurse, data={**data, "name": "Other", "ndc": "01234-5678-90"})
    assert "ndc" in caught.value.message_dict


def test_transfer_moves_a_lot_without_value(org, place, nurse):
    fridge = StockLocationFactory(organization=org, name="Fridge")
    item = ItemFactory(organization=org)
    received = stock_receive(item=item, stock_location=place, quantity=D(10), actor=nurse)
    entries = JournalEntry.objects.count()
    stock_transfer(item=item, from_location=place, to_location=fridge, lot=received.lot, quantity=D(4), actor=nurse)
    assert on_hand(item, place) == 6 and on_hand(item, fridge) == 4 and JournalEntry.objects.count() == entries


def test_waste_needs_a_reason_and_a_return_credits_payables(org, place, nurse):
    item = ItemFactory(organization=org, price=D("1.00"))
    lot = stock_receive(item=item, stock_location=place, quantity=D(10), actor=nurse).lot
    with pytest.raises(ValidationError) as caught:
        stock_remove(item=item, stock_location=place, lot=lot, quantity=D(1), kind=MovementKind.WASTE, reason="",
                     actor=nurse)
    assert "reason" in caught.value.message_dict
    stock_remove(item=item, stock_location=place, lot=lot, quantity=D(3), kind=MovementKind.RETURN, reason="Damaged",
                 actor=nurse)
    assert balance_of(org, AccountRole.ACCOUNTS_PAYABLE) == D("-7.00") and on_hand(item) == 7


def test_a_cycle_count_posts_its_variances(org, place, nurse):
    item = ItemFactory(organization=org, price=D("2.00"))
    lot = stock_receive(item=item, stock_location=place, quantity=D(10), actor=nurse).lot
    [variance] = cycle_count_post(stock_location=place, counts=[(lot, D(7))], actor=nurse)
    assert variance.kind == MovementKind.CYCLE_COUNT and variance.quantity == -3 and on_hand(item) == 7
    assert balance_of(org, AccountRole.SUPPLIES_EXPENSE) == D("6.00")
    assert cycle_count_post(stock_location=place, counts=[(lot, D(7))], actor=nurse) == []
    with pytest.raises(ValidationError, match="Row 1"):
        cycle_count_post(stock_location=place, counts=[(lot, D(-1))], actor=nurse)


def test_found_stock_is_an_adjustment_into_inventory(org, place, nurse):
    item = ItemFactory(organization=org, price=D("2.00"))
    lot = stock_receive(item=item, stock_location=place, quantity=D(1), actor=nurse).lot
    stock_adjust(item=item, stock_location=place, lot=lot, quantity=D(2), reason="Found in room 3", actor=nurse)
    assert on_hand(item) == 3 and balance_of(org, AccountRole.INVENTORY) == D("6.00")


def test_use_for_a_patient_is_audited_with_the_patient(org, place, nurse):
    patient = PatientFactory(organization=org)
    item = ItemFactory(organization=org)
    stock_receive(item=item, stock_location=place, quantity=D(1), actor=nurse)
    stock_consume(item=item, stock_location=place, quantity=D(1), actor=nurse, patient=patient, encounter_ref="E-1")
    event = AuditEvent.objects.get(action="inventory.used")
    assert event.patient_id == patient.pk


def test_another_practices_location_or_patient_is_refused(org, other_org, place, nurse):
    item = ItemFactory(organization=org)
    with pytest.raises(ValidationError) as caught:
        stock_receive(item=item, stock_location=StockLocationFactory(organization=other_org), quantity=D(1), actor=nurse)
    assert "stock_location" in caught.value.message_dict
    stock_receive(item=item, stock_location=place, quantity=D(1), actor=nurse)
    with pytest.raises(ValidationError) as caught:
        stock_consume(item=item, stock_location=place, quantity=D(1), actor=nurse,
                      patient=PatientFactory(organization=other_org))
    assert "patient" in caught.value.message_dict


@pytest.mark.django_db(transaction=True)
def test_concurrent_users_never_oversell(org):
    """Twelve threads each use one of ten units at once: ten succeed, two are refused, on hand ends at zero."""
    if connection.vendor != "postgresql":
        pytest.skip("Row locks under concurrent transactions are tested on PostgreSQL (SQLite serialises writers).")
    import threading

    from django.db import close_old_connections

    place = StockLocationFactory(organization=org)
    item = ItemFactory(organization=org)
    stock_receive(item=item, stock_location=place, quantity=D(10), actor=None)
    start = threading.Barrier(12)
    results: list[str] = []

    def consume():
        try:
            start.wait()
            stock_consume(item=item, stock_location=place, quantity=D(1), actor=None)
            results.append("ok")
        except ValidationError:
            results.append("refused")
        finally:
            close_old_connections()

    threads = [threading.Thread(target=consume) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["ok"] * 10 + ["refused"] * 2
    assert on_hand(item) == 0
    assert StockMovement.objects.filter(item=item, kind=MovementKind.CONSUMPTION).count() == 10
