"""The ledger pages: who may open what, another practice's records are 404, CSV exports, the manual entry and
the reversal through the pages, and list pages whose query count does not grow with their rows."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.ledger.choices import AccountRole, EntryKind
from clinicdesk.ledger.models import Account, JournalEntry
from clinicdesk.ledger.services import chart_install
from clinicdesk.patients.tests.factories import PatientFactory

from .books import charge, credit, pay

D = Decimal
TODAY = date.today()


@pytest.fixture
def biller(make_user):
    return make_user(Role.BILLER, username="biller1")


@pytest.fixture
def books(org):
    """A charge, a payment and a credit for one patient: an entry and an account to open."""
    patient = PatientFactory(organization=org, last_name="Okonkwo", first_name="Ada")
    item = charge(org, patient, "90.00", service_date=TODAY - timedelta(days=40))
    pay(org, item, "15.00", on=TODAY - timedelta(days=2))
    credit(org, patient, "5.00", on=TODAY - timedelta(days=1))
    entry = JournalEntry.objects.filter(organization=org, kind=EntryKind.CHARGE).get()
    account = Account.objects.get(organization=org, role=AccountRole.PATIENT_RECEIVABLE)
    return {"patient": patient, "item": item, "entry": entry, "account": account}


VIEW_PAGES = [
    ("ledger:index", None), ("ledger:accounts", None), ("ledger:accounts_export", None), ("ledger:journal", None),
    ("ledger:journal_export", None), ("ledger:entry", "entry"), ("ledger:account_ledger", "account"),
    ("ledger:account_ledger_export", "account"), ("ledger:trial_balance", None), ("ledger:trial_balance_export", None),
    ("ledger:aging", None), ("ledger:aging_export", None),
]
MANAGE_PAGES = [("ledger:account_create", None), ("ledger:account_edit", "account"), ("ledger:entry_create", None)]


def url_of(name, needs, books):
    if needs == "entry":
        return reverse(name, args=[books["entry"].pk])
    if needs == "account":
        return reverse(name, args=[books["account"].pk])
    return reverse(name)


@pytest.mark.parametrize("role, may_view, may_manage", [
    (Role.FRONT_DESK, False, False), (Role.CLINICIAN, False, False), (Role.NURSE, False, False),
    (Role.AUDITOR, False, False), (Role.BILLER, True, False), (Role.OFFICE_MANAGER, True, False),
    (Role.ADMINISTRATOR, True, True),
])
def test_who_may_open_the_ledger_pages(client_as, make_user, books, role, may_view, may_manage):
    client = client_as(make_user(role, username=f"u-{role}"))
    for name, needs in VIEW_PAGES:
        status = client.get(url_of(name, needs, books)).status_code
        assert status == ((302 if name == "ledger:index" else 200) if may_view else 403), (name, status)
    for name, needs in MANAGE_PAGES:
        status = client.get(url_of(name, needs, books)).status_code
        assert status == (200 if may_manage else 403), (name, status)
    reverse_url = reverse("ledger:entry_reverse", args=[books["entry"].pk])
    status = client.post(reverse_url, {"reason": "Wrong patient"}).status_code
    assert status == (302 if may_manage else 403)
    assert JournalEntry.objects.filter(reverses=books["entry"]).exists() == may_manage


def test_pages_are_signed_in_only(client, books):
    response = client.get(reverse("ledger:journal"))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_another_practices_account_and_entry_are_not_found(client_as, administrator, other_org, make_user, books):
    stranger = client_as(make_user(Role.ADMINISTRATOR, organization=other_org, username="admin-elsewhere"))
    for name, needs in [*VIEW_PAGES, *MANAGE_PAGES]:
        if needs:
            assert stranger.get(url_of(name, needs, books)).status_code == 404, name
    assert stranger.post(reverse("ledger:entry_reverse", args=[books["entry"].pk]), {"reason": "x"}).status_code == 404
    assert stranger.post(reverse("ledger:account_edit", args=[books["account"].pk]),
                         {"code": "9", "name": "x", "account_type": "asset"}).status_code == 404
    # and their reports show none of this practice's figures
    body = stranger.get(reverse("ledger:aging")).content.decode()
    assert "Okonkwo" not in body and "Nothing is owed" in body


def test_the_entry_page_shows_the_lines_and_the_administrator_reverses_with_a_reason(client_as, administrator, books):
    client = client_as(administrator)
    url = reverse("ledger:entry", args=[books["entry"].pk])
    page = client.get(url).content.decode()
    assert "Patient receivables" in page and "Patient service revenue" in page and "90.00" in page
    assert 'id="reverse-form"' in page
    # a reason is required
    refused = client.post(reverse("ledger:entry_reverse", args=[books["entry"].pk]), {"reason": "  "})
    assert refused.status_code == 400 and not JournalEntry.objects.filter(reverses=books["entry"]).exists()
    done = client.post(reverse("ledger:entry_reverse", args=[books["entry"].pk]), {"reason": "Charged twice"})
    reversal = JournalEntry.objects.get(reverses=books["entry"])
    assert done["Location"] == reverse("ledger:entry", args=[reversal.pk])
    assert AuditEvent.objects.filter(action="ledger.entry_reversed", target_id=str(books["entry"].pk)).exists()
    assert 'id="reverse-form"' not in client.get(url).content.decode()
    again = client.post(reverse("ledger:entry_reverse", args=[books["entry"].pk]), {"reason": "Again"})
    assert again.status_code == 400 and "already been reversed" in again.content.decode()


def test_the_biller_sees_no_reverse_button(client_as, biller, books):
    assert 'id="reverse-form"' not in client_as(biller).get(reverse("ledger:entry", args=[books["entry"].pk])).content.decode()


def _lines(*rows):
    data = {"account": [], "debit": [], "credit": [], "department": [], "line_memo": []}
    for account, debit, credit_amount in rows:
        data["account"].append(str(account.pk) if account else "")
        data["debit"].append(debit)
        data["credit"].append(credit_amount)
        data["department"].append("")
        data["line_memo"].append("")
    return data


def test_a_manual_entry_posts_only_when_it_balances_and_names_the_bad_line(client_as, administrator, org):
    chart_install(organization=org)
    bank = Account.objects.get(organization=org, role=AccountRole.OPERATING_BANK)
    rent = Account.objects.get(organization=org, code="6500")
    client = client_as(administrator)
    url = reverse("ledger:entry_create")
    head = {"entry_date": "2026-11-02", "memo": "November rent"}
    unbalanced = client.post(url, {**head, **_lines((rent, "1,200.00", ""), (bank, "", "1100.00"))})
    assert unbalanced.status_code == 400
    assert "does not balance: debits 1,200.00, credits 1,100.00" in unbalanced.content.decode()
    both = client.post(url, {**head, **_lines((rent, "10", "10"), (bank, "", "10"))})
    assert "Line 1: enter a debit or a credit" in both.content.decode()
    no_account = client.post(url, {**head, **_lines((rent, "10", ""), (None, "", "10"))})
    assert "Line 2: choose an account." in no_account.content.decode()
    bad_amount = client.post(url, {**head, **_lines((rent, "10.005", ""), (bank, "", "10"))})
    assert "Line 1: the debit must be a positive amount" in bad_amount.content.decode()
    assert not JournalEntry.objects.filter(organization=org).exists()
    posted = client.post(url, {**head, **_lines((rent, "1,200.00", ""), (bank, "", "1200"), (None, "", ""))})
    entry = JournalEntry.objects.get(organization=org)
    assert posted["Location"] == reverse("ledger:entry", args=[entry.pk])
    assert entry.kind == EntryKind.MANUAL and entry.total == D("1200.00") and entry.line_count == 2
    assert entry.created_by == administrator
    assert AuditEvent.objects.filter(action="ledger.entry_posted", target_id=str(entry.pk)).exists()


def test_the_chart_pages_add_and_edit_accounts(client_as, administrator, org):
    chart_install(organization=org)
    client = client_as(administrator)
    added = client.post(reverse("ledger:account_create"), {"code": "6950", "name": "Continuing education",
                                                           "account_type": "expense", "role": ""})
    assert added.status_code == 302
    account = Account.objects.get(organization=org, code="6950")
    taken = client.post(reverse("ledger:account_create"), {"code": "6950", "name": "Again", "account_type": "expense"})
    assert taken.status_code == 400 and "already in the chart" in taken.content.decode()
    closed = client.post(reverse("ledger:account_edit", args=[account.pk]), {
        "code": "6950", "name": "Continuing medical education", "account_type": "expense", "role": ""})
    assert closed.status_code == 302
    account.refresh_from_db()
    assert account.name == "Continuing medical education" and not account.is_active  # the box was left unticked
    page = client.get(reverse("ledger:accounts")).content.decode()
    assert "Continuing medical education" in page and "Closed" in page


def _csv(response):
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_csv_exports(client_as, biller, books):
    client = client_as(biller)
    aging = _csv(client.get(reverse("ledger:aging_export")))
    assert aging[0] == ["patient", "MRN", "0-30 days", "31-60 days", "61-90 days", "91-120 days", "120+ days",
                        "unapplied credit", "total"]
    assert aging[1][0] == "Okonkwo, Ada" and aging[1][2:] == ["0.00", "75.00", "0.00", "0.00", "0.00", "-5.00", "70.00"]
    assert aging[-1][0] == "Total" and aging[-1][-1] == "70.00"
    assert AuditEvent.objects.filter(action="patient.exported", patient_id=books["patient"].pk).exists()
    payer = _csv(client.get(reverse("ledger:aging_export") + "?by=payer"))
    assert payer[1] == ["Patient responsibility", "0.00", "75.00", "0.00", "0.00", "0.00", "75.00"]
    trial = _csv(client.get(reverse("ledger:trial_balance_export")))
    assert trial[-1] == ["", "Total", "", "95.00", "95.00"]
    journal = _csv(client.get(reverse("ledger:journal_export")))
    assert len(journal) == 1 + 6 and journal[0][:3] == ["entry", "date", "kind"]
    ledger = _csv(client.get(reverse("ledger:account_ledger_export", args=[books["account"].pk])))
    assert [row[-1] for row in ledger[1:]] == ["90.00", "75.00"]
    chart = _csv(client.get(reverse("ledger:accounts_export")))
    assert ["1200", "Patient receivables", "Asset", "Patient receivables", "", "yes", "75.00"] in chart
    assert AuditEvent.objects.filter(action="ledger.exported").count() == 6


def test_the_aging_page_links_patients_to_their_chart_and_totals(client_as, administrator, books):
    page = client_as(administrator).get(reverse("ledger:aging")).content.decode()
    assert reverse("patients:detail", args=[books["patient"].public_id]) in page
    assert AuditEvent.objects.filter(action="patient.listed", patient_id=books["patient"].pk).exists()
    assert 'id="aging-total"' in page and "70.00" in page
    payer = client_as(administrator).get(reverse("ledger:aging") + "?by=payer").content.decode()
    assert "Patient responsibility" in payer


def test_an_office_manager_gets_the_chart_link_too(client_as, make_user, books):
    page = client_as(make_user(Role.OFFICE_MANAGER, username="om")).get(reverse("ledger:aging")).content.decode()
    assert reverse("patients:detail", args=[books["patient"].public_id]) in page


def test_pdfs_render(client_as, biller, books):
    client = client_as(biller)
    for name in ("ledger:trial_balance_pdf", "ledger:aging_pdf"):
        response = client.get(reverse(name))
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")


def test_a_bad_date_is_a_form_error_not_a_500(client_as, biller, books):
    assert client_as(biller).get(reverse("ledger:aging") + "?as_of=2026-13-45").status_code == 400
    assert client_as(biller).get(reverse("ledger:journal") + "?date_from=2026-11-05&date_to=2026-11-01").status_code == 400


def _grow(org, n):
    for k in range(n):
        patient = PatientFactory(organization=org)
        item = charge(org, patient, f"{10 + k}.00", service_date=TODAY - timedelta(days=5 * k))
        pay(org, item, "1.00", on=TODAY)


@pytest.mark.parametrize("name, query", [("ledger:journal", ""), ("ledger:aging", ""), ("ledger:aging", "?by=payer"),
                                         ("ledger:trial_balance", ""), ("ledger:accounts", ""),
                                         ("ledger:account_ledger", "")])
def test_list_pages_do_not_grow_their_query_count_with_rows(client_as, biller, org, name, query,
                                                            django_assert_max_num_queries):
    client = client_as(biller)
    _grow(org, 2)
    args = [Account.objects.get(organization=org, role=AccountRole.PATIENT_RECEIVABLE).pk] if name == "ledger:account_ledger" else []
    url = reverse(name, args=args) + query
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    _grow(org, 12)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200
