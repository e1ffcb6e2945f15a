"""Factories of the inventory tests, and `security_stock` for the permission matrix."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import factory

from clinicdesk.core.choices import Role
from clinicdesk.core.tests.factories import DepartmentFactory, LocationFactory, OrganizationFactory, UserFactory

from ..choices import ItemKind, StockLocationKind
from ..codes import gtin_check_digit
from ..models import Item, Pack, StockLevel, StockLocation


def make_gtin(n: int) -> str:
    """A valid GTIN-13 from a number (its check digit computed)."""
    body = f"{400000000000 + n:012d}"
    return body + str(gtin_check_digit(body))


class StockLocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockLocation

    organization = factory.SubFactory(OrganizationFactory)
    location = factory.LazyAttribute(lambda o: LocationFactory(organization=o.organization))
    department = factory.LazyAttribute(lambda o: DepartmentFactory(organization=o.organization))
    name = factory.Sequence(lambda n: f"Supply room {n}")
    kind = StockLocationKind.SUPPLY_ROOM


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Exam gloves {n}")
    kind = ItemKind.CLINICAL_SUPPLY
    base_unit = "each"
    price = Decimal("0.10")
    average_cost = Decimal("0.10")


class PackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pack

    item = factory.SubFactory(ItemFactory)
    organization = factory.LazyAttribute(lambda o: o.item.organization)
    name = "box"
    quantity = Decimal("100")
    gtin = factory.Sequence(lambda n: make_gtin(n).zfill(14))


class StockLevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockLevel

    item = factory.SubFactory(ItemFactory)
    organization = factory.LazyAttribute(lambda o: o.item.organization)
    stock_location = factory.SubFactory(StockLocationFactory)
    par_level = Decimal("100")
    reorder_point = Decimal("20")


def make_order(*, org, place=None, vendor_name: str = "Henry Supply", lines=None, status: str = "", actor=None,
               expected_on=None, number: str = "", approver=None):
    """A purchase order through the services: draft, or moved on to `status` (awaiting_approval or approved). The
    approver is `approver`, or another office manager of the practice than `actor` (who raised it)."""
    from clinicdesk.ledger.bills import vendor_for

    from ..services import purchasing as po

    place = place or StockLocationFactory(organization=org)
    if lines is None:
        item = ItemFactory(organization=org, name="Gauze pads", price=Decimal("0.05"))
        PackFactory(item=item, name="box", quantity=Decimal(200))
        lines = [po.LineIn(item=item, quantity=Decimal(3), unit="box")]
    order = po.purchase_order_create(organization=org, vendor=vendor_for(organization=org, name=vendor_name),
                                     stock_location=place, lines=lines, actor=actor, expected_on=expected_on,
                                     number=number)
    if status in ("awaiting_approval", "approved"):
        po.purchase_order_submit(order=order, actor=actor)
    if status == "approved":
        if approver is None and actor is not None:
            approver = UserFactory(organization=org, role=Role.OFFICE_MANAGER)
        po.purchase_order_approve(order=order, actor=approver)
    order.refresh_from_db()
    return order


def security_stock(practice) -> dict:
    """A stock location with an item on hand (a received lot) in the practice, named after its marker patient; made
    once per practice (for the permission matrix)."""
    cache = practice.__dict__.get("_inventory")
    if cache:
        return cache
    from ..services.stock import stock_receive

    org, marker = practice.org, practice.patient.last_name
    place = StockLocationFactory(organization=org, name=f"{marker} supply room")
    item = ItemFactory(organization=org, name=f"{marker} gauze", tracks_lots=True)
    PackFactory(item=item)
    StockLevelFactory(item=item, stock_location=place)
    stock_receive(item=item, stock_location=place, quantity=Decimal("50"), actor=None, lot_number=f"{marker[:8]}-1",
                  expires_on=date(2099, 1, 1))
    from ..services import purchasing as po

    order = make_order(org=org, place=place, vendor_name=f"{marker} vendor", number=f"PO-{marker[:20]}",
                       lines=[po.LineIn(item=item, quantity=Decimal(2), unit="box")])
    po.purchase_order_submit(order=order, actor=None)
    practice.__dict__["_inventory"] = {"stock_item_id": item.pk, "stock_location_id": place.pk,
                                       "purchase_order_id": order.pk}
    return practice.__dict__["_inventory"]
