"""Day close: expected cash, the count by bills and coins, over/short and its approval, the deposit in the ledger,
and the lock a closed day puts on its payments."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from freezegun import freeze_time

from clinicdesk.billing.choices import DayCloseStatus, DepositStatus, PaymentMethod, PaymentStatus
from clinicdesk.billing.models import DayClose, Deposit
from clinicdesk.billing.models.dayclose import denominations_total
from clinicdesk.billing.services.accounts import account_for_patient
from clinicdesk.billing.services.dayclose import (
    day_close_approve,
    day_close_close,
    day_close_reopen,
    day_figures,
    day_is_closed,
    denominations_check,
    drawer_save,
)
from clinicdesk.billing.services.payments import payment_post, payment_void
from clinicdesk.core.choices import Role
from clinicdesk.core.tests.factories import LocationFactory
from clinicdesk.ledger.choices import AccountRole
from clinicdesk.ledger.models import Account, JournalLine
from clinicdesk.ledger.selectors import account_balances

from .day_world import COUNT_SHORT, DAY, NOON, fake_cards_fixture, hand_day_fixture  # noqa: F401

D = Decimal


def balance_of(org, *, role=None, code=None) -> Decimal:
    account = Account.objects.get(organization=org, **({"role": role} if role else {"code": code}))
    return account_balances(organization_id=org.pk).get(account.pk, D("0.00"))


def test_denominations_add_up_and_bad_counts_are_refused():
    assert denominations_total(COUNT_SHORT) == D("174.75")
    assert denominations_check({"20": "3", "0.25": "", "1": 0}) == {"20": 3}
    for bad in ({"3": 1}, {"20": -1}, {"20": 1.5}, {"20": "two"}):
        with pytest.raises(ValidationError) as refused:
            denominations_check(bad)
        assert "denominations" in refused.value.message_dict


def test_expected_cash_is_float_plus_cash_payments_less_cash_refunds(hand_day):
    figures = day_figures(drawer=hand_day.drawer, on=DAY)
    assert (figures.opening_float, figures.cash_payments, figures.cash_refunds) == (D("100.00"), D("90.00"), D("15.00"))
    assert figures.expected_cash == D("175.00")
    assert (figures.checks_expected, figures.check_count, figures.cash_payment_count) == (D("60.00"), 1, 2)


def test_a_short_count_needs_a_reason_then_posts_a_balanced_deposit(hand_day):
    org = hand_day.org
    with freeze_time(NOON):
        # when: counted 0.25 short without a reason
        with pytest.raises(ValidationError) as refused:
            day_close_close(drawer=hand_day.drawer, business_date=DAY, denominations=COUNT_SHORT, actor=hand_day.dee)
        assert "$0.25 short" in refused.value.message_dict["over_short_reason"][0]
        assert not day_is_closed(location_id=hand_day.location.pk, on=DAY)
        # when: with the reason
        day = day_close_close(drawer=hand_day.drawer, business_date=DAY, denominations=COUNT_SHORT, actor=hand_day.dee,
                              over_short_reason="Quarter given as change twice")
    # then
    assert day.status == DayCloseStatus.CLOSED and day.needs_approval
    assert (day.expected_cash, day.counted_cash, day.over_short) == (D("175.00"), D("174.75"), D("-0.25"))
    assert day.checks_counted == D("60.00") and day.checks_expected == D("60.00")
    deposit = Deposit.objects.get(day_close=day)
    assert (deposit.currency_amount, deposit.checks_amount, deposit.total, deposit.check_count) == (
        D("74.75"), D("60.00"), D("134.75"), 1)
    assert sorted((ln.method, ln.amount) for ln in deposit.lines.all()) == [
        ("cash", D("40.00")), ("cash", D("50.00")), ("check", D("60.00"))]
    entry_lines = {(ln.account.code, ln.amount) for ln in JournalLine.objects.filter(entry=deposit.entry).select_related("account")}
    assert entry_lines == {("1050", D("134.75")), ("1000", D("-75.00")), ("1010", D("-60.00")), ("6950", D("0.25"))}
    assert sum(account_balances(organization_id=org.pk).values()) == 0
    assert balance_of(org, role=AccountRole.CASH) == D("0.00")  # the day's cash left the books' drawer
    assert balance_of(org, role=AccountRole.UNDEPOSITED_FUNDS) == D("0.00")
    assert balance_of(org, role=AccountRole.OPERATING_BANK) == D("134.75")
    assert balance_of(org, code="6950") == D("0.25")
    assert Account.objects.get(organization=org, code="6950").name == "Cash over and short"


def test_over_short_is_approved_by_the_office_manager_only(hand_day):
    with freeze_time(NOON):
        day = day_close_close(drawer=hand_day.drawer, business_date=DAY, denominations={**COUNT_SHORT, "0.25": 5},
                              actor=hand_day.dee, over_short_reason="Extra quarters")
        assert day.over_short == D("0.25")
        with pytest.raises(PermissionDenied):
            day_close_approve(day_close=day, actor=hand_day.dee)
        approved = day_close_approve(day_close=day, actor=hand_day.manager, note="Fine")
    assert approved.status == DayCloseStatus.APPROVED and approved.approved_by == hand_day.manager
    with pytest.raises(ValidationError):
        day_close_approve(day_close=approved, actor=hand_day.manager)


def test_an_exact_count_needs_no_approval_and_missing_checks_need_a_reason(hand_day):
    exact = {"100": 1, "50": 1, "20": 1, "5": 1}
    with freeze_time(NOON):
        with pytest.raises(ValidationError) as refused:
            day_close_close(drawer=hand_day.drawer, business_date=DAY, denominations=exact, actor=hand_day.dee,
                            checks_in_hand=[])
        assert "missing_checks_reason" in refused.value.message_dict
        day = day_close_close(drawer=hand_day.drawer, business_date=DAY, denominations=exact, actor=hand_day.dee,
                              checks_in_hand=[], missing_checks_reason="Check taken to the bank by the owner")
    assert day.status == DayCloseStatus.APPROVED and day.over_short == 0 and day.checks_counted == 0
    assert balance_of(hand_day.org, role=AccountRole.UNDEPOSITED_FUNDS) == D("60.00")  # waits for the next deposit
    assert balance_of(hand_day.org, role=AccountRole.OPERATING_BANK) == D("75.00")


def test_a_closed_day_locks_its_payments_until_reopened(hand_day):
    payment = hand_day.payments["A"]
    with freeze_time(NOON):
        day = day_close_close(drawer=hand_day.drawer, business_date=DAY, denominations=COUNT_SHORT, actor=hand_day.dee,
                              over_short_reason="Short")
        with pytest.raises(ValidationError) as refused:
            payment_void(payment=payment, reason="Wrong patient", actor=hand_day.manager)
        assert "received_on" in refused.value.message_dict
        account = account_for_patient(patient=hand_day.patients["A"])
        with pytest.raises(ValidationError) as late:
            payment_post(account=account, amount="10.00", method=PaymentMethod.CASH, idempotency_key="late",
                         actor=hand_day.dee, location=hand_day.location)
        assert "closed" in late.value.message_dict["received_on"][0]
        with pytest.raises(PermissionDenied):
            day_close_reopen(day_close=day, reason="Void a payment", actor=hand_day.dee)
        with pytest.raises(ValidationError):
            day_close_close(drawer=hand_day.drawer, business_date=DAY, denominations=COUNT_SHORT, actor=hand_day.dee,
                            over_short_reason="Again")
        reopened = day_close_reopen(day_close=day, reason="Void a payment", actor=hand_day.manager)
        assert reopened.status == DayCloseStatus.OPEN
        assert Deposit.objects.get(day_close=day).status == DepositStatus.VOIDED
        assert payment_void(payment=payment, reason="Wrong patient", actor=hand_day.manager).status == PaymentStatus.VOIDED
        # the day is counted again without that payment: expected 125.00
        again = day_close_close(drawer=hand_day.drawer, business_date=DAY, denominations={"100": 1, "20": 1, "5": 1},
                                actor=hand_day.dee)
    assert again.expected_cash == D("125.00") and again.status == DayCloseStatus.APPROVED
    assert DayClose.objects.filter(location=hand_day.location, business_date=DAY).count() == 1
    assert sum(account_balances(organization_id=hand_day.org.pk).values()) == 0
    assert balance_of(hand_day.org, role=AccountRole.CASH) == D("0.00")
    assert balance_of(hand_day.org, role=AccountRole.OPERATING_BANK) == D("85.00")  # 25.00 cash + 60.00 check


def test_another_location_is_not_locked_and_another_org_cannot_close(hand_day, org, other_org, make_user):
    with freeze_time(NOON):
        day_close_close(drawer=hand_day.drawer, business_date=DAY, denominations=COUNT_SHORT, actor=hand_day.dee,
                        over_short_reason="Short")
        elsewhere = LocationFactory(organization=org)
        assert not day_is_closed(location_id=elsewhere.pk, on=DAY)
        assert not day_is_closed(location_id=hand_day.location.pk, on=date(2026, 11, 19))
        stranger = make_user(Role.OFFICE_MANAGER, organization=other_org)
        with pytest.raises(PermissionDenied):
            drawer_save(location=elsewhere, opening_float="50.00", actor=stranger)
        with pytest.raises(ValidationError):
            drawer_save(location=elsewhere, opening_float=50.5, actor=hand_day.manager)
