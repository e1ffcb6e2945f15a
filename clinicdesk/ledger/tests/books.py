"""Postings the ledger tests share: a charge opens an item, payments, adjustments and transfers settle it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from clinicdesk.ledger.choices import AccountRole, EntryKind, PartyKind
from clinicdesk.ledger.models import OpenItem
from clinicdesk.ledger.services import LineSpec, entry_post, open_item_create

D = Decimal


def charge(org, patient, amount: str, *, service_date: date, posted: date | None = None, payer: str = "",
           department=None) -> OpenItem:
    """A billed service owed by the patient (or by `payer`), posted on `posted` (default: the service date)."""
    kind = PartyKind.INSURANCE if payer else PartyKind.PATIENT
    item = open_item_create(organization=org, patient=patient, service_date=service_date, description="Office visit",
                            party_kind=kind, party_label=payer)
    receivable = AccountRole.INSURANCE_RECEIVABLE if payer else AccountRole.PATIENT_RECEIVABLE
    entry_post(organization=org, entry_date=posted or service_date, kind=EntryKind.CHARGE, lines=[
        LineSpec(account=receivable, amount=D(amount), item=item),
        LineSpec(account=AccountRole.SERVICE_REVENUE, amount=-D(amount), department=department),
    ])
    return item


def pay(org, item: OpenItem, amount: str, *, on: date):
    receivable = AccountRole.INSURANCE_RECEIVABLE if item.party_kind == PartyKind.INSURANCE else AccountRole.PATIENT_RECEIVABLE
    return entry_post(organization=org, entry_date=on, kind=EntryKind.PAYMENT, lines=[
        LineSpec(account=AccountRole.CASH, amount=D(amount)),
        LineSpec(account=receivable, amount=-D(amount), item=item),
    ])


def credit(org, patient, amount: str, *, on: date):
    """An unapplied payment: money held for the patient."""
    return entry_post(organization=org, entry_date=on, kind=EntryKind.PAYMENT, lines=[
        LineSpec(account=AccountRole.CASH, amount=D(amount)),
        LineSpec(account=AccountRole.PATIENT_CREDIT, amount=-D(amount), patient=patient),
    ])
