"""Plan autopay against the local processor (real adapter, real processor views, in-process HTTP): a due
installment is charged once and posted oldest charge first, a second run charges nothing, a decline posts nothing,
tells the patient and is retried on its schedule until autopay gives up and the missed check takes over; staff turn
autopay off and change the card only to one the processor holds."""

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from freezegun import freeze_time

from clinicdesk.billing import cards
from clinicdesk.billing.cardprocessor.models import ProcessorPaymentIntent
from clinicdesk.billing.choices import AutopayAttemptStatus, PaymentStatus, PlanFrequency, PlanStatus
from clinicdesk.billing.models import AutopayAttempt, Payment, PaymentPlan
from clinicdesk.billing.selectors.accounts import account_balance
from clinicdesk.billing.services.autopay import (
    autopay_key,
    plan_autopay_card_change,
    plan_autopay_set,
    plans_autopay_run,
)
from clinicdesk.billing.services.plans import payment_plan_create, payment_plans_check
from clinicdesk.communications.models import Message
from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.ledger.choices import AccountRole
from clinicdesk.ledger.models import JournalLine
from clinicdesk.ledger.selectors import item_balances

from . import card_processor
from .card_processor import card

processor_http = card_processor.processor_http
processor = card_processor.processor
local_processor = card_processor.local_processor
D = Decimal
TODAY = date(2026, 11, 2)


@pytest.fixture
def plan_world(db, family, post_charge, make_user):
    """The Lopez account owes 100.00 (Sep 1) and 50.00 (Oct 1); `plan(card_id)` agrees 3 monthly installments of
    50.00 from today with that card stored."""
    older = post_charge(family["parent"], "100.00", service_date=date(2026, 9, 1))
    newer = post_charge(family["child"], "50.00", service_date=date(2026, 10, 1))

    def plan(card_id: str, *, start: date = TODAY) -> PaymentPlan:
        return payment_plan_create(account=family["account"], total="150.00", installments=3,
                                   frequency=PlanFrequency.MONTHLY, start_date=start, actor=None,
                                   autopay_payment_method_id=card_id)

    return {"plan": plan, "older": older, "newer": newer, "account": family["account"], "biller": make_user(Role.BILLER)}


@freeze_time("2026-11-02 15:00")
@pytest.mark.django_db
def test_a_due_installment_is_charged_once_and_posted_to_the_oldest_charge(plan_world, local_processor):
    # given
    plan = plan_world["plan"](card(local_processor).id)
    # when: the daily run, twice
    first = plans_autopay_run()
    second = plans_autopay_run()
    # then: one captured intent, one posted card payment, the oldest charge paid down
    assert first == {"charged": 1, "declined": 0, "failed": 0}
    assert second == {"charged": 0, "declined": 0, "failed": 0}
    assert ProcessorPaymentIntent.objects.filter(status="succeeded").count() == 1
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.POSTED and payment.amount == D("50.00")
    assert payment.idempotency_key == autopay_key(plan=plan, installment=plan.installments.get(sequence=1), key_number=1)
    lines = JournalLine.objects.filter(entry=payment.entry)
    assert sum(line.amount for line in lines) == 0
    assert lines.get(account__role=AccountRole.CARD_CLEARING).amount == D("50.00")
    balances = item_balances(item_ids=[plan_world["older"].pk, plan_world["newer"].pk])
    assert balances[plan_world["older"].pk] == D("50.00") and balances[plan_world["newer"].pk] == D("50.00")
    attempt = AutopayAttempt.objects.get()
    assert attempt.status == AutopayAttemptStatus.CHARGED and attempt.payment == payment
    plan.refresh_from_db()
    assert plan.card_label == "Visa ending 4242"
    assert AuditEvent.objects.filter(action="payment_plan.autopay_charged").count() == 1


@freeze_time("2026-11-02 15:00")
@pytest.mark.django_db
def test_nothing_is_charged_before_the_due_date_or_with_autopay_off(plan_world, local_processor):
    plan = plan_world["plan"](card(local_processor).id, start=TODAY + timedelta(days=1))
    assert plans_autopay_run() == {"charged": 0, "declined": 0, "failed": 0}
    assert plans_autopay_run(today=TODAY + timedelta(days=1))["charged"] == 1
    plan_autopay_set(plan=plan, enabled=False, actor=plan_world["biller"])
    assert plans_autopay_run(today=TODAY + timedelta(days=32))["charged"] == 0
    assert Payment.objects.count() == 1
    assert AuditEvent.objects.filter(action="payment_plan.autopay_off").exists()


@freeze_time("2026-11-02 15:00")
@pytest.mark.django_db
def test_a_declined_card_posts_nothing_tells_the_patient_and_is_retried_then_left_to_the_missed_check(
        plan_world, local_processor):
    from clinicdesk.communications.defaults import defaults_install

    defaults_install(organization=plan_world["account"].organization)
    plan_world["plan"](card(local_processor, "4000000000009995").id)
    balance = account_balance(account=plan_world["account"])
    # when: the due date
    assert plans_autopay_run()["declined"] == 1
    # then: nothing posted, the attempt and the patient's message recorded, a retry three days on
    attempt = AutopayAttempt.objects.get()
    assert attempt.status == AutopayAttemptStatus.DECLINED and attempt.decline_code == "insufficient_funds"
    assert "insufficient" in attempt.message.lower()
    assert attempt.next_attempt_on == TODAY + timedelta(days=3)
    assert not Payment.objects.filter(status=PaymentStatus.POSTED).exists()
    assert account_balance(account=plan_world["account"]) == balance
    message = Message.objects.get(idempotency_key__startswith="autopay-declined:")
    assert "could not be charged" in message.body and "11/05/2026" in message.body
    assert AuditEvent.objects.filter(action="payment_plan.autopay_declined").count() == 1
    # when: the next days; then: tried again on day 3 and day 7 only, under a new key each time, and the missed
    # check waits while autopay is still trying
    runs = {n: plans_autopay_run(today=TODAY + timedelta(days=n))["declined"] for n in range(1, 6)}
    assert payment_plans_check(today=TODAY + timedelta(days=5))["flagged"] == 0
    runs |= {n: plans_autopay_run(today=TODAY + timedelta(days=n))["declined"] for n in range(6, 12)}
    assert [n for n, declined in runs.items() if declined] == [3, 7]
    keys = list(Payment.objects.order_by("id").values_list("idempotency_key", flat=True))
    assert [k.rsplit(":", 1)[1] for k in keys] == ["1", "2", "3"]
    assert AutopayAttempt.objects.count() == 3
    assert AutopayAttempt.objects.order_by("id").last().next_attempt_on is None
    # then: autopay gave up, so the installment is missed
    assert payment_plans_check(today=TODAY + timedelta(days=11))["flagged"] == 1


@freeze_time("2026-11-02 15:00")
@pytest.mark.django_db
def test_the_card_can_be_changed_only_to_one_the_processor_holds(plan_world, local_processor):
    plan = plan_world["plan"]("")
    biller = plan_world["biller"]
    with pytest.raises(ValidationError) as bad:
        plan_autopay_card_change(plan=plan, payment_method_id="4242424242424242", actor=biller)
    assert "payment_method_id" in bad.value.message_dict
    with pytest.raises(ValidationError) as unknown:
        plan_autopay_card_change(plan=plan, payment_method_id="pm_" + "0" * 24, actor=biller)
    assert "does not know" in unknown.value.message_dict["payment_method_id"][0]
    mastercard = card(local_processor, "5555555555554444")
    changed = plan_autopay_card_change(plan=plan, payment_method_id=mastercard.id, actor=biller)
    assert changed.card_label == "Mastercard ending 4444" and changed.autopay_on
    assert changed.card_exp_year == 2035
    event = AuditEvent.objects.get(action="payment_plan.autopay_card_changed")
    assert "Mastercard ending 4444" in event.summary and "4242" not in event.summary
    assert not PaymentPlan.objects.filter(autopay_payment_method_id__contains="5555555555554444").exists()


@freeze_time("2026-11-02 15:00")
@pytest.mark.django_db
def test_a_processor_that_does_not_answer_is_asked_again_under_the_same_key(plan_world, local_processor, monkeypatch):
    plan = plan_world["plan"](card(local_processor).id)
    real = local_processor.charge

    def down(**kwargs):
        raise cards.TemporaryFailure("The card processor did not answer in time.")

    monkeypatch.setattr(local_processor, "charge", down)
    assert plans_autopay_run()["failed"] == 1
    monkeypatch.setattr(local_processor, "charge", real)
    assert plans_autopay_run()["charged"] == 1
    payment = Payment.objects.get()
    assert payment.idempotency_key.endswith(":try:1")
    assert [a.status for a in plan.autopay_attempts.order_by("id")] == ["failed", "charged"]


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_make_one_charge_and_one_payment(family, post_charge, fake_cards):
    if connection.vendor == "sqlite" and ("memory" in str(connection.settings_dict.get("NAME"))
                                          or connection.settings_dict.get("NAME") in ("", ":memory:")):
        print("skipped: the SQLite test database is in memory; the worker threads cannot share it")
        pytest.skip("the SQLite test database is in memory; worker threads cannot share it")
    # given: a plan due today with a stored card
    post_charge(family["parent"], "150.00", service_date=date(2026, 9, 1))
    today = date.today()
    plan = payment_plan_create(account=family["account"], total="150.00", installments=3,
                               frequency=PlanFrequency.MONTHLY, start_date=today, actor=None,
                               autopay_payment_method_id="pm_1_4242")
    barrier = threading.Barrier(4)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(plans_autopay_run(today=today))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    # when: four workers run the daily autopay at the same moment
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # then
    assert not errors, errors
    assert sum(r["charged"] for r in results) == 1
    assert len(fake_cards.charges) == 1
    assert Payment.objects.filter(status=PaymentStatus.POSTED).count() == 1
    assert plan.autopay_attempts.count() == 1
    assert PaymentPlan.objects.get(pk=plan.pk).status == PlanStatus.ACTIVE


@pytest.mark.django_db
def test_a_plan_never_stores_a_card_number(family, post_charge):
    post_charge(family["parent"], "90.00", service_date=date(2026, 9, 1))
    with pytest.raises(ValidationError) as refused:
        payment_plan_create(account=family["account"], total="90.00", installments=3, frequency="monthly",
                            start_date=date.today(), actor=None, autopay_payment_method_id="4242424242424242")
    assert "never a card number" in refused.value.message_dict["autopay_payment_method_id"][0]
    assert not PaymentPlan.objects.exists()
