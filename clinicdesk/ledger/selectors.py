"""Reads of the books. Every balance in the product is a sum of journal lines; nothing stores a running total."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from django.db.models import Sum

from .choices import AccountRole
from .models import JournalLine, OpenItem

ZERO = Decimal("0.00")
# What a patient (their guarantor) owes: their receivable lines less any unapplied credit they hold.
PATIENT_OWES_ROLES = (AccountRole.PATIENT_RECEIVABLE, AccountRole.PATIENT_CREDIT)


def _money(value) -> Decimal:
    return (value if value is not None else ZERO).quantize(Decimal("0.01"))


def patient_balances(*, organization_id: int, patient_ids: Iterable[int], as_of: date | None = None) -> dict[int, Decimal]:
    """What each patient owes the practice (negative: the practice holds a credit for them)."""
    ids = list(patient_ids)
    if not ids:
        return {}
    rows = JournalLine.objects.filter(
        organization_id=organization_id, patient_id__in=ids, account__role__in=PATIENT_OWES_ROLES
    )
    if as_of is not None:
        rows = rows.filter(entry_date__lte=as_of)
    totals = dict(rows.values("patient_id").annotate(total=Sum("amount")).values_list("patient_id", "total"))
    return {pid: _money(totals.get(pid)) for pid in ids}


def patient_balance(*, patient, as_of: date | None = None) -> Decimal:
    """What one patient owes (negative: a credit)."""
    return patient_balances(organization_id=patient.organization_id, patient_ids=[patient.pk], as_of=as_of)[patient.pk]


def patient_credit(*, patient) -> Decimal:
    """Unapplied money the practice holds for a patient, as a positive amount."""
    total = JournalLine.objects.filter(
        organization_id=patient.organization_id, patient_id=patient.pk, account__role=AccountRole.PATIENT_CREDIT
    ).aggregate(total=Sum("amount"))["total"]
    return -_money(total)


def item_balances(*, item_ids: Iterable[int]) -> dict[int, Decimal]:
    """The open balance of each receivable item: its charge less what has settled it."""
    ids = list(item_ids)
    if not ids:
        return {}
    totals = dict(
        JournalLine.objects.filter(item_id__in=ids).values("item_id").annotate(total=Sum("amount"))
        .values_list("item_id", "total")
    )
    return {item_id: _money(totals.get(item_id)) for item_id in ids}


def open_items_for(*, organization_id: int, patient_ids: Iterable[int], party_kind: str | None = None) -> list[tuple[OpenItem, Decimal]]:
    """The patients' items that still carry a balance, oldest service first, each with its balance."""
    items = OpenItem.objects.filter(organization_id=organization_id, patient_id__in=list(patient_ids))
    if party_kind:
        items = items.filter(party_kind=party_kind)
    items = list(items.order_by("service_date", "id"))
    balances = item_balances(item_ids=[i.pk for i in items])
    return [(item, balances[item.pk]) for item in items if balances[item.pk] != 0]


def account_balances(*, organization_id: int, as_of: date | None = None) -> dict[int, Decimal]:
    """Each account's balance as a signed sum (debits positive): the rows of the trial balance."""
    rows = JournalLine.objects.filter(organization_id=organization_id)
    if as_of is not None:
        rows = rows.filter(entry_date__lte=as_of)
    return {aid: _money(t) for aid, t in rows.values("account_id").annotate(t=Sum("amount")).values_list("account_id", "t")}
