"""Receipts (the PDF read back with pdftotext; the e-mail carries a secure link, never the PDF) and the pay link
(date of birth first, then a card payment posted once however often it is submitted, a receipt after)."""

import shutil
import subprocess  # noqa: S404  (pdftotext on PDFs the tests made)
import tempfile
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from clinicdesk.billing.choices import PaymentMethod, PaymentStatus
from clinicdesk.billing.models import Payment
from clinicdesk.billing.selectors.accounts import account_balance
from clinicdesk.billing.services.pay_links import pay_link_issue
from clinicdesk.billing.services.payments import payment_post
from clinicdesk.billing.services.receipts import receipt_email, receipt_pdf
from clinicdesk.communications.models import Message
from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.factories import LocationFactory

D = Decimal
pytestmark = pytest.mark.django_db


def pdf_text(data: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(data)
        handle.flush()
        out = subprocess.run(["pdftotext", "-layout", handle.name, "-"], capture_output=True, check=True)  # noqa: S603, S607
    return " ".join(out.stdout.decode().split())


@pytest.fixture
def desk(make_user):
    return make_user(Role.FRONT_DESK)


@pytest.fixture
def office(org):
    return LocationFactory(organization=org, name="Harbor Office", address_line1="9 Harbor Road", city="Portsmouth",
                           state="NH", postal_code="03801", phone="(603) 555-0142")


def test_the_receipt_pdf_names_the_practice_the_payer_the_card_and_what_it_paid(family, desk, office, post_charge,
                                                                               fake_cards):
    # given: a card payment that settles one charge and leaves another open
    post_charge(family["parent"], "80.00", service_date=date(2026, 9, 3), description="Office visit, new patient")
    post_charge(family["child"], "45.00", service_date=date(2026, 10, 1), description="Vaccine")
    card = fake_cards.payment_method_create(number="4242424242424242", exp_month=12, exp_year=2030, cvc="123")
    payment = payment_post(account=family["account"], amount="80.00", method=PaymentMethod.CARD, location=office,
                           card_payment_method_id=card.id, idempotency_key="rcpt", actor=desk)
    # when
    text = pdf_text(receipt_pdf(actor=desk, payment=payment))
    # then
    for expected in ("Riverside Test Practice", "Harbor Office", "9 Harbor Road", "Payment receipt",
                     family["account"].number, "Maria Lopez", "visa ending 4242", "$80.00", "09/03/2026",
                     "Office visit, new patient", "Remaining balance on the account: $45.00"):
        assert expected in text, expected
    assert AuditEvent.objects.filter(action="payment.receipt_printed", target_id=str(payment.pk)).exists()


def test_a_check_receipt_shows_the_check_number(family, desk, post_charge):
    post_charge(family["parent"], "20.00")
    payment = payment_post(account=family["account"], amount="20.00", method=PaymentMethod.CHECK, check_number="1042",
                           idempotency_key="chk", actor=desk)
    assert "check #1042" in pdf_text(receipt_pdf(actor=desk, payment=payment))


def test_the_emailed_receipt_is_a_secure_link_that_asks_the_date_of_birth(family, desk, post_charge, client):
    # given
    post_charge(family["parent"], "20.00")
    payment = payment_post(account=family["account"], amount="20.00", method=PaymentMethod.CASH, idempotency_key="em",
                           actor=desk)
    # when
    message = receipt_email(actor=desk, payment=payment, site_url="https://office.example.org")
    # then: the message holds a link, not the receipt
    assert message.to_address == "maria@example.org"
    assert "https://office.example.org/billing/r/" in message.body and "$20.00" in message.body
    path = message.body.split("https://office.example.org")[1].split()[0]
    assert "Remaining balance" not in message.body
    page = client.get(path)
    assert page.status_code == 200 and b"date of birth" in page.content
    wrong = client.post(path, {"date_of_birth": "1900-01-01"})
    assert wrong.status_code == 400
    right = client.post(path, {"date_of_birth": family["parent"].date_of_birth.isoformat()})
    assert right.status_code == 200 and right["Content-Type"] == "application/pdf"
    assert "$20.00" in pdf_text(right.content)
    assert client.get(path[:-5] + "xxxx/").status_code == 410
    # sending again makes a second message
    assert receipt_email(actor=desk, payment=payment).pk != message.pk
    assert Message.objects.count() == 2


def _link_path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_the_pay_link_asks_the_date_of_birth_then_takes_a_card_payment_once(family, post_charge, client, fake_cards):
    # given: a balance of 125.00 and a pay link for the account
    post_charge(family["parent"], "80.00", service_date=date(2026, 9, 3))
    post_charge(family["child"], "45.00", service_date=date(2026, 10, 1))
    _link, url = pay_link_issue(account=family["account"])
    path = _link_path(url)
    # when: the page is opened, a wrong then the right date of birth given
    assert b"date of birth" in client.get(path).content
    wrong = client.post(path, {"step": "dob", "date_of_birth": "1901-02-03"})
    assert wrong.status_code == 400 and b"4 attempts left" in wrong.content
    shown = client.post(path, {"step": "dob", "date_of_birth": family["parent"].date_of_birth.isoformat()})
    assert shown.status_code == 200 and b"$125.00" in shown.content
    key = shown.context["form"].initial["idempotency_key"]
    body = {"step": "pay", "amount": "100.00", "card_number": "4242 4242 4242 4242", "card_expiry": "12/30",
            "card_cvc": "123", "idempotency_key": key}
    first = client.post(path, body)
    again = client.post(path, body)
    # then: one card payment, a receipt page each time, the balance down by 100
    assert first.status_code == 200 and b"payment received" in first.content
    assert again.status_code == 200 and again.context["payment"].pk == first.context["payment"].pk
    payment = Payment.objects.get()
    assert (payment.method, payment.status, payment.amount, payment.card_last4) == ("card", "posted", D("100.00"), "4242")
    assert payment.taken_by is None and len(fake_cards.charges) == 1
    assert account_balance(account=family["account"]) == D("25.00")
    assert b"$25.00" in first.content
    assert AuditEvent.objects.filter(action="billing.pay_link_opened").count() == 1
    # the card number is nowhere in the database
    assert not Payment.objects.filter(memo__contains="4242424242424242").exists()


def test_a_declined_card_on_the_pay_link_posts_nothing_and_says_why(family, post_charge, client, fake_cards):
    post_charge(family["parent"], "80.00")
    _link, url = pay_link_issue(account=family["account"])
    path = _link_path(url)
    client.post(path, {"step": "dob", "date_of_birth": family["parent"].date_of_birth.isoformat()})
    declined = client.post(path, {"step": "pay", "amount": "80.00", "card_number": "4000000000000002",
                                  "card_expiry": "12/30", "card_cvc": "123", "idempotency_key": "k-decline"})
    assert declined.status_code == 402 and b"declined" in declined.content
    assert Payment.objects.get().status == PaymentStatus.DECLINED
    assert account_balance(account=family["account"]) == D("80.00")
    too_much = client.post(path, {"step": "pay", "amount": "500.00", "card_number": "4242424242424242",
                                  "card_expiry": "12/30", "card_cvc": "123", "idempotency_key": "k-much"})
    assert too_much.status_code == 400 and b"more than" in too_much.content
    assert len(fake_cards.charges) == 0


def test_the_pay_link_locks_after_five_wrong_dates_of_birth(family, post_charge, client):
    post_charge(family["parent"], "80.00")
    _link, url = pay_link_issue(account=family["account"])
    path = _link_path(url)
    for _ in range(4):
        assert client.post(path, {"step": "dob", "date_of_birth": "1901-02-03"}).status_code == 400
    assert client.post(path, {"step": "dob", "date_of_birth": "1901-02-03"}).status_code == 410
    locked = client.post(path, {"step": "dob", "date_of_birth": family["parent"].date_of_birth.isoformat()})
    assert locked.status_code in (404, 410)
    assert client.post(path, {"step": "pay", "amount": "1.00"}).status_code in (404, 410)


def test_the_pay_link_is_the_merge_field_of_balance_reminders(family, post_charge):
    from clinicdesk.communications.defaults import defaults_install
    from clinicdesk.communications.services.billing_messages import bill_message_queue

    defaults_install(organization=family["parent"].organization)
    post_charge(family["parent"], "80.00")
    _link, url = pay_link_issue(account=family["account"])
    message = bill_message_queue(actor=None, patient=family["parent"], kind="balance", amount=D("80.00"),
                                 reference="run-1", pay_url=url, channel="email")
    assert url in message.body or url in message.html_body
    assert reverse("communications_public:link", args=["x"]).split("x")[0] in url
