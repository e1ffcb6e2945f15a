"""Account reads: the summary (balance, credit, open charges and their aging, insurance pending), the activity
with its running balance, the payments list and its filters, all scoped to the actor's practice."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from clinicdesk.billing.choices import AdjustmentKind, PaymentMethod, PaymentStatus, RefundMethod
from clinicdesk.billing.selectors.accounts import (
    account_activity,
    account_get,
    account_summary,
    payment_applied,
    payment_list,
)
from clinicdesk.billing.services.accounts import account_for_patient
from clinicdesk.billing.services.payments import adjustment_post, credit_apply, payment_post, payment_void, refund_post
from clinicdesk.core.choices import Role
from clinicdesk.ledger.choices import PartyKind
from clinicdesk.ledger.services import open_item_create
from clinicdesk.patients.tests.factories import PatientFactory

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def biller(make_user):
    return make_user(Role.BILLER)


def test_the_summary_adds_the_family_and_ages_its_open_charges(family, biller, post_charge):
    # given
    post_charge(family["parent"], "100.00", service_date=date(2026, 9, 1))
    post_charge(family["child"], "50.00", service_date=date(2026, 11, 1))
    open_item_create(organization=family["parent"].organization, patient=family["child"], service_date=date(2026, 11, 1),
                     description="Visit (insurance share)", party_kind=PartyKind.INSURANCE)
    # when
    summary = account_summary(actor=biller, account=family["account"], today=date(2026, 11, 20))
    # then
    assert summary.balance == D("150.00") and summary.patient_owes == D("150.00") and summary.credit == D("0.00")
    assert [c.balance for c in summary.open_charges] == [D("100.00"), D("50.00")]
    aging = {b["key"]: b["amount"] for b in summary.aging}
    assert aging["61_90"] == D("100.00") and aging["current"] == D("50.00")
    assert {m.patient_id: m.balance for m in summary.members} == {family["parent"].pk: D("100.00"),
                                                                   family["child"].pk: D("50.00")}


def test_activity_runs_a_balance_through_every_kind_of_entry_newest_last(family, biller, post_charge):
    # given: two charges, a payment with an explicit credit, an adjustment, a credit applied, a void and a refund
    old = post_charge(family["parent"], "100.00", service_date=date(2026, 9, 1))
    post_charge(family["child"], "50.00", service_date=date(2026, 10, 1))
    account = family["account"]
    payment_post(account=account, amount="200.00", method=PaymentMethod.CASH, idempotency_key="a1", actor=biller,
                 allow_credit=True, patient=family["parent"])
    post_charge(family["parent"], "30.00", service_date=date(2026, 10, 15))
    newest = post_charge(family["parent"], "20.00", service_date=date(2026, 10, 16))
    adjustment_post(item=newest, amount="5.00", kind=AdjustmentKind.COURTESY, reason="Courtesy", actor=biller)
    credit_apply(patient=family["parent"], actor=biller)
    check = payment_post(account=account, amount="10.00", method=PaymentMethod.CHECK, check_number="77",
                         idempotency_key="a2", actor=biller, allow_credit=True)
    payment_void(payment=check, reason="Bounced", actor=biller)
    refund_post(patient=family["parent"], amount="5.00", method=RefundMethod.CASH, reason="Asked", idempotency_key="r1",
                actor=biller)
    # when
    rows = account_activity(actor=biller, account=account)
    # then: each row's balance is the sum so far, and the last one is the account's balance
    running = D("0")
    for row in rows:
        running += row.amount
        assert row.balance == running
    assert rows[-1].balance == account_summary(actor=biller, account=account, audit=False).balance
    # charges by service date, then today's entries in the order they were posted
    assert [(r.kind, r.amount, r.balance) for r in rows] == [
        ("charge", D("100.00"), D("100.00")), ("charge", D("50.00"), D("150.00")), ("charge", D("30.00"), D("180.00")),
        ("charge", D("20.00"), D("200.00")), ("payment", D("-200.00"), D("0.00")),
        ("adjustment", D("-5.00"), D("-5.00")), ("transfer", D("0.00"), D("-5.00")),
        ("payment", D("-10.00"), D("-15.00")), ("reversal", D("10.00"), D("-5.00")), ("refund", D("5.00"), D("0.00")),
    ]
    assert rows[0].description == old.description


def test_running_balance_arithmetic_is_exact(family, biller, post_charge):
    post_charge(family["parent"], "100.00", service_date=date(2026, 9, 1))
    payment_post(account=family["account"], amount="40.00", method=PaymentMethod.CASH, idempotency_key="x", actor=biller,
                 received_on=date(2026, 9, 15))
    post_charge(family["child"], "25.50", service_date=date(2026, 10, 1))
    rows = account_activity(actor=biller, account=family["account"])
    assert [(r.amount, r.balance) for r in rows] == [(D("100.00"), D("100.00")), (D("-40.00"), D("60.00")),
                                                     (D("25.50"), D("85.50"))]
    # a date window keeps the running balance of everything before it
    window = account_activity(actor=biller, account=family["account"], date_from=date(2026, 10, 1))
    assert [(r.amount, r.balance) for r in window] == [(D("25.50"), D("85.50"))]
    with pytest.raises(ValidationError) as refused:
        account_activity(actor=biller, account=family["account"], date_from=date(2026, 10, 2), date_to=date(2026, 10, 1))
    assert "date_from" in refused.value.message_dict


def test_what_a_payment_paid(family, biller, post_charge):
    post_charge(family["parent"], "30.00", service_date=date(2026, 9, 1), description="Flu shot")
    payment = payment_post(account=family["account"], amount="50.00", method=PaymentMethod.CASH, idempotency_key="w",
                           actor=biller, allow_credit=True)
    applied = payment_applied(payment=payment)
    assert [(a.description, a.amount) for a in applied] == [("Flu shot", D("30.00")),
                                                            ("Kept as a credit on the account", D("20.00"))]


def test_payments_list_filters_and_refuses_unknown_values_by_name(family, biller, post_charge):
    post_charge(family["parent"], "100.00")
    payment_post(account=family["account"], amount="10.00", method=PaymentMethod.CASH, idempotency_key="p1", actor=biller)
    payment_post(account=family["account"], amount="20.00", method=PaymentMethod.CHECK, check_number="5",
                 idempotency_key="p2", actor=biller)
    payment_post(account=family["account"], amount="5.00", method=PaymentMethod.CASH, idempotency_key="p3", actor=biller,
                 is_copay=True)
    assert payment_list(actor=biller).count() == 3
    assert [p.amount for p in payment_list(actor=biller, method="check")] == [D("20.00")]
    assert [p.amount for p in payment_list(actor=biller, copay=True)] == [D("5.00")]
    assert payment_list(actor=biller, status=PaymentStatus.VOIDED).count() == 0
    with pytest.raises(ValidationError) as refused:
        payment_list(actor=biller, method="bitcoin", status="lost")
    assert set(refused.value.message_dict) == {"method", "status"}


def test_another_practice_sees_nothing(family, other_org, make_user, post_charge):
    post_charge(family["parent"], "100.00")
    payment_post(account=family["account"], amount="10.00", method=PaymentMethod.CASH, idempotency_key="o1",
                 actor=None)
    stranger = make_user(Role.BILLER, organization=other_org)
    with pytest.raises(Http404):
        account_get(actor=stranger, public_id=family["account"].public_id)
    with pytest.raises(Http404):
        account_summary(actor=stranger, account=family["account"])
    assert payment_list(actor=stranger).count() == 0
    clinician = make_user(Role.CLINICIAN)
    with pytest.raises(Http404):
        account_get(actor=clinician, public_id=family["account"].public_id)


def test_a_patient_without_a_guarantor_gets_an_account_of_their_own(org, biller):
    patient = PatientFactory(organization=org)
    account = account_for_patient(patient=patient)
    assert account_summary(actor=biller, account=account).balance == D("0.00")


def test_a_credit_needs_a_patient_to_hold_it(org, biller):
    from clinicdesk.billing.models import PatientAccount

    empty = PatientAccount.objects.create(organization=org, number="EMPTY1", guarantor_name="Outside Payer")
    with pytest.raises(ValidationError) as refused:
        payment_post(account=empty, amount="10.00", method=PaymentMethod.CASH, idempotency_key="e1", actor=biller,
                     allow_credit=True)
    assert "account" in refused.value.message_dict
