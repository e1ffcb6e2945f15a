"""The batch payment service: the same rules and the same postings as payment_post, in a fixed number of queries."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from clinicdesk.billing.choices import PaymentMethod
from clinicdesk.billing.models import Payment
from clinicdesk.billing.services.accounts import account_for_patient
from clinicdesk.billing.services.dayclose import day_close_close
from clinicdesk.billing.services.lockbox import PaymentInput, payments_post
from clinicdesk.billing.services.payments import IdempotencyConflict, payment_post
from clinicdesk.core.choices import Role
from clinicdesk.ledger.choices import AccountRole
from clinicdesk.ledger.models import JournalLine
from clinicdesk.ledger.selectors import account_balances, item_balances, patient_credit
from clinicdesk.patients.tests.factories import PatientFactory

from .day_world import DAY, NOON, fake_cards_fixture, hand_day_fixture  # noqa: F401

D = Decimal


@pytest.fixture
def desk(make_user):
    return make_user(Role.FRONT_DESK)


def test_a_batch_settles_oldest_first_across_payments_of_one_account(org, desk, post_charge):
    # given
    patient = PatientFactory(organization=org)
    old = post_charge(patient, "100.00", service_date=date(2026, 9, 1))
    new = post_charge(patient, "50.00", service_date=date(2026, 10, 1))
    account = account_for_patient(patient=patient)
    # when
    first, second = payments_post(organization=org, actor=desk, payments=[
        PaymentInput(account=account, amount="80.00", method=PaymentMethod.CASH, idempotency_key="lb-1"),
        PaymentInput(account=account, amount="40.00", method=PaymentMethod.CHECK, check_number="77",
                     idempotency_key="lb-2"),
    ])
    # then
    assert item_balances(item_ids=[old.pk, new.pk]) == {old.pk: D("0.00"), new.pk: D("30.00")}
    assert JournalLine.objects.get(entry=second.entry, account__role=AccountRole.UNDEPOSITED_FUNDS).amount == D("40.00")
    assert first.taken_by == desk and second.entry.reference == f"payment:{second.pk}"
    assert sum(account_balances(organization_id=org.pk).values()) == 0


def test_a_batch_refuses_overpayment_and_bad_input_naming_the_payment(org, desk, post_charge):
    patient = PatientFactory(organization=org)
    post_charge(patient, "40.00")
    account = account_for_patient(patient=patient)
    with pytest.raises(ValidationError, match="Payment 2: .* more than the balance"):
        payments_post(organization=org, actor=desk, payments=[
            PaymentInput(account=account, amount="30.00", method=PaymentMethod.CASH, idempotency_key="o-1"),
            PaymentInput(account=account, amount="30.00", method=PaymentMethod.CASH, idempotency_key="o-2"),
        ])
    assert not Payment.objects.exists()
    for bad, field in ((PaymentInput(account=account, amount=10.0, method="cash", idempotency_key="f"), "amount"),
                       (PaymentInput(account=account, amount="10.00", method="card", idempotency_key="c"), "method"),
                       (PaymentInput(account=account, amount="10.00", method="check", idempotency_key="n"), "check_number")):
        with pytest.raises(ValidationError) as refused:
            payments_post(organization=org, actor=desk, payments=[bad])
        assert field in refused.value.message_dict
    credit = payments_post(organization=org, actor=desk, payments=[
        PaymentInput(account=account, amount="60.00", method=PaymentMethod.CASH, idempotency_key="o-3",
                     allow_credit=True)])[0]
    assert credit.amount == D("60.00") and patient_credit(patient=patient) == D("20.00")


def test_keys_replay_across_the_single_and_the_batch_service(org, desk, post_charge):
    patient = PatientFactory(organization=org)
    post_charge(patient, "90.00")
    account = account_for_patient(patient=patient)
    single = payment_post(account=account, amount="25.00", method=PaymentMethod.CASH, idempotency_key="same",
                          actor=desk)
    again = payments_post(organization=org, actor=desk, payments=[
        PaymentInput(account=account, amount="25.00", method=PaymentMethod.CASH, idempotency_key="same")])[0]
    assert again.pk == single.pk and again.replayed
    with pytest.raises(IdempotencyConflict):
        payments_post(organization=org, actor=desk, payments=[
            PaymentInput(account=account, amount="26.00", method=PaymentMethod.CASH, idempotency_key="same")])
    assert Payment.objects.count() == 1


def test_a_closed_day_refuses_batch_payments(hand_day):
    with freeze_time(NOON):
        day_close_close(drawer=hand_day.drawer, business_date=DAY, denominations={"100": 1, "50": 1, "20": 1, "5": 1},
                        actor=hand_day.dee)
        account = account_for_patient(patient=hand_day.patients["A"])
        with pytest.raises(ValidationError) as refused:
            payments_post(organization=hand_day.org, actor=hand_day.dee, payments=[
                PaymentInput(account=account, amount="5.00", method=PaymentMethod.CASH, idempotency_key="late",
                             location=hand_day.location)])
    assert "received_on" in refused.value.message_dict


def test_batch_queries_do_not_grow_with_payments(org, desk, post_charge):
    def batch(size: int, tag: str) -> int:
        inputs = []
        for n in range(size):
            patient = PatientFactory(organization=org)
            post_charge(patient, "30.00")
            inputs.append(PaymentInput(account=account_for_patient(patient=patient), amount="10.00",
                                       method=PaymentMethod.CASH, idempotency_key=f"{tag}-{n}"))
        with CaptureQueriesContext(connection) as ctx:
            payments_post(organization=org, actor=desk, payments=inputs)
        return len(ctx.captured_queries)

    batch(1, "warm")
    assert batch(2, "small") == batch(12, "big")
