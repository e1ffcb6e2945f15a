"""The demo supplies: scenario 12 (a low flu vaccine lot, another expiring in 20 days), balanced books, idempotent."""

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from clinicdesk.core import demo as core_demo
from clinicdesk.inventory import demo
from clinicdesk.inventory.models import Item, PurchaseOrder, PurchaseReceipt, StockBalance, StockMovement
from clinicdesk.inventory.selectors import lot_recall, stock_alerts
from clinicdesk.inventory.services.purchasing import purchase_order_budget_check
from clinicdesk.ledger.models import JournalLine
from clinicdesk.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_the_demo_supplies_show_scenario_12_and_a_second_run_adds_nothing():
    # given
    ctx = core_demo.seed()
    for _ in range(30):
        PatientFactory(organization=ctx.organization)
    # when
    added = demo.seed(ctx, patients=0, seed=2026)
    # then
    org, today = ctx.organization, timezone.localdate()
    assert added > 40
    found = stock_alerts(organization_id=org.pk, today=today, within_days=30)
    flu = Item.objects.get(organization=org, name=demo.FLU)
    assert [(lvl.item_id, lvl.on_hand) for lvl in found.low] == [(flu.pk, 12)]
    assert [(b.lot.number, b.lot.expires_on, b.on_hand) for b in found.expiring] == [
        ("FLU-A2611", today + timedelta(days=20), 6)]
    assert StockMovement.objects.filter(organization=org, lot__number="FLU-B2702", patient__isnull=False).count() == 24
    assert JournalLine.objects.filter(entry__organization=org).aggregate(t=Sum("amount"))["t"] == 0
    # and the purchase orders: closed and billed, partly received with a backorder, overdue, awaiting approval over
    # budget
    orders = {o.status: o for o in PurchaseOrder.objects.filter(organization=org)}
    assert set(orders) == {"closed", "partly_received", "sent", "awaiting_approval"}
    assert orders["partly_received"].lines.get().outstanding == 60  # two bottles of 30 tablets
    assert [o.pk for o in found.overdue] == [orders["sent"].pk]
    check = purchase_order_budget_check(order=orders["awaiting_approval"], actor=ctx.users["priya"])
    assert check.over_by > 0
    # raised by Priya, approved by Sam (nobody approves their own order), e-mailed to the vendor's address
    priya, sam = ctx.users["priya"], ctx.users["sam"]
    assert all(o.created_by == priya and o.submitted_by == priya for o in orders.values())
    assert {o.status: o.approved_by for o in orders.values()} == {
        "closed": sam, "partly_received": sam, "sent": sam, "awaiting_approval": None}
    for o in orders.values():
        assert o.vendor_email == o.vendor.email and o.vendor_email.endswith(".test")
    assert PurchaseReceipt.objects.filter(line__order=orders["closed"], bill__isnull=False).count() == 1
    # and the knee braces by serial: three on hand, the fitted one found by the recall
    brace = Item.objects.get(organization=org, name=demo.BRACE)
    assert brace.tracks_serials
    assert sorted(StockBalance.objects.filter(item=brace, on_hand=1).values_list("lot__number", flat=True)) == \
        demo.BRACE_SERIALS[1:]
    assert [u.lot.number for u in lot_recall(user=ctx.users["jamal"], lot_number=demo.BRACE_SERIALS[0])] == [
        demo.BRACE_SERIALS[0]]
    assert demo.seed(ctx, patients=0, seed=2026) == 0
