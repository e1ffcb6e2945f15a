"""Patient accounts in real Chromium: the front desk opens the account from the patient's Billing tab, takes a cash
payment and sees the balance fall, downloads the receipt PDF; the patient pays by pay link after giving the date of
birth."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinicdesk.billing.models import Payment
from clinicdesk.billing.services.accounts import account_for_patient
from clinicdesk.billing.services.pay_links import pay_link_issue
from clinicdesk.core.choices import Role
from clinicdesk.ledger.choices import AccountRole, EntryKind
from clinicdesk.ledger.services import LineSpec, entry_post, open_item_create
from clinicdesk.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.browser


def _charge(patient, amount: str, service_date: date, description: str = "Office visit") -> None:
    item = open_item_create(organization=patient.organization, patient=patient, service_date=service_date,
                            description=description)
    entry_post(organization=patient.organization, entry_date=service_date, kind=EntryKind.CHARGE, lines=[
        LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=Decimal(amount), item=item),
        LineSpec(account=AccountRole.SERVICE_REVENUE, amount=-Decimal(amount), patient=patient)])


def test_the_front_desk_takes_cash_and_downloads_the_receipt(page: Page, url, sign_in, make_user, org, tmp_path):
    # given: a patient owing 150.00
    patient = PatientFactory(organization=org, first_name="Nina", last_name="Okafor")
    _charge(patient, "100.00", date(2026, 9, 1))
    _charge(patient, "50.00", date(2026, 10, 1), "Flu vaccine")
    account = account_for_patient(patient=patient)
    sign_in(make_user(Role.FRONT_DESK))
    # when: from the chart's Billing tab to the account, then take 120.00 in cash
    page.goto(url(reverse("patients:detail", args=[patient.public_id]) + "?tab=billing"))
    expect(page.locator("#tab-balance")).to_have_text("150.00")
    page.get_by_role("link", name="Open the account").click()
    expect(page.locator("#account-balance")).to_have_text("150.00")
    page.get_by_role("link", name="Take a payment").click()
    page.get_by_label("Cash").check()
    page.get_by_role("textbox", name="Amount").fill("120.00")
    page.get_by_role("button", name="Post the payment").click()
    # then: the payment page, and the account's balance is 30.00
    expect(page.get_by_role("heading", level=1)).to_have_text("Cash payment of 120.00")
    with page.expect_download(timeout=30_000) as download_info:  # the first PDF loads WeasyPrint's fonts
        page.get_by_role("link", name="Receipt (PDF)").click(timeout=30_000)
    download = download_info.value
    target = tmp_path / "receipt.pdf"
    download.save_as(target)
    assert target.read_bytes().startswith(b"%PDF")
    page.get_by_role("link", name=f"← Account {account.number}").click()
    expect(page.locator("#account-balance")).to_have_text("30.00")
    expect(page.locator("#activity tbody tr").last).to_contain_text("30.00")
    assert Payment.objects.get().amount == Decimal("120.00")


def test_a_bad_amount_is_shown_on_its_field(page: Page, url, sign_in, make_user, org):
    patient = PatientFactory(organization=org)
    _charge(patient, "40.00", date(2026, 9, 1))
    account = account_for_patient(patient=patient)
    sign_in(make_user(Role.FRONT_DESK))
    page.goto(url(reverse("billing:payment_take", args=[account.public_id])))
    page.get_by_role("textbox", name="Amount").fill("60.00")
    page.get_by_role("button", name="Post the payment").click()
    expect(page.locator("#id_amount-error")).to_contain_text("more than the balance")
    assert Payment.objects.count() == 0


def test_the_patient_pays_by_pay_link(page: Page, url, org, monkeypatch):
    from clinicdesk.billing.tests.fake_cards import install

    install(monkeypatch)
    patient = PatientFactory(organization=org, date_of_birth=date(1980, 4, 2))
    _charge(patient, "80.00", date(2026, 9, 1))
    account = account_for_patient(patient=patient)
    _link, link_url = pay_link_issue(account=account)
    page.goto(url("/" + link_url.split("://", 1)[1].split("/", 1)[1]))
    page.get_by_label("Date of birth").fill("1980-04-02")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#balance")).to_have_text("$80.00")
    page.get_by_label("Card number").fill("4242424242424242")
    page.get_by_label("Expiry (MM/YY)").fill("12/30")
    page.get_by_label("Security code").fill("123")
    page.get_by_role("button", name="Pay").click()
    expect(page.locator("#paid-amount")).to_have_text("$80.00")
    expect(page.locator("#remaining")).to_have_text("$0.00")


def test_cash_without_a_location_is_refused_where_the_practice_has_two(page: Page, url, sign_in, make_user, org):
    from clinicdesk.core.models import Location

    # given a practice with two offices, so cash must say whose drawer it goes in
    for code, name in (("north", "North office"), ("south", "South office")):
        Location.objects.get_or_create(organization=org, code=code,
                                       defaults={"name": name, "time_zone": "America/New_York"})
    patient = PatientFactory(organization=org)
    _charge(patient, "40.00", date(2026, 9, 1))
    account = account_for_patient(patient=patient)
    sign_in(make_user(Role.FRONT_DESK))
    page.goto(url(reverse("billing:payment_take", args=[account.public_id])))
    # when the desk posts cash with no location
    page.get_by_label("Cash").check()
    page.get_by_role("textbox", name="Amount").fill("40.00")
    page.get_by_label("Taken at").select_option("")
    page.get_by_role("button", name="Post the payment").click()
    # then the location field says why, and nothing is posted
    expect(page.locator("#id_location-error")).to_contain_text("no drawer")
    assert Payment.objects.count() == 0
    # when the desk picks the office, the payment goes into that drawer
    page.get_by_label("Taken at").select_option(label="South office")
    page.get_by_role("button", name="Post the payment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cash payment of 40.00")
    assert Payment.objects.get().location.name == "South office"
