"""A lockbox or batch file of checks and cash: every row checked and named, a preview that posts and rolls back,
all or nothing, and the same file twice posts nothing twice."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from freezegun import freeze_time

from clinicdesk.billing.models import Payment
from clinicdesk.billing.services.payment_import import payment_batch_import
from clinicdesk.core.choices import Role
from clinicdesk.core.tests.factories import LocationFactory
from clinicdesk.ledger.models import JournalEntry
from clinicdesk.ledger.selectors import patient_balance

pytestmark = pytest.mark.django_db
D = Decimal
HEADER = "reference,account,amount,method,check_number,received_on,memo\n"


@pytest.fixture
def owing(family, post_charge):
    post_charge(family["parent"], "100.00", service_date=date(2026, 9, 1))
    post_charge(family["child"], "50.00", service_date=date(2026, 10, 1))
    return family


def _posted() -> int:
    return JournalEntry.objects.filter(kind="payment").count()


@freeze_time("2026-11-02 10:00")
def test_a_preview_posts_nothing_and_the_import_settles_oldest_first(org, owing, make_user):
    # given
    account = owing["account"]
    text = HEADER + f"LB-1,{account.number},120.00,check,5511,2026-11-01,mailed\nLB-2,{account.number},30.00,check,5512,,\n"
    biller = make_user(Role.BILLER)
    # when: a preview
    preview = payment_batch_import(organization=org, file=text, actor=biller, dry_run=True)
    # then: each row says what it would do, and nothing is posted
    assert not preview.errors and not preview.saved
    assert [r.outcome for r in preview.rows] == ["new", "new"] and preview.total == D("150.00")
    assert Payment.objects.count() == 0 and _posted() == 0
    # when: posted
    result = payment_batch_import(organization=org, file=text, actor=biller, dry_run=False)
    # then
    assert result.saved and result.counts["new"] == 2
    assert patient_balance(patient=owing["parent"]) == 0 and patient_balance(patient=owing["child"]) == 0
    first = Payment.objects.get(idempotency_key="lockbox:LB-1")
    assert first.check_number == "5511" and first.received_on == date(2026, 11, 1) and first.location_id is None
    # and the same file again posts nothing twice
    again = payment_batch_import(organization=org, file=text, actor=biller, dry_run=False)
    assert again.counts == {"new": 0, "updated": 0, "unchanged": 2, "error": 0}
    assert Payment.objects.count() == 2 and _posted() == 2


@freeze_time("2026-11-02 10:00")
def test_every_bad_row_is_named_and_nothing_is_posted(org, owing):
    number = owing["account"].number
    text = HEADER + "\n".join([
        f"LB-1,{number},20.00,check,1,,",          # good
        "LB-2,99999,20.00,check,2,,",              # unknown account
        f"LB-3,{number},20.005,check,3,,",          # not cents
        f"LB-4,{number},20.00,card,,,",             # cards are not batch payments
        f"LB-5,{number},20.00,check,,,",            # no check number
        f"LB-6,{number},20.00,cash,,2026-12-01,",   # future
        f"LB-1,{number},5.00,check,7,,",            # reference twice
        f",{number},5.00,check,8,11/02/2026,",      # no reference, a date not ISO
    ]) + "\n"
    result = payment_batch_import(organization=org, file=text, actor=None, dry_run=False)
    assert not result.saved
    by_line = {r.line: r.message for r in result.rows}
    assert by_line[2] == ""
    assert by_line[3] == "account: 99999 is not an account of this practice."
    assert by_line[4] == "amount: 20.005 has fractions of a cent."
    assert by_line[5].startswith("method: 'card' is not check or cash")
    assert by_line[6] == "check_number: a check needs its number."
    assert by_line[7] == "received_on: a payment cannot be dated in the future."
    assert by_line[8] == "reference: LB-1 appears twice in the file."
    assert "reference: every payment needs" in by_line[9] and "received_on: 11/02/2026 is not a date" in by_line[9]
    assert Payment.objects.count() == 0 and _posted() == 0


@freeze_time("2026-11-02 10:00")
def test_the_batch_services_refusal_lands_on_its_row(org, owing):
    number = owing["account"].number
    # the second payment is more than what is left after the first
    text = HEADER + f"LB-1,{number},140.00,check,1,,\nLB-2,{number},20.00,check,2,,\n"
    result = payment_batch_import(organization=org, file=text, actor=None, dry_run=True)
    assert [r.outcome for r in result.rows] == ["new", "error"]
    assert result.rows[1].message.startswith("amount: $20.00 is $10.00 more than the balance")
    assert Payment.objects.count() == 0


def test_a_file_without_the_columns_is_refused_naming_them(org):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        payment_batch_import(organization=org, file="account,amount\n1,2\n", actor=None, dry_run=True)
    assert "no reference, method columns" in refused.value.message_dict["file"][0]
    with pytest.raises(ValidationError) as refused:
        payment_batch_import(organization=org, file=HEADER.strip() + ",tip\n", actor=None, dry_run=True)
    assert "Unknown column tip" in refused.value.message_dict["file"][0]


@freeze_time("2026-11-02 10:00")
def test_cash_in_a_file_goes_in_the_chosen_drawer(org, owing):
    LocationFactory(organization=org, code="north")
    south = LocationFactory(organization=org, code="south")
    number = owing["account"].number
    text = HEADER + f"C-1,{number},25.00,cash,,,\n"
    refused = payment_batch_import(organization=org, file=text, actor=None, dry_run=True)
    assert refused.rows[0].message.startswith("location: Choose where the cash was taken")
    posted = payment_batch_import(organization=org, file=text, actor=None, dry_run=False, location=south)
    assert posted.saved and Payment.objects.get().location_id == south.pk


@freeze_time("2026-11-02 10:00")
def test_the_page_previews_then_posts(client, org, owing, make_user):
    client.force_login(make_user(Role.FRONT_DESK))
    number = owing["account"].number
    upload = SimpleUploadedFile("lockbox.csv", (HEADER + f"LB-9,{number},40.00,check,77,,\n").encode(), "text/csv")
    preview = client.post(reverse("billing:payments_import"), {"step": "preview", "file": upload})
    assert preview.status_code == 200 and "Preview: nothing saved yet" in preview.content.decode()
    assert Payment.objects.count() == 0
    confirm = preview.context["confirm"]
    done = client.post(reverse("billing:payments_import"), {
        "step": "import", "content": confirm.initial["content"], "file_name": "lockbox.csv", "location": ""})
    assert done.status_code == 302 and done["Location"] == reverse("billing:payments")
    assert Payment.objects.get().amount == D("40.00")
    client.force_login(make_user(Role.AUDITOR))
    assert client.get(reverse("billing:payments_import")).status_code == 403


@freeze_time("2026-11-02 10:00")
def test_the_api_posts_a_batch_all_or_nothing_and_replays(client, org, owing, make_user):
    import json

    from clinicdesk.core import services as core_services
    from clinicdesk.core.permissions import ROLE_PERMISSIONS

    user = make_user(Role.BILLER)
    _, secret = core_services.api_token_create(user=user, name="t", scopes=sorted(ROLE_PERMISSIONS[user.role]), days=1)

    def post(body):
        return client.post("/api/v1/billing/payment-batches", json.dumps(body), content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {secret}")

    number = owing["account"].number
    good = {"reference": "A-1", "account": number, "amount": "60.00", "method": "check", "check_number": "9"}
    bad = {"reference": "A-2", "account": number, "amount": "10.00", "method": "check"}
    refused = post({"payments": [good, bad]})
    assert refused.status_code == 400
    assert refused.json()["rows"][1] == {"item": 2, "reference": "A-2", "outcome": "error",
                                         "message": "check_number: a check needs its number."}
    assert Payment.objects.count() == 0
    assert post({"payments": [{**good, "amount": 60}]}).status_code == 400  # a JSON number is not an amount
    preview = post({"payments": [good], "preview": True})
    assert preview.status_code == 200 and preview.json()["posted"] is False and Payment.objects.count() == 0
    posted = post({"payments": [good]})
    assert posted.status_code == 201 and posted.json() == {
        "posted": True, "total": "60.00",
        "rows": [{"item": 1, "reference": "A-1", "outcome": "new", "message": f"$60.00 check on account {number}"}]}
    again = post({"payments": [good]})
    assert again.status_code == 201 and again.json()["rows"][0]["outcome"] == "unchanged"
    assert Payment.objects.count() == 1
