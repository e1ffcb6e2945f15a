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
