"""Budgets: the grid saves all or nothing, the CSV/XLSX import names the bad row and saves nothing, budget against
actual with its variance and forecast, and the daily alert once per threshold per month that tells the owner."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from clinicdesk.communications.models import StaffTask
from clinicdesk.core.choices import Role
from clinicdesk.core.tables import sheet_rows
from clinicdesk.core.tests.factories import DepartmentFactory
from clinicdesk.ledger.budgets import (
    budget_alerts_check,
    budget_grid_save,
    budget_import,
    budget_vs_actual,
    forecast,
)
from clinicdesk.ledger.choices import EntryKind
from clinicdesk.ledger.models import Account, Budget, BudgetAlert
from clinicdesk.ledger.services import LineSpec, chart_install, entry_post

D = Decimal
YEAR = 2026


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMINISTRATOR, username="admin-budgets")


@pytest.fixture
def setup(org, make_user):
    chart_install(organization=org)
    owner = make_user(Role.OFFICE_MANAGER, username="lab-owner")
    lab = DepartmentFactory(organization=org, name="Laboratory", code="lab", owner=owner)
    family = DepartmentFactory(organization=org, name="Family medicine", code="family")
    accounts = {a.code: a for a in Account.objects.filter(organization=org)}
    return {"lab": lab, "family": family, "owner": owner, "supplies": accounts["6300"], "rent": accounts["6500"],
            "revenue": accounts["4000"], "bank": accounts["1050"]}


def spend(org, day, account, amount, department, bank):
    entry_post(organization=org, entry_date=day, kind=EntryKind.MANUAL, memo="spend", lines=[
        LineSpec(account=account, amount=D(amount), department=department),
        LineSpec(account=bank, amount=-D(amount)),
    ])


def test_the_grid_saves_clears_and_refuses_a_bad_cell_saving_nothing(org, admin, setup):
    supplies = setup["supplies"]
    budget_grid_save(organization=org, department=setup["lab"], year=YEAR, actor=admin,
                     cells={(supplies.pk, 1): "1,000.00", (supplies.pk, 2): "900", (setup["rent"].pk, 1): ""})
    assert Budget.objects.filter(organization=org).count() == 2
    with pytest.raises(ValidationError) as bad:
        budget_grid_save(organization=org, department=setup["lab"], year=YEAR, actor=admin,
                         cells={(supplies.pk, 1): "", (supplies.pk, 3): "abc"})
    assert "6300 Medical supplies, Mar 2026: 'abc' is not an amount." in bad.value.messages
    assert Budget.objects.filter(organization=org).count() == 2  # nothing saved, nothing cleared
    budget_grid_save(organization=org, department=setup["lab"], year=YEAR, actor=admin, cells={(supplies.pk, 1): ""})
    assert list(Budget.objects.values_list("amount", flat=True)) == [D("900.00")]


def test_an_import_with_unknown_department_or_account_names_the_rows_and_saves_nothing(org, admin, setup):
    rows = [["department", "account", "month", "amount"], ["lab", "6300", "2026-01", "500"],
            ["Dentistry", "6300", "2026-01", "10"], ["family", "9999", "2026-02", "10"], ["lab", "6500", "March", "10"]]
    with pytest.raises(ValidationError) as bad:
        budget_import(organization=org, rows=rows, actor=admin)
    messages = bad.value.messages
    assert "Line 3: unknown department 'Dentistry'." in messages
    assert "Line 4: unknown revenue or expense account '9999'." in messages
    assert any(m.startswith("Line 5: month 'March'") for m in messages) and "Nothing was saved." in messages
    assert not Budget.objects.exists()


def test_an_xlsx_import_by_department_name_saves_every_row(org, admin, setup):
    book = Workbook()
    sheet = book.active
    sheet.append(["Department", "Account", "Month", "Amount"])
    for month in range(1, 13):
        sheet.append(["Laboratory", "6300", f"2026-{month:02d}", 1000])
    buffer = io.BytesIO()
    book.save(buffer)
    rows = [values for _, values in sheet_rows(buffer.getvalue(), name="budget.xlsx")]
    assert budget_import(organization=org, rows=rows, actor=admin) == 12
    assert Budget.objects.filter(department=setup["lab"]).count() == 12
    with pytest.raises(ValidationError, match="header lacks amount"):
        budget_import(organization=org, rows=[["department", "account", "month"]], actor=admin)


def test_the_forecast_adds_budget_for_months_to_come_or_the_run_rate():
    budget = [D(100)] * 6 + [D(0)] * 6
    actual = [D(120), D(80), D(100), D(40)] + [D(0)] * 8
    # three months ended (Jan-Mar, run rate 100), April so far 40; May, June budget 100; July-Dec run rate 100
    assert forecast(budget=budget, actual=actual, ended=3) == D("1140.00")
    assert forecast(budget=budget, actual=actual, ended=12) == D("340")


def test_budget_against_actual_by_department(org, admin, setup):
    budget_grid_save(organization=org, department=setup["lab"], year=YEAR, actor=admin,
                     cells={(setup["supplies"].pk, m): "100" for m in range(1, 13)})
    spend(org, date(YEAR, 1, 10), setup["supplies"], "130.00", setup["lab"], setup["bank"])
    spend(org, date(YEAR, 1, 11), setup["supplies"], "999.00", setup["family"], setup["bank"])
    report = budget_vs_actual(user=admin, year=YEAR, department_id=setup["lab"].pk, today=date(YEAR, 2, 15))
    (line,) = report.lines
    assert line.total_budget == D("1200.00") and line.total_actual == D("130.00") and line.variance == D("1070.00")
    assert line.forecast == D("1130.00")  # January 130, February so far 0, March to December budget 100 each
    assert report.totals("expense")["actual"][0] == D("130.00")


@pytest.mark.django_db(transaction=True)
def test_the_alert_is_recorded_once_per_threshold_and_tells_the_owner(org, admin, setup):
    today = date(YEAR, 3, 20)
    budget_grid_save(organization=org, department=setup["lab"], year=YEAR, actor=admin,
                     cells={(setup["supplies"].pk, 3): "1000"})
    spend(org, date(YEAR, 3, 2), setup["supplies"], "850.00", setup["lab"], setup["bank"])
    assert [a.threshold for a in budget_alerts_check(organization=org, today=today)] == [80]
    assert budget_alerts_check(organization=org, today=today) == []  # once per threshold per month
    spend(org, date(YEAR, 3, 5), setup["supplies"], "200.00", setup["lab"], setup["bank"])
    assert [a.threshold for a in budget_alerts_check(organization=org, today=today)] == [100]
    assert BudgetAlert.objects.count() == 2
    tasks = StaffTask.objects.filter(assignee=setup["owner"]).order_by("pk")
    assert [t.title for t in tasks] == [
        "Laboratory: spending passed 80% of the March 2026 budget",
        "Laboratory: spending passed 100% of the March 2026 budget",
    ]


def test_pages_grid_import_and_report(client_as, admin, make_user, setup):
    client = client_as(admin)
    grid = reverse("ledger:budget_grid")
    page = client.get(grid + f"?year={YEAR}&department={setup['lab'].pk}")
    assert page.status_code == 200 and f'name="cell-{setup["supplies"].pk}-1"' in page.content.decode()
    save = reverse("ledger:budget_grid_save")
    bad = client.post(save, {"year": YEAR, "department": setup["lab"].pk, f"cell-{setup['supplies'].pk}-2": "x"})
    assert bad.status_code == 400 and "is not an amount" in bad.content.decode()
    ok = client.post(save, {"year": YEAR, "department": setup["lab"].pk, f"cell-{setup['supplies'].pk}-2": "250"})
    assert ok.status_code == 302 and Budget.objects.get().amount == D("250.00")
    upload = SimpleUploadedFile("b.csv", b"department,account,month,amount\nnowhere,6300,2026-01,5\n")
    refused = client.post(reverse("ledger:budget_import"), {"file": upload})
    assert refused.status_code == 400 and "Line 2: unknown department" in refused.content.decode()
    wrong_type = client.post(reverse("ledger:budget_import"), {"file": SimpleUploadedFile("b.exe", b"MZ")})
    assert wrong_type.status_code == 400 and "Upload a .csv or .xlsx file." in wrong_type.content.decode()
    report = client.get(reverse("ledger:budget_vs_actual") + f"?year={YEAR}")
    assert report.status_code == 200 and "budget-chart-data" in report.content.decode()
    export = client.get(reverse("ledger:budget_vs_actual_export") + f"?year={YEAR}")
    assert b"6300" in b"".join(export.streaming_content)
    biller = client_as(make_user(Role.BILLER, username="biller-budgets"))
    assert biller.get(grid).status_code == 200
    assert biller.post(save, {"year": YEAR, "department": setup["lab"].pk}).status_code == 403
    assert biller.get(reverse("ledger:budget_import")).status_code == 403
