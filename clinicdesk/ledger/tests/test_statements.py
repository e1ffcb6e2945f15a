"""Financial statements: profit and loss by month and by department, the balance sheet that balances, the cash
summary by month; the pages and their CSV, XLSX and PDF downloads; query counts that do not grow with lines."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from clinicdesk.core.choices import Role
from clinicdesk.core.tests.factories import DepartmentFactory
from clinicdesk.ledger.choices import AccountRole, EntryKind
from clinicdesk.ledger.models import Account
from clinicdesk.ledger.services import LineSpec, chart_install, entry_post
from clinicdesk.ledger.statements import balance_sheet, cash_summary, profit_and_loss

D = Decimal
YEAR = 2025


@pytest.fixture
def biller(make_user):
    return make_user(Role.BILLER, username="biller-statements")


def post(org, day, debit, credit, amount, department=None):
    return entry_post(organization=org, entry_date=day, kind=EntryKind.MANUAL, memo="test", lines=[
        LineSpec(account=debit, amount=D(amount), department=department),
        LineSpec(account=credit, amount=-D(amount), department=department),
    ])


@pytest.fixture
def books(org):
    chart_install(organization=org)
    family = DepartmentFactory(organization=org, name="Family medicine")
    lab = DepartmentFactory(organization=org, name="Laboratory")
    rent = Account.objects.get(organization=org, code="6500")
    post(org, date(YEAR - 1, 12, 20), AccountRole.CASH, AccountRole.SERVICE_REVENUE, "50.00", family)  # last year
    post(org, date(YEAR, 1, 5), AccountRole.CASH, AccountRole.SERVICE_REVENUE, "100.00", family)
    post(org, date(YEAR, 1, 9), AccountRole.PATIENT_RECEIVABLE, AccountRole.SERVICE_REVENUE, "40.00", lab)
    post(org, date(YEAR, 2, 1), rent, AccountRole.OPERATING_BANK, "30.00", family)
    post(org, date(YEAR, 2, 3), AccountRole.OPERATING_BANK, AccountRole.CASH, "80.00")
    return {"family": family, "lab": lab, "rent": rent}


def row(statement, label):
    return next(r for r in statement.rows if r.label == label)


def test_profit_and_loss_by_month_adds_the_year_and_shows_revenue_positive(biller, books):
    pl = profit_and_loss(user=biller, year=YEAR)
    assert pl.columns[0] == "Jan 2025" and pl.columns[-1] == "Total" and len(pl.columns) == 13
    revenue = row(pl, "Patient service revenue").values
    assert revenue[0] == D("140.00") and revenue[1] == 0 and revenue[-1] == D("140.00")
    assert row(pl, "Rent").values[1] == D("30.00")
    assert row(pl, "Net income").values[-1] == D("110.00")
    assert row(pl, "Net income").values[:2] == [D("140.00"), D("-30.00")]


def test_profit_and_loss_by_department_and_for_one_department(biller, books):
    by_dept = profit_and_loss(user=biller, year=YEAR, by="department")
    assert by_dept.columns == ["Family medicine", "Laboratory", "No department", "Total"]
    assert row(by_dept, "Patient service revenue").values == [D("100.00"), D("40.00"), 0, D("140.00")]
    assert row(by_dept, "Net income").values == [D("70.00"), D("40.00"), 0, D("110.00")]
    lab_only = profit_and_loss(user=biller, year=YEAR, department_id=books["lab"].pk)
    assert row(lab_only, "Net income").values[-1] == D("40.00") and "Laboratory" in lab_only.subtitle


def test_the_balance_sheet_balances_with_the_earnings_not_yet_closed(biller, books):
    sheet = balance_sheet(user=biller, as_of=date(YEAR, 2, 28))
    assets = row(sheet, "Total assets").values[0]
    assert assets == D("160.00")  # 50 + 100 cash less 80 banked; 40 receivable; bank 80 less 30 rent
    assert row(sheet, "Liabilities and equity").values[0] == assets
    assert row(sheet, "Earnings not yet closed to retained earnings").values[0] == D("160.00")


def test_the_cash_summary_rolls_each_month_from_the_last(biller, books):
    cash = cash_summary(user=biller, year=YEAR)
    assert row(cash, "Opening balance").values[0] == D("50.00")
    assert row(cash, "Money in").values[:2] == [D("100.00"), D("80.00")]
    assert row(cash, "Money out").values[:2] == [0, D("110.00")]  # rent from the bank, cash moved to the bank
    assert row(cash, "Closing balance").values[1] == D("120.00") and row(cash, "Closing balance").values[11] == D("120.00")


def test_another_practice_sees_none_of_it(make_user, other_org, books):
    stranger = make_user(Role.ADMINISTRATOR, organization=other_org, username="admin-far")
    assert all(r.style != "line" for r in profit_and_loss(user=stranger, year=YEAR).rows)


@pytest.mark.parametrize("name", ["ledger:profit_loss", "ledger:balance_sheet", "ledger:cash_summary"])
def test_statement_pages_and_their_downloads(client_as, biller, books, name):
    client = client_as(biller)
    query = f"?year={YEAR}&as_of={YEAR}-02-28"
    page = client.get(reverse(name) + query)
    assert page.status_code == 200 and "Export XLSX" in page.content.decode()
    response = client.get(reverse(f"{name}_export") + query)
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][0] == "account" and len(rows) > 3
    xlsx = client.get(reverse(f"{name}_xlsx") + query)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.cell(1, 1).value == "account" and sheet.max_row == len(rows)
    pdf = client.get(reverse(f"{name}_pdf") + query)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_profit_and_loss_by_department_page_and_bad_year(client_as, biller, books):
    client = client_as(biller)
    body = client.get(reverse("ledger:profit_loss") + f"?year={YEAR}&by=department").content.decode()
    assert "Laboratory" in body and "No department" in body
    assert client.get(reverse("ledger:profit_loss") + "?year=abc").status_code == 400


def test_front_desk_may_not_read_the_statements(client_as, make_user):
    client = client_as(make_user(Role.FRONT_DESK, username="desk-statements"))
    assert client.get(reverse("ledger:profit_loss")).status_code == 403


@pytest.mark.parametrize("name", ["ledger:profit_loss", "ledger:balance_sheet", "ledger:cash_summary"])
def test_statement_queries_do_not_grow_with_lines(client_as, biller, books, name, django_assert_max_num_queries):
    client = client_as(biller)
    url = reverse(name) + f"?year={YEAR}&as_of={YEAR}-12-31"
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for month in range(3, 13):
        post(books["family"].organization, date(YEAR, month, 2), books["rent"], AccountRole.OPERATING_BANK, "5.00",
             books["lab"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200
