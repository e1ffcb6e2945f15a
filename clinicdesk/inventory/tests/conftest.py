"""Fixtures the supplies tests share: a nurse who uses stock, the office manager who orders, the administrator who
approves, exam gloves from Henry Supply in boxes of 100, and hinged knee braces tracked by serial number."""

from decimal import Decimal

import pytest

from clinicdesk.core.choices import Role
from clinicdesk.ledger.bills import vendor_for

from .factories import ItemFactory, PackFactory


@pytest.fixture
def nurse(make_user):
    return make_user(Role.NURSE, username="nurse1")


@pytest.fixture
def manager(make_user):
    return make_user(Role.OFFICE_MANAGER, username="priya")


@pytest.fixture
def approver(make_user):
    """A second manager: an order is approved by someone other than who raised it."""
    return make_user(Role.ADMINISTRATOR, username="sam")


@pytest.fixture
def gloves(org):
    item = ItemFactory(organization=org, name="Exam gloves", price=Decimal("0.08"),
                       preferred_vendor=vendor_for(organization=org, name="Henry Supply"))
    PackFactory(item=item, name="box", quantity=Decimal(100))
    return item


@pytest.fixture
def brace(org):
    return ItemFactory(organization=org, name="Knee brace, hinged", tracks_serials=True, price=Decimal("64.00"))
