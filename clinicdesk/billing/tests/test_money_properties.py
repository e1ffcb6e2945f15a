"""Random days at the desk: sequences of charges, payments, adjustments, refunds, credits, transfers and voids,
posted through the billing services. After every step the books balance, every patient's balance equals their
ledger lines and what an independent tally says they owe, no charge is paid below zero, and a refused step
changes nothing."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinicdesk.billing.choices import AdjustmentKind, PaymentMethod, PaymentStatus, RefundMethod
from clinicdesk.billing.models import Payment
from clinicdesk.billing.services.accounts import account_for_patient
from clinicdesk.billing.services.payments import (
    adjustment_post,
    credit_apply,
    payment_post,
    payment_void,
    refund_post,
    responsibility_transfer,
)
from clinicdesk.core.choices import Role
from clinicdesk.ledger.choices import AccountRole, EntryKind, PartyKind
from clinicdesk.ledger.models import JournalLine, OpenItem
from clinicdesk.ledger.selectors import item_balances, patient_balance, patient_credit
from clinicdesk.ledger.services import LineSpec, entry_post, open_item_create
from clinicdesk.patients.models import Guarantor
from clinicdesk.patients.tests.factories import PatientFactory

D = Decimal
TODAY = date(2026, 11, 20)
cents = st.integers(min_value=1, max_value=40_000).map(lambda c: D(c) / 100)
who = st.integers(min_value=0, max_value=2)
step = st.one_of(
    st.tuples(st.just("charge"), who, cents, st.integers(0, 200)),
    st.tuples(st.just("insurance_charge"), who, cents, st.integers(0, 200)),
    st.tuples(st.just("pay"), who, cents, st.sampled_from([PaymentMethod.CASH, PaymentMethod.CHECK]), st.booleans()),
    st.tuples(st.just("copay"), who, cents),
    st.tuples(st.just("adjust"), who, cents, st.sampled_from(list(AdjustmentKind))),
    st.tuples(st.just("refund"), who, cents, st.sampled_from([RefundMethod.CASH, RefundMethod.CHECK])),
    st.tuples(st.just("apply_credit"), who),
    st.tuples(st.just("to_patient"), who, cents),
    st.tuples(st.just("void"), st.integers(0, 30)),
)


def ledger_owes(patient) -> Decimal:
    total = JournalLine.objects.filter(
        patient=patient, account__role__in=[AccountRole.PATIENT_RECEIVABLE, AccountRole.PATIENT_CREDIT]
    ).aggregate(t=Sum("amount"))["t"]
    return (total or D("0")).quantize(D("0.01"))


@pytest.mark.django_db
def test_random_days_keep_the_books_balanced_and_every_balance_true(org, make_user):
    desk = make_user(Role.BILLER)
    parent, child, other = (PatientFactory(organization=org) for _ in range(3))
    Guarantor.objects.create(patient=child, relationship="parent", guarantor_patient=parent)
    patients = [parent, child, other]
    for p in patients:
        account_for_patient(patient=p)

    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                     HealthCheck.too_slow])
    @given(steps=st.lists(step, min_size=1, max_size=18))
    def run(steps):
        with transaction.atomic():
            owes = {p.pk: D("0") for p in patients}  # the independent tally: what each patient owes
            for n, (kind, *args) in enumerate(steps):
                lines_before = JournalLine.objects.count()
                try:
                    owes_change = apply(kind, args, n, patients, desk)
                except ValidationError:
                    assert JournalLine.objects.count() == lines_before, f"refused {kind} posted something"
                    continue
                for pk, change in owes_change.items():
                    owes[pk] += change
                check(org, patients, owes)
            transaction.set_rollback(True)

    run()


def apply(kind, args, n, patients, actor) -> dict[int, Decimal]:
    """Do one step; return how much each patient's balance should move."""
    if kind in ("charge", "insurance_charge"):
        p, amount, days = patients[args[0]], args[1], args[2]
        party = PartyKind.PATIENT if kind == "charge" else PartyKind.INSURANCE
        item = open_item_create(organization=p.organization, patient=p, service_date=TODAY - timedelta(days=days),
                                description="Visit", party_kind=party, party_label="Aetna" if party != "patient" else "")
        role = AccountRole.PATIENT_RECEIVABLE if party == PartyKind.PATIENT else AccountRole.INSURANCE_RECEIVABLE
        entry_post(organization=p.organization, entry_date=TODAY, kind=EntryKind.CHARGE, lines=[
            LineSpec(account=role, amount=amount, item=item),
            LineSpec(account=AccountRole.SERVICE_REVENUE, amount=-amount, patient=p),
        ])
        return {p.pk: amount if party == PartyKind.PATIENT else D("0")}
    if kind == "pay":
        p, amount, method, allow_credit = patients[args[0]], args[1], args[2], args[3]
        payment = payment_post(account=account_for_patient(patient=p), amount=amount, method=method,
                               idempotency_key=f"p{n}", actor=actor, allow_credit=allow_credit, patient=p,
                               check_number="101" if method == PaymentMethod.CHECK else "", received_on=TODAY)
        # Money settles the account's charges (any member's, oldest first); a leftover is the payer's credit.
        return _moves_of(payment.entry, patients)
    if kind == "copay":
        p, amount = patients[args[0]], args[1]
        payment_post(account=account_for_patient(patient=p), amount=amount, method=PaymentMethod.CASH,
                     idempotency_key=f"c{n}", actor=actor, patient=p, is_copay=True, received_on=TODAY)
        return {p.pk: -amount}
    if kind == "adjust":
        p, amount, adjustment = patients[args[0]], args[1], args[2]
        item = OpenItem.objects.filter(patient=p).order_by("id").last()
        if item is None:
            raise ValidationError("no charge to adjust")
        adjustment_post(item=item, amount=amount, kind=adjustment, reason="Test", actor=actor, entry_date=TODAY)
        return {p.pk: -amount if item.party_kind == PartyKind.PATIENT else D("0")}
    if kind == "refund":
        p, amount, method = patients[args[0]], args[1], args[2]
        refund_post(patient=p, amount=amount, method=method, reason="Overpaid", idempotency_key=f"r{n}", actor=actor)
        return {p.pk: amount}
    if kind == "apply_credit":
        transfer = credit_apply(patient=patients[args[0]], actor=actor)
        return _moves_of(transfer.entry, patients) if transfer else {}
    if kind == "to_patient":
        p, amount = patients[args[0]], args[1]
        item = OpenItem.objects.filter(patient=p, party_kind=PartyKind.INSURANCE).order_by("id").last()
        if item is None:
            raise ValidationError("no insurance charge")
        responsibility_transfer(item=item, amount=amount, to_party=PartyKind.PATIENT, actor=actor, reason="Deductible")
        return {p.pk: amount}
    if kind == "void":
        payments = list(Payment.objects.filter(status=PaymentStatus.POSTED).order_by("id"))
        if not payments:
            raise ValidationError("nothing to void")
        payment = payments[args[0] % len(payments)]
        moves = {pk: -change for pk, change in _moves_of(payment.entry, patients).items()}
        payment_void(payment=payment, reason="Test", actor=actor)
        return moves
    raise AssertionError(kind)


def _moves_of(entry, patients) -> dict[int, Decimal]:
    moves = {p.pk: D("0") for p in patients}
    for line in entry.lines.filter(account__role__in=[AccountRole.PATIENT_RECEIVABLE, AccountRole.PATIENT_CREDIT]):
        moves[line.patient_id] += line.amount
    return moves


def check(org, patients, owes) -> None:
    assert (JournalLine.objects.filter(organization=org).aggregate(t=Sum("amount"))["t"] or 0) == 0
    paid_total = D("0")
    for p in patients:
        assert patient_balance(patient=p) == ledger_owes(p)
        paid_total += owes[p.pk]
        assert patient_credit(patient=p) >= 0
    # Family payments move money between members' lines, so compare the family and the other patient.
    family = patients[0].pk, patients[1].pk
    assert sum(patient_balance(patient=p) for p in patients[:2]) == owes[family[0]] + owes[family[1]]
    assert patient_balance(patient=patients[2]) == owes[patients[2].pk]
    items = list(OpenItem.objects.filter(organization=org).values_list("id", flat=True))
    assert all(balance >= 0 for balance in item_balances(item_ids=items).values()), "a charge was paid below zero"
