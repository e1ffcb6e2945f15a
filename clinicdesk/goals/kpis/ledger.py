"""Budget variance from the ledger's budgets against actual (ledger.budgets.budget_vs_actual)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from clinicdesk.core.permissions import Perm
from clinicdesk.ledger.budgets import budget_vs_actual
from clinicdesk.ledger.choices import AccountType
from clinicdesk.ledger.models import JournalLine

from ..choices import Direction, KpiUnit
from .registry import Figure, Kpi, Rows, Scope, register

ZERO = Decimal("0.00")


def _months(start: date, end: date) -> dict[int, list[int]]:
    """The months the period touches, by year (a month counts whole: budgets are monthly)."""
    months: dict[int, list[int]] = {}
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.setdefault(year, []).append(month)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def budget_variance(org: int, start: date, end: date, scope: Scope) -> Figure:
    reader = SimpleNamespace(organization_id=org)
    budget = actual = ZERO
    for year, months in _months(start, end).items():
        report = budget_vs_actual(user=reader, year=year, department_id=scope.department_id,
                                  today=date(year, 12, 31))
        totals = report.totals(AccountType.EXPENSE)
        budget += sum((totals["budget"][m - 1] for m in months), ZERO)
        actual += sum((totals["actual"][m - 1] for m in months), ZERO)
    if not budget and not actual:
        return Figure(value=None, numerator=ZERO, denominator=ZERO, note="No expense budget nor spending.")
    return Figure(value=budget - actual, numerator=budget, denominator=actual)


def budget_rows(org: int, start: date, end: date, scope: Scope) -> Rows:
    first = start.replace(day=1)
    items = JournalLine.objects.filter(organization_id=org, entry_date__gte=first, account__account_type=AccountType.EXPENSE)
    months = _months(start, end)
    last_year = max(months)
    last_month = months[last_year][-1]
    upto = date(last_year + (last_month == 12), last_month % 12 + 1, 1)
    items = items.filter(entry_date__lt=upto)
    if scope.department_id:
        items = items.filter(department_id=scope.department_id)
    items = items.select_related("account", "department", "entry").order_by("entry_date", "id")
    return Rows(columns=["Date", "Entry", "Account", "Department", "Memo", "Amount"], items=items,
                cells=lambda ln: [ln.entry_date, ln.entry_id, f"{ln.account.code} {ln.account.name}",
                                  ln.department.name if ln.department else "", ln.memo or ln.entry.memo, ln.amount])


register(Kpi(
    code="budget_variance", name="Budget variance", unit=KpiUnit.DOLLARS, source="ledger", perm=Perm.LEDGER_VIEW,
    better=Direction.AT_LEAST, compute=budget_variance, rows=budget_rows, scopes=frozenset({"department"}),
    formula="Expense budget − actual expenses, over every month the period touches (months count whole, as budgets "
            "are monthly): positive is under budget. Actual = the signed expense lines of the ledger (as in budget "
            "against actual). Excluded: revenue accounts."))
