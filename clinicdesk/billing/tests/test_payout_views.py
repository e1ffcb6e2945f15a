"""Pages of card payouts, plan autopay and payments without a location: what they show, CSV, who may act, bad
input answered with a message (never a 500) and nothing changed, and the payouts list's query count."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

from clinicdesk.billing.cards import CardBalanceLine, CardPayout
from clinicdesk.billing.choices import CardPayoutStatus
from clinicdesk.billing.models import CardPayout as CardPayoutRecord
from clinicdesk.billing.models import Payment
from clinicdesk.billing.services.payments import payment_post
from clinicdesk.billing.services.payouts import payout_record
from clinicdesk.billing.services.plans import payment_plan_create
from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.factories import LocationFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db
D = Decimal


def _payout(org, n: int, *, payment=None, unknown: bool = False) -> CardPayoutRecord:
    """A payout of one line: our `payment`, or a charge the books do not know."""
    amount = payment.amount if payment is not None else D("20.00")
    line = CardBalanceLine(id=f"txn_{n}", type="charge", amount=amount, fee=D("0.88"), net=amount - D("0.88"),
                           source_id=f"ch_{n}", payment_intent_id=payment.processor_id if payment else f"pi_x{n}",
                           created=datetime(2026, 11, 2, 15, tzinfo=UTC))
    payout = CardPayout(id=f"po_{n}", amount=line.net, arrival_date=date(2026, 11, 3), status="paid",
                        settlement_date=date(2026, 11, 2))
    return payout_record(organization=org, payout=payout, lines=[line])


@pytest.fixture
def payouts(family, post_charge, fake_cards):
    post_charge(family["parent"], "100.00", service_date=date(2026, 9, 1))
    org = family["account"].organization
    with freeze_time("2026-11-02 15:00"):
        paid = payment_post(account=family["account"], amount="40.00", method="card", idempotency_key="card-1",
                            card_payment_method_id="pm_1_4242", actor=None)
        good = _payout(org, 1, payment=paid)
        bad = _payout(org, 2, unknown=True)
    return {"good": good, "bad": bad, "org": org}


@freeze_time("2026-11-04 10:00")
def test_the_payouts_list_shows_figures_and_exceptions_and_exports_csv(client, make_user, payouts):
    client.force_login(make_user(Role.BILLER))
    page = client.get(reverse("billing:payout_list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "po_1" in html and "po_2" in html and "Reconciled and posted" in html and "Has exceptions" in html
    csv = client.get(reverse("billing:payout_list") + "?format=csv&status=exceptions")
    text = b"".join(csv.streaming_content).decode("utf-8-sig") if csv.streaming else csv.content.decode("utf-8-sig")
    rows = [r for r in text.splitlines() if r]
    assert rows[0].startswith("payout,arrival date") and len(rows) == 2 and rows[1].startswith("po_2")
    bad = client.get(reverse("billing:payout_list") + "?start=2026-12-01&end=2026-11-01")
    assert bad.status_code == 400 and "before the start" in bad.content.decode()


@freeze_time("2026-11-04 10:00")
def test_the_payout_page_shows_each_line_and_a_manager_accepts_its_exceptions(client, make_user, payouts):
    bad = payouts["bad"]
    desk = make_user(Role.FRONT_DESK)
    client.force_login(desk)
    assert client.get(reverse("billing:payout_detail", args=[bad.public_id])).status_code == 403
    manager = make_user(Role.OFFICE_MANAGER)
    client.force_login(manager)
    page = client.get(reverse("billing:payout_detail", args=[bad.public_id]))
    assert page.status_code == 200 and "not one of our card payments" in page.content.decode()
    assert AuditEvent.objects.filter(action="card_payout.viewed").exists()
    # bad input: no note; nothing posted
    client.post(reverse("billing:payout_accept", args=[bad.public_id]), {"accept-reason": "  "})
    bad.refresh_from_db()
    assert bad.entry_id is None and bad.status == CardPayoutStatus.EXCEPTIONS
    client.post(reverse("billing:payout_accept", args=[bad.public_id]), {"accept-reason": "Terminal sale, confirmed"})
    bad.refresh_from_db()
    assert bad.status == CardPayoutStatus.ACCEPTED and bad.entry_id is not None


def test_another_practice_cannot_see_a_payout(client, payouts):
    stranger = UserFactory(organization=OrganizationFactory(), role=Role.OFFICE_MANAGER)
    client.force_login(stranger)
    assert client.get(reverse("billing:payout_detail", args=[payouts["good"].public_id])).status_code == 404
    assert client.post(reverse("billing:payout_accept", args=[payouts["bad"].public_id]),
                       {"accept-reason": "x"}).status_code == 404


def test_the_payouts_list_makes_the_same_queries_for_more_rows(client, make_user, payouts):
    client.force_login(make_user(Role.BILLER))
    url = reverse("billing:payout_list")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(3, 13):
        _payout(payouts["org"], n)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)


# --- plan autopay -------------------------------------------------------------------------------------------


@freeze_time("2026-11-02 10:00")
def test_the_plan_page_shows_the_card_and_autopay_and_staff_turn_it_off(client, make_user, family, post_charge):
    post_charge(family["parent"], "90.00", service_date=date(2026, 9, 1))
    plan = payment_plan_create(account=family["account"], total="90.00", installments=3, frequency="monthly",
                               start_date=date(2026, 11, 10), actor=None, autopay_payment_method_id="pm_1_4242")
    plan.card_brand, plan.card_last4 = "visa", "4242"
    plan.save(update_fields=["card_brand", "card_last4"])
    desk = make_user(Role.FRONT_DESK)
    client.force_login(desk)
    page = client.get(reverse("billing:plan_detail", args=[plan.pk])).content.decode()
    assert "Visa ending 4242" in page and "pm_1_4242" not in page and "Turn autopay off" not in page
    assert client.post(reverse("billing:plan_autopay", args=[plan.pk]), {"autopay": "off"}).status_code == 403
    client.force_login(make_user(Role.BILLER))
    assert "Turn autopay off" in client.get(reverse("billing:plan_detail", args=[plan.pk])).content.decode()
    client.post(reverse("billing:plan_autopay", args=[plan.pk]), {"autopay": "off"})
    plan.refresh_from_db()
    assert not plan.autopay_on
    # a card number typed into the card field is refused by field, and nothing is stored
    refused = client.post(reverse("billing:plan_autopay_card", args=[plan.pk]), {"payment_method_id": "4242 4242 4242 4242"})
    assert refused.status_code == 400 and "never a card number" in refused.content.decode()
    plan.refresh_from_db()
    assert plan.autopay_payment_method_id == "pm_1_4242"


# --- payments without a location ------------------------------------------------------------------------------


@pytest.fixture
def two_locations(org):
    return LocationFactory(organization=org, code="north", name="North"), LocationFactory(organization=org, code="south",
                                                                                         name="South")


@freeze_time("2026-11-02 10:00")
def test_cash_without_a_location_is_refused_when_the_practice_has_several(client, make_user, family, post_charge,
                                                                          two_locations):
    post_charge(family["parent"], "100.00", service_date=date(2026, 9, 1))
    client.force_login(make_user(Role.FRONT_DESK))
    url = reverse("billing:payment_take", args=[family["account"].public_id])
    key = client.get(url).context["form"].initial["idempotency_key"]
    body = {"method": "cash", "amount": "20.00", "allocation": "oldest", "idempotency_key": key, "location": ""}
    refused = client.post(url, body)
    assert refused.status_code == 400
    assert "without a location it is in no drawer" in " ".join(refused.context["form"].errors["location"])
    assert not Payment.objects.exists()
    north = two_locations[0]
    assert client.post(url, {**body, "location": str(north.pk)}).status_code == 302
    assert Payment.objects.get().location == north


@freeze_time("2026-11-02 10:00")
def test_with_one_location_cash_goes_to_its_drawer(client, make_user, family, post_charge, org):
    only = LocationFactory(organization=org, code="main")
    post_charge(family["parent"], "100.00", service_date=date(2026, 9, 1))
    client.force_login(make_user(Role.FRONT_DESK))
    url = reverse("billing:payment_take", args=[family["account"].public_id])
    form = client.get(url).context["form"]
    assert form.initial["location"] == str(only.pk)
    client.post(url, {"method": "check", "check_number": "101", "amount": "20.00", "allocation": "oldest",
                      "idempotency_key": form.initial["idempotency_key"], "location": ""})
    assert Payment.objects.get().location == only


@freeze_time("2026-11-02 10:00")
def test_the_deposit_report_and_the_count_page_warn_of_payments_without_a_location(client, make_user, family,
                                                                                   post_charge, two_locations):
    from clinicdesk.billing.services.dayclose import drawer_save

    post_charge(family["parent"], "100.00", service_date=date(2026, 9, 1))
    from clinicdesk.billing.services.lockbox import PaymentInput, payments_post

    # Mailed checks are taken at no desk: a lockbox batch posts them without a location.
    payments_post(organization=family["account"].organization, actor=None, payments=[
        PaymentInput(account=family["account"], amount=amount, method="check", check_number=f"10{n}",
                     idempotency_key=f"nl-{n}") for n, amount in enumerate(("20.00", "15.50"))])
    payment_post(account=family["account"], amount="5.00", method="cash", idempotency_key="placed", actor=None,
                 location=two_locations[0])
    drawer_save(location=two_locations[0], opening_float="0.00", actor=None)
    client.force_login(make_user(Role.OFFICE_MANAGER))
    report = client.get(reverse("billing:report_deposits") + "?start=2026-11-02&end=2026-11-02").content.decode()
    assert "2 cash or check payments of $35.50 in this period have no location and are in no drawer" in report
    count = client.get(reverse("billing:day_close_count") + f"?location={two_locations[0].pk}&on=2026-11-02")
    text = count.content.decode()
    assert "2 cash or check payments of $35.50 on this day have no location" in text
    assert text.count('href="/billing/payments/pay_') >= 2
