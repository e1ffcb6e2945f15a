"""Budget variance from the ledger's budgets against actual (as in ledger.budgets.budget_vs_actual)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Sum

from clinicdesk.core.money import round_money
from clinicdesk.core.permissions import Perm
from clinicdesk.ledger.choices import AccountType
from clinicdesk.ledger.models import Account, Budget, JournalLine

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


def _month_bounds(start: date, end: date) -> tuple[date, date]:
    """The first day of the period's first month and the first day after its last month (budgets are monthly)."""
    months = _months(start, end)
    last_year = max(months)
    last_month = months[last_year][-1]
    return start.replace(day=1), date(last_year + (last_month == 12), last_month % 12 + 1, 1)


def budget_variance(org: int, start: date, end: date, scope: Scope) -> Figure:
    """Two grouped sums (budget and actual by expense account) over the months the period touches; the same
    figures as budget against actual (ledger.budgets), without building each year's whole report."""
    first, upto = _month_bounds(start, end)
    budgets = Budget.objects.filter(organization_id=org, month__gte=first, month__lt=upto,
                                    account__account_type=AccountType.EXPENSE)
    lines = JournalLine.objects.filter(organization_id=org, entry_date__gte=first, entry_date__lt=upto,
                                       account__account_type=AccountType.EXPENSE)
    if scope.department_id:
        budgets = budgets.filter(department_id=scope.department_id)
        lines = lines.filter(department_id=scope.department_id)
    planned = dict(budgets.order_by().values("account_id").annotate(t=Sum("amount")).values_list("account_id", "t"))
    spent = dict(lines.order_by().values("account_id").annotate(t=Sum("amount")).values_list("account_id", "t"))
    # SQLite hands sums of decimals back with float's digits: to the cent, as money is
    planned = {a: round_money(t) for a, t in planned.items()}
    spent = {a: round_money(t) for a, t in spent.items()}
    budget, actual = sum(planned.values(), ZERO), sum(spent.values(), ZERO)
    if not budget and not actual:
        return Figure(value=None, numerator=ZERO, denominator=ZERO, note="No expense budget nor spending.")
    note = ""
    if actual > budget:
        over = {a: spent.get(a, ZERO) - planned.get(a, ZERO) for a in {*planned, *spent}}
        worst = max(over, key=lambda a: (over[a], -a))
        if over[worst] > 0:
            account = Account.objects.filter(pk=worst).values_list("code", "name").first()
            note = f"Most over budget: {account[0]} {account[1]}, by {over[worst]:,.2f}."
    return Figure(value=budget - actual, numerator=budget, denominator=actual, note=note)


def budget_rows(org: int, start: date, end: date, scope: Scope) -> Rows:
    first, upto = _month_bounds(start, end)
    items = JournalLine.objects.filter(organization_id=org, entry_date__gte=first, entry_date__lt=upto,
                                       account__account_type=AccountType.EXPENSE)
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
