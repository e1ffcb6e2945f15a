"""Payments, adjustments, credits, transfers and refunds: what they post, what they refuse, and idempotency."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from clinicdesk.billing.choices import AdjustmentKind, PaymentMethod, PaymentStatus, RefundMethod, RefundStatus
from clinicdesk.billing.models import Payment
from clinicdesk.billing.services.accounts import account_for_patient, account_member_move
from clinicdesk.billing.services.payments import (
    Allocation,
    IdempotencyConflict,
    adjustment_post,
    credit_apply,
    payment_post,
    payment_void,
    refund_post,
    responsibility_transfer,
)
from clinicdesk.core.choices import Role
from clinicdesk.ledger.choices import AccountRole, PartyKind
from clinicdesk.ledger.models import JournalEntry, JournalLine
from clinicdesk.ledger.selectors import account_balances, item_balances, patient_balance, patient_credit
from clinicdesk.patients.models import Guarantor
from clinicdesk.patients.tests.factories import PatientFactory

D = Decimal


@pytest.fixture
def desk(make_user):
    return make_user(Role.FRONT_DESK)


@pytest.fixture
def patient(org):
    return PatientFactory(organization=org)


def books_balance(org) -> bool:
    return sum(account_balances(organization_id=org.pk).values()) == 0


def test_a_cash_payment_settles_the_oldest_charge_first(org, patient, desk, post_charge):
    # given
    old = post_charge(patient, "100.00", service_date=date(2026, 9, 1))
    new = post_charge(patient, "50.00", service_date=date(2026, 10, 1))
    account = account_for_patient(patient=patient)
    # when
    payment = payment_post(account=account, amount="120.00", method=PaymentMethod.CASH, idempotency_key="k1", actor=desk)
    # then
    assert payment.status == PaymentStatus.POSTED and payment.entry_id
    assert item_balances(item_ids=[old.pk, new.pk]) == {old.pk: D("0.00"), new.pk: D("30.00")}
    assert patient_balance(patient=patient) == D("30.00")
    cash = JournalLine.objects.get(entry=payment.entry, account__role=AccountRole.CASH)
    assert cash.amount == D("120.00")
    assert books_balance(org)


def test_chosen_allocations_are_honoured_and_checked(org, patient, desk, post_charge):
    old = post_charge(patient, "100.00", service_date=date(2026, 9, 1))
    new = post_charge(patient, "50.00", service_date=date(2026, 10, 1))
    account = account_for_patient(patient=patient)
    payment_post(account=account, amount="50.00", method=PaymentMethod.CHECK, check_number="1042",
                 idempotency_key="k2", actor=desk, allocations=[Allocation(item=new, amount=D("50.00"))])
    assert item_balances(item_ids=[old.pk, new.pk]) == {old.pk: D("100.00"), new.pk: D("0.00")}
    assert JournalLine.objects.filter(account__role=AccountRole.UNDEPOSITED_FUNDS).get().amount == D("50.00")
    with pytest.raises(ValidationError, match="more than the charge's balance"):
        payment_post(account=account, amount="150.00", method=PaymentMethod.CASH, idempotency_key="k3", actor=desk,
                     allocations=[Allocation(item=old, amount=D("150.00"))])


def test_paying_more_than_the_balance_needs_an_explicit_credit(org, patient, desk, post_charge):
    post_charge(patient, "40.00")
    account = account_for_patient(patient=patient)
    with pytest.raises(ValidationError) as refused:
        payment_post(account=account, amount="60.00", method=PaymentMethod.CASH, idempotency_key="k4", actor=desk)
    assert "amount" in refused.value.message_dict and "$20.00 more than the balance" in str(refused.value)
    assert not Payment.objects.exists() and JournalEntry.objects.filter(kind="payment").count() == 0
    payment_post(account=account, amount="60.00", method=PaymentMethod.CASH, idempotency_key="k4", actor=desk,
                 allow_credit=True)
    assert patient_balance(patient=patient) == D("-20.00")
    assert patient_credit(patient=patient) == D("20.00")


@pytest.mark.parametrize("amount, message", [
    (12.5, "not a floating-point number"), ("-5.00", "more than zero"), ("0", "more than zero"),
    ("1.005", "fractions of a cent"), ("abc", "is not an amount"), ("1e3", "is not an amount"), ("Infinity", "is not an amount"),
])
def test_bad_amounts_are_refused_naming_the_field(org, patient, desk, amount, message):
    account = account_for_patient(patient=patient)
    with pytest.raises(ValidationError) as refused:
        payment_post(account=account, amount=amount, method=PaymentMethod.CASH, idempotency_key="bad", actor=desk,
                     allow_credit=True)
    if message:
        assert "amount" in refused.value.message_dict and message in str(refused.value)
    assert not Payment.objects.exists()


def test_the_same_key_replays_and_a_different_body_is_a_conflict(org, patient, desk, post_charge):
    post_charge(patient, "80.00")
    account = account_for_patient(patient=patient)
    first = payment_post(account=account, amount="30.00", method=PaymentMethod.CASH, idempotency_key="same", actor=desk)
    again = payment_post(account=account, amount="30.00", method=PaymentMethod.CASH, idempotency_key="same", actor=desk)
    assert again.pk == first.pk and getattr(again, "replayed", False)
    with pytest.raises(IdempotencyConflict):
        payment_post(account=account, amount="31.00", method=PaymentMethod.CASH, idempotency_key="same", actor=desk)
    assert Payment.objects.count() == 1 and patient_balance(patient=patient) == D("50.00")


def test_a_family_pays_on_one_account(org, desk, post_charge):
    parent = PatientFactory(organization=org)
    child = PatientFactory(organization=org)
    Guarantor.objects.create(patient=child, relationship="parent", guarantor_patient=parent)
    child_item = post_charge(child, "70.00", service_date=date(2026, 8, 1))
    parent_item = post_charge(parent, "30.00", service_date=date(2026, 9, 1))
    account = account_for_patient(patient=child)
    assert account == account_for_patient(patient=parent) and account.guarantor_patient == parent
    payment_post(account=account, amount="80.00", method=PaymentMethod.CASH, idempotency_key="fam", actor=desk)
    assert item_balances(item_ids=[child_item.pk, parent_item.pk]) == {child_item.pk: D("0.00"), parent_item.pk: D("20.00")}


def test_a_copay_waits_as_credit_and_is_applied_later(org, patient, desk, post_charge):
    account = account_for_patient(patient=patient)
    payment_post(account=account, amount="25.00", method=PaymentMethod.CASH, idempotency_key="copay", actor=desk,
                 patient=patient, is_copay=True)
    assert patient_credit(patient=patient) == D("25.00")
    item = post_charge(patient, "110.00")
    credit_apply(patient=patient, actor=desk)
    assert item_balances(item_ids=[item.pk])[item.pk] == D("85.00")
    assert patient_credit(patient=patient) == 0 and patient_balance(patient=patient) == D("85.00")


def test_adjustments_never_exceed_the_balance_and_post_to_their_account(org, patient, desk, post_charge):
    item = post_charge(patient, "45.00")
    adjustment_post(item=item, amount="5.00", kind=AdjustmentKind.SMALL_BALANCE, reason="Under $10", actor=desk)
    assert item_balances(item_ids=[item.pk])[item.pk] == D("40.00")
    assert JournalLine.objects.get(account__role=AccountRole.ADMINISTRATIVE_ADJUSTMENT).amount == D("5.00")
    with pytest.raises(ValidationError, match="more than the charge's balance"):
        adjustment_post(item=item, amount="40.01", kind=AdjustmentKind.BAD_DEBT, reason="Collections", actor=desk)
    adjustment_post(item=item, amount="40.00", kind=AdjustmentKind.BAD_DEBT, reason="Collections", actor=desk)
    assert patient_balance(patient=patient) == 0
    assert books_balance(org)


def test_void_reverses_a_cash_payment(org, patient, desk, post_charge):
    post_charge(patient, "60.00")
    account = account_for_patient(patient=patient)
    payment = payment_post(account=account, amount="60.00", method=PaymentMethod.CASH, idempotency_key="v", actor=desk)
    payment_void(payment=payment, reason="Posted to the wrong account", actor=desk)
    assert patient_balance(patient=patient) == D("60.00")
    with pytest.raises(ValidationError, match="cannot be voided"):
        payment_void(payment=payment, reason="again", actor=desk)


def test_refunds_come_out_of_credit_only_and_replay(org, patient, desk):
    account = account_for_patient(patient=patient)
    payment_post(account=account, amount="50.00", method=PaymentMethod.CASH, idempotency_key="over", actor=desk,
                 allow_credit=True)
    with pytest.raises(ValidationError, match="more than the credit"):
        refund_post(patient=patient, amount="50.01", method=RefundMethod.CASH, reason="Overpaid", idempotency_key="r1",
                    actor=desk)
    refund = refund_post(patient=patient, amount="20.00", method=RefundMethod.CHECK, reason="Overpaid",
                         idempotency_key="r1", actor=desk)
    assert refund.status == RefundStatus.PENDING
    assert refund_post(patient=patient, amount="20.00", method=RefundMethod.CHECK, reason="Overpaid",
                       idempotency_key="r1", actor=desk).pk == refund.pk
    assert patient_credit(patient=patient) == D("30.00")
    assert JournalLine.objects.get(account__role=AccountRole.REFUNDS_PAYABLE).amount == D("-20.00")
    assert books_balance(org)


def test_responsibility_moves_between_insurance_and_patient(org, patient, desk):
    from clinicdesk.ledger.choices import EntryKind
    from clinicdesk.ledger.services import LineSpec, entry_post, open_item_create

    insurance_item = open_item_create(organization=org, patient=patient, service_date=date(2026, 10, 5),
                                      description="99213", party_kind=PartyKind.INSURANCE, party_label="Aetna")
    entry_post(organization=org, entry_date=date(2026, 10, 5), kind=EntryKind.CHARGE, lines=[
        LineSpec(account=AccountRole.INSURANCE_RECEIVABLE, amount=D("150.00"), item=insurance_item),
        LineSpec(account=AccountRole.SERVICE_REVENUE, amount=D("-150.00")),
    ])
    assert patient_balance(patient=patient) == 0
    transfer = responsibility_transfer(item=insurance_item, amount="35.00", to_party=PartyKind.PATIENT, actor=desk,
                                       reason="Deductible")
    assert patient_balance(patient=patient) == D("35.00")
    assert item_balances(item_ids=[insurance_item.pk])[insurance_item.pk] == D("115.00")
    assert transfer.entry.lines.count() == 2


def test_a_patient_moved_to_a_family_account_brings_their_balance(org, desk, post_charge):
    parent, child = PatientFactory(organization=org), PatientFactory(organization=org)
    post_charge(child, "20.00")
    family = account_for_patient(patient=parent)
    account_for_patient(patient=child)
    account_member_move(patient=child, account=family, actor=desk)
    payment_post(account=family, amount="20.00", method=PaymentMethod.CASH, idempotency_key="move", actor=desk)
    assert patient_balance(patient=child) == 0


def test_a_payment_whose_credit_was_refunded_cannot_be_voided(org, patient, desk):
    account = account_for_patient(patient=patient)
    payment = payment_post(account=account, amount="40.00", method=PaymentMethod.CASH, idempotency_key="vv",
                           actor=desk, allow_credit=True)
    refund_post(patient=patient, amount="15.00", method=RefundMethod.CASH, reason="Overpaid", idempotency_key="rr",
                actor=desk)
    with pytest.raises(ValidationError, match="reverse that first"):
        payment_void(payment=payment, reason="Wrong account", actor=desk)
    assert patient_credit(patient=patient) == D("25.00")
