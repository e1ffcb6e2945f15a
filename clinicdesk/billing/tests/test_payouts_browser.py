"""In real Chromium: the office manager opens the card payouts, sees a reconciled payout and one held by an
exception, opens the held one, reads why its line does not match and accepts it with a note."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinicdesk.billing.cards import CardBalanceLine, CardPayout
from clinicdesk.billing.choices import CardPayoutStatus
from clinicdesk.billing.models import CardPayout as CardPayoutRecord
from clinicdesk.billing.services.payments import payment_post
from clinicdesk.billing.services.payouts import payout_record
from clinicdesk.core.choices import Role

pytestmark = pytest.mark.browser
D = Decimal


def _line(n: int, amount: str, intent: str) -> CardBalanceLine:
    return CardBalanceLine(id=f"txn_b{n}", type="charge", amount=D(amount), fee=D("1.00"), net=D(amount) - D("1.00"),
                           source_id=f"ch_b{n}", payment_intent_id=intent, created=datetime(2026, 11, 2, 15, tzinfo=UTC))


def test_the_manager_reviews_the_payouts_and_accepts_an_exception(page: Page, url, sign_in, make_user, family,
                                                                  post_charge, fake_cards):
    # given a card payment that was paid out, and a payout with a charge the books do not know
    post_charge(family["parent"], "100.00", service_date=date(2026, 9, 1))
    org = family["account"].organization
    paid = payment_post(account=family["account"], amount="60.00", method="card", idempotency_key="b1",
                        card_payment_method_id="pm_1_4242", actor=None)
    good = _line(1, "60.00", paid.processor_id)
    payout_record(organization=org, lines=[good], payout=CardPayout(
        id="po_good", amount=good.net, arrival_date=date(2026, 11, 3), status="paid"))
    stray = _line(2, "25.00", "pi_stray")
    held = payout_record(organization=org, lines=[stray], payout=CardPayout(
        id="po_held", amount=stray.net, arrival_date=date(2026, 11, 4), status="paid"))
    priya = make_user(Role.OFFICE_MANAGER, username="priya")
    sign_in(priya)
    # when she opens the card payouts
    page.goto(url(reverse("billing:payout_list")))
    expect(page.get_by_role("heading", level=1)).to_have_text("Card payouts")
    rows = page.locator("#payouts tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("tr.payout-posted")).to_contain_text("po_good")
    expect(page.locator("tr.payout-exceptions")).to_contain_text("1")
    # and the held one
    page.locator("tr.payout-exceptions").get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Payout po_held")
    expect(page.locator("tr.line-exception")).to_contain_text("not one of our card payments")
    # when she accepts it without a note, then with one
    page.get_by_role("button", name="Accept and post").click()
    expect(page.locator("#payout-status")).to_have_text("Has exceptions")
    page.get_by_label("Reason").fill("A terminal sale, confirmed with the processor")
    page.get_by_role("button", name="Accept and post").click()
    # then it is posted
    expect(page.locator("#payout-status")).to_have_text("Posted, exceptions accepted")
    expect(page.locator("#payout-difference")).to_have_text("25.00 booked to card payout differences")
    held.refresh_from_db()
    assert held.status == CardPayoutStatus.ACCEPTED and held.entry_id is not None
    assert CardPayoutRecord.objects.filter(status=CardPayoutStatus.POSTED).count() == 1
