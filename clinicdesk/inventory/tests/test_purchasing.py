"""Purchasing: suggested orders, the order's states, the budget check at approval, partial receipts and backorders,
the vendor bill and the books, overdue orders."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import timezone

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.ledger.bills import bill_pay, vendor_for
from clinicdesk.ledger.choices import AccountRole
from clinicdesk.ledger.models import Bill, Budget, JournalEntry, JournalLine
from clinicdesk.ledger.services import account_for

from ..choices import ItemKind, MovementKind, Valuation
from ..choices import PurchaseOrderStatus as S
from ..models import CostLayer, PurchaseOrder, PurchaseReceipt, StockBalance, StockMovement
from ..selectors import overdue_orders, purchase_order_list, stock_alerts, suggested_orders
from ..services import purchasing as po
from ..services.stock import stock_consume, stock_receive
from .factories import ItemFactory, PackFactory, StockLevelFactory, StockLocationFactory, make_order

D = Decimal
TODAY = timezone.localdate()


@pytest.fixture
def place(org):
    return StockLocationFactory(organization=org, name="Main supply room")


@pytest.fixture
def gloves(gloves):
    """The gloves come in cases of 1000 too."""
    PackFactory(item=gloves, name="case", quantity=D(1000), gtin="")
    return gloves


def balance(org, role) -> Decimal:
    return JournalLine.objects.filter(entry__organization=org, account__role=role).aggregate(
        t=Sum("amount"))["t"] or D(0)


def every_entry_balances(org) -> bool:
    sums = JournalLine.objects.filter(entry__organization=org).values("entry").annotate(t=Sum("amount"))
    return all(row["t"] == 0 for row in sums)


# --- suggested orders ----------------------------------------------------------------------------------------------


def test_a_suggestion_fills_to_par_plus_a_weeks_use_in_whole_packs_and_counts_what_is_on_order(org, place, gloves,
                                                                                              manager):
    # given gloves at 150 in the room (reorder point 500, par 2000) after 300 were used in the last 30 days
    StockLevelFactory(item=gloves, stock_location=place, par_level=D(2000), reorder_point=D(500))
    stock_receive(item=gloves, stock_location=place, quantity=D(450), actor=manager, received_on=TODAY - timedelta(40))
    stock_consume(item=gloves, stock_location=place, quantity=D(300), actor=manager, used_on=TODAY - timedelta(5))
    # when
    [row] = suggested_orders(user=manager, today=TODAY)
    # then: 2000 - 150 + 70 (a week at 10 a day) = 1920: one case is not enough, so the biggest pack under the
    # need (the case) twice
    assert (row.on_hand, row.on_order, row.used) == (D(150), D(0), D(300))
    assert (row.order_unit, row.order_quantity, row.order_base) == ("case", D(2), D(2000))
    assert row.unit_price == D("80.0000") and row.total == D("160.00") and row.vendor.name == "Henry Supply"
    # and once it is on a draft order, it is no longer suggested
    po.purchase_orders_from_suggestions(organization=org, rows=[row], actor=manager)
    assert suggested_orders(user=manager, today=TODAY) == []


def test_an_item_above_its_reorder_point_or_of_another_practice_is_not_suggested(org, other_org, place, gloves,
                                                                                 manager):
    StockLevelFactory(item=gloves, stock_location=place, par_level=D(100), reorder_point=D(20))
    stock_receive(item=gloves, stock_location=place, quantity=D(21), actor=manager)
    far = StockLocationFactory(organization=other_org)
    StockLevelFactory(item=ItemFactory(organization=other_org), stock_location=far)
    assert suggested_orders(user=manager, today=TODAY) == []


def test_drafting_from_suggestions_makes_one_order_per_vendor_and_refuses_an_item_without_a_vendor(org, place, gloves,
                                                                                                   manager):
    paper = ItemFactory(organization=org, name="Copy paper", preferred_vendor=vendor_for(organization=org,
                                                                                         name="Staples"))
    loose = ItemFactory(organization=org, name="Loose item")
    for item in (gloves, paper, loose):
        StockLevelFactory(item=item, stock_location=place, par_level=D(10), reorder_point=D(5))
    rows = suggested_orders(user=manager, today=TODAY)
    with pytest.raises(ValidationError, match="Loose item has no preferred vendor"):
        po.purchase_orders_from_suggestions(organization=org, rows=rows, actor=manager)
    assert not PurchaseOrder.objects.exists()
    orders = po.purchase_orders_from_suggestions(organization=org, rows=[r for r in rows if r.vendor], actor=manager)
    assert sorted(o.vendor.name for o in orders) == ["Henry Supply", "Staples"]
    assert all(o.status == S.DRAFT for o in orders)


# --- creating an order ---------------------------------------------------------------------------------------------


def test_an_order_number_is_unique_in_the_practice_and_numbers_follow_on(org, other_org, place, gloves, manager):
    first = make_order(org=org, place=place, actor=manager)
    second = make_order(org=org, place=place, actor=manager)
    year = TODAY.year
    assert (first.number, second.number) == (f"PO-{year}-0001", f"PO-{year}-0002")
    with pytest.raises(ValidationError) as caught:
        make_order(org=org, place=place, actor=manager, number=f"po-{year}-0001")
    assert "already exists" in caught.value.message_dict["number"][0]
    # another practice may use the same number
    assert make_order(org=other_org, actor=None, number=first.number).number == first.number


def test_a_unit_that_does_not_convert_names_the_line_and_nothing_is_saved(org, place, gloves, manager):
    gauze = ItemFactory(organization=org, name="Gauze")
    with pytest.raises(ValidationError) as caught:
        make_order(org=org, place=place, actor=manager, lines=[
            po.LineIn(item=gloves, quantity=D(1), unit="box"), po.LineIn(item=gauze, quantity=D(2), unit="crate")])
    assert caught.value.message_dict == {"line_2_unit": ["Line 2 (Gauze): Gauze does not come in 'crate': use one "
                                                         "of each."]}
    assert not PurchaseOrder.objects.exists()


@pytest.mark.parametrize("quantity", [D(0), D(-1), "NaN", "lots"])
def test_a_bad_quantity_names_the_line(org, place, gloves, manager, quantity):
    with pytest.raises(ValidationError) as caught:
        make_order(org=org, place=place, actor=manager, lines=[po.LineIn(item=gloves, quantity=quantity)])
    assert list(caught.value.message_dict) == ["line_1_quantity"]


def test_another_practices_item_or_stock_location_is_refused(org, other_org, place, manager):
    with pytest.raises(ValidationError, match="another practice"):
        make_order(org=org, place=place, actor=manager, lines=[po.LineIn(item=ItemFactory(organization=other_org),
                                                                         quantity=D(1))])
    with pytest.raises(ValidationError) as caught:
        make_order(org=org, place=StockLocationFactory(organization=other_org), actor=manager)
    assert "stock_location" in caught.value.message_dict


# --- the states ----------------------------------------------------------------------------------------------------


def test_the_order_moves_from_draft_to_closed_and_never_back(org, place, gloves, manager, approver):
    order = make_order(org=org, place=place, actor=manager, lines=[po.LineIn(item=gloves, quantity=D(2), unit="box")])
    with pytest.raises(ValidationError, match="draft cannot be approved"):
        po.purchase_order_approve(order=order, actor=manager)
    po.purchase_order_submit(order=order, actor=manager)
    with pytest.raises(ValidationError, match="awaiting approval cannot be received"):
        po.purchase_order_receive(order=order, actor=manager, receipts=[
            po.ReceiptIn(line=order.lines.get(), quantity=D(1))])
    po.purchase_order_approve(order=order, actor=approver)
    po.purchase_order_send(order=order, actor=manager)
    order.refresh_from_db()
    assert order.status == S.SENT and order.ordered_on == TODAY
    po.purchase_order_receive(order=order, actor=manager, receipts=[po.ReceiptIn(line=order.lines.get(),
                                                                                 quantity=D(2))])
    order.refresh_from_db()
    assert order.status == S.RECEIVED
    with pytest.raises(ValidationError, match="received cannot be changed"):
        po.purchase_order_update(order=order, actor=manager, vendor=order.vendor, stock_location=place, lines=[])
    with pytest.raises(ValidationError, match="received cannot be cancelled"):
        po.purchase_order_cancel(order=order, actor=manager, reason="changed my mind")
    po.purchase_order_close(order=order, actor=manager)
    order.refresh_from_db()
    assert order.status == S.CLOSED
    actions = list(AuditEvent.objects.filter(organization_id=org.pk, action__startswith="inventory.po_")
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["inventory.po_created", "inventory.po_submitted", "inventory.po_approved", "inventory.po_sent",
                       "inventory.po_received", "inventory.po_closed"]


def test_a_cancelled_order_needs_a_reason(org, place, manager):
    order = make_order(org=org, place=place, actor=manager)
    with pytest.raises(ValidationError) as caught:
        po.purchase_order_cancel(order=order, actor=manager, reason="  ")
    assert "reason" in caught.value.message_dict
    po.purchase_order_cancel(order=order, actor=manager, reason="Ordered by phone instead")
    assert PurchaseOrder.objects.get().status == S.CANCELLED


def test_sending_with_an_email_puts_the_order_in_the_outbox(org, place, manager):
    from clinicdesk.communications.models import Message

    order = make_order(org=org, place=place, actor=manager, status="approved")
    po.purchase_order_send(order=order, actor=manager, vendor_email="orders@henry.example", subject="PO",
                           text=f"Purchase order {order.number}: 3 box Gauze pads")
    message = Message.objects.get()
    assert message.to_address == "orders@henry.example" and order.number in message.body
    assert PurchaseOrder.objects.get().vendor_email == "orders@henry.example"


def test_a_new_order_takes_its_vendors_email_unless_it_names_another(org, place, gloves, manager):
    # given Henry Supply orders go to orders@henry.example
    from clinicdesk.ledger.vendors import vendor_save

    vendor_save(organization=org, actor=manager, vendor=gloves.preferred_vendor, name="Henry Supply",
                email="orders@henry.example")
    lines = [po.LineIn(item=gloves, quantity=D(1), unit="box")]
    # when orders are drafted from the suggestions, without an address and with one
    StockLevelFactory(item=gloves, stock_location=place, par_level=D(10), reorder_point=D(5))
    [suggested] = po.purchase_orders_from_suggestions(organization=org, actor=manager,
                                                      rows=suggested_orders(user=manager, today=TODAY))
    plain = make_order(org=org, place=place, actor=manager, lines=lines)
    named = po.purchase_order_create(organization=org, vendor=gloves.preferred_vendor, stock_location=place,
                                     lines=lines, actor=manager, vendor_email="rush@henry.example")
    # then each without its own address takes the vendor's
    assert (plain.vendor_email, named.vendor_email, suggested.vendor_email) == (
        "orders@henry.example", "rush@henry.example", "orders@henry.example")
    # and a vendor without an address leaves it empty
    assert make_order(org=org, place=place, actor=manager, vendor_name="Staples", lines=lines).vendor_email == ""


def test_a_bad_vendor_email_is_named_and_the_order_stays_approved(org, place, manager):
    order = make_order(org=org, place=place, actor=manager, status="approved")
    with pytest.raises(ValidationError) as caught:
        po.purchase_order_send(order=order, actor=manager, vendor_email="not an address", text="x")
    assert "vendor_email" in caught.value.message_dict
    assert PurchaseOrder.objects.get().status == S.APPROVED


def test_whoever_raised_an_order_may_not_approve_it_and_another_manager_does(org, place, gloves, manager,
                                                                              approver, make_user):
    # given an order created by the office manager and sent for approval by another manager
    submitter = make_user(Role.OFFICE_MANAGER, username="grace")
    order = make_order(org=org, place=place, actor=manager, lines=[po.LineIn(item=gloves, quantity=D(2), unit="box")])
    po.purchase_order_submit(order=order, actor=submitter)
    # when its creator, then its submitter, approves it: refused, naming the field, and nothing changes
    for who in (manager, submitter):
        with pytest.raises(ValidationError) as caught:
            po.purchase_order_approve(order=order, actor=who, override_reason="in a hurry")
        assert caught.value.message_dict == {"approved_by": ["An order is approved by someone other than who "
                                                             "raised it."]}
    order.refresh_from_db()
    assert (order.status, order.approved_by, order.approved_at, order.budget_note) == (S.AWAITING_APPROVAL, None,
                                                                                       None, "")
    assert order.submitted_by == submitter
    assert not AuditEvent.objects.filter(action__in=["inventory.po_approved", "inventory.po_budget_override"]).exists()
    # then a third manager approves it
    po.purchase_order_approve(order=order, actor=approver)
    order.refresh_from_db()
    assert order.status == S.APPROVED and order.approved_by == approver
    assert AuditEvent.objects.get(action="inventory.po_approved").actor_id == approver.pk


# --- the budget ----------------------------------------------------------------------------------------------------


def _budget(org, place, amount: str) -> Budget:
    return Budget.objects.create(organization=org, department=place.department, month=TODAY.replace(day=1),
                                 account=account_for(org, AccountRole.SUPPLIES_EXPENSE), amount=D(amount))


def test_within_budget_the_order_is_approved_with_the_check_noted(org, place, gloves, manager, approver):
    _budget(org, place, "100.00")
    order = make_order(org=org, place=place, actor=manager, status="awaiting_approval",
                       lines=[po.LineIn(item=gloves, quantity=D(5), unit="box")])  # 40.00
    check = po.purchase_order_budget_check(order=order, actor=manager)
    assert (check.budget, check.spent, check.committed, check.remaining, check.over_by) == (
        D("100.00"), D(0), D(0), D("100.00"), D(0))
    po.purchase_order_approve(order=order, actor=approver)
    order.refresh_from_db()
    assert order.status == S.APPROVED and "left $100.00" in order.budget_note and not order.override_reason


def test_over_budget_counting_spending_and_other_orders_needs_a_managers_reason(org, place, gloves, manager,
                                                                                approver, make_user):
    # given a 100.00 budget: 20.00 spent (gloves used), 48.00 on another order approved this month
    _budget(org, place, "100.00")
    stock_receive(item=gloves, stock_location=place, quantity=D(250), actor=manager)
    stock_consume(item=gloves, stock_location=place, quantity=D(250), actor=manager)
    make_order(org=org, place=place, actor=manager, status="approved",
               lines=[po.LineIn(item=gloves, quantity=D(6), unit="box")])
    order = make_order(org=org, place=place, actor=manager, status="awaiting_approval",
                       lines=[po.LineIn(item=gloves, quantity=D(5), unit="box")])
    # when the check is made: 100 - 20 - 48 = 32 left, the order is 40
    check = po.purchase_order_budget_check(order=order, actor=manager)
    assert (check.spent, check.committed, check.remaining, check.over_by) == (D("20.00"), D("48.00"), D("32.00"),
                                                                              D("8.00"))
    # then without a reason it is refused, naming the field, and nothing changes
    with pytest.raises(ValidationError) as caught:
        po.purchase_order_approve(order=order, actor=approver)
    assert "Over budget by $8.00" in caught.value.message_dict["override_reason"][0]
    order.refresh_from_db()
    assert order.status == S.AWAITING_APPROVAL
    # and a nurse's override is refused; a manager's with a reason is kept and audited
    nurse = make_user(Role.NURSE, username="nurse9")
    with pytest.raises(ValidationError, match="only a manager"):
        po.purchase_order_approve(order=order, actor=nurse, override_reason="flu season")
    po.purchase_order_approve(order=order, actor=approver, override_reason="Flu season: gloves run out")
    order.refresh_from_db()
    assert order.status == S.APPROVED and order.override_reason == "Flu season: gloves run out"
    event = AuditEvent.objects.get(action="inventory.po_budget_override")
    assert event.actor_id == approver.pk and "$8.00 over budget" in event.summary


def test_stock_received_on_an_approved_order_and_used_counts_once(org, place, gloves, manager):
    # given a 100.00 budget and an order for 6 boxes (48.00) approved this month, 4 boxes (32.00) of it received
    # and 250 of those gloves (20.00) used
    _budget(org, place, "100.00")
    first = make_order(org=org, place=place, actor=manager, status="approved",
                       lines=[po.LineIn(item=gloves, quantity=D(6), unit="box")])
    po.purchase_order_receive(order=first, actor=manager, receipts=[po.ReceiptIn(line=first.lines.get(),
                                                                                 quantity=D(4))])
    stock_consume(item=gloves, stock_location=place, quantity=D(250), actor=manager)
    order = make_order(org=org, place=place, actor=manager, status="awaiting_approval",
                       lines=[po.LineIn(item=gloves, quantity=D(5), unit="box")])
    # when the check is made
    check = po.purchase_order_budget_check(order=order, actor=manager)
    # then the gloves used are spent, only the 2 boxes still to come are on order: 100 - 20 - 16 = 64 left
    # (counting the whole first order as well would leave 32 and put this 40.00 order over budget)
    assert (check.spent, check.committed, check.remaining, check.over_by) == (D("20.00"), D("16.00"), D("64.00"),
                                                                              D(0))
    # and once the rest arrives nothing of that order is still to come
    po.purchase_order_receive(order=first, actor=manager, receipts=[po.ReceiptIn(line=first.lines.get(),
                                                                                 quantity=D(2))])
    assert po.purchase_order_budget_check(order=order, actor=manager).committed == 0


def test_no_budget_for_the_month_is_noted_and_does_not_block(org, place, manager):
    order = make_order(org=org, place=place, actor=manager, status="approved")
    assert "has no supplies budget" in order.budget_note


# --- receiving -----------------------------------------------------------------------------------------------------


@pytest.fixture
def vaccine(org):
    item = ItemFactory(organization=org, name="Flu vaccine", kind=ItemKind.VACCINE, tracks_lots=True,
                       base_unit="dose", price=D("18.50"), valuation=Valuation.FIFO)
    PackFactory(item=item, name="box", quantity=D(10))
    return item


def test_partly_received_with_lot_and_expiry_then_the_backorder_arrives(org, place, gloves, vaccine, manager):
    # given 10 boxes of gloves at 7.50 a box and 4 boxes of vaccine at 180.00 a box
    order = make_order(org=org, place=place, actor=manager, status="approved", lines=[
        po.LineIn(item=gloves, quantity=D(10), unit="box", unit_price=D("7.50")),
        po.LineIn(item=vaccine, quantity=D(4), unit="box", unit_price=D("180.00"))])
    glove_line, vaccine_line = order.lines.order_by("position")
    expires = TODAY + timedelta(days=200)
    later = TODAY + timedelta(days=10)
    # when 6 boxes of gloves and 2 boxes of vaccine (lot FLU-1) arrive
    made = po.purchase_order_receive(order=order, actor=manager, expected_on=later, receipts=[
        po.ReceiptIn(line=glove_line, quantity=D(6)),
        po.ReceiptIn(line=vaccine_line, quantity=D(2), lot_number="FLU-1", expires_on=expires)])
    # then the stock ledger has the receipts at the ordered cost, the rest is on backorder
    order.refresh_from_db()
    assert order.status == S.PARTLY_RECEIVED and order.expected_on == later
    assert [(r.quantity, r.value) for r in made] == [(D(600), D("45.00")), (D(20), D("360.00"))]
    movement = StockMovement.objects.get(item=vaccine)
    assert movement.kind == MovementKind.RECEIPT and movement.lot.number == "FLU-1" and movement.lot.expires_on == expires
    assert CostLayer.objects.get(item=vaccine).unit_cost == D("18.0000")
    glove_line.refresh_from_db()
    assert glove_line.outstanding == D(400)
    assert list(purchase_order_list(user=manager, status="backorder")) == [order]
    # and when the backorder arrives the order is received
    po.purchase_order_receive(order=order, actor=manager, receipts=[
        po.ReceiptIn(line=glove_line, quantity=D(4)),
        po.ReceiptIn(line=vaccine_line, quantity=D(20), unit="dose", lot_number="FLU-2", expires_on=expires)])
    order.refresh_from_db()
    assert order.status == S.RECEIVED
    assert StockBalance.objects.filter(item=vaccine).aggregate(t=Sum("on_hand"))["t"] == D(40)
    assert balance(org, AccountRole.INVENTORY) == D("75.00") + D("720.00")


def test_receiving_more_than_ordered_names_the_line_and_posts_nothing(org, place, gloves, vaccine, manager):
    order = make_order(org=org, place=place, actor=manager, status="approved", lines=[
        po.LineIn(item=gloves, quantity=D(2), unit="box"), po.LineIn(item=vaccine, quantity=D(1), unit="box")])
    glove_line, vaccine_line = order.lines.order_by("position")
    with pytest.raises(ValidationError) as caught:
        po.purchase_order_receive(order=order, actor=manager, receipts=[
            po.ReceiptIn(line=glove_line, quantity=D(1)),
            po.ReceiptIn(line=vaccine_line, quantity=D(11), unit="dose", lot_number="A", expires_on=TODAY + timedelta(9))])
    assert caught.value.message_dict == {"line_2_quantity": ["Line 2 (Flu vaccine): 11 dose is more than the 10 still "
                                                             "to come."]}
    assert not StockMovement.objects.exists() and not JournalEntry.objects.filter(organization=org).exists()
    assert not PurchaseReceipt.objects.exists()
    glove_line.refresh_from_db()
    assert glove_line.received == 0


def test_an_expired_lot_asks_for_confirmation_on_its_line(org, place, vaccine, manager):
    order = make_order(org=org, place=place, actor=manager, status="approved",
                       lines=[po.LineIn(item=vaccine, quantity=D(1), unit="box")])
    line = order.lines.get()
    spec = po.ReceiptIn(line=line, quantity=D(1), lot_number="OLD", expires_on=TODAY - timedelta(days=1))
    with pytest.raises(ValidationError) as caught:
        po.purchase_order_receive(order=order, actor=manager, receipts=[spec])
    assert "confirm to receive it anyway" in caught.value.message_dict["line_1_expires_on"][0]
    assert not StockMovement.objects.exists()
    spec.confirm_expired = True
    po.purchase_order_receive(order=order, actor=manager, receipts=[spec])
    assert StockMovement.objects.get().lot.number == "OLD"


def test_a_lot_tracked_item_without_a_lot_and_a_unit_that_does_not_convert_are_named(org, place, vaccine, manager):
    order = make_order(org=org, place=place, actor=manager, status="approved",
                       lines=[po.LineIn(item=vaccine, quantity=D(1), unit="box")])
    line = order.lines.get()
    with pytest.raises(ValidationError) as caught:
        po.purchase_order_receive(order=order, actor=manager, receipts=[po.ReceiptIn(line=line, quantity=D(1))])
    assert "line_1_lot_number" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        po.purchase_order_receive(order=order, actor=manager, receipts=[
            po.ReceiptIn(line=line, quantity=D(1), unit="pallet", lot_number="A", expires_on=TODAY + timedelta(9))])
    assert "line_1_unit" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        po.purchase_order_receive(order=order, actor=manager, receipts=[po.ReceiptIn(line=line, quantity=D(0))])
    assert "lines" in caught.value.message_dict


def test_closing_a_partly_received_order_gives_up_the_backorder_with_a_reason(org, place, gloves, manager):
    order = make_order(org=org, place=place, actor=manager, status="approved",
                       lines=[po.LineIn(item=gloves, quantity=D(2), unit="box")])
    po.purchase_order_receive(order=order, actor=manager, receipts=[po.ReceiptIn(line=order.lines.get(),
                                                                                 quantity=D(1))])
    with pytest.raises(ValidationError) as caught:
        po.purchase_order_close(order=order, actor=manager)
    assert "reason" in caught.value.message_dict
    po.purchase_order_close(order=order, actor=manager, reason="Discontinued by the vendor")
    order.refresh_from_db()
    assert order.status == S.CLOSED and order.closed_reason == "Discontinued by the vendor"


# --- the vendor bill -----------------------------------------------------------------------------------------------


def test_the_bill_posts_only_the_price_difference_and_paying_it_clears_payables(org, place, gloves, manager):
    # given 10 boxes at 8.00 received: Dr Inventory 80.00 / Cr payables 80.00
    order = make_order(org=org, place=place, actor=manager, status="approved",
                       lines=[po.LineIn(item=gloves, quantity=D(10), unit="box")])
    po.purchase_order_receive(order=order, actor=manager, receipts=[po.ReceiptIn(line=order.lines.get(),
                                                                                 quantity=D(10))])
    assert balance(org, AccountRole.ACCOUNTS_PAYABLE) == D("-80.00")
    # when the vendor bills 82.50 (freight)
    bill = po.purchase_order_bill(order=order, actor=manager, number="INV-7781", bill_date=TODAY,
                                  due_date=TODAY + timedelta(days=30), amount=D("82.50"))
    # then payables are 82.50 (not 162.50), the difference is supplies expense of the department, inventory unchanged
    assert bill.amount == D("82.50") and bill.vendor.name == "Henry Supply"
    assert balance(org, AccountRole.ACCOUNTS_PAYABLE) == D("-82.50")
    assert balance(org, AccountRole.INVENTORY) == D("80.00")
    variance = JournalLine.objects.get(entry=bill.entry, account__role=AccountRole.SUPPLIES_EXPENSE)
    assert variance.amount == D("2.50") and variance.department_id == place.department_id
    assert PurchaseReceipt.objects.get().bill == bill
    # and paid, payables are cleared; every entry balances
    bill_pay(bill=bill, paid_on=TODAY, actor=manager)
    assert balance(org, AccountRole.ACCOUNTS_PAYABLE) == 0
    assert every_entry_balances(org)
    # a second bill for the same receipts is refused
    with pytest.raises(ValidationError, match="Nothing received on this order is waiting for a bill"):
        po.purchase_order_bill(order=order, actor=manager, number="INV-7782", bill_date=TODAY, due_date=TODAY,
                               amount=D("1.00"))


def test_a_bill_at_the_ordered_price_posts_nothing_and_a_duplicate_invoice_number_is_refused(org, place, gloves,
                                                                                              manager):
    first = make_order(org=org, place=place, actor=manager, status="approved",
                       lines=[po.LineIn(item=gloves, quantity=D(1), unit="box")])
    second = make_order(org=org, place=place, actor=manager, status="approved",
                        lines=[po.LineIn(item=gloves, quantity=D(1), unit="box")])
    for order in (first, second):
        po.purchase_order_receive(order=order, actor=manager, receipts=[po.ReceiptIn(line=order.lines.get(),
                                                                                     quantity=D(1))])
    entries = JournalEntry.objects.filter(organization=org).count()
    bill = po.purchase_order_bill(order=first, actor=manager, number="INV-1", bill_date=TODAY, due_date=TODAY,
                                  amount=D("8.00"))
    assert bill.entry is None and JournalEntry.objects.filter(organization=org).count() == entries
    with pytest.raises(ValidationError) as caught:
        po.purchase_order_bill(order=second, actor=manager, number="inv-1", bill_date=TODAY, due_date=TODAY,
                               amount=D("8.00"))
    assert "already entered" in caught.value.message_dict["number"][0]
    assert Bill.objects.count() == 1 and not PurchaseReceipt.objects.filter(bill__isnull=False, line__order=second)


# --- overdue -------------------------------------------------------------------------------------------------------


def test_an_order_past_its_expected_date_and_not_fully_received_is_overdue(org, place, gloves, manager):
    late = make_order(org=org, place=place, actor=manager, status="approved", expected_on=TODAY - timedelta(days=2))
    make_order(org=org, place=place, actor=manager, status="approved", expected_on=TODAY + timedelta(days=2))
    make_order(org=org, place=place, actor=manager, expected_on=TODAY - timedelta(days=2))  # a draft is not late
    done = make_order(org=org, place=place, actor=manager, status="approved", expected_on=TODAY - timedelta(days=5),
                      lines=[po.LineIn(item=gloves, quantity=D(1))])
    po.purchase_order_receive(order=done, actor=manager, receipts=[po.ReceiptIn(line=done.lines.get(),
                                                                                quantity=D(1))])
    assert list(overdue_orders(organization_id=org.pk, today=TODAY)) == [late]
    found = stock_alerts(organization_id=org.pk, today=TODAY)
    assert found.overdue == [late] and found.count >= 1


def test_the_daily_alerts_tell_of_overdue_orders(org, place, manager):
    from ..services.alerts import stock_alerts_send

    make_order(org=org, place=place, actor=manager, status="approved", expected_on=date(2020, 1, 1))
    assert stock_alerts_send(organization=org) == 1
    assert "1 order(s) overdue" in AuditEvent.objects.get(action="inventory.alerts_found").summary
