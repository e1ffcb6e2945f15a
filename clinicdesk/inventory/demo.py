"""Riverside's supplies: a supply room and a vaccine fridge at each location, gloves, syringes, gauze, a medication,
office paper and the flu vaccine, received over the last weeks and partly used. Scenario 12: the flu vaccine's
current lot is low (below its reorder point in the Main Street fridge) and another lot expires in 20 days.
Purchasing: Priya (the office manager) raises the orders and Sam (the administrator) approves them, since nobody
approves their own order: a closed and billed order, one partly received with a backorder, one sent and overdue, and
one awaiting Sam's approval over the nursing department's supplies budget. Each vendor has the e-mail address its
orders go to. Hinged knee braces are tracked by serial number: four received at Main Street, one fitted
to a patient (the lot recall finds them by its serial). A second run adds nothing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from clinicdesk.ledger.bills import vendor_for

from .choices import ItemKind, StockLocationKind, Valuation
from .models import Item, StockLocation
from .services.items import item_save, pack_add, stock_level_set
from .services.serials import stock_receive_serials
from .services.stock import stock_consume, stock_receive

D = Decimal
# name, kind, base unit, price per unit, vendor, valuation, extra fields, packs (name, qty, GTIN), par, reorder
ITEMS = [
    ("Nitrile exam gloves, medium", ItemKind.CLINICAL_SUPPLY, "each", "0.08", "Henry Supply", Valuation.MOVING_AVERAGE,
     {}, [("box", 100, "00614141000012"), ("case", 1000, "10614141000019")], 2000, 500),
    ("Syringe 3 mL with 25G needle", ItemKind.CLINICAL_SUPPLY, "each", "0.22", "Henry Supply", Valuation.FIFO,
     {}, [("box", 100, "00614141000029")], 400, 100),
    ("Gauze pads 4x4, sterile", ItemKind.CLINICAL_SUPPLY, "each", "0.05", "Henry Supply", Valuation.MOVING_AVERAGE,
     {}, [("box", 200, "00614141000036")], 600, 200),
    ("Ondansetron 4 mg ODT", ItemKind.MEDICATION, "tablet", "0.35", "McKesson", Valuation.FIFO,
     {"ndc": "0143-9904-01", "tracks_lots": True}, [("bottle", 30, "00614141000043")], 60, 20),
    ("Influenza vaccine 2026-2027, quadrivalent", ItemKind.VACCINE, "dose", "18.50", "Sanofi Pasteur", Valuation.FIFO,
     {"ndc": "49281-0424-50", "cvx": "150", "tracks_lots": True}, [("box", 10, "00614141000050")], 40, 15),
    ("Copy paper, letter", ItemKind.OFFICE_SUPPLY, "ream", "6.40", "Staples", Valuation.MOVING_AVERAGE,
     {}, [("case", 10, "00614141000067")], 20, 5),
]
FLU = "Influenza vaccine 2026-2027, quadrivalent"
VENDOR_EMAILS = {"Henry Supply": "orders@henry-supply.test", "McKesson": "orders@mckesson.test",
                 "Sanofi Pasteur": "vaccine-orders@sanofi-pasteur.test", "Staples": "business-orders@staples.test"}
BRACE = "Knee brace, hinged"
BRACE_SERIALS = ["KB24-10871", "KB24-10872", "KB24-10873", "KB24-10874"]


def seed(ctx, *, patients: int, seed: int, stdout=None) -> int:
    """Add the supplies to the demo practice; returns rows added (0 on a second run)."""
    org = ctx.organization
    if Item.objects.filter(organization=org).exists():
        return 0
    today = timezone.localdate()
    actor = ctx.users.get("jamal")
    manager = ctx.users.get("priya")
    added = 0
    with transaction.atomic():
        places = {}
        for location in ctx.locations:
            for kind, label in ((StockLocationKind.SUPPLY_ROOM, "supply room"), (StockLocationKind.FRIDGE, "vaccine fridge")):
                place = StockLocation(organization=org, location=location, department=ctx.departments["nursing"],
                                      name=f"{location.name} {label}", kind=kind)
                place.full_clean()
                place.save()
                places[(location.code, kind)] = place
                added += 1
        items = {}
        for name, kind, unit, price, vendor, valuation, extra, packs, par, reorder in ITEMS:
            item = item_save(organization=org, actor=manager, data={
                "name": name, "kind": kind, "base_unit": unit, "price": D(price), "valuation": valuation,
                "preferred_vendor": vendor_for(organization=org, name=vendor, email=VENDOR_EMAILS[vendor]), **extra})
            for pack_name, quantity, gtin in packs:
                pack_add(item=item, name=pack_name, quantity=D(quantity), gtin=gtin, actor=manager)
            kind_of_place = StockLocationKind.FRIDGE if kind == ItemKind.VACCINE else StockLocationKind.SUPPLY_ROOM
            # The flu vaccine is kept at Main Street only (the North office sends patients there for it).
            for location in ctx.locations[:1] if kind == ItemKind.VACCINE else ctx.locations:
                stock_level_set(item=item, stock_location=places[(location.code, kind_of_place)], par_level=D(par),
                                reorder_point=D(reorder), actor=manager)
            items[name] = (item, kind_of_place)
            added += 1 + len(packs)
        added += _stock(ctx, items, places, actor, today)
        added += _serials(ctx, places, actor, manager, today)
        added += _orders(ctx, items, places, manager, ctx.users.get("sam"), today)
    return added


def _stock(ctx, items, places, actor, today: date) -> int:
    """Receipts three weeks ago, use since; the flu vaccine as scenario 12 wants it."""
    added = 0
    received_on = today - timedelta(days=21)
    for name, (item, kind_of_place) in items.items():
        if name == FLU:
            continue
        for location in ctx.locations:
            place = places[(location.code, kind_of_place)]
            lot = {"lot_number": f"L{today:%y}{item.pk:03d}", "expires_on": today + timedelta(days=400)} \
                if item.tracks_lots else {}
            stock_receive(item=item, stock_location=place, quantity=D(item.levels.first().par_level), actor=actor,
                          received_on=received_on, **lot)
            stock_consume(item=item, stock_location=place, quantity=(item.levels.first().par_level * D("0.3")).quantize(
                D("1")), actor=actor, used_on=today - timedelta(days=2))
            added += 2
    flu, _ = items[FLU]
    main = places[(ctx.locations[0].code, StockLocationKind.FRIDGE)]
    # Lot FLU-A expires in 20 days (6 doses left); lot FLU-B is the current lot, down to 6 doses: Main Street's
    # fridge holds 12 doses, below its reorder point of 15.
    stock_receive(item=flu, stock_location=main, quantity=D(20), actor=actor, lot_number="FLU-A2611",
                  expires_on=today + timedelta(days=20), received_on=today - timedelta(days=60))
    stock_receive(item=flu, stock_location=main, quantity=D(30), actor=actor, lot_number="FLU-B2702",
                  expires_on=today + timedelta(days=210), received_on=received_on)
    stock_consume(item=flu, stock_location=main, quantity=D(14), actor=actor, used_on=today - timedelta(days=30))
    from clinicdesk.patients.models import Patient

    patients = list(Patient.objects.filter(organization=ctx.organization).order_by("pk")[:24])
    lot_b = flu.lots.get(number="FLU-B2702")
    for number, patient in enumerate(patients):
        stock_consume(item=flu, stock_location=main, quantity=D(1), actor=actor, lot=lot_b, patient=patient,
                      encounter_ref=f"flu-clinic-{number + 1}", used_on=today - timedelta(days=1 + number % 7))
    return added + 3 + len(patients)


def _serials(ctx, places, actor, manager, today: date) -> int:
    """Knee braces by serial number: four received into the Main Street supply room two weeks ago, the first fitted
    to a patient last week."""
    org = ctx.organization
    brace = item_save(organization=org, actor=manager, data={
        "name": BRACE, "kind": ItemKind.CLINICAL_SUPPLY, "base_unit": "each", "price": D("64.00"),
        "valuation": Valuation.FIFO, "tracks_serials": True, "sku": "KB-H24",
        "preferred_vendor": vendor_for(organization=org, name="Henry Supply")})
    room = places[(ctx.locations[0].code, StockLocationKind.SUPPLY_ROOM)]
    stock_receive_serials(item=brace, stock_location=room, serials=BRACE_SERIALS, quantity=D(len(BRACE_SERIALS)),
                          actor=actor, received_on=today - timedelta(days=14))
    from clinicdesk.patients.models import Patient

    patient = Patient.objects.filter(organization=org).order_by("pk").first()
    used = 0
    if patient is not None:
        fitted = brace.lots.get(number=BRACE_SERIALS[0])
        stock_consume(item=brace, stock_location=room, quantity=D(1), actor=actor, lot=fitted, patient=patient,
                      encounter_ref="brace-fitting-1", used_on=today - timedelta(days=6))
        used = 1
    return 1 + len(BRACE_SERIALS) + used


def _orders(ctx, items, places, manager, approver, today: date) -> int:
    """Four purchase orders in different states, raised by the manager and approved by another (see the module's
    docstring); each takes its vendor's e-mail address."""
    from clinicdesk.ledger.choices import AccountRole
    from clinicdesk.ledger.models import Budget
    from clinicdesk.ledger.services import account_for

    from .models import PurchaseOrder
    from .services import purchasing as po

    org = ctx.organization
    main, north = ctx.locations[0].code, ctx.locations[-1].code
    item = {name: pair[0] for name, pair in items.items()}

    def order(vendor_item: str, place, lines, expected_in: int):
        made = po.purchase_order_create(organization=org, vendor=item[vendor_item].preferred_vendor, stock_location=place,
                                        lines=lines, actor=manager, expected_on=today + timedelta(days=expected_in))
        po.purchase_order_submit(order=made, actor=manager)
        return made

    syringes = "Syringe 3 mL with 25G needle"
    closed = order(syringes, places[(main, StockLocationKind.SUPPLY_ROOM)],
                   [po.LineIn(item=item[syringes], quantity=D(2), unit="box")], -10)
    po.purchase_order_approve(order=closed, actor=approver)
    po.purchase_order_send(order=closed, actor=manager, text=f"Purchase order {closed.number}")
    po.purchase_order_receive(order=closed, actor=manager, received_on=today - timedelta(days=9), receipts=[
        po.ReceiptIn(line=closed.lines.get(), quantity=D(2))])
    po.purchase_order_bill(order=closed, actor=manager, number="HS-20417", bill_date=today - timedelta(days=8),
                           due_date=today + timedelta(days=22), amount=D("44.00"))
    po.purchase_order_close(order=closed, actor=manager)

    ondansetron = "Ondansetron 4 mg ODT"
    partly = order(ondansetron, places[(north, StockLocationKind.SUPPLY_ROOM)],
                   [po.LineIn(item=item[ondansetron], quantity=D(4), unit="bottle")], -2)
    po.purchase_order_approve(order=partly, actor=approver)
    po.purchase_order_send(order=partly, actor=manager, text=f"Purchase order {partly.number}")
    po.purchase_order_receive(order=partly, actor=manager, expected_on=today + timedelta(days=5), receipts=[
        po.ReceiptIn(line=partly.lines.get(), quantity=D(2), lot_number=f"OND{today:%y}07",
                     expires_on=today + timedelta(days=540))])

    paper = "Copy paper, letter"
    late = order(paper, places[(main, StockLocationKind.SUPPLY_ROOM)],
                 [po.LineIn(item=item[paper], quantity=D(2), unit="case")], -3)
    po.purchase_order_approve(order=late, actor=approver)
    po.purchase_order_send(order=late, actor=manager, text=f"Purchase order {late.number}")

    # Nursing's supplies budget this month is 1,200.00: ten boxes of flu vaccine (1,850.00) wait for Sam.
    fridge = places[(main, StockLocationKind.FRIDGE)]
    Budget.objects.get_or_create(organization=org, department=fridge.department, month=today.replace(day=1),
                                 account=account_for(org, AccountRole.SUPPLIES_EXPENSE),
                                 defaults={"amount": D("1200.00")})
    order(FLU, fridge, [po.LineIn(item=item[FLU], quantity=D(10), unit="box")], 7)
    return PurchaseOrder.objects.filter(organization=org).count()
