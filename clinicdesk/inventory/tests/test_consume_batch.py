"""Many uses of stock in one transaction: the same rules and postings as one use at a time, refused as a whole."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Sum

from clinicdesk.core.models import AuditEvent, Organization
from clinicdesk.ledger.choices import AccountRole
from clinicdesk.ledger.models import JournalEntry, JournalLine
from clinicdesk.patients.tests.factories import PatientFactory

from ..choices import MovementKind, Valuation
from ..models import CostLayer, StockBalance, StockMovement
from ..services.stock import StockUse, stock_consume, stock_consume_batch, stock_receive
from .factories import ItemFactory, StockLocationFactory

TODAY = date.today()
D = Decimal


@pytest.fixture
def rooms(org):
    return StockLocationFactory(organization=org, name="Room A"), StockLocationFactory(organization=org, name="Room B")


def on_hand(item, place) -> Decimal:
    return StockBalance.objects.filter(item=item, stock_location=place).aggregate(t=Sum("on_hand"))["t"] or D(0)


def account_total(org, role) -> Decimal:
    return JournalLine.objects.filter(entry__organization=org, account__role=role).aggregate(t=Sum("amount"))["t"] or D(0)


def test_a_batch_posts_each_use_like_one_use_at_a_time(org, rooms, nurse):
    room_a, room_b = rooms
    gloves = ItemFactory(organization=org, name="Gloves", price=D("0.10"))
    vaccine = ItemFactory(organization=org, name="Flu vaccine", tracks_lots=True, price=D("12.00"))
    stock_receive(item=gloves, stock_location=room_a, quantity=D(100), actor=nurse)
    stock_receive(item=gloves, stock_location=room_b, quantity=D(50), actor=nurse)
    # two lots: the one expiring first is used first, and the second use of the batch sees what the first took
    stock_receive(item=vaccine, stock_location=room_a, quantity=D(2), actor=nurse, lot_number="LATE",
                  expires_on=TODAY + timedelta(days=200))
    stock_receive(item=vaccine, stock_location=room_a, quantity=D(2), actor=nurse, lot_number="SOON",
                  expires_on=TODAY + timedelta(days=20))
    ada, ben = PatientFactory(organization=org), PatientFactory(organization=org)
    entries_before = JournalEntry.objects.count()

    made = stock_consume_batch(actor=nurse, uses=[
        StockUse(item=gloves, stock_location=room_a, quantity=D(30)),
        StockUse(item=vaccine, stock_location=room_a, quantity=D(1), patient=ada, encounter_ref="E1"),
        StockUse(item=gloves, stock_location=room_b, quantity=D(5)),
        StockUse(item=vaccine, stock_location=room_a, quantity=D(2), patient=ben, encounter_ref="E2"),
        StockUse(item=gloves, stock_location=room_a, quantity=D(20)),
    ])

    assert on_hand(gloves, room_a) == 50 and on_hand(gloves, room_b) == 45 and on_hand(vaccine, room_a) == 1
    # Ben's two doses: the last of SOON, then one of LATE (two movements, one per lot)
    assert [(m.lot.number, m.quantity, m.patient_id) for m in made if m.item_id == vaccine.pk] == [
        ("SOON", D(-1), ada.pk), ("SOON", D(-1), ben.pk), ("LATE", D(-1), ben.pk)]
    # the on hand after each movement follows the batch's order
    assert [m.location_on_hand_after for m in made if m.item_id == gloves.pk] == [D(70), D(45), D(50)]
    assert StockMovement.objects.filter(kind=MovementKind.CONSUMPTION).count() == 6
    # one balanced entry per movement, against the department of the place the stock was used in
    assert JournalEntry.objects.count() == entries_before + 6
    for movement in StockMovement.objects.filter(kind=MovementKind.CONSUMPTION).select_related("journal_entry"):
        lines = list(movement.journal_entry.lines.all())
        assert sum(line.amount for line in lines) == 0
        expense = next(line for line in lines if line.amount > 0)
        assert expense.amount == -movement.value and expense.department_id == movement.stock_location.department_id
    assert account_total(org, AccountRole.SUPPLIES_EXPENSE) == D("3.00") + D("0.50") + D("2.00") + D("36.00")
    assert AuditEvent.objects.filter(action="inventory.used", organization_id=org.pk).count() == 6
    assert AuditEvent.objects.filter(action="inventory.used", patient_id=ben.pk).count() == 2


def test_one_use_short_refuses_the_whole_batch_naming_it(org, rooms, nurse):
    room_a, _ = rooms
    gloves = ItemFactory(organization=org, name="Gloves")
    gauze = ItemFactory(organization=org, name="Gauze")
    stock_receive(item=gloves, stock_location=room_a, quantity=D(10), actor=nurse)
    stock_receive(item=gauze, stock_location=room_a, quantity=D(3), actor=nurse)
    counts = (StockMovement.objects.count(), JournalEntry.objects.count(), AuditEvent.objects.count(),
              list(CostLayer.objects.order_by("pk").values_list("remaining", flat=True)))

    with pytest.raises(ValidationError) as caught:
        stock_consume_batch(actor=nurse, uses=[
            StockUse(item=gloves, stock_location=room_a, quantity=D(4)),
            StockUse(item=gauze, stock_location=room_a, quantity=D(2)),
            StockUse(item=gauze, stock_location=room_a, quantity=D(2)),  # only one left after the use before
        ])
    message = caught.value.message_dict["quantity"][0]
    assert message.startswith("Use 3: Only 1 each of Gauze usable in Room A")
    assert on_hand(gloves, room_a) == 10 and on_hand(gauze, room_a) == 3
    assert counts == (StockMovement.objects.count(), JournalEntry.objects.count(), AuditEvent.objects.count(),
                      list(CostLayer.objects.order_by("pk").values_list("remaining", flat=True)))


@pytest.mark.parametrize(("use", "field", "text"), [
    ({"quantity": D(0)}, "quantity", "Use 2: The quantity used is more than zero."),
    ({"quantity": D("NaN")}, "quantity", "Use 2: The quantity used is more than zero."),
    ({"lot": "expired"}, "lot", "Use 2: Lot OLD expired on"),
    ({"patient": "other practice"}, "patient", "Use 2: This patient belongs to another practice."),
])
def test_bad_uses_are_refused_naming_the_use_and_field(org, rooms, nurse, use, field, text):
    room_a, _ = rooms
    item = ItemFactory(organization=org, name="Vaccine", tracks_lots=True)
    stock_receive(item=item, stock_location=room_a, quantity=D(5), actor=nurse, lot_number="OLD",
                  expires_on=TODAY - timedelta(days=3), confirm_expired=True)
    stock_receive(item=item, stock_location=room_a, quantity=D(5), actor=nurse, lot_number="NEW",
                  expires_on=TODAY + timedelta(days=90))
    kwargs = {"item": item, "stock_location": room_a, "quantity": D(1)}
    if use.get("lot") == "expired":
        kwargs["lot"] = item.lots.get(number="OLD")
    elif use.get("patient"):
        other = Organization.objects.create(name="Elsewhere", slug="elsewhere", mrn_prefix="EL")
        kwargs["patient"] = PatientFactory(organization=other)
    else:
        kwargs.update(use)
    movements = StockMovement.objects.count()
    with pytest.raises(ValidationError) as caught:
        stock_consume_batch(actor=nurse, uses=[StockUse(item=item, stock_location=room_a, quantity=D(1)),
                                               StockUse(**kwargs)])
    assert caught.value.message_dict[field][0].startswith(text)
    assert StockMovement.objects.count() == movements and on_hand(item, room_a) == 10


def test_fifo_layers_are_taken_oldest_first_across_the_batch(org, rooms, nurse):
    room_a, room_b = rooms
    item = ItemFactory(organization=org, valuation=Valuation.FIFO, price=D("9.99"))
    stock_receive(item=item, stock_location=room_a, quantity=D(3), actor=nurse, unit_cost=D("1.00"))
    stock_receive(item=item, stock_location=room_b, quantity=D(3), actor=nurse, unit_cost=D("2.00"))
    made = stock_consume_batch(actor=nurse, uses=[StockUse(item=item, stock_location=room_b, quantity=D(2)),
                                                  StockUse(item=item, stock_location=room_a, quantity=D(2))])
    # the layers belong to the item, not the place: the first use takes two of the 1.00 layer
    assert [m.value for m in made] == [D("-2.00"), D("-3.00")]
    assert sorted(CostLayer.objects.filter(item=item).values_list("remaining", flat=True)) == [D(0), D(2)]
    assert account_total(org, AccountRole.INVENTORY) == D("9.00") - D("5.00")


def test_moving_average_and_negative_stock_in_a_batch(org, rooms, nurse):
    room_a, _ = rooms
    item = ItemFactory(organization=org, valuation=Valuation.MOVING_AVERAGE, allow_negative=True, price=D("1.00"))
    stock_receive(item=item, stock_location=room_a, quantity=D(2), actor=nurse, unit_cost=D("3.00"))
    made = stock_consume_batch(actor=nurse, uses=[StockUse(item=item, stock_location=room_a, quantity=D(1)),
                                                  StockUse(item=item, stock_location=room_a, quantity=D(3))])
    assert on_hand(item, room_a) == -2 and [m.value for m in made] == [D("-3.00"), D("-9.00")]
    assert [m.location_on_hand_after for m in made] == [D(1), D(-2)]


def test_one_batch_holds_one_practice(org, rooms, nurse):
    other = Organization.objects.create(name="Elsewhere", slug="elsewhere", mrn_prefix="EL")
    theirs = ItemFactory(organization=other)
    their_room = StockLocationFactory(organization=other)
    ours = ItemFactory(organization=org)
    with pytest.raises(ValidationError) as caught:
        stock_consume_batch(actor=nurse, uses=[StockUse(item=ours, stock_location=rooms[0], quantity=D(1)),
                                               StockUse(item=theirs, stock_location=their_room, quantity=D(1))])
    assert caught.value.message_dict["uses"] == ["Use 2: the uses of one batch belong to one practice."]


def test_an_empty_batch_changes_nothing(nurse):
    assert stock_consume_batch(actor=nurse, uses=[]) == []


@pytest.mark.django_db(transaction=True)
def test_batches_over_the_same_items_in_opposite_orders_do_not_deadlock(org):
    """Two batches and single uses at once, over the same two items named in opposite orders: every lock is taken in
    one order, so all finish and the shelf adds up."""
    if connection.vendor != "postgresql":
        pytest.skip("Row locks under concurrent transactions are tested on PostgreSQL (SQLite serialises writers).")
    import threading

    from django.db import close_old_connections

    place = StockLocationFactory(organization=org)
    first, second = ItemFactory(organization=org), ItemFactory(organization=org)
    for item in (first, second):
        stock_receive(item=item, stock_location=place, quantity=D(100), actor=None)
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def work(k: int):
        try:
            start.wait()
            for _ in range(5):
                if k % 3 == 2:
                    stock_consume(item=second if k % 2 else first, stock_location=place, quantity=D(1), actor=None)
                    continue
                pair = (first, second) if k % 2 else (second, first)
                stock_consume_batch(actor=None, uses=[StockUse(item=i, stock_location=place, quantity=D(1))
                                                      for i in pair])
        except BaseException as exc:  # noqa: BLE001  (reported by the assertion below)
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    used = StockMovement.objects.filter(kind=MovementKind.CONSUMPTION).count()
    assert used == 4 * 5 * 2 + 2 * 5
    assert on_hand(first, place) + on_hand(second, place) == 200 - used
