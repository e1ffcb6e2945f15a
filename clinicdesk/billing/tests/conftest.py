"""Billing test helpers: charges straight on the ledger, for tests of payments that need something to pay."""

from datetime import date
from decimal import Decimal

import pytest

from clinicdesk.ledger.choices import AccountRole, EntryKind
from clinicdesk.ledger.services import LineSpec, entry_post, open_item_create


@pytest.fixture
def post_charge():
    """Post a charge of `amount` for `patient` on `service_date` and return its open item."""

    def post(patient, amount: str, *, service_date: date = date(2026, 10, 1), description: str = "Office visit"):
        item = open_item_create(organization=patient.organization, patient=patient, service_date=service_date,
                                description=description)
        entry_post(organization=patient.organization, entry_date=service_date, kind=EntryKind.CHARGE, lines=[
            LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=Decimal(amount), item=item),
            LineSpec(account=AccountRole.SERVICE_REVENUE, amount=-Decimal(amount), patient=patient),
        ])
        return item

    return post


@pytest.fixture
def fee_schedule(org):
    """A default fee schedule with a few office codes, effective from 2026-01-01."""
    from clinicdesk.billing.models import Fee, FeeSchedule, ProcedureCode

    schedule = FeeSchedule.objects.create(organization=org, name="Standard", is_default=True)
    prices = {("99213", ""): "110.00", ("99214", ""): "165.00", ("99214", "25"): "170.00", ("36415", ""): "18.00",
              ("93000", ""): "45.00", ("99024", ""): "0.00"}
    procedures = {}
    for (code, modifiers), price in prices.items():
        if code not in procedures:
            procedures[code] = ProcedureCode.objects.create(organization=org, code_system="CPT", code=code,
                                                            description=f"Service {code}")
        Fee.objects.create(organization=org, schedule=schedule, procedure=procedures[code], modifiers=modifiers,
                           price=Decimal(price), effective_from=date(2026, 1, 1))
    return schedule
