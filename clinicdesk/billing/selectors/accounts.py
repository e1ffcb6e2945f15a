"""Reads of patient accounts and payments: the account's balance, its open charges and their aging, its
activity with a running balance, and the practice's payments. Everything is scoped to the actor's practice;
another practice's account is a 404, the same answer as no account at all."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import User
from clinicdesk.core.permissions import Perm
from clinicdesk.ledger.choices import AccountRole, EntryKind, PartyKind
from clinicdesk.ledger.models import JournalLine, OpenItem
from clinicdesk.ledger.selectors import item_balances, patient_balances

from ..choices import PaymentMethod, PaymentStatus
from ..models import AccountMember, PatientAccount, Payment

ZERO = Decimal("0.00")
AGING_BUCKETS = (("current", "0–30 days", 0, 30), ("31_60", "31–60 days", 31, 60), ("61_90", "61–90 days", 61, 90),
                 ("91_120", "91–120 days", 91, 120), ("over_120", "Over 120 days", 121, None))
ACTIVITY_ROLES = (AccountRole.PATIENT_RECEIVABLE, AccountRole.PATIENT_CREDIT)


def _may_view(actor: User | None) -> bool:
    return actor is not None and actor.is_authenticated and actor.has_perm_code(Perm.BILLING_VIEW)


def account_scope(*, actor: User) -> QuerySet[PatientAccount]:
    """The accounts of the actor's practice (none without BILLING_VIEW)."""
    if not _may_view(actor):
        return PatientAccount.objects.none()
    return PatientAccount.objects.filter(organization_id=actor.organization_id)


def account_get(*, actor: User, public_id: str) -> PatientAccount:
    account = account_scope(actor=actor).select_related("guarantor_patient").filter(public_id=public_id).first()
    if account is None:
        raise Http404("No such account.")
    return account


def account_of_patient(*, actor: User, patient) -> PatientAccount | None:
    """The account a patient of the actor's practice bills to, if one was opened."""
    if not _may_view(actor) or patient.organization_id != actor.organization_id:
        return None
    membership = AccountMember.objects.select_related("account", "account__guarantor_patient").filter(patient=patient).first()
    return membership.account if membership else None


@dataclass(frozen=True)
class OpenCharge:
    item: OpenItem
    balance: Decimal
    age_days: int
    bucket: str


@dataclass
class AccountSummary:
    account: PatientAccount
    members: list
    balance: Decimal
    credit: Decimal
    patient_owes: Decimal
    insurance_pending: Decimal
    open_charges: list[OpenCharge]
    aging: list[dict] = field(default_factory=list)


def _bucket(age: int) -> str:
    for key, _label, low, high in AGING_BUCKETS:
        if age >= low and (high is None or age <= high):
            return key
    return AGING_BUCKETS[0][0]


def _open_items(organization_id: int, patient_ids: list[int]) -> list[tuple[OpenItem, Decimal]]:
    items = list(OpenItem.objects.filter(organization_id=organization_id, patient_id__in=patient_ids)
                 .select_related("patient").order_by("service_date", "id"))
    balances = item_balances(item_ids=[i.pk for i in items])
    return [(item, balances[item.pk]) for item in items if balances[item.pk] != 0]


def account_summary(*, actor: User, account: PatientAccount, today: date | None = None, audit: bool = True) -> AccountSummary:
    """What the account owes: the members' ledger balances (charges less payments, less unapplied credit), the
    credit held, the patient's open charges with their aging, and what insurance has yet to pay."""
    if not _may_view(actor) or account.organization_id != actor.organization_id:
        raise Http404("No such account.")
    today = today or timezone.localdate()
    members = list(AccountMember.objects.filter(account=account).select_related("patient").order_by("id"))
    ids = [m.patient_id for m in members]
    balances = patient_balances(organization_id=account.organization_id, patient_ids=ids)
    credit_rows = JournalLine.objects.filter(organization_id=account.organization_id, patient_id__in=ids,
                                             account__role=AccountRole.PATIENT_CREDIT)
    credits: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for pid, amount in credit_rows.values_list("patient_id", "amount"):
        credits[pid] -= amount
    for m in members:
        m.balance = balances.get(m.patient_id, ZERO)
        m.credit = credits[m.patient_id]
    open_charges, insurance = [], ZERO
    for item, balance in _open_items(account.organization_id, ids):
        if item.party_kind == PartyKind.PATIENT:
            if balance > 0:
                age = (today - item.service_date).days
                open_charges.append(OpenCharge(item=item, balance=balance, age_days=age, bucket=_bucket(age)))
        else:
            insurance += balance
    aging = [{"key": key, "label": label, "amount": sum((c.balance for c in open_charges if c.bucket == key), ZERO)}
             for key, label, _low, _high in AGING_BUCKETS]
    summary = AccountSummary(
        account=account, members=members, balance=sum(balances.values(), ZERO), credit=sum(credits.values(), ZERO),
        patient_owes=sum((c.balance for c in open_charges), ZERO), insurance_pending=insurance,
        open_charges=open_charges, aging=aging,
    )
    if audit:
        audit_event(action="billing.account_viewed", actor=actor, target=account,
                    patient=account.guarantor_patient or (members[0].patient if members else None),
                    summary=f"Account {account.number} opened")
    return summary


@dataclass(frozen=True)
class ActivityRow:
    """One entry's effect on the account: `amount` is the change in what the account owes (charges up, payments
    down); `balance` is the running balance after it."""

    entry_id: int
    on: date
    kind: str
    kind_label: str
    description: str
    patient_name: str
    amount: Decimal
    balance: Decimal
    reference: str


KIND_LABELS = {EntryKind.CHARGE: "Charge", EntryKind.PAYMENT: "Payment", EntryKind.ADJUSTMENT: "Adjustment",
               EntryKind.REFUND: "Refund", EntryKind.TRANSFER: "Transfer", EntryKind.REVERSAL: "Void / reversal",
               EntryKind.WRITE_OFF: "Write-off"}


def account_activity(*, actor: User, account: PatientAccount, date_from: date | None = None,
                     date_to: date | None = None) -> list[ActivityRow]:
    """Charges, payments, adjustments, refunds and transfers of the account's members, oldest first (newest last),
    each with the running balance. Built from the members' ledger lines on patient receivables and patient credit,
    one row per journal entry; a credit applied to a charge nets to zero and still shows."""
    if not _may_view(actor) or account.organization_id != actor.organization_id:
        raise Http404("No such account.")
    if date_from and date_to and date_from > date_to:
        raise ValidationError({"date_from": "The start date is after the end date."})
    ids = list(AccountMember.objects.filter(account=account).values_list("patient_id", flat=True))
    lines = (JournalLine.objects.filter(organization_id=account.organization_id, patient_id__in=ids,
                                        account__role__in=ACTIVITY_ROLES)
             .select_related("entry", "item", "patient").order_by("entry_date", "entry_id", "id"))
    grouped: dict[int, list[JournalLine]] = {}
    for line in lines:
        grouped.setdefault(line.entry_id, []).append(line)
    rows, running = [], ZERO
    for entry_id, entry_lines in grouped.items():
        entry = entry_lines[0].entry
        amount = sum((ln.amount for ln in entry_lines), ZERO)
        running += amount
        if (date_from and entry.entry_date < date_from) or (date_to and entry.entry_date > date_to):
            continue
        items = [ln.item.description for ln in entry_lines if ln.item_id]
        description = entry.memo or ""
        if entry.kind == EntryKind.CHARGE and items:
            description = "; ".join(dict.fromkeys(items))
        names = dict.fromkeys(f"{ln.patient.first_name} {ln.patient.last_name}" for ln in entry_lines if ln.patient_id)
        rows.append(ActivityRow(entry_id=entry_id, on=entry.entry_date, kind=entry.kind,
                                kind_label=KIND_LABELS.get(entry.kind, entry.get_kind_display()),
                                description=description[:200], patient_name=", ".join(names), amount=amount,
                                balance=running, reference=entry.reference))
    return rows


PAYMENT_FILTERS = ("date_from", "date_to", "method", "status", "account", "copay")


def payment_list(*, actor: User, date_from: date | None = None, date_to: date | None = None, method: str = "",
                 status: str = "", account: PatientAccount | None = None, copay: bool | None = None) -> QuerySet[Payment]:
    """The practice's payments, newest first, filtered; unknown filter values are refused by name."""
    errors = {}
    if method and method not in PaymentMethod.values:
        errors["method"] = f"Unknown method '{method}'; use one of: {', '.join(PaymentMethod.values)}."
    if status and status not in PaymentStatus.values:
        errors["status"] = f"Unknown status '{status}'; use one of: {', '.join(PaymentStatus.values)}."
    if date_from and date_to and date_from > date_to:
        errors["date_from"] = "The start date is after the end date."
    if errors:
        raise ValidationError(errors)
    if not _may_view(actor):
        return Payment.objects.none()
    qs = Payment.objects.filter(organization_id=actor.organization_id).select_related("account", "patient", "taken_by")
    if date_from:
        qs = qs.filter(received_on__gte=date_from)
    if date_to:
        qs = qs.filter(received_on__lte=date_to)
    if method:
        qs = qs.filter(method=method)
    if status:
        qs = qs.filter(status=status)
    if account is not None:
        qs = qs.filter(account=account)
    if copay is not None:
        qs = qs.filter(is_copay=copay)
    return qs.order_by("-received_on", "-id")


def payment_get(*, actor: User, public_id: str) -> Payment:
    """One payment of the actor's practice (404 otherwise)."""
    if not _may_view(actor):
        raise Http404("No such payment.")
    payment = (Payment.objects.filter(organization_id=actor.organization_id, public_id=public_id)
               .select_related("account", "patient", "taken_by", "location", "appointment").first())
    if payment is None:
        raise Http404("No such payment.")
    return payment


@dataclass(frozen=True)
class PaidLine:
    """What part of a payment settled: one charge (or the credit kept on the account)."""

    service_date: date | None
    description: str
    amount: Decimal


def payment_applied(*, payment: Payment) -> list[PaidLine]:
    """What a payment paid: the charges its entry settled, and the part kept as a credit; credit of this payment
    applied later to a charge is not traced (it shows on the account activity)."""
    if payment.entry_id is None:
        return []
    lines = (JournalLine.objects.filter(entry_id=payment.entry_id, account__role__in=ACTIVITY_ROLES)
             .select_related("item", "account").order_by("id"))
    paid = []
    for line in lines:
        if line.item_id:
            paid.append(PaidLine(line.item.service_date, line.item.description, -line.amount))
        else:
            paid.append(PaidLine(None, "Kept as a credit on the account", -line.amount))
    return paid


def account_balance(*, account: PatientAccount) -> Decimal:
    """The account's balance now (members' receivables less credit), without auditing: for receipts and pages
    that already audited their read."""
    ids = list(AccountMember.objects.filter(account=account).values_list("patient_id", flat=True))
    return sum(patient_balances(organization_id=account.organization_id, patient_ids=ids).values(), ZERO)
