"""In real Chromium: the biller opens a payment plan with a stored card, turns autopay off and on again, and is
refused when she types a card number where a processor card id belongs."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinicdesk.billing.choices import PlanFrequency
from clinicdesk.billing.models import PaymentPlan
from clinicdesk.billing.services.plans import payment_plan_create
from clinicdesk.core.choices import Role

pytestmark = pytest.mark.browser


def test_the_biller_switches_autopay_and_cannot_store_a_card_number(page: Page, url, sign_in, make_user, family,
                                                                     post_charge):
    # given a plan whose installments are charged to a stored processor card
    post_charge(family["parent"], "150.00", service_date=date(2026, 9, 1))
    plan = payment_plan_create(account=family["account"], total="150.00", installments=3,
                               frequency=PlanFrequency.MONTHLY, start_date=date.today(), actor=None,
                               autopay_payment_method_id="pm_1_4242")
    sign_in(make_user(Role.BILLER, username="bea"))
    page.goto(url(reverse("billing:plan_detail", args=[plan.pk])))
    expect(page.locator("#plan-autopay")).to_have_text("On")
    # when she turns autopay off, then on again
    page.locator("#autopay-toggle").click()
    expect(page.locator("#plan-autopay")).to_have_text("Off")
    plan.refresh_from_db()
    assert not plan.autopay_on
    page.locator("#autopay-toggle").click()
    expect(page.locator("#plan-autopay")).to_have_text("On")
    # and types a card number as the new card
    page.get_by_label("Or a stored card's processor id").fill("4242424242424242")
    page.get_by_role("button", name="Use this card").click()
    # then it is refused and no card number is stored
    error = page.locator("#autopay-card-form .has-error [role=alert]")
    expect(error).to_have_count(1)
    expect(page.get_by_label("Or a stored card's processor id")).to_have_value("4242424242424242")
    assert not PaymentPlan.objects.filter(autopay_payment_method_id__contains="4242424242424242").exists()
    plan.refresh_from_db()
    assert plan.autopay_on and plan.autopay_payment_method_id == "pm_1_4242"
