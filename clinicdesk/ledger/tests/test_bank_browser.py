"""The bank in real Chromium, as the office manager: a statement imported (preview, then save), the deposit matched
automatically, the bank fee posted as an entry, the reconciliation refused with a difference then finished, the
uncleared check listed; then the finances overview, a bank account added, a recurring bill added and a bill due
paid from the bank."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from clinicdesk.core.choices import Role
from clinicdesk.ledger import bills
from clinicdesk.ledger.choices import AccountRole, EntryKind
from clinicdesk.ledger.models import Account, Bill, JournalEntry, Reconciliation, RecurringBill

from .bank_books import bank_post, operating_bank

pytestmark = pytest.mark.browser
D = Decimal
TODAY = timezone.localdate()
LAST_MONTH_END = TODAY.replace(day=1) - timedelta(days=1)
LAST_MONTH = LAST_MONTH_END.replace(day=1)


@pytest.fixture
def page(page: Page) -> Page:
    page.set_default_timeout(5_000)
    page.set_default_navigation_timeout(10_000)
    return page


@pytest.fixture
def manager_page(page: Page, sign_in, make_user):
    """The browser carries a signed-in office manager's session (the sign-in form has its own tests)."""
    return sign_in(make_user(Role.OFFICE_MANAGER, username="priya-browser"))


def test_import_match_and_reconcile_a_statement(manager_page: Page, live_server, org, tmp_path):
    page = manager_page
    account = operating_bank(org)
    bank_post(org, "2000.00", on=LAST_MONTH - timedelta(days=1), other=AccountRole.RETAINED_EARNINGS,
              kind=EntryKind.OPENING)
    bank_post(org, "640.25", on=LAST_MONTH + timedelta(days=2), memo="Deposit of the day close at Main Street",
              reference="dayclose-deposit:9")
    bank_post(org, "-75.00", on=LAST_MONTH_END, memo="Check 3001 to Henry Supply", other=AccountRole.ACCOUNTS_PAYABLE,
              kind=EntryKind.PAYMENT)
    statement = tmp_path / "first-valley.csv"
    statement.write_text("Date,Description,Amount\n"
                         f"{(LAST_MONTH + timedelta(days=3)).isoformat()},DEPOSIT,640.25\n"
                         f"{LAST_MONTH_END.isoformat()},SERVICE FEE,-12.00\n")

    # the list and the register, with the day close's deposit
    page.goto(f"{live_server.url}/ledger/bank/")
    page.get_by_role("link", name="Operating account").click()
    expect(page.locator("#bank-register")).to_contain_text("Deposit of the day close at Main Street")
    expect(page.locator("#bank-register")).to_contain_text("dayclose-deposit:9")
    expect(page.locator("#bank-chart")).to_have_attribute("data-ready", "true")

    # import: the columns, a preview, then save
    page.get_by_role("navigation", name="Bank account").get_by_role("link", name="Import a statement").click()
    page.get_by_label("Statement file (CSV, OFX or QFX)").set_input_files(str(statement))
    page.get_by_label("Date column").fill("Date")
    page.get_by_label("Description column").fill("Description")
    page.get_by_label("Amount column").fill("Amount")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-new")).to_contain_text("SERVICE FEE")
    page.get_by_role("button", name="Save 2 lines").click()
    expect(page.get_by_role("status")).to_contain_text("2 statement lines imported, 0 duplicates skipped; 1 matched")

    # the fee is posted as an entry to professional fees
    fee_row = page.locator("#statement-lines tbody tr").filter(has_text="SERVICE FEE")
    fee_row.get_by_label("Entry to account").select_option(label="6900 Professional fees")
    fee_row.get_by_role("button", name="Create entry").click()
    expect(page.get_by_role("status")).to_contain_text("Entry posted for SERVICE FEE and matched.")
    assert JournalEntry.objects.filter(kind=EntryKind.BANK_ITEM).count() == 1
    page.get_by_role("navigation", name="Statement lines by state").get_by_role("link", name="Matched", exact=True).click()
    expect(page.locator("#statement-lines")).to_contain_text("Deposit of the day close at Main Street")

    # reconcile: a wrong balance shows the difference, the right one finishes
    page.get_by_role("navigation", name="Bank account").get_by_role("link", name="Reconcile").click()
    page.get_by_label("Statement end date").fill(LAST_MONTH_END.isoformat())
    page.get_by_label("Statement ending balance").fill("2600.00")
    page.get_by_role("button", name="Show the difference").click()
    expect(page.locator("#difference")).to_have_text("-28.25")
    expect(page.locator("#cannot-finish")).to_be_visible()
    page.get_by_label("Statement ending balance").fill("2628.25")
    page.get_by_role("button", name="Show the difference").click()
    expect(page.locator("#beginning")).to_have_text("2,000.00")
    expect(page.locator("#difference")).to_have_text("0.00")
    page.get_by_role("button", name="Finish reconciliation").click()
    expect(page.locator("#reconciliations")).to_contain_text(LAST_MONTH_END.strftime("%m/%d/%Y"))
    assert Reconciliation.objects.get(bank_account=account).ending_balance == D("2628.25")

    # the check not yet at the bank is outstanding
    page.get_by_role("navigation", name="Bank account").get_by_role("link", name="Uncleared items").click()
    expect(page.locator("#uncleared")).to_contain_text("Check 3001 to Henry Supply")
    expect(page.locator("#uncleared tbody tr")).to_have_count(1)


def test_finances_overview_a_new_bank_account_a_recurring_bill_and_a_bill_paid(manager_page: Page, live_server, org):
    page = manager_page
    operating_bank(org)
    Account.objects.create(organization=org, code="1060", name="Payroll bank account", account_type="asset")
    supplies = Account.objects.get(organization=org, code="6300")
    bill = bills.bill_enter(organization=org, vendor_name="Henry Supply", bill_date=TODAY - timedelta(days=30),
                            due_date=TODAY - timedelta(days=2), account=supplies, amount=D("310.00"), actor=None)

    page.goto(f"{live_server.url}/ledger/")
    expect(page.get_by_role("heading", name="Finances", exact=True)).to_be_visible()
    expect(page.locator("#finance-banks")).to_contain_text("Operating account")
    expect(page.locator("#finances")).to_contain_text("1 overdue")

    # a payroll bank account
    page.get_by_role("navigation", name="Ledger").get_by_role("link", name="Bank").click()
    page.get_by_role("link", name="Add a bank account").click()
    page.get_by_label("Name").fill("Payroll account")
    page.locator("#id_institution").fill("First Valley Bank")
    page.get_by_label("Last four digits of the number").fill("9082")
    page.get_by_label("Ledger account").select_option(label="1060 Payroll bank account")
    page.get_by_role("button", name="Add bank account").click()
    expect(page.get_by_role("heading", name="Payroll account")).to_be_visible()

    # a recurring bill
    page.goto(f"{live_server.url}/ledger/bills/recurring/")
    page.get_by_role("link", name="Add a recurring bill").click()
    page.get_by_label("Vendor").fill("Riverside Secure Shredding")
    page.get_by_label("Expense account").select_option(label="6900 Professional fees")
    page.get_by_label("Amount").fill("185.00")
    page.get_by_label("How often").select_option(label="Every quarter")
    page.get_by_label("Day of the month").fill("15")
    page.get_by_role("button", name="Add recurring bill").click()
    expect(page.locator("#recurring")).to_contain_text("Riverside Secure Shredding")
    assert RecurringBill.objects.get(organization=org).frequency == "quarterly"

    # the overdue bill paid from the payroll account
    page.get_by_role("link", name="Bills due").first.click()
    row = page.locator("#bills-due tbody tr").filter(has_text="Henry Supply")
    expect(row).to_contain_text("Overdue")
    row.get_by_label("Pay from, bill from Henry Supply").select_option(label="Payroll account ···9082")
    row.get_by_role("button", name="Pay").click()
    expect(page.get_by_role("status")).to_contain_text("Bill from Henry Supply paid from Payroll account.")
    bill = Bill.objects.get(pk=bill.pk)
    # today as the page saw it (the module's TODAY was read when the suite started, perhaps before midnight)
    assert bill.paid_on == timezone.localdate() and bill.payment_entry.lines.get(amount=D("-310.00")).account.code == "1060"


def test_a_bank_account_is_renamed_and_closed_but_keeps_its_reconciled_ledger_account(manager_page: Page, live_server,
                                                                                     org):
    from clinicdesk.ledger.bank import statement_lines_auto_match
    from clinicdesk.ledger.bank_import import ParsedLine, statement_import
    from clinicdesk.ledger.reconcile import reconciliation_finish

    page = manager_page
    account = operating_bank(org)
    Account.objects.create(organization=org, code="1060", name="Payroll bank", account_type="asset")
    bank_post(org, "50.00", on=LAST_MONTH + timedelta(days=1), memo="Deposit")
    statement_import(bank_account=account, file_format="api", actor=None, lines=[ParsedLine(
        number=1, posted_on=LAST_MONTH + timedelta(days=1), description="DEPOSIT", amount=D("50.00"))])
    statement_lines_auto_match(bank_account=account, actor=None)
    reconciliation_finish(bank_account=account, end_date=LAST_MONTH_END, ending_balance=D("50.00"), actor=None)

    page.goto(f"{live_server.url}/ledger/bank/{account.pk}/")
    page.get_by_role("link", name="Edit bank account").click()
    expect(page.locator("h1")).to_have_text("Edit Operating account")
    page.get_by_label("Ledger account").select_option(label="1060 Payroll bank")
    page.get_by_label("Name").fill("Old operating account")
    page.get_by_label("Name").press("Enter")
    expect(page.locator("#bank-form")).to_contain_text("the ledger account cannot change")
    page.get_by_label("Ledger account").select_option(label="1050 Operating bank account")
    page.get_by_label("Open (in use)").uncheck()
    page.get_by_role("button", name="Save bank account").click()
    expect(page.get_by_role("status")).to_contain_text("Bank account Old operating account saved.")
    expect(page.locator("h1")).to_contain_text("Closed")
    account.refresh_from_db()
    assert (account.name, account.is_active, account.account.code) == ("Old operating account", False, "1050")
