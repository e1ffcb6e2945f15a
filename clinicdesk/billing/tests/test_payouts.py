"""Card payouts: the local processor pays out a settlement day's charges less refunds and fees (Stripe's balance
transactions and payouts, over real HTTP in-process); billing imports a payout, matches every line to our card
payments and refunds and posts one balanced entry that brings card clearing to zero, or holds a payout with
exceptions until it is matched again or accepted by a manager."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from freezegun import freeze_time

from clinicdesk.billing.cardprocessor.models import ProcessorPayout
from clinicdesk.billing.cardprocessor.payouts import fee_cents, payouts_make
from clinicdesk.billing.cards import CardBalanceLine, CardPayout
from clinicdesk.billing.choices import CardPayoutStatus, PayoutLineMatch
from clinicdesk.billing.models import CardPayout as CardPayoutRecord
from clinicdesk.billing.selectors.payouts import card_payments_not_paid_out, card_refunds_not_paid_out
from clinicdesk.billing.services.payments import payment_post, refund_post
from clinicdesk.billing.services.payouts import payout_accept, payout_receive, payout_record, payout_rematch
from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.ledger.choices import AccountRole
from clinicdesk.ledger.models import JournalLine

from . import card_processor
from .card_processor import card

processor_http = card_processor.processor_http
processor = card_processor.processor
local_processor = card_processor.local_processor
pytestmark = pytest.mark.django_db
D = Decimal
DAY = date(2026, 11, 2)


def clearing_balance(org) -> Decimal:
    lines = JournalLine.objects.filter(entry__organization=org, account__role=AccountRole.CARD_CLEARING)
    return sum((line.amount for line in lines), D("0.00"))


@pytest.fixture
def card_day(family, post_charge, local_processor):
    """A day of card payments on the Lopez account: 50.00 and 80.00 (30.00 of it a credit, refunded to the card)."""
    post_charge(family["parent"], "100.00", service_date=date(2026, 9, 1))
    method = card(local_processor)
    with freeze_time("2026-11-02 15:00"):
        first = payment_post(account=family["account"], amount="50.00", method="card", idempotency_key="c1",
                             card_payment_method_id=method.id, actor=None)
        second = payment_post(account=family["account"], amount="80.00", method="card", idempotency_key="c2",
                              card_payment_method_id=method.id, actor=None, allow_credit=True)
        refund = refund_post(patient=family["parent"], amount="30.00", method="card", reason="Overpaid",
                             idempotency_key="r1", actor=None, payment=second)
    return {"payments": [first, second], "refund": refund, "org": family["account"].organization}


def test_the_fee_is_a_percentage_rounded_half_up_plus_a_fixed_part(settings):
    assert fee_cents(5000) == 145 + 30
    assert fee_cents(8000) == 232 + 30
    assert fee_cents(1750) == 51 + 30  # 50.75 rounds up
    settings.CARD_PROCESSOR_FEE_PERCENT, settings.CARD_PROCESSOR_FEE_FIXED = "3.5", "0.15"
    assert fee_cents(10000) == 350 + 15


def test_a_finished_day_is_paid_out_once_net_of_refunds_and_fees(card_day, local_processor):
    # when: the processor pays out the day, then runs again
    with freeze_time("2026-11-03 09:00"):
        made = payouts_make()
        again = payouts_make()
    # then: one payout of 130.00 − 30.00 − (1.75 + 2.62)
    assert len(made) == 1 and again == []
    assert made[0].amount == 9563 and made[0].settlement_date == DAY
    lines = local_processor.payout_lines(payout_id=made[0].po_id)
    assert sorted((ln.type, ln.amount, ln.fee) for ln in lines) == [
        ("charge", D("50.00"), D("1.75")), ("charge", D("80.00"), D("2.62")), ("payout", D("-95.63"), D("0.00")),
        ("refund", D("-30.00"), D("0.00"))]
    assert {ln.payment_intent_id for ln in lines if ln.type == "charge"} == {p.processor_id for p in card_day["payments"]}
    listed = local_processor.payouts_list()
    assert [p.id for p in listed] == [made[0].po_id] and listed[0].amount == D("95.63")


def test_a_matching_payout_posts_one_entry_and_card_clearing_comes_to_zero(card_day, local_processor, settings):
    with freeze_time("2026-11-03 09:00"):
        payout_id = payouts_make()[0].po_id
        # when: the payout.paid event's task runs, twice
        record = payout_receive(payout_id=payout_id)
        assert payout_receive(payout_id=payout_id) == record
    # then
    assert record.status == CardPayoutStatus.POSTED and record.exception_count == 0
    assert (record.gross, record.refunds, record.fees, record.net) == (D("130.00"), D("30.00"), D("4.37"), D("95.63"))
    lines = {line.account.role: line.amount for line in JournalLine.objects.filter(entry=record.entry)}
    assert lines == {AccountRole.OPERATING_BANK: D("95.63"), AccountRole.CARD_FEES: D("4.37"),
                     AccountRole.CARD_CLEARING: D("-100.00")}
    assert clearing_balance(card_day["org"]) == D("0.00")
    assert all(line.match == PayoutLineMatch.MATCHED for line in record.lines.all())
    assert {line.payment_id for line in record.lines.all() if line.payment_id} == {p.pk for p in card_day["payments"]}
    assert record.lines.get(refund__isnull=False).refund == card_day["refund"]
    assert CardPayoutRecord.objects.count() == 1
    assert AuditEvent.objects.filter(action="card_payout.posted").count() == 1


def test_the_payout_webhook_imports_the_payout(card_day, local_processor, settings, django_capture_on_commit_callbacks):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    with freeze_time("2026-11-03 09:00"), django_capture_on_commit_callbacks(execute=True):
        payouts_make()
    assert CardPayoutRecord.objects.get().status == CardPayoutStatus.POSTED


def _line(txn: str, kind: str, amount: str, fee: str, intent: str = "", source: str = "") -> CardBalanceLine:
    from datetime import UTC, datetime

    return CardBalanceLine(id=txn, type=kind, amount=D(amount), fee=D(fee), net=D(amount) - D(fee),
                           source_id=source or f"ch_{txn}", payment_intent_id=intent,
                           created=datetime(2026, 11, 2, 15, tzinfo=UTC))


def test_lines_that_do_not_match_are_exceptions_and_hold_the_payout_until_a_manager_accepts(
        card_day, make_user, local_processor):
    # given: a payout with one good charge, one of another amount and one the books do not know
    first, second = card_day["payments"]
    lines = [_line("t1", "charge", "50.00", "1.75", first.processor_id),
             _line("t2", "charge", "85.00", "2.77", second.processor_id),
             _line("t3", "charge", "20.00", "0.88", "pi_unknown")]
    payout = CardPayout(id="po_test", amount=sum((ln.net for ln in lines), D("0")), arrival_date=date(2026, 11, 4),
                        status="paid", settlement_date=DAY)
    org = card_day["org"]
    # when
    with freeze_time("2026-11-04 09:00"):
        record = payout_record(organization=org, payout=payout, lines=lines)
    # then: held with two exceptions, each with its reason, nothing posted
    assert record.status == CardPayoutStatus.EXCEPTIONS and record.exception_count == 2 and record.entry is None
    reasons = {line.processor_txn_id: (line.match, line.reason) for line in record.lines.all()}
    assert reasons["t1"][0] == PayoutLineMatch.MATCHED
    assert reasons["t2"][0] == PayoutLineMatch.AMOUNT_DIFFERS and "$85.00" in reasons["t2"][1]
    assert "$80.00" in reasons["t2"][1]
    assert reasons["t3"][0] == PayoutLineMatch.UNKNOWN and "not one of our card payments" in reasons["t3"][1]
    # a lines total that is not the payout is refused whole
    with pytest.raises(ValidationError) as wrong:
        payout_record(organization=org, payout=CardPayout(id="po_bad", amount=D("1.00"), arrival_date=DAY,
                                                          status="paid"), lines=lines)
    assert "add up" in wrong.value.message_dict["payout"][0]
    manager = make_user(Role.OFFICE_MANAGER)
    with pytest.raises(ValidationError) as no_note:
        payout_accept(payout=record, note=" ", actor=manager)
    assert "note" in no_note.value.message_dict
    assert payout_rematch(payout=record, actor=manager).exception_count == 2
    # when: the manager accepts
    with freeze_time("2026-11-04 09:00"):
        accepted = payout_accept(payout=record, note="Processor confirmed the tip and a terminal sale", actor=manager)
    assert accepted.status == CardPayoutStatus.ACCEPTED and accepted.entry is not None
    assert accepted.accepted_by == manager
    posted = {line.account.role: line.amount for line in JournalLine.objects.filter(entry=accepted.entry)
              .select_related("account")}
    assert sum(posted.values()) == 0
    # card clearing gives up only what our payments put in it (50.00 matched + our 80.00); the processor's extra
    # 5.00 and the unknown 20.00 go to card payout differences, named on the payout
    assert posted[AccountRole.CARD_CLEARING] == D("-130.00")
    assert posted[AccountRole.CARD_DIFFERENCES] == D("-25.00") and accepted.difference == D("25.00")
    assert posted[AccountRole.OPERATING_BANK] == record.net and posted[AccountRole.CARD_FEES] == D("5.40")
    # the refund of 30.00 is not in this payout: it alone stays in clearing, waiting for the next one
    assert clearing_balance(org) == D("-30.00")
    with pytest.raises(ValidationError):
        payout_accept(payout=accepted, note="again", actor=manager)


def test_our_card_payment_missing_from_every_payout_after_some_days_is_listed(card_day, local_processor, make_user):
    biller = make_user(Role.BILLER)
    first, second = card_day["payments"]
    # no payout received yet: the practice is not reconciling, nothing is listed
    assert list(card_payments_not_paid_out(user=biller, today=DAY + timedelta(days=10))) == []
    lines = [_line("t1", "charge", "50.00", "1.75", first.processor_id)]
    payout = CardPayout(id="po_one", amount=D("48.25"), arrival_date=DAY, status="paid", settlement_date=DAY)
    with freeze_time("2026-11-03 09:00"):
        payout_record(organization=card_day["org"], payout=payout, lines=lines)
    assert list(card_payments_not_paid_out(user=biller, today=DAY + timedelta(days=2))) == []
    assert list(card_payments_not_paid_out(user=biller, today=DAY + timedelta(days=5))) == [second]


def test_our_card_refund_no_payout_took_back_after_some_days_is_listed(card_day, local_processor, make_user):
    biller = make_user(Role.BILLER)
    first, second = card_day["payments"]
    refund = card_day["refund"]
    assert list(card_refunds_not_paid_out(user=biller, today=DAY + timedelta(days=10))) == []
    # a payout with both charges but not the refund
    lines = [_line("t1", "charge", "50.00", "1.75", first.processor_id),
             _line("t2", "charge", "80.00", "2.62", second.processor_id)]
    with freeze_time("2026-11-03 09:00"):
        payout_record(organization=card_day["org"], payout=CardPayout(
            id="po_two", amount=sum((ln.net for ln in lines), D("0")), arrival_date=DAY, status="paid",
            settlement_date=DAY), lines=lines)
    assert list(card_refunds_not_paid_out(user=biller, today=DAY + timedelta(days=4))) == []
    assert list(card_refunds_not_paid_out(user=biller, today=DAY + timedelta(days=5))) == [refund]
    # once a payout takes it back, it is no longer listed
    back = [_line("t3", "refund", "-30.00", "0.00", source=refund.processor_id)]
    with freeze_time("2026-11-05 09:00"):
        payout_record(organization=card_day["org"], payout=CardPayout(
            id="po_three", amount=D("-30.00"), arrival_date=DAY + timedelta(days=3), status="paid",
            settlement_date=DAY + timedelta(days=3)), lines=back)
    assert list(card_refunds_not_paid_out(user=biller, today=DAY + timedelta(days=10))) == []


def test_a_refund_heavy_day_is_carried_into_the_next_payout(family, local_processor):
    method = card(local_processor)
    with freeze_time("2026-11-01 15:00"):
        paid = payment_post(account=family["account"], amount="60.00", method="card", idempotency_key="a",
                            card_payment_method_id=method.id, actor=None, allow_credit=True)
    with freeze_time("2026-11-01 23:59"):
        payouts_make(before=date(2026, 11, 1))
    with freeze_time("2026-11-02 10:00"):
        refund_post(patient=family["parent"], amount="60.00", method="card", reason="Cancelled", idempotency_key="b",
                    actor=None, payment=paid)
        assert [p.settlement_date for p in payouts_make()] == [date(2026, 11, 1)]
    with freeze_time("2026-11-03 10:00"):
        assert payouts_make() == []  # the day is all refund: nothing paid out, carried on
    assert ProcessorPayout.objects.count() == 1
