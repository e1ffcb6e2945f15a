"""Financial statements: profit and loss by month or by department, the balance sheet as of a date, and the cash
summary by month. Each is a `Statement` (columns and rows of amounts) that the page, the CSV, the XLSX and the PDF
all render the same way.

The database does the adding up: profit and loss is one GROUP BY (account, department, month) over the year's
lines of the revenue and expense accounts (the (organization, account, entry_date) index narrows it to them when
the year is a small part of the books; otherwise PostgreSQL scans in parallel); Python only folds some hundreds
of groups into columns. No index of its own: every journal line posted would pay for it. Revenue is shown as a positive amount (lines are signed, credits negative).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Case, DecimalField, Q, Sum, When
from django.db.models.functions import TruncMonth

from clinicdesk.core.models import Department

from .choices import DEBIT_NORMAL, AccountRole, AccountType
from .models import MONEY, Account, JournalLine
from .selectors import ZERO, _money, account_balances

PL_TYPES = (AccountType.REVENUE, AccountType.EXPENSE)
# The accounts whose balance is money the practice holds: drawers, checks and card payments on their way, the bank.
CASH_ROLES = (AccountRole.CASH, AccountRole.UNDEPOSITED_FUNDS, AccountRole.CARD_CLEARING, AccountRole.OPERATING_BANK)
NO_DEPARTMENT = "No department"
_AMOUNT = DecimalField(**MONEY)


@dataclass
class StatementRow:
    label: str
    values: list[Decimal]
    style: str = "line"  # "heading" (no values), "line" or "total"
    account: Account | None = None


@dataclass
class Statement:
    title: str
    subtitle: str
    columns: list[str]
    rows: list[StatementRow] = field(default_factory=list)
    slug: str = "statement"

    def heading(self, label: str) -> None:
        self.rows.append(StatementRow(label=label, values=[], style="heading"))

    def total(self, label: str, values: list[Decimal]) -> None:
        self.rows.append(StatementRow(label=label, values=values, style="total"))

    def table(self) -> tuple[list[str], list[list]]:
        """The header and the rows as cells, for CSV and XLSX (amounts stay Decimals)."""
        head = ["account", *self.columns]
        body = [[(row.account.code + " " if row.account else "") + row.label,
                 *(v.quantize(Decimal("0.01")) for v in row.values)] for row in self.rows]
        return head, body


def _months(year: int) -> list[date]:
    return [date(year, m, 1) for m in range(1, 13)]


def _sum_rows(rows: list[StatementRow], width: int) -> list[Decimal]:
    return [sum((r.values[i] for r in rows), ZERO) for i in range(width)]


def pl_groups(*, organization_id: int, date_from: date, date_to: date, account_ids: list[int]):
    """(account id, department id, month, signed sum) for the lines of these accounts in the dates: one query."""
    return (JournalLine.objects.filter(organization_id=organization_id, entry_date__gte=date_from,
                                       entry_date__lte=date_to, account_id__in=account_ids)
            .order_by().annotate(month=TruncMonth("entry_date")).values("account_id", "department_id", "month")
            .annotate(total=Sum("amount")).values_list("account_id", "department_id", "month", "total"))


def profit_and_loss(*, user, year: int, by: str = "month", department_id: int | None = None) -> Statement:
    """Revenue less expenses for a calendar year, one column a month (with a year total) or one a department.
    `department_id` narrows the month view to one department."""
    org_id = user.organization_id
    accounts = {a.pk: a for a in Account.objects.filter(organization_id=org_id, account_type__in=PL_TYPES)
                .order_by("code")}
    departments = {d.pk: d.name for d in Department.objects.filter(organization_id=org_id).order_by("name")}
    groups = pl_groups(organization_id=org_id, date_from=date(year, 1, 1), date_to=date(year, 12, 31),
                       account_ids=list(accounts))
    if by == "department":
        keys: list = [*departments, None]
        columns = [*departments.values(), NO_DEPARTMENT]
    else:
        keys = _months(year)
        columns = [m.strftime("%b %Y") for m in keys]
    index = {k: i for i, k in enumerate(keys)}
    amounts: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO] * len(keys))
    for account_id, dept_id, month, total in groups:
        if by != "department" and department_id and dept_id != department_id:
            continue
        key = dept_id if by == "department" else (month.date() if hasattr(month, "date") else month)
        if key not in index:
            continue
        # revenue is shown positive, expenses positive: flip credit-normal accounts
        amounts[account_id][index[key]] += total if accounts[account_id].account_type in DEBIT_NORMAL else -total
    scope = f" · {departments.get(department_id, '')}" if department_id and by != "department" else ""
    statement = Statement(title="Profit and loss", subtitle=f"{year}{scope}", columns=[*columns, "Total"],
                          slug=f"profit-and-loss-{year}" + ("-by-department" if by == "department" else ""))
    sections = {}
    for kind, label in ((AccountType.REVENUE, "Revenue"), (AccountType.EXPENSE, "Expenses")):
        statement.heading(label)
        rows = []
        for account_id, account in accounts.items():
            if account.account_type != kind or account_id not in amounts:
                continue
            values = amounts[account_id]
            rows.append(StatementRow(label=account.name, values=[*values, sum(values, ZERO)], account=account))
        statement.rows.extend(rows)
        sections[kind] = _sum_rows(rows, len(keys) + 1)
        statement.total(f"Total {label.lower()}", sections[kind])
    statement.total("Net income", [r - e for r, e in zip(sections[AccountType.REVENUE], sections[AccountType.EXPENSE],
                                                         strict=True)])
    return statement


def balance_sheet(*, user, as_of: date) -> Statement:
    """Assets, liabilities and equity as of a date; the year's earnings so far (revenue less expenses of all years
    not yet closed into retained earnings) complete equity, so the two sides are equal."""
    org_id = user.organization_id
    balances = account_balances(organization_id=org_id, as_of=as_of)
    accounts = list(Account.objects.filter(organization_id=org_id, pk__in=[a for a, b in balances.items() if b])
                    .order_by("code"))
    statement = Statement(title="Balance sheet", subtitle=f"As of {as_of:%m/%d/%Y}", columns=["Amount"],
                          slug=f"balance-sheet-{as_of.isoformat()}")
    earnings = -sum((balances[a.pk] for a in accounts if a.account_type in PL_TYPES), ZERO)
    totals = {}
    for kind, label in ((AccountType.ASSET, "Assets"), (AccountType.LIABILITY, "Liabilities"),
                        (AccountType.EQUITY, "Equity")):
        statement.heading(label)
        rows = [StatementRow(label=a.name, values=[balances[a.pk] if a.debit_normal else -balances[a.pk]], account=a)
                for a in accounts if a.account_type == kind]
        if kind == AccountType.EQUITY:
            rows.append(StatementRow(label="Earnings not yet closed to retained earnings", values=[earnings]))
        statement.rows.extend(rows)
        totals[kind] = _sum_rows(rows, 1)
        statement.total(f"Total {label.lower()}", totals[kind])
    statement.total("Liabilities and equity", [totals[AccountType.LIABILITY][0] + totals[AccountType.EQUITY][0]])
    return statement


def cash_summary(*, user, year: int) -> Statement:
    """Money held (drawers, undeposited checks, card clearing, the bank) by month: opening, in, out, closing."""
    org_id = user.organization_id
    cash_ids = list(Account.objects.filter(organization_id=org_id, role__in=CASH_ROLES).values_list("pk", flat=True))
    start = date(year, 1, 1)
    lines = JournalLine.objects.filter(organization_id=org_id, account_id__in=cash_ids)
    opening = _money(lines.filter(entry_date__lt=start).aggregate(t=Sum("amount"))["t"])
    moves = {
        (m.date() if hasattr(m, "date") else m): (_money(i), _money(o))
        for m, i, o in lines.filter(entry_date__gte=start, entry_date__lte=date(year, 12, 31)).order_by()
        .annotate(month=TruncMonth("entry_date")).values("month").annotate(
            i=Sum(Case(When(Q(amount__gt=0), then="amount"), default=None, output_field=_AMOUNT)),
            o=Sum(Case(When(Q(amount__lt=0), then="amount"), default=None, output_field=_AMOUNT)),
        ).values_list("month", "i", "o")
    }
    months = _months(year)
    statement = Statement(title="Cash summary", subtitle=str(year), columns=[m.strftime("%b %Y") for m in months],
                          slug=f"cash-summary-{year}")
    open_row, in_row, out_row, close_row = [], [], [], []
    balance = opening
    for month in months:
        received, paid = moves.get(month, (ZERO, ZERO))
        open_row.append(balance)
        in_row.append(received)
        out_row.append(-paid)
        balance = balance + received + paid
        close_row.append(balance)
    statement.rows = [StatementRow("Opening balance", open_row), StatementRow("Money in", in_row),
                      StatementRow("Money out", out_row), StatementRow("Closing balance", close_row, style="total")]
    return statement
