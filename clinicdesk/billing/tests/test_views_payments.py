"""The pages of accounts and payments: who may do what (the front desk takes payments but does not void or
refund), another practice's records are 404, the take-payment form (double submit replays, a declined card says
why, an explicit credit), the copay from check-in, the patient's Billing tab, CSV, plans, and query counts."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinicdesk.billing.choices import PaymentMethod, PaymentStatus
from clinicdesk.billing.models import Payment, PaymentPlan
from clinicdesk.billing.selectors.accounts import account_balance
from clinicdesk.billing.services.accounts import account_for_patient
from clinicdesk.billing.services.payments import payment_post
from clinicdesk.core.choices import Role
from clinicdesk.ledger.selectors import patient_credit
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.tests.factories import AppointmentFactory

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def owing(family, post_charge):
    family["old"] = post_charge(family["parent"], "100.00", service_date=date(2026, 9, 1))
    family["new"] = post_charge(family["child"], "50.00", service_date=date(2026, 10, 1))
    return family


def signed_in(client, make_user, role):
    user = make_user(role)
    client.force_login(user)
    return user


def take_form(client, account, query=""):
    page = client.get(reverse("billing:payment_take", args=[account.public_id]) + query)
    assert page.status_code == 200
    return page.context["form"].initial["idempotency_key"]


def test_the_front_desk_takes_cash_and_a_double_submit_makes_one_payment(client, make_user, owing):
    # given
    signed_in(client, make_user, Role.FRONT_DESK)
    account = owing["account"]
    key = take_form(client, account)
    body = {"method": "cash", "amount": "120.00", "allocation": "oldest", "idempotency_key": key}
    url = reverse("billing:payment_take", args=[account.public_id])
    # when: the button is pressed twice
    first = client.post(url, body)
    second = client.post(url, body)
    # then
    payment = Payment.objects.get()
    assert first.status_code == 302 and first["Location"] == reverse("billing:payment_detail", args=[payment.public_id])
    assert second.status_code == 302 and second["Location"] == first["Location"]
    assert account_balance(account=account) == D("30.00")
    page = client.get(reverse("billing:account_detail", args=[account.public_id]))
    assert page.status_code == 200 and page.context["summary"].balance == D("30.00")
    assert b"Take a payment" in page.content


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"method": "cash", "amount": "abc"}, "amount", "is not an amount"),
    ({"method": "cash", "amount": "-20.00"}, "amount", "more than zero"),
    ({"method": "cash", "amount": "12.345"}, "amount", "fractions of a cent"),
    ({"method": "cash", "amount": "400.00"}, "amount", "more than the balance"),
    ({"method": "check", "amount": "10.00"}, "check_number", "check number"),
    ({"method": "card", "amount": "10.00"}, "card_number", "card number"),
    ({"method": "card", "amount": "10.00", "card_number": "4242424242424242", "card_expiry": "13/30", "card_cvc": "123"},
     "card_expiry", "month"),
    ({"method": "cash", "amount": "10.00", "allocation": "chosen"}, "allocation", "at least one charge"),
])
def test_bad_input_shows_on_its_field_and_posts_nothing(client, make_user, owing, body, field, message, fake_cards):
    signed_in(client, make_user, Role.FRONT_DESK)
    account = owing["account"]
    data = {"allocation": "oldest", "idempotency_key": take_form(client, account), **body}
    response = client.post(reverse("billing:payment_take", args=[account.public_id]), data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field]), errors
    assert Payment.objects.count() == 0


def test_more_than_the_balance_is_kept_as_credit_only_when_ticked(client, make_user, owing):
    signed_in(client, make_user, Role.FRONT_DESK)
    account = owing["account"]
    data = {"method": "cash", "amount": "200.00", "allocation": "oldest", "allow_credit": "on",
            "idempotency_key": take_form(client, account)}
    assert client.post(reverse("billing:payment_take", args=[account.public_id]), data).status_code == 302
    assert account_balance(account=account) == D("-50.00")


def test_chosen_amounts_pay_the_chosen_charges(client, make_user, owing):
    signed_in(client, make_user, Role.FRONT_DESK)
    account = owing["account"]
    data = {"method": "check", "check_number": "501", "amount": "50.00", "allocation": "chosen",
            f"alloc_{owing['new'].pk}": "50.00", "idempotency_key": take_form(client, account)}
    assert client.post(reverse("billing:payment_take", args=[account.public_id]), data).status_code == 302
    from clinicdesk.ledger.selectors import item_balances

    assert item_balances(item_ids=[owing["old"].pk, owing["new"].pk]) == {owing["old"].pk: D("100.00"),
                                                                          owing["new"].pk: D("0.00")}


def test_a_typed_card_goes_to_the_processor_and_a_decline_says_why(client, make_user, owing, fake_cards):
    signed_in(client, make_user, Role.FRONT_DESK)
    account = owing["account"]
    url = reverse("billing:payment_take", args=[account.public_id])
    key = take_form(client, account)
    declined = client.post(url, {"method": "card", "amount": "50.00", "allocation": "oldest", "idempotency_key": key,
                                 "card_number": "4000 0000 0000 0002", "card_expiry": "12/30", "card_cvc": "123"})
    assert declined.status_code == 400
    assert "declined" in " ".join(declined.context["form"].errors["card_number"])
    fresh = declined.context["form"].data["idempotency_key"]
    assert fresh != key and Payment.objects.get().status == PaymentStatus.DECLINED
    ok = client.post(url, {"method": "card", "amount": "50.00", "allocation": "oldest", "idempotency_key": fresh,
                           "card_number": "4242424242424242", "card_expiry": "12/30", "card_cvc": "123"})
    assert ok.status_code == 302
    posted = Payment.objects.get(status=PaymentStatus.POSTED)
    assert (posted.card_brand, posted.card_last4) == ("visa", "4242")
    assert "4242424242424242" in fake_cards.numbers_seen


def test_the_front_desk_may_not_void_or_refund_and_the_biller_may(client, make_user, owing, fake_cards):
    desk = signed_in(client, make_user, Role.FRONT_DESK)
    account = owing["account"]
    cash = payment_post(account=account, amount="150.00", method=PaymentMethod.CASH, idempotency_key="c", actor=desk)
    card = payment_post(account=account, amount="30.00", method=PaymentMethod.CARD, idempotency_key="d", actor=desk,
                        card_payment_method_id="pm_1_4242", allow_credit=True)
    void_url = reverse("billing:payment_void", args=[cash.public_id])
    refund_url = reverse("billing:payment_refund", args=[card.public_id])
    assert client.post(void_url, {"reason": "x"}).status_code == 403
    assert client.post(refund_url, {"amount": "30.00", "method": "card", "reason": "x", "idempotency_key": "r"}).status_code == 403
    detail = client.get(reverse("billing:payment_detail", args=[cash.public_id]))
    assert detail.status_code == 200 and detail.context["void_form"] is None and detail.context["refund_form"] is None
    # the biller
    signed_in(client, make_user, Role.BILLER)
    client.post(void_url, {"reason": "Posted twice"})
    cash.refresh_from_db()
    assert cash.status == PaymentStatus.VOIDED and account_balance(account=account) == D("120.00")
    client.post(refund_url, {"amount": "30.00", "method": "card", "reason": "Overpaid", "idempotency_key": "r"})
    assert card.refunds.get().processor_id.startswith("re_") and len(fake_cards.refunds) == 1
    assert patient_credit(patient=owing["parent"]) == D("0.00")


def test_another_practice_gets_404_and_a_nurse_403(client, make_user, owing, other_org):
    desk = make_user(Role.FRONT_DESK)
    payment = payment_post(account=owing["account"], amount="10.00", method=PaymentMethod.CASH, idempotency_key="o",
                           actor=desk)
    client.force_login(make_user(Role.BILLER, organization=other_org))
    urls = [reverse("billing:account_detail", args=[owing["account"].public_id]),
            reverse("billing:payment_detail", args=[payment.public_id]),
            reverse("billing:payment_receipt", args=[payment.public_id]),
            reverse("billing:payment_take", args=[owing["account"].public_id])]
    for url in urls:
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("billing:payment_void", args=[payment.public_id]), {"reason": "x"}).status_code == 404
    client.force_login(make_user(Role.NURSE))
    assert client.get(urls[0]).status_code == 403


def test_the_copay_is_taken_from_check_in(client, make_user, org):
    # given: an appointment today for a patient with no account yet
    signed_in(client, make_user, Role.FRONT_DESK)
    patient = PatientFactory(organization=org)
    appointment = AppointmentFactory(organization=org, patient=patient)
    check_in = client.get(reverse("scheduling:check_in", args=[appointment.public_id]))
    assert check_in.status_code == 200 and b"Take copay" in check_in.content
    # when
    start = client.post(reverse("billing:copay_start", args=[appointment.public_id]))
    assert start.status_code == 302 and "copay=1" in start["Location"]
    form = client.get(start["Location"])
    key = form.context["form"].initial["idempotency_key"]
    account = account_for_patient(patient=patient)
    posted = client.post(start["Location"], {"method": "cash", "amount": "25.00", "allocation": "oldest",
                                             "is_copay": "True", "appointment": appointment.public_id,
                                             "idempotency_key": key})
    # then: a copay held as credit for the visit, and the check-in page shows it
    assert posted.status_code == 302
    payment = Payment.objects.get()
    assert payment.is_copay and payment.appointment == appointment and payment.patient == patient
    assert account_balance(account=account) == D("-25.00")
    assert b"Copay taken" in client.get(reverse("scheduling:check_in", args=[appointment.public_id])).content


def test_the_patient_page_has_a_billing_tab_and_balance(client, make_user, owing):
    signed_in(client, make_user, Role.FRONT_DESK)
    page = client.get(reverse("patients:detail", args=[owing["child"].public_id]) + "?tab=billing")
    assert page.status_code == 200
    assert page.context["tab"]["summary"].balance == D("150.00")
    assert b"Open the account" in page.content
    assert any(f["label"] == "Balance" and f["value"] == "$150.00" for f in page.context["facts"])
    no_account = PatientFactory(organization=owing["parent"].organization)
    empty = client.get(reverse("patients:detail", args=[no_account.public_id]) + "?tab=billing")
    assert b"Open the billing account" in empty.content


def test_csv_exports(client, make_user, owing):
    desk = signed_in(client, make_user, Role.FRONT_DESK)
    payment_post(account=owing["account"], amount="10.00", method=PaymentMethod.CASH, idempotency_key="e", actor=desk)
    activity = client.get(reverse("billing:account_activity_export", args=[owing["account"].public_id]))
    text = b"".join(activity.streaming_content).decode()
    assert text.splitlines()[0].lstrip("\ufeff") == "date,kind,patient,description,amount,balance"
    assert text.strip().splitlines()[-1].endswith(",'-10.00,140.00")
    payments = b"".join(client.get(reverse("billing:payments_export") + "?method=cash").streaming_content).decode()
    assert "10.00" in payments and owing["account"].number in payments


def test_list_and_account_pages_take_a_fixed_number_of_queries(client, make_user, org, post_charge):
    desk = signed_in(client, make_user, Role.FRONT_DESK)

    def add(n):
        for _ in range(n):
            patient = PatientFactory(organization=org)
            post_charge(patient, "40.00")
            account = account_for_patient(patient=patient)
            payment_post(account=account, amount="10.00", method=PaymentMethod.CASH, idempotency_key=f"q{patient.pk}",
                         actor=desk)
        return account

    def count(url):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    account = add(2)
    url = reverse("billing:payments")
    count(url)  # the first request of a session loads what is cached afterwards
    few = count(url)
    account_few = count(reverse("billing:account_detail", args=[account.public_id]))
    add(6)
    assert count(url) == few
    for n in range(5):
        post_charge(account.members.first().patient, "5.00", service_date=date(2026, 8, n + 1))
    assert count(reverse("billing:account_detail", args=[account.public_id])) == account_few


def test_plan_pages(client, make_user, owing):
    signed_in(client, make_user, Role.BILLER)
    account = owing["account"]
    created = client.post(reverse("billing:plan_create", args=[account.public_id]), {
        "total": "150.00", "installments": "3", "frequency": "monthly", "start_date": "2027-01-15"})
    assert created.status_code == 302
    plan = PaymentPlan.objects.get()
    detail = client.get(created["Location"])
    assert detail.status_code == 200 and len(detail.context["rows"]) == 3
    bad = client.post(reverse("billing:plan_create", args=[account.public_id]), {
        "total": "150.00", "installments": "3", "frequency": "monthly", "start_date": "2027-01-15"})
    assert bad.status_code == 400 and "account" not in bad.context["form"].errors  # shown above the form
    client.post(reverse("billing:plan_cancel", args=[plan.pk]), {"reason": "Paid by relative"})
    plan.refresh_from_db()
    assert plan.status == "cancelled"
    signed_in(client, make_user, Role.FRONT_DESK)
    assert client.get(reverse("billing:plan_create", args=[account.public_id])).status_code == 403


def test_adjust_apply_credit_and_move_a_member(client, make_user, owing, org):
    biller = signed_in(client, make_user, Role.BILLER)
    account = owing["account"]
    adjust = reverse("billing:account_adjust", args=[account.public_id, owing["old"].pk])
    refused = client.post(adjust, {"kind": "courtesy", "amount": "500.00", "reason": "x"})
    assert refused.status_code == 400 and "amount" in refused.context["form"].errors
    assert client.post(adjust, {"kind": "courtesy", "amount": "20.00", "reason": "Hardship"}).status_code == 302
    assert account_balance(account=account) == D("130.00")
    payment_post(account=account, amount="200.00", method=PaymentMethod.CASH, idempotency_key="cr", actor=biller,
                 allow_credit=True, patient=owing["parent"])
    owing_now = account_balance(account=account)
    client.post(reverse("billing:account_credit_apply", args=[account.public_id]), {"patient": owing["parent"].public_id})
    assert account_balance(account=account) == owing_now
    other = account_for_patient(patient=PatientFactory(organization=org))
    moved = client.post(reverse("billing:account_move_member", args=[account.public_id]),
                        {"patient": owing["child"].public_id, "to_account": other.number})
    assert moved.status_code == 302 and account_for_patient(patient=owing["child"]).pk == other.pk
