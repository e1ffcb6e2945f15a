"""Vendor bills: entering posts the expense against payables, paying posts the bank payment; receipts are checked
by content; a bill in a closed month is refused naming the date; the pages and their permissions."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from clinicdesk.core.choices import Role
from clinicdesk.ledger.bills import bill_enter, bill_list, bill_pay
from clinicdesk.ledger.models import Account, Bill, Vendor
from clinicdesk.ledger.periods import period_close
from clinicdesk.ledger.selectors import account_balances
from clinicdesk.ledger.services import chart_install

D = Decimal
TODAY = timezone.localdate()
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMINISTRATOR, username="admin-bills")


@pytest.fixture
def accounts(org):
    chart_install(organization=org)
    return {a.code: a for a in Account.objects.filter(organization=org)}


def enter(org, admin, accounts, **extra):
    values = {"vendor_name": "Henry Schein", "bill_date": TODAY, "due_date": TODAY + timedelta(days=30),
              "account": accounts["6300"], "amount": D("412.50"), "number": "INV-1"}
    return bill_enter(organization=org, actor=admin, **(values | extra))


def test_entering_and_paying_a_bill_posts_payables_then_the_bank(org, admin, accounts):
    bill = enter(org, admin, accounts, receipt=SimpleUploadedFile("r.pdf", PDF, content_type="application/pdf"))
    balances = account_balances(organization_id=org.pk)
    assert balances[accounts["6300"].pk] == D("412.50") and balances[accounts["2000"].pk] == D("-412.50")
    assert bill.receipt_type == "application/pdf" and bill.receipt.name.endswith(".pdf")
    assert list(bill_list(user=admin, status="due")) == [bill]
    bill_pay(bill=bill, paid_on=TODAY, actor=admin)
    balances = account_balances(organization_id=org.pk)
    assert balances[accounts["2000"].pk] == 0 and balances[accounts["1050"].pk] == D("-412.50")
    with pytest.raises(ValidationError, match="was paid on"):
        bill_pay(bill=bill, paid_on=TODAY, actor=admin)
    assert list(bill_list(user=admin, status="paid")) == [bill]
    assert Vendor.objects.filter(organization=org).count() == 1


def test_a_receipt_that_is_not_a_document_or_a_non_expense_account_saves_nothing(org, admin, accounts):
    with pytest.raises(ValidationError) as bad:
        enter(org, admin, accounts, account=accounts["1050"],
              receipt=SimpleUploadedFile("r.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf"))
    assert set(bad.value.message_dict) == {"account", "receipt"}
    assert not Bill.objects.exists() and not Vendor.objects.exists()


def test_a_bill_dated_in_a_closed_month_is_refused_naming_the_date(org, admin, accounts):
    last_month = (TODAY.replace(day=1) - timedelta(days=1)).replace(day=15)
    period_close(organization=org, month=last_month, actor=admin)
    with pytest.raises(ValidationError, match=f"{last_month:%m/%d/%Y}"):
        enter(org, admin, accounts, bill_date=last_month, due_date=last_month)
    assert not Bill.objects.exists()


def test_the_pages_enter_pay_and_show_the_receipt(client_as, admin, make_user, org, accounts):
    client = client_as(admin)
    response = client.post(reverse("ledger:bill_create"), {
        "vendor": "Staples", "number": "S-9", "bill_date": TODAY.isoformat(),
        "due_date": (TODAY - timedelta(days=1)).isoformat(), "account": accounts["6400"].pk, "amount": "55.10",
    })
    assert response.status_code == 400 and "cannot fall due before its date" in response.content.decode()
    response = client.post(reverse("ledger:bill_create"), {
        "vendor": "Staples", "number": "S-9", "bill_date": TODAY.isoformat(), "due_date": TODAY.isoformat(),
        "account": accounts["6400"].pk, "amount": "55.10",
        "receipt": SimpleUploadedFile("r.pdf", PDF, content_type="application/pdf"),
    })
    assert response.status_code == 302
    bill = Bill.objects.get()
    page = client.get(reverse("ledger:bills")).content.decode()
    assert "Staples" in page and "55.10" in page
    receipt = client.get(reverse("ledger:bill_receipt") + f"?bill={bill.pk}")
    assert receipt.status_code == 200 and receipt["Content-Type"] == "application/pdf"
    assert client.post(reverse("ledger:bill_pay"), {"bill": bill.pk, "paid_on": TODAY.isoformat()}).status_code == 302
    assert Bill.objects.get().paid_on == TODAY
    export = client.get(reverse("ledger:bills_export") + "?status=paid")
    assert b"Staples" in b"".join(export.streaming_content)
    biller = client_as(make_user(Role.BILLER, username="biller-bills"))
    assert biller.get(reverse("ledger:bills")).status_code == 200
    assert biller.get(reverse("ledger:bill_create")).status_code == 403


def test_another_practice_cannot_see_or_pay_the_bill(client_as, make_user, other_org, org, admin, accounts):
    bill = enter(org, admin, accounts)
    stranger = client_as(make_user(Role.ADMINISTRATOR, organization=other_org, username="admin-elsewhere-bills"))
    assert stranger.get(reverse("ledger:bill_receipt") + f"?bill={bill.pk}").status_code == 404
    assert stranger.post(reverse("ledger:bill_pay"), {"bill": bill.pk, "paid_on": TODAY.isoformat()}).status_code == 404
    assert "Henry Schein" not in stranger.get(reverse("ledger:bills")).content.decode()


def test_the_bill_list_query_count_does_not_grow(client_as, admin, org, accounts, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_as(admin)
    enter(org, admin, accounts, number="A")
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("ledger:bills")).status_code == 200
    for n in range(8):
        enter(org, admin, accounts, number=f"B{n}", vendor_name=f"Vendor {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(reverse("ledger:bills")).status_code == 200


def test_a_bill_for_received_stock_is_checked_field_by_field_and_posts_only_its_difference(org, other_org, admin,
                                                                                       accounts):
    from clinicdesk.ledger.bills import bill_enter_received, vendor_for

    vendor = vendor_for(organization=org, name="Henry Schein")
    values = {"organization": org, "vendor": vendor, "number": "R-1", "bill_date": TODAY, "due_date": TODAY,
              "amount": D("100.00"), "received_value": D("100.00"), "actor": admin}
    cases = [({"number": " "}, "number"), ({"due_date": TODAY - timedelta(days=1)}, "due_date"),
             ({"amount": D("0")}, "amount"), ({"received_value": D("0")}, "amount"),
             ({"vendor": vendor_for(organization=other_org, name="Theirs")}, "vendor")]
    for change, field in cases:
        with pytest.raises(ValidationError) as caught:
            bill_enter_received(**(values | change))
        assert field in caught.value.message_dict, change
    assert not Bill.objects.exists()
    # a bill under what was received credits the difference back to supplies expense
    bill = bill_enter_received(**(values | {"amount": D("97.25")}))
    lines = {line.account.code: line.amount for line in bill.entry.lines.select_related("account")}
    assert sorted(lines.values()) == [D("-2.75"), D("2.75")] and lines[accounts["6300"].code] == D("-2.75")
