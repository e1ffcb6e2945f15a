"""Many cash and check payments posted in one go: a bank lockbox file, an import from another system, a desk's batch
of mailed checks. The rules are `payment_post`'s (see services/payments.py): amounts as strings or Decimals in cents,
an idempotency key per payment that replays the first answer (and the same fingerprint, so a payment first posted by
`payment_post` replays here and the other way round), oldest-first settlement of the account's open patient charges,
no more than the balance unless `allow_credit`, and no payment on a closed day at a location. The whole batch is
checked before anything is written; one bad payment refuses the batch, naming it.

What differs is the cost: a fixed number of statements per batch (accounts locked together, open items and their
balances in one grouped query, payments, entries and lines inserted in bulk, one audit insert) instead of about a
dozen per payment. Card payments are not taken here: each is a charge at the processor, one at a time.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from clinicdesk.core.audit import audit_event_rows
from clinicdesk.core.batch_sql import column_set, model_new, next_ids, rows_insert
from clinicdesk.core.collector import collector_paused
from clinicdesk.core.money import format_money
from clinicdesk.ledger.choices import AccountRole, EntryKind, PartyKind
from clinicdesk.ledger.models import OpenItem
from clinicdesk.ledger.services import EntrySpec, LineSpec, account_for, entries_post
from clinicdesk.patients.models import Patient

from ..choices import DayCloseStatus, PaymentMethod
from ..models import AccountMember, DayClose, PatientAccount, Payment
from .payments import MONEY_IN, IdempotencyConflict, _fingerprint, drawer_location, money_check

ZERO = Decimal("0")


@dataclass(frozen=True)
class PaymentInput:
    """One payment of a batch, as `payment_post` would take it (cash or check)."""

    account: PatientAccount
    amount: Decimal | str
    method: str
    idempotency_key: str
    received_on: date | None = None
    patient: object | None = None
    check_number: str = ""
    allow_credit: bool = False
    memo: str = ""
    location: object | None = None


@collector_paused()
@transaction.atomic
def payments_post(*, organization, payments: Sequence[PaymentInput], actor) -> list[Payment]:
    """Post a batch of cash and check payments (see the module docstring); returns them in order, replayed ones
    marked `replayed`."""
    if not payments:
        return []
    today = timezone.localdate()
    checked = []
    keys: set[str] = set()
    drawers: dict[str, object] = {}
    for n, p in enumerate(payments, start=1):
        where = f"Payment {n}: "
        try:
            amount = money_check(p.amount, field="amount")
        except ValidationError as exc:
            raise ValidationError({"amount": where + " ".join(exc.messages)}) from None
        if p.method not in (PaymentMethod.CASH, PaymentMethod.CHECK):
            raise ValidationError({"method": where + "only cash and checks are posted in a batch; cards go through "
                                                     "the card processor one at a time."})
        key = (p.idempotency_key or "").strip()
        if not key or len(key) > 100:
            raise ValidationError({"idempotency_key": where + "every payment needs an idempotency key of 1 to 100 characters."})
        if key in keys:
            raise ValidationError({"idempotency_key": where + f"the key {key} appears twice in the batch."})
        keys.add(key)
        if p.method == PaymentMethod.CHECK and not p.check_number.strip():
            raise ValidationError({"check_number": where + "enter the check number."})
        if p.account.organization_id != organization.pk:
            raise ValidationError({"account": where + "the account belongs to another organization."})
        if p.location is not None or p.method == PaymentMethod.CASH:
            # Mailed checks need no drawer; cash does, and the practice's only office is the default (looked up once).
            if p.location is None and "cash" not in drawers:
                drawers["cash"] = drawer_location(organization_id=organization.pk, method=p.method, location=None,
                                                  where=where)
            location = drawer_location(organization_id=organization.pk, method=p.method, location=p.location,
                                       mailed=True, where=where) if p.location is not None else drawers["cash"]
            if location is not p.location:
                p = dataclasses.replace(p, location=location)
        received_on = p.received_on or today
        if received_on > today:
            raise ValidationError({"received_on": where + "a payment cannot be dated in the future."})
        fingerprint = _fingerprint(
            account=p.account.pk, amount=str(amount), method=p.method,
            # As payment_post: the date counts only when the caller gave one, so a retry after midnight replays.
            received_on=p.received_on.isoformat() if p.received_on is not None else None,
            patient=getattr(p.patient, "pk", None), allow_credit=p.allow_credit, check=p.check_number.strip(),
            card="", copay=False, memo=p.memo.strip(), allocations=None,
        )
        checked.append((p, amount, key, received_on, fingerprint))

    account_ids = sorted({p.account.pk for p in payments})
    # Only the columns posting reads: a batch's worth of whole rows costs more to build than to lock.
    accounts = {a.pk: a for a in PatientAccount.objects.select_for_update().filter(pk__in_array=account_ids).order_by("pk")
                .only("organization_id", "number", "guarantor_patient_id")}
    existing = {x.idempotency_key: x for x in Payment.objects.filter(organization=organization, idempotency_key__in_array=list(keys))}
    closed = set()
    places = {(p.location.pk, received_on) for p, _, _, received_on, _ in checked if p.location is not None}
    if places:
        wanted = Q()
        for location_id, day in places:
            wanted |= Q(location_id=location_id, business_date=day)
        closed = set(DayClose.objects.filter(wanted).exclude(status=DayCloseStatus.OPEN)
                     .values_list("location_id", "business_date"))
    members: dict[int, list[int]] = defaultdict(list)
    patient_account: dict[int, int] = {}
    for account_id, patient_id in AccountMember.objects.filter(account_id__in_array=account_ids).order_by("id").values_list(
            "account_id", "patient_id"):
        members[account_id].append(patient_id)
        patient_account[patient_id] = account_id
    items_by_account: dict[int, list[list]] = defaultdict(list)  # [item, balance left]
    open_items = (OpenItem.objects.filter(organization=organization, patient_id__in_array=list(patient_account),
                                          party_kind=PartyKind.PATIENT)
                  .only("organization_id", "patient_id", "service_date")
                  .annotate(balance=Sum("lines__amount")).filter(balance__gt=0).order_by("service_date", "id"))
    for item in open_items:
        items_by_account[patient_account[item.patient_id]].append([item, item.balance])

    results: list[Payment | None] = [None] * len(checked)
    new: list[tuple[int, Payment, list, Decimal, object]] = []  # index, payment, plan, leftover, credit patient id
    taker = actor if getattr(actor, "is_authenticated", False) else None
    for n, (p, amount, key, received_on, fingerprint) in enumerate(checked):
        where = f"Payment {n + 1}: "
        if key in existing:
            if existing[key].request_fingerprint != fingerprint:
                raise IdempotencyConflict({"idempotency_key": where + "this idempotency key was already used for a "
                                                                      "different payment."})
            existing[key].replayed = True
            results[n] = existing[key]
            continue
        if p.location is not None and (p.location.pk, received_on) in closed:
            raise ValidationError({"received_on": where + f"the day of {received_on:%m/%d/%Y} is closed at this location."})
        if p.patient is not None and p.patient.pk not in members.get(p.account.pk, []):
            raise ValidationError({"patient": where + "that patient is not on this account."})
        plan, left = [], amount
        for entry in items_by_account.get(p.account.pk, []):
            if left <= 0:
                break
            if entry[1] <= 0:
                continue
            part = min(entry[1], left)
            plan.append((entry[0], part))
            entry[1] -= part
            left -= part
        if left > 0 and not p.allow_credit:
            raise ValidationError({"amount": where + f"{format_money(amount)} is {format_money(left)} more than the "
                                                     "balance; record the difference as a credit, or change the amount."})
        account = accounts[p.account.pk]
        credit_patient = getattr(p.patient, "pk", None) or account.guarantor_patient_id or (
            plan[0][0].patient_id if plan else None) or (members[account.pk][0] if members.get(account.pk) else None)
        payment = model_new(
            Payment, organization_id=organization.pk, account=account, patient=p.patient, method=p.method, amount=amount,
            received_on=received_on, check_number=p.check_number.strip(), memo=p.memo.strip()[:200],
            location=p.location, taken_by=taker, idempotency_key=key, request_fingerprint=fingerprint,
        )
        new.append((n, payment, plan, left, credit_patient))
    if not new:
        return results  # type: ignore[return-value]

    # On PostgreSQL the payments' ids are drawn first and the payments inserted with their entries, in one
    # statement; elsewhere they are inserted, and their entries set once posted.
    ids_first = connection.vendor == "postgresql"
    if ids_first:
        for x, pk in zip(new, next_ids(Payment, len(new)), strict=True):
            x[1].pk = pk
    else:
        rows_insert(Payment, [x[1] for x in new])
    # The accounts looked up once for the batch (inside a first transaction the ledger's cache is not warm yet).
    book = {role: account_for(organization, role) for role in (
        *{MONEY_IN[x[1].method] for x in new}, AccountRole.PATIENT_RECEIVABLE, AccountRole.PATIENT_CREDIT)}
    specs = []
    method_names = dict(PaymentMethod.choices)
    for _, payment, plan, leftover, credit_patient in new:
        lines = [LineSpec(account=book[MONEY_IN[payment.method]], amount=payment.amount,
                          patient=plan[0][0].patient_id if plan else credit_patient)]
        lines += [LineSpec(account=book[AccountRole.PATIENT_RECEIVABLE], amount=-part, item=item) for item, part in plan]
        if leftover > 0:
            lines.append(LineSpec(account=book[AccountRole.PATIENT_CREDIT], amount=-leftover, patient=credit_patient,
                                  memo="Unapplied: credit on the account"))
        specs.append(EntrySpec(entry_date=payment.received_on, kind=EntryKind.PAYMENT, lines=lines,
                               memo=f"{method_names[payment.method]} payment on account {payment.account.number}",
                               reference=f"payment:{payment.pk}"))
    posted = entries_post(organization=organization, entries=specs, actor=actor)
    for (_, payment, _, _, _), entry in zip(new, posted, strict=True):
        payment.entry = entry
    if ids_first:
        rows_insert(Payment, [x[1] for x in new])
    else:
        column_set(Payment, "entry", [(x[1].pk, x[1].entry.pk) for x in new])
    # Only what the audit row's patient label needs.
    named = {pt.pk: pt for pt in Patient.objects.filter(pk__in_array=[x[4] for x in new if x[4] and not x[1].patient_id])
             .only("organization_id", "mrn", "first_name", "preferred_name", "last_name")}
    audit_event_rows([
        {"action": "payment.posted", "actor": actor, "target": payment, "organization_id": organization.pk,
         "patient": payment.patient if payment.patient_id else named.get(credit_patient),
         "summary": f"{method_names[payment.method]} {format_money(payment.amount)}"
                    + (f", {format_money(leftover)} held as credit" if leftover > 0 else "") + " (batch)"}
        for _, payment, _, leftover, credit_patient in new
    ])
    for n, payment, _, _, _ in new:
        results[n] = payment
    return results  # type: ignore[return-value]


__all__ = ["PaymentInput", "payments_post"]
