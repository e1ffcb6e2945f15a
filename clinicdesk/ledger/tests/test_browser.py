"""The manual journal entry in real Chromium: add lines, an unbalanced attempt shows the difference and is not
posted, a balanced one posts; then the aging page shows the practice's receivables."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from clinicdesk.core.choices import Role
from clinicdesk.ledger.models import JournalEntry
from clinicdesk.ledger.services import chart_install
from clinicdesk.patients.tests.factories import PatientFactory

from .books import charge

pytestmark = pytest.mark.browser
D = Decimal


@pytest.fixture
def page(page: Page) -> Page:
    page.set_default_timeout(5_000)
    page.set_default_navigation_timeout(10_000)
    return page


@pytest.fixture
def signed_in(page: Page, sign_in, make_user):
    """The browser carries a signed-in administrator's session (the sign-in form has its own tests)."""
    return sign_in(make_user(Role.ADMINISTRATOR, username="admin-browser"))


def test_a_manual_entry_is_refused_until_it_balances_then_posts(signed_in: Page, live_server, org):
    page = signed_in
    chart_install(organization=org)
    patient = PatientFactory(organization=org, last_name="Lindqvist", first_name="Sara")
    charge(org, patient, "140.00", service_date=timezone.localdate() - timedelta(days=45))

    page.goto(f"{live_server.url}/ledger/journal/new/")
    page.get_by_label("What the entry is for").fill("Bank fees for November")
    page.get_by_label("Account, line 1").select_option(label="6900 Professional fees")
    page.get_by_label("Debit, line 1").fill("35.00")
    page.get_by_label("Account, line 2").select_option(label="1050 Operating bank account")
    page.get_by_label("Credit, line 2").fill("25.00")
    status = page.locator("#entry-difference")
    expect(status).to_contain_text("does not balance: debits 35.00, credits 25.00")
    # the script refuses to submit; nothing is posted
    page.get_by_role("button", name="Post entry").click()
    expect(status).to_contain_text("Add a credit of 10.00")
    assert not JournalEntry.objects.filter(organization=org, kind="manual").exists()
    # a third line makes up the difference
    page.get_by_role("button", name="Add line").click()
    page.get_by_label("Account, line 3").select_option(label="1000 Cash on hand")
    page.get_by_label("Credit, line 3").fill("10.00")
    expect(status).to_contain_text("Balanced: debits and credits are both 35.00")
    expect(page.locator("#credit-total")).to_have_text("35.00")
    page.get_by_role("button", name="Post entry").click()
    expect(page.get_by_role("heading", name="Manual entry")).to_be_visible()
    entry = JournalEntry.objects.get(organization=org, kind="manual")
    assert entry.total == 35 and entry.line_count == 3 and entry.memo == "Bank fees for November"

    page.get_by_role("navigation", name="Ledger").get_by_role("link", name="A/R aging").click()
    row = page.locator("#aging tbody tr").filter(has_text="Lindqvist, Sara")
    expect(row).to_contain_text("140.00")
    page.get_by_role("link", name="By payer").click()
    expect(page.locator("#aging")).to_contain_text("Patient responsibility")


def test_last_month_is_closed_refused_a_reopening_without_reason_then_reopened(signed_in: Page, live_server, org):
    from clinicdesk.ledger.models import FiscalPeriod

    page = signed_in
    last_month = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)
    label = last_month.strftime("%B %Y")
    page.goto(f"{live_server.url}/ledger/periods/")
    page.get_by_role("button", name=f"Close {label}").click()
    expect(page.locator(f"#period-{last_month:%Y-%m}")).to_contain_text("Closed")
    page.get_by_role("button", name="Reopen").click()
    expect(page.locator("#period-errors")).to_contain_text("Say why the month is reopened.")
    page.get_by_label(f"Why is {label} reopened?").fill("Late vendor bill")
    page.get_by_label(f"Why is {label} reopened?").press("Enter")
    expect(page.locator(f"#period-{last_month:%Y-%m}")).to_contain_text("Late vendor bill")
    assert not FiscalPeriod.objects.get(organization=org).is_closed


def test_profit_and_loss_switches_to_departments_and_the_other_statements_open(signed_in: Page, live_server, org):
    from clinicdesk.core.tests.factories import DepartmentFactory
    from clinicdesk.ledger.choices import AccountRole, EntryKind
    from clinicdesk.ledger.services import LineSpec, entry_post

    page = signed_in
    chart_install(organization=org)
    lab = DepartmentFactory(organization=org, name="Laboratory")
    today = timezone.localdate()
    entry_post(organization=org, entry_date=today, kind=EntryKind.MANUAL, memo="Lab visit", lines=[
        LineSpec(account=AccountRole.CASH, amount=D("75.00")),
        LineSpec(account=AccountRole.SERVICE_REVENUE, amount=D("-75.00"), department=lab),
    ])
    page.goto(f"{live_server.url}/ledger/statements/profit-loss/")
    expect(page.locator("#statement")).to_contain_text("Patient service revenue")
    page.get_by_label("Columns").select_option("department")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#statement thead")).to_contain_text("Laboratory")
    expect(page.locator("#statement tr.total").last).to_contain_text("75.00")
    # the download the link gives, fetched with the page's session (a click would hand it to the download manager)
    xlsx = page.request.get(live_server.url + page.get_by_role("link", name="Export XLSX").get_attribute("href"))
    assert xlsx.ok and xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert xlsx.headers["content-disposition"].endswith('-by-department.xlsx"')
    page.get_by_role("link", name="Balance sheet").click()
    expect(page.locator("#statement")).to_contain_text("Liabilities and equity")
    page.get_by_role("link", name="Cash summary").click()
    expect(page.locator("#statement")).to_contain_text("Closing balance")


def test_the_budget_grid_moves_with_arrows_saves_and_the_report_draws_its_chart(signed_in: Page, live_server, org):
    from clinicdesk.core.tests.factories import DepartmentFactory
    from clinicdesk.ledger.models import Budget

    page = signed_in
    chart_install(organization=org)
    lab = DepartmentFactory(organization=org, name="Laboratory")
    year = timezone.localdate().year
    page.goto(f"{live_server.url}/ledger/budgets/grid/?year={year}&department={lab.pk}")
    first = page.get_by_label(f"Medical supplies, {year}-01")
    first.fill("500")
    first.press("ArrowRight")
    expect(page.get_by_label(f"Medical supplies, {year}-02")).to_be_focused()
    page.keyboard.type("abc")
    page.get_by_label(f"Medical supplies, {year}-02").press("ArrowDown")
    expect(page.get_by_label(f"Office supplies, {year}-02")).to_be_focused()
    page.get_by_role("button", name="Save budget").click()
    expect(page.locator("#budget-errors")).to_contain_text("is not an amount")
    assert not Budget.objects.exists()
    page.get_by_label(f"Medical supplies, {year}-02").fill("450")
    page.get_by_role("button", name="Save budget").click()
    expect(page.get_by_label(f"Medical supplies, {year}-02")).to_have_value("450.00")
    assert Budget.objects.count() == 2
    page.get_by_role("link", name="Budget against actual").click()
    expect(page.locator("#budget-vs-actual")).to_contain_text("950.00")
    expect(page.locator("#budget-chart")).to_have_attribute("data-ready", "true")


def test_a_budget_file_with_an_unknown_department_is_named_then_a_good_one_imports(signed_in: Page, live_server, org,
                                                                                 tmp_path):
    from clinicdesk.core.tests.factories import DepartmentFactory
    from clinicdesk.ledger.models import Budget

    page = signed_in
    chart_install(organization=org)
    DepartmentFactory(organization=org, name="Laboratory", code="lab")
    bad = tmp_path / "bad.csv"
    bad.write_text("department,account,month,amount\nlab,6300,2026-01,100\nDentistry,6300,2026-01,5\n")
    good = tmp_path / "good.csv"
    good.write_text("department,account,month,amount\nlab,6300,2026-01,100\nLaboratory,6400,2026-02,5\n")
    page.goto(f"{live_server.url}/ledger/budgets/import/")
    page.get_by_label("Budget file (CSV or XLSX)").set_input_files(str(bad))
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#budget-import-form")).to_contain_text("Line 3: unknown department 'Dentistry'.")
    assert not Budget.objects.exists()
    page.get_by_label("Budget file (CSV or XLSX)").set_input_files(str(good))
    page.get_by_role("button", name="Import").click()
    expect(page.locator("ul.messages")).to_contain_text("2 budget cells imported")
    assert Budget.objects.count() == 2


def test_a_bill_is_entered_with_its_receipt_then_paid(signed_in: Page, live_server, org, tmp_path):
    from clinicdesk.ledger.models import Bill

    page = signed_in
    chart_install(organization=org)
    receipt = tmp_path / "receipt.pdf"
    receipt.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    today = timezone.localdate()
    page.goto(f"{live_server.url}/ledger/bills/new/")
    page.get_by_label("Vendor").fill("Henry Schein")
    page.get_by_label("Bill date").fill(today.isoformat())
    page.get_by_label("Due date").fill((today - timedelta(days=2)).isoformat())
    page.get_by_label("Expense account").select_option(label="6300 Medical supplies")
    page.get_by_label("Amount").fill("412.50")
    page.get_by_label("Receipt (PDF or image)").set_input_files(str(receipt))
    page.get_by_role("button", name="Enter bill").click()
    expect(page.locator("#bill-form")).to_contain_text("cannot fall due before its date")
    page.get_by_label("Due date").fill((today + timedelta(days=30)).isoformat())
    page.get_by_label("Receipt (PDF or image)").set_input_files(str(receipt))
    page.get_by_role("button", name="Enter bill").click()
    bill = Bill.objects.get()
    row = page.locator(f"#bill-{bill.pk}")
    expect(row).to_contain_text("Henry Schein")
    expect(row.get_by_role("link", name="Receipt")).to_be_visible()
    row.get_by_role("button", name="Pay").click()
    expect(page.locator("ul.messages")).to_contain_text("paid")
    bill.refresh_from_db()
    assert bill.paid_on == today


def test_a_payroll_file_with_a_bad_row_is_named_then_a_good_one_posts(signed_in: Page, live_server, org, tmp_path):
    from clinicdesk.core.tests.factories import DepartmentFactory

    page = signed_in
    chart_install(organization=org)
    DepartmentFactory(organization=org, name="Nursing", code="nursing")
    header = "period,department,gross wages,employer taxes,benefits\n"
    bad = tmp_path / "bad.csv"
    bad.write_text(header + "2026-03,nursing,14800,1132.20,900\n2026-03,nursing,lots,0,0\n")
    good = tmp_path / "good.csv"
    good.write_text(header + "2026-03,nursing,14800,1132.20,900\n")
    page.goto(f"{live_server.url}/ledger/bills/")
    page.get_by_role("link", name="Import payroll").click()
    page.get_by_label("Payroll summary (CSV or XLSX)").set_input_files(str(bad))
    page.get_by_role("button", name="Post payroll").click()
    expect(page.locator("#payroll-import-form")).to_contain_text("Line 3: gross wages 'lots' is not an amount.")
    assert not JournalEntry.objects.filter(organization=org).exists()
    page.get_by_label("Payroll summary (CSV or XLSX)").set_input_files(str(good))
    page.get_by_role("button", name="Post payroll").click()
    expect(page.locator("#lines")).to_contain_text("16,832.20")
