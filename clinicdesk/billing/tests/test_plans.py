"""Payment plans: the schedule sums to the total exactly (the last installment takes the rounding), installments
are paid from the account's payments in due order (each cent counted once), and the daily check flags a missed
installment once, breaks a plan after repeated misses and completes a paid one."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from freezegun import freeze_time

from clinicdesk.billing.choices import InstallmentState, PaymentMethod, PlanFrequency, PlanStatus
from clinicdesk.billing.selectors.plans import plan_installments
from clinicdesk.billing.services.payments import payment_post, payment_void
from clinicdesk.billing.services.plans import payment_plan_cancel, payment_plan_create, payment_plans_check
from clinicdesk.communications.models import StaffTask
from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def biller(make_user):
    return make_user(Role.BILLER)


@pytest.fixture
def owing(family, post_charge):
    post_charge(family["parent"], "1000.00", service_date=date(2026, 9, 1))
    return family["account"]


@freeze_time("2026-11-02")
def test_the_schedule_sums_to_the_total_and_the_last_installment_takes_the_rounding(owing, biller):
    plan = payment_plan_create(account=owing, total="100.00", installments=3, frequency=PlanFrequency.MONTHLY,
                               start_date=date(2027, 1, 31), actor=biller)
    rows = list(plan.installments.order_by("sequence"))
    assert [r.amount for r in rows] == [D("33.33"), D("33.33"), D("33.34")]
    assert sum(r.amount for r in rows) == D("100.00")
    assert [r.due_date for r in rows] == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31)]


@freeze_time("2026-11-02")
def test_an_installment_amount_makes_equal_payments_and_a_smaller_last_one_every_two_weeks(owing, biller):
    plan = payment_plan_create(account=owing, total="250.00", installment_amount="60.00",
                               frequency=PlanFrequency.BIWEEKLY, start_date=date(2026, 11, 6), actor=biller)
    rows = list(plan.installments.order_by("sequence"))
    assert [r.amount for r in rows] == [D("60.00")] * 4 + [D("10.00")]
    assert [r.due_date for r in rows][:3] == [date(2026, 11, 6), date(2026, 11, 20), date(2026, 12, 4)]


@freeze_time("2026-11-02")
def test_a_plan_is_refused_by_field_when_it_makes_no_sense(owing, biller):
    cases = [
        ({"total": "2000.00", "installments": 4}, "total"),
        ({"total": 100.0, "installments": 4}, "total"),
        ({"total": "-5.00", "installments": 4}, "total"),
        ({"total": "100.00"}, "installment_amount"),
        ({"total": "100.00", "installment_amount": "200.00"}, "installment_amount"),
        ({"total": "100.00", "installments": 0}, "installments"),
    ]
    for kwargs, field in cases:
        with pytest.raises(ValidationError) as refused:
            payment_plan_create(account=owing, frequency=PlanFrequency.MONTHLY, start_date=date(2026, 12, 1),
                                actor=biller, **kwargs)
        assert field in refused.value.message_dict, (kwargs, refused.value)
    payment_plan_create(account=owing, total="100.00", installments=2, frequency=PlanFrequency.MONTHLY,
                        start_date=date(2026, 12, 1), actor=biller)
    with pytest.raises(ValidationError) as second:
        payment_plan_create(account=owing, total="100.00", installments=2, frequency=PlanFrequency.MONTHLY,
                            start_date=date(2026, 12, 1), actor=biller)
    assert "account" in second.value.message_dict


def test_payments_are_matched_to_installments_in_due_order_once(owing, biller):
    # given: a plan of 3 × 100 monthly from Dec 1, agreed Nov 2
    with freeze_time("2026-11-02"):
        plan = payment_plan_create(account=owing, total="300.00", installments=3, frequency=PlanFrequency.MONTHLY,
                                   start_date=date(2026, 12, 1), actor=biller)
    with freeze_time("2026-12-20"):
        # when: 150 paid in one payment, and a voided payment that must not count
        payment_post(account=owing, amount="150.00", method=PaymentMethod.CASH, idempotency_key="i1", actor=biller)
        bounced = payment_post(account=owing, amount="100.00", method=PaymentMethod.CHECK, check_number="9",
                               idempotency_key="i2", actor=biller)
        payment_void(payment=bounced, reason="Bounced", actor=biller)
    # then: the first installment is paid, the second half paid (not yet due), nothing counted twice
    rows = plan_installments(plan=plan, today=date(2026, 12, 20))
    assert [(r.paid, r.state) for r in rows] == [(D("100.00"), InstallmentState.PAID),
                                                 (D("50.00"), InstallmentState.PARTLY_PAID),
                                                 (D("0.00"), InstallmentState.DUE)]
    later = plan_installments(plan=plan, today=date(2027, 1, 2))
    assert [r.state for r in later] == [InstallmentState.PAID, InstallmentState.MISSED, InstallmentState.DUE]


def test_the_daily_check_flags_a_miss_once_and_breaks_the_plan_after_two(owing, biller, make_user):
    make_user(Role.BILLER)
    with freeze_time("2026-11-02"):
        plan = payment_plan_create(account=owing, total="300.00", installments=3, frequency=PlanFrequency.MONTHLY,
                                   start_date=date(2026, 12, 1), actor=biller)
    # when: run on Dec 5 twice (the first installment was not paid)
    with freeze_time("2026-12-05"):
        first = payment_plans_check()
        again = payment_plans_check()
    # then: one flag, one task for the billers, one audit row
    assert first["flagged"] == 1 and again["flagged"] == 0
    tasks = StaffTask.objects.filter(reference__startswith=f"plan:{plan.pk}:")
    assert tasks.count() == 1 and tasks.get().assignee_role == Role.BILLER
    assert AuditEvent.objects.filter(action="payment_plan.installment_missed").count() == 1
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE and plan.missed_count == 1
    with freeze_time("2027-01-05"):
        payment_plans_check()
    plan.refresh_from_db()
    assert plan.status == PlanStatus.BROKEN and plan.missed_count == 2


def test_a_paid_plan_completes_and_a_cancelled_plan_is_left_alone(owing, biller):
    with freeze_time("2026-11-02"):
        plan = payment_plan_create(account=owing, total="200.00", installments=2, frequency=PlanFrequency.BIWEEKLY,
                                   start_date=date(2026, 11, 10), actor=biller)
        payment_post(account=owing, amount="200.00", method=PaymentMethod.CASH, idempotency_key="all", actor=biller)
        assert payment_plans_check()["completed"] == 1
    plan.refresh_from_db()
    assert plan.status == PlanStatus.COMPLETED
    with pytest.raises(ValidationError):
        payment_plan_cancel(plan=plan, reason="x", actor=biller)


def test_the_daily_task_runs_autopay_then_the_check(owing, biller):
    from clinicdesk.billing.tasks import payment_plans_check as task
    from clinicdesk.core.periodic import periodic_tasks

    assert "clinicdesk.billing.tasks.payment_plans_check" in {p.task_path for p in periodic_tasks()}
    with freeze_time("2026-11-02"):
        payment_plan_create(account=owing, total="100.00", installments=1, frequency=PlanFrequency.MONTHLY,
                            start_date=date(2026, 11, 3), actor=biller)
    with freeze_time("2026-11-10"):
        assert task.call() == {"autopay_charged": 0, "autopay_declined": 0, "autopay_failed": 0,
                               "flagged": 1, "completed": 0, "broken": 0}
