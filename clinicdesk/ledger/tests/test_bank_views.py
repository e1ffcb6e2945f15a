"""The bank pages and API: who may open and reconcile, another practice's bank is not found, the import preview
then save, the reconciliation through the pages, its PDF (read back with pdftotext) and CSV, recurring bills and
bills due, and list pages whose query count does not grow with their rows."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.ledger import bank, bills, recurring
from clinicdesk.ledger.choices import AccountRole, EntryKind, Frequency
from clinicdesk.ledger.models import Account, Bill, JournalEntry, Reconciliation, RecurringBill, StatementLine

from .bank_books import bank_post, operating_bank

D = Decimal
PDFTOTEXT = shutil.which("pdftotext")
TODAY = timezone.localdate()
LAST_MONTH_END = TODAY.replace(day=1) - timedelta(days=1)
LAST_MONTH = LAST_MONTH_END.replace(day=1)


def pdf_text(pdf: bytes, tmp_path) -> str:
    if PDFTOTEXT is None:
        pytest.skip("pdftotext is missing: `make test` installs Debian's poppler-utils")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run([PDFTOTEXT, "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout  # noqa: S603


@pytest.fixture
def account(org):
    return operating_bank(org)


@pytest.fixture
def manager(make_user):
    return make_user(Role.OFFICE_MANAGER, username="priya")


def _csv(content: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.lstrip("\ufeff"))))


def _body(response) -> str:
    return b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()


def _statement(client, account, text: str, mapping=None):
    """Upload a CSV statement and save its preview through the pages."""
    mapping = mapping or {"date_column": "Date", "description_column": "Description", "amount_column": "Amount"}
    upload = io.BytesIO(text.encode())
    upload.name = "statement.csv"
    preview = client.post(reverse("ledger:bank_import", args=[account.pk]), {"step": "preview", "file": upload, **mapping})
    return preview


VIEW_PAGES = ["ledger:finances", "ledger:bank_list", "ledger:bank_list_export", "ledger:bank_detail",
              "ledger:bank_register_export", "ledger:bank_matching", "ledger:bank_matching_export",
              "ledger:bank_uncleared", "ledger:bank_uncleared_export", "ledger:recurring", "ledger:recurring_export",
              "ledger:bills_due", "ledger:bills_due_export"]
RECONCILE_PAGES = ["ledger:bank_create", "ledger:bank_edit", "ledger:bank_import", "ledger:bank_reconcile"]
NEEDS_BANK = {"ledger:bank_detail", "ledger:bank_edit", "ledger:bank_register_export", "ledger:bank_matching", "ledger:bank_matching_export",
              "ledger:bank_uncleared", "ledger:bank_uncleared_export", "ledger:bank_import", "ledger:bank_reconcile"}


def _url(name, account):
    return reverse(name, args=[account.pk] if name in NEEDS_BANK else [])


@pytest.mark.parametrize("role, may_view, may_reconcile", [
    (Role.FRONT_DESK, False, False), (Role.CLINICIAN, False, False), (Role.NURSE, False, False),
    (Role.AUDITOR, False, False), (Role.BILLER, True, False), (Role.OFFICE_MANAGER, True, True),
    (Role.ADMINISTRATOR, True, True),
])
def test_who_may_open_the_bank_pages_and_who_may_reconcile(client_as, make_user, account, role, may_view, may_reconcile):
    client = client_as(make_user(role, username=f"u-{role}"))
    for name in VIEW_PAGES:
        assert client.get(_url(name, account)).status_code == (200 if may_view else 403), name
    for name in RECONCILE_PAGES:
        assert client.get(_url(name, account)).status_code == (200 if may_reconcile else 403), name
    finish = client.post(reverse("ledger:bank_reconcile", args=[account.pk]),
                         {"end_date": LAST_MONTH_END.isoformat(), "ending_balance": "0.00"})
    assert finish.status_code == (302 if may_reconcile else 403)
    assert Reconciliation.objects.exists() == may_reconcile


def test_another_practices_bank_account_is_not_found(client_as, make_user, other_org, account):
    stranger = client_as(make_user(Role.ADMINISTRATOR, organization=other_org, username="admin-elsewhere"))
    for name in NEEDS_BANK:
        assert stranger.get(reverse(name, args=[account.pk])).status_code == 404, name
    assert stranger.post(reverse("ledger:bank_auto_match", args=[account.pk])).status_code == 404
    assert "Operating account" not in stranger.get(reverse("ledger:bank_list")).content.decode()


def test_adding_a_bank_account_keeps_only_four_digits_and_names_bad_fields(client_as, manager, org):
    client = client_as(manager)
    operating_bank(org)
    payroll = Account.objects.create(organization=org, code="1060", name="Payroll bank", account_type="asset")
    refused = client.post(reverse("ledger:bank_create"), {"name": "Payroll", "institution": "First Valley",
                                                          "last4": "12345", "account": payroll.pk})
    assert refused.status_code == 400 and "Give the last four digits" in refused.content.decode()
    taken = client.post(reverse("ledger:bank_create"), {"name": "Payroll", "institution": "First Valley", "last4": "1234",
                                                        "account": Account.objects.get(organization=org, code="1050").pk})
    assert taken.status_code == 400 and "Another bank account already books to this account" in taken.content.decode()
    done = client.post(reverse("ledger:bank_create"), {"name": "Payroll", "institution": "First Valley", "last4": "1234",
                                                       "account": payroll.pk})
    assert done.status_code == 302
    assert AuditEvent.objects.filter(action="ledger.bank_account_added").exists()


def _reconcile_a_deposit(org, account, manager):
    """A deposit last month, on the bank's statement, matched and reconciled."""
    from clinicdesk.ledger.bank_import import ParsedLine, statement_import
    from clinicdesk.ledger.reconcile import reconciliation_finish

    bank_post(org, "50.00", on=LAST_MONTH + timedelta(days=1), memo="Deposit")
    statement_import(bank_account=account, file_format="api", actor=manager, lines=[ParsedLine(
        number=1, posted_on=LAST_MONTH + timedelta(days=1), description="DEPOSIT", amount=D("50.00"))])
    bank.statement_lines_auto_match(bank_account=account, actor=manager)
    return reconciliation_finish(bank_account=account, end_date=LAST_MONTH_END, ending_balance=D("50.00"),
                                 actor=manager)


def test_a_bank_account_is_edited_and_closed_but_its_ledger_account_stays_once_reconciled(client_as, manager, org,
                                                                                         account):
    # given
    client = client_as(manager)
    payroll = Account.objects.create(organization=org, code="1060", name="Payroll bank", account_type="asset")
    form = client.get(reverse("ledger:bank_edit", args=[account.pk])).content.decode()
    assert 'value="Operating account"' in form and 'value="4321"' in form and "Open (in use)" in form
    data = {"name": "Operating account", "institution": "First Valley Bank", "last4": "4321", "account": account.account_id,
            "is_active": "on"}

    # when: a bad last four, then the ledger account moved while nothing is reconciled
    refused = client.post(reverse("ledger:bank_edit", args=[account.pk]), {**data, "last4": "43x1", "name": "Main"})
    assert refused.status_code == 400 and "Give the last four digits" in refused.content.decode()
    account.refresh_from_db()
    assert account.name == "Operating account"
    moved = client.post(reverse("ledger:bank_edit", args=[account.pk]), {**data, "account": payroll.pk})
    assert moved.status_code == 302
    account.refresh_from_db()
    assert account.account_id == payroll.pk
    client.post(reverse("ledger:bank_edit", args=[account.pk]), data)  # back to the operating account
    account.refresh_from_db()

    # then: once a line is reconciled, the ledger account cannot move; the rest still changes, and it closes
    _reconcile_a_deposit(org, account, manager)
    blocked = client.post(reverse("ledger:bank_edit", args=[account.pk]), {**data, "account": payroll.pk})
    assert blocked.status_code == 400
    assert "the ledger account cannot change" in blocked.content.decode()
    account.refresh_from_db()
    assert account.account.code == "1050"
    closed = client.post(reverse("ledger:bank_edit", args=[account.pk]), {
        **{k: v for k, v in data.items() if k != "is_active"}, "name": "Old operating", "institution": "Valley Bank",
        "last4": "9999"})
    assert closed.status_code == 302
    account.refresh_from_db()
    assert (account.name, account.institution, account.last4, account.is_active) == (
        "Old operating", "Valley Bank", "9999", False)
    changes = list(AuditEvent.objects.filter(action="ledger.bank_account_changed").order_by("pk")
               .values_list("summary", flat=True))
    assert len(changes) == 3 and "name, institution, last4, is_active changed" in changes[-1]
    assert "account changed" in changes[0]


def test_another_practice_cannot_edit_the_bank_account(client_as, make_user, other_org, account):
    stranger = client_as(make_user(Role.ADMINISTRATOR, organization=other_org, username="admin-elsewhere-edit"))
    response = stranger.post(reverse("ledger:bank_edit", args=[account.pk]), {
        "name": "Mine", "institution": "X", "last4": "0000", "account": account.account_id})
    assert response.status_code == 404
    account.refresh_from_db()
    assert account.name == "Operating account"


def test_the_register_shows_the_day_close_deposit_with_its_memo_and_reference(client_as, manager, org, account):
    bank_post(org, "812.40", on=TODAY - timedelta(days=2), memo="Deposit of the day close 11/25 at Main Street",
              reference="dayclose-deposit:17")
    page = client_as(manager).get(reverse("ledger:bank_detail", args=[account.pk])).content.decode()
    assert "Deposit of the day close 11/25 at Main Street" in page and "dayclose-deposit:17" in page and "812.40" in page
    rows = _csv(_body(client_as(manager).get(reverse("ledger:bank_register_export", args=[account.pk]))))
    assert rows[0][:4] == ["date", "entry", "kind", "reference"] and rows[1][3] == "dayclose-deposit:17"
    assert rows[1][5] == "812.40" and rows[1][7] == "812.40"


def test_import_shows_a_preview_saves_nothing_until_confirmed_then_matches(client_as, manager, org, account):
    client = client_as(manager)
    day = TODAY - timedelta(days=3)
    bank_post(org, "500.00", on=day)
    text = f"Date,Description,Amount\n{day.isoformat()},DEPOSIT,500.00\n{day.isoformat()},FEE,-4.00\n"
    preview = _statement(client, account, text)
    page = preview.content.decode()
    assert preview.status_code == 200 and 'id="statement-preview"' in page and "2 new lines" in page
    assert not StatementLine.objects.exists()
    token = page.split('name="token" value="')[1].split('"')[0]
    saved = client.post(reverse("ledger:bank_import", args=[account.pk]), {"step": "save", "token": token})
    assert saved.status_code == 302 and saved["Location"].startswith(reverse("ledger:bank_matching", args=[account.pk]))
    assert StatementLine.objects.filter(bank_account=account).count() == 2
    assert StatementLine.objects.get(description="DEPOSIT").matches.count() == 1
    # the same file again: both lines are duplicates, shown and not saved
    again = _statement(client, account, text).content.decode()
    assert "0 new lines, 2 duplicates" in again
    # a replayed save is refused once the preview is used
    stale = client.post(reverse("ledger:bank_import", args=[account.pk]), {"step": "save", "token": token})
    assert stale.status_code == 302 and StatementLine.objects.count() == 2


def test_a_bad_file_names_the_line_and_saves_nothing(client_as, manager, account):
    response = _statement(client_as(manager), account, "Date,Description,Amount\n2026-10-02,X,12.x0\n")
    assert response.status_code == 400 and "Line 2, Amount: &#x27;12.x0&#x27; is not an amount." in response.content.decode()
    assert not StatementLine.objects.exists()


def test_matching_and_a_bank_fee_entry_through_the_pages(client_as, manager, org, account):
    client = client_as(manager)
    day = TODAY - timedelta(days=3)
    deposit = bank_post(org, "300.00", on=day)
    bank.statement_lines_auto_match(bank_account=account, actor=None)
    text = f"Date,Description,Amount\n{day.isoformat()},DEPOSIT,300.00\n{day.isoformat()},SERVICE FEE,-9.00\n"
    bank_import_lines = _statement(client, account, text).content.decode()
    token = bank_import_lines.split('name="token" value="')[1].split('"')[0]
    client.post(reverse("ledger:bank_import", args=[account.pk]), {"step": "save", "token": token})
    line = StatementLine.objects.get(description="DEPOSIT")
    client.post(reverse("ledger:bank_unmatch", args=[account.pk]), {"statement_line": line.pk})
    assert not line.matches.exists()
    page = client.get(reverse("ledger:bank_matching", args=[account.pk])).content.decode()
    assert f'value="{deposit.pk}"' in page
    client.post(reverse("ledger:bank_match", args=[account.pk]), {"statement_line": line.pk, "journal_lines": [deposit.pk]})
    assert line.matches.get().journal_line_id == deposit.pk
    fee = StatementLine.objects.get(description="SERVICE FEE")
    fees = Account.objects.get(organization=org, code="6900")
    client.post(reverse("ledger:bank_item_create", args=[account.pk]), {"statement_line": fee.pk, "account": fees.pk,
                                                                        "memo": "Bank fee"})
    assert JournalEntry.objects.get(kind=EntryKind.BANK_ITEM).memo == "Bank fee" and fee.matches.exists()


def test_reconcile_through_the_pages_then_the_pdf_and_csv_report_and_undo(client_as, manager, org, account, tmp_path):
    client = client_as(manager)
    # given: 1,000.00 before last month; a 250.00 deposit clears, a 40.00 check does not
    bank_post(org, "1000.00", on=LAST_MONTH - timedelta(days=1), other=AccountRole.RETAINED_EARNINGS,
              kind=EntryKind.OPENING)
    bank_post(org, "250.00", on=LAST_MONTH + timedelta(days=4))
    bank_post(org, "-40.00", on=LAST_MONTH_END, other=AccountRole.ACCOUNTS_PAYABLE, kind=EntryKind.PAYMENT,
              memo="Check 2001 to Acme Medical")
    text = f"Date,Description,Amount\n{(LAST_MONTH + timedelta(days=5)).isoformat()},DEPOSIT,250.00\n"
    page = _statement(client, account, text).content.decode()
    client.post(reverse("ledger:bank_import", args=[account.pk]),
                {"step": "save", "token": page.split('name="token" value="')[1].split('"')[0]})
    # a wrong ending balance shows the difference and cannot finish
    shown = client.get(reverse("ledger:bank_reconcile", args=[account.pk]),
                       {"end_date": LAST_MONTH_END.isoformat(), "ending_balance": "1200.00"}).content.decode()
    assert 'id="difference">-50.00' in shown and 'id="finish-form"' not in shown
    refused = client.post(reverse("ledger:bank_reconcile", args=[account.pk]),
                          {"end_date": LAST_MONTH_END.isoformat(), "ending_balance": "1200.00"})
    assert refused.status_code == 400 and "The difference is -50.00" in refused.content.decode()
    # the right one finishes
    right = client.get(reverse("ledger:bank_reconcile", args=[account.pk]),
                       {"end_date": LAST_MONTH_END.isoformat(), "ending_balance": "1250.00"}).content.decode()
    assert 'id="beginning">1,000.00' in right and 'id="difference">0.00' in right and 'id="finish-form"' in right
    done = client.post(reverse("ledger:bank_reconcile", args=[account.pk]),
                       {"end_date": LAST_MONTH_END.isoformat(), "ending_balance": "1250.00"})
    assert done.status_code == 302
    rec = Reconciliation.objects.get()
    # the PDF and the CSV
    pdf = client.get(reverse("ledger:reconciliation_pdf", args=[account.pk]), {"reconciliation": rec.pk})
    assert pdf["Content-Type"] == "application/pdf"
    text = pdf_text(pdf.content, tmp_path)
    assert "Bank reconciliation: Operating account" in text and "1,250.00" in text
    assert "Check 2001 to Acme Medical" in text and "1,210.00" in text  # outstanding check; balance per books
    rows = _csv(_body(client.get(reverse("ledger:reconciliation_csv", args=[account.pk]), {"reconciliation": rec.pk})))
    assert ["beginning balance", "", "", "", "1000.00"] in rows and ["outstanding", LAST_MONTH_END.isoformat(),
                                                                     "Check 2001 to Acme Medical", "", "-40.00"] in rows
    assert client.get(reverse("ledger:reconciliation_pdf", args=[account.pk]), {"reconciliation": "x"}).status_code == 404
    # the uncleared list shows the check
    uncleared = client.get(reverse("ledger:bank_uncleared", args=[account.pk])).content.decode()
    assert "Check 2001 to Acme Medical" in uncleared
    # undo
    client.post(reverse("ledger:bank_reconcile_undo", args=[account.pk]), {"reconciliation": rec.pk})
    rec.refresh_from_db()
    assert rec.undone_at is not None and AuditEvent.objects.filter(action="ledger.bank_reconciliation_undone").exists()


def test_a_biller_cannot_undo_or_match(client_as, make_user, org, account, manager):
    client = client_as(make_user(Role.BILLER, username="biller"))
    assert client.post(reverse("ledger:bank_auto_match", args=[account.pk])).status_code == 403
    assert client.post(reverse("ledger:bank_reconcile_undo", args=[account.pk]), {"reconciliation": 1}).status_code == 403


# --- recurring bills and bills due ---------------------------------------------------------------------------


def test_a_recurring_bill_on_the_31st_uses_a_shorter_months_last_day_and_catches_up_once(org, manager):
    from clinicdesk.ledger.services import chart_install

    chart_install(organization=org)
    rent = Account.objects.get(organization=org, code="6500")
    template = recurring.recurring_bill_create(
        organization=org, vendor_name="Main Street Properties", account=rent, amount=D("7250.00"),
        frequency=Frequency.MONTHLY, day_of_month=31, start_date=date(2026, 1, 5), end_date=date(2026, 4, 30),
        terms_days=10, actor=manager)
    assert template.next_date == date(2026, 1, 31)
    made = recurring.recurring_bills_run(organization=org, today=date(2026, 3, 31))
    assert [(b.bill_date, b.due_date) for b in made] == [(date(2026, 1, 31), date(2026, 2, 10)),
                                                         (date(2026, 2, 28), date(2026, 3, 10)),
                                                         (date(2026, 3, 31), date(2026, 4, 10))]
    assert all(b.entry.total == D("7250.00") for b in made)
    assert recurring.recurring_bills_run(organization=org, today=date(2026, 3, 31)) == []
    recurring.recurring_bills_run(organization=org, today=date(2026, 9, 1))
    assert Bill.objects.filter(recurring=template).count() == 4  # April, then the end date


def test_a_quarterly_bill_into_a_closed_month_is_noted_and_the_others_go_on(org, manager):
    from clinicdesk.ledger.periods import period_close
    from clinicdesk.ledger.services import chart_install

    chart_install(organization=org)
    it = Account.objects.get(organization=org, code="6700")
    quarterly = recurring.recurring_bill_create(
        organization=org, vendor_name="ChartWorks", account=it, amount=D("900.00"), frequency=Frequency.QUARTERLY,
        day_of_month=1, start_date=LAST_MONTH, actor=manager)
    monthly = recurring.recurring_bill_create(
        organization=org, vendor_name="Shred Co", account=it, amount=D("85.00"), frequency=Frequency.MONTHLY,
        day_of_month=TODAY.day, start_date=TODAY, actor=manager)
    period_close(organization=org, month=LAST_MONTH, actor=manager)
    made = recurring.recurring_bills_run(organization=org, today=TODAY)
    assert [b.recurring_id for b in made] == [monthly.pk]
    quarterly.refresh_from_db()
    assert "are closed" in quarterly.last_error and quarterly.next_date == LAST_MONTH


def test_the_daily_task_enters_the_recurring_bills(org, manager):
    from clinicdesk.ledger.services import chart_install
    from clinicdesk.ledger.tasks import recurring_bills_daily

    chart_install(organization=org)
    recurring.recurring_bill_create(organization=org, vendor_name="Shred Co", account=Account.objects.get(
        organization=org, code="6900"), amount=D("85.00"), frequency=Frequency.YEARLY, day_of_month=1,
        start_date=TODAY.replace(day=1), actor=manager)
    assert recurring_bills_daily.call() == 1


def test_recurring_bill_form_names_bad_fields_and_adds_one(client_as, manager, org):
    from clinicdesk.ledger.services import chart_install

    chart_install(organization=org)
    client = client_as(manager)
    it = Account.objects.get(organization=org, code="6700")
    data = {"vendor": "ChartWorks", "account": it.pk, "amount": "940.00", "frequency": "monthly", "day_of_month": "40",
            "terms_days": "10", "start_date": TODAY.isoformat()}
    refused = client.post(reverse("ledger:recurring_create"), data)
    assert refused.status_code == 400 and not RecurringBill.objects.exists()
    assert client.post(reverse("ledger:recurring_create"), {**data, "day_of_month": "5"}).status_code == 302
    template = RecurringBill.objects.get()
    assert "ChartWorks" in client.get(reverse("ledger:recurring")).content.decode()
    client.post(reverse("ledger:recurring_stop"), {"recurring": template.pk})
    template.refresh_from_db()
    assert not template.is_active


def test_bills_due_lists_overdue_and_soon_due_and_pays_from_the_chosen_bank(client_as, manager, org, account):
    client = client_as(manager)
    payroll_ledger = Account.objects.create(organization=org, code="1060", name="Payroll bank", account_type="asset")
    payroll = bank.bank_account_save(organization=org, actor=manager, name="Payroll", institution="First Valley",
                                     last4="9082", account=payroll_ledger)
    supplies = Account.objects.get(organization=org, code="6300")
    overdue = bills.bill_enter(organization=org, vendor_name="Acme Medical", bill_date=TODAY - timedelta(days=40),
                               due_date=TODAY - timedelta(days=10), account=supplies, amount=D("120.00"), actor=manager)
    soon = bills.bill_enter(organization=org, vendor_name="Henry Supply", bill_date=TODAY, due_date=TODAY + timedelta(days=5),
                            account=supplies, amount=D("60.00"), actor=manager)
    later = bills.bill_enter(organization=org, vendor_name="Far Vendor", bill_date=TODAY, due_date=TODAY + timedelta(days=60),
                             account=supplies, amount=D("10.00"), actor=manager)
    page = client.get(reverse("ledger:bills_due"), {"days": 7}).content.decode()
    assert page.index("Acme Medical") < page.index("Henry Supply") and "Far Vendor" not in page and "Overdue" in page
    rows = _csv(_body(client.get(reverse("ledger:bills_due_export"), {"days": 7})))
    assert [r[0] for r in rows[1:]] == ["Acme Medical", "Henry Supply"] and rows[1][4] == "yes"
    paid = client.post(reverse("ledger:bill_pay"), {"bill": overdue.pk, "paid_on": TODAY.isoformat(),
                                                    "bank_account": payroll.pk, "return_to": "due"})
    assert paid["Location"] == reverse("ledger:bills_due")
    overdue.refresh_from_db()
    assert overdue.payment_entry.lines.get(amount=D("-120.00")).account_id == payroll_ledger.pk
    assert soon.paid_on is None and later.paid_on is None


# --- query counts --------------------------------------------------------------------------------------------


def _grow(org, account, n, start):
    from clinicdesk.ledger.bank_import import ParsedLine, statement_import

    chart = {a.code: a for a in Account.objects.filter(organization=org)}
    rows = []
    for k in range(n):
        day = TODAY - timedelta(days=k + 1)
        bank_post(org, f"{start + k}.00", on=day)
        rows.append(ParsedLine(number=k, posted_on=day, description=f"DEPOSIT {start + k}", amount=D(f"{start + k}.00")))
        rows.append(ParsedLine(number=k, posted_on=day, description=f"FEE {start + k}", amount=D("-1.00")))
        bills.bill_enter(organization=org, vendor_name=f"Vendor {start + k}", bill_date=TODAY, due_date=TODAY,
                         account=chart["6400"], amount=D("5.00"), actor=None)
        recurring.recurring_bill_create(organization=org, vendor_name=f"Vendor {start + k}", account=chart["6400"],
                                        amount=D("5.00"), frequency=Frequency.MONTHLY, day_of_month=1,
                                        start_date=TODAY + timedelta(days=40), actor=None)
        Account.objects.create(organization=org, code=f"11{start + k}", name=f"Savings {k}", account_type="asset")
        bank.bank_account_save(organization=org, actor=None, name=f"Savings {start + k}", institution="Bank",
                               last4="1111", account=Account.objects.get(organization=org, code=f"11{start + k}"))
    statement_import(bank_account=account, lines=rows, file_format="csv", actor=None)
    bank.statement_lines_auto_match(bank_account=account, actor=None)


@pytest.mark.parametrize("name, query", [
    ("ledger:finances", ""), ("ledger:bank_list", ""), ("ledger:bank_detail", ""), ("ledger:bank_matching", ""),
    ("ledger:bank_matching", "?status=matched"), ("ledger:bank_uncleared", ""), ("ledger:recurring", ""),
    ("ledger:bills_due", ""),
])
def test_bank_list_pages_do_not_grow_their_query_count_with_rows(client_as, manager, org, account, name, query,
                                                                 django_assert_max_num_queries):
    client = client_as(manager)
    _grow(org, account, 2, 10)
    url = _url(name, account) + query
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    _grow(org, account, 10, 30)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200


# --- API -----------------------------------------------------------------------------------------------------


BASE = "/api/v1/ledger"


def test_api_lists_bank_accounts_imports_lines_and_reports_the_reconciliation(client_as, manager, org, account,
                                                                             other_org):
    client = client_as(manager)
    bank_post(org, "500.00", on=date(2026, 10, 1))
    listing = client.get(f"{BASE}/bank-accounts").json()
    assert listing == [{"id": str(account.pk), "name": "Operating account", "institution": "First Valley Bank",
                        "last4": "4321", "ledger_account": "1050", "currency": "USD", "is_active": True,
                        "book_balance": "500.00", "unmatched_lines": 0, "reconciled_to": None}]
    body = {"lines": [{"date": "2026-10-02", "description": "DEPOSIT", "amount": "500.00", "fitid": "A1"},
                      {"date": "2026-10-31", "description": "FEE", "amount": "-3.00", "fitid": "A2"}]}
    made = client.post(f"{BASE}/bank-accounts/{account.pk}/statement-lines", json.dumps(body),
                       content_type="application/json")
    assert made.status_code == 201 and made.json()["added"] == 2 and made.json()["matched"] == 1
    again = client.post(f"{BASE}/bank-accounts/{account.pk}/statement-lines", json.dumps(body),
                        content_type="application/json").json()
    assert again["added"] == 0 and [s["reason"] for s in again["skipped"]] == [
        "FITID A1 was imported before", "FITID A2 was imported before"]
    status = client.get(f"{BASE}/bank-accounts/{account.pk}/reconciliation").json()
    assert status == {"bank_account": str(account.pk), "reconciled_to": None, "reconciled_balance": None,
                      "book_balance": "500.00", "unmatched_lines": 1, "matched_not_reconciled": 1,
                      "uncleared_deposits": "500.00", "uncleared_payments": "0.00"}
    # bad input names the field; a number for an amount is refused; nothing saved
    bad = client.post(f"{BASE}/bank-accounts/{account.pk}/statement-lines",
                      json.dumps({"lines": [{"date": "2026-10-02", "description": "X", "amount": "1.0.0"}]}),
                      content_type="application/json")
    assert bad.status_code == 400 and bad.json() == {"errors": {"lines": ["lines[1].amount: '1.0.0' is not an amount."]}}
    number = client.post(f"{BASE}/bank-accounts/{account.pk}/statement-lines",
                         json.dumps({"lines": [{"date": "2026-10-02", "description": "X", "amount": 1}]}),
                         content_type="application/json")
    assert number.status_code == 400 and "lines.0.amount" in number.json()["errors"]
    assert StatementLine.objects.count() == 2
    # another practice's account is not found
    stranger = operating_bank(other_org, last4="0000")
    assert client.get(f"{BASE}/bank-accounts/{stranger.pk}/reconciliation").status_code == 404


def test_api_import_needs_the_reconcile_permission(client_as, make_user, account):
    client = client_as(make_user(Role.BILLER, username="biller"))
    assert client.get(f"{BASE}/bank-accounts").status_code == 200
    denied = client.post(f"{BASE}/bank-accounts/{account.pk}/statement-lines",
                         json.dumps({"lines": [{"date": "2026-10-02", "description": "X", "amount": "1.00"}]}),
                         content_type="application/json")
    assert denied.status_code == 403 and not StatementLine.objects.exists()
