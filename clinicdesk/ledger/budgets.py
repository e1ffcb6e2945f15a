"""Budgets: a planned amount per department, account and month; the grid and the CSV/XLSX importer that write
them; budget against actual with a forecast to year end; and the daily alert when a department's spending passes
a share of its month's expense budget.

Forecast to year end, per account: the actual of the months that have ended (and of the current month so far),
plus, for each month still to come, that month's budget when one is set, otherwise the run rate (the actual of
the ended months divided by their number). A year already over is its actual; a year not begun is its budget
(or nothing where none is set).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import Department, Organization
from clinicdesk.core.money import round_money

from .choices import DEBIT_NORMAL, AccountType
from .models import Account, Budget, BudgetAlert, JournalLine
from .selectors import ZERO
from .signals import budget_threshold_passed
from .statements import PL_TYPES, pl_groups

MAX_BUDGET = Decimal("1000000000000")
ALERT_THRESHOLDS = (80, 100)
IMPORT_COLUMNS = ("department", "account", "month", "amount")
MAX_IMPORT_ROWS = 20_000


def year_months(year: int) -> list[date]:
    return [date(year, m, 1) for m in range(1, 13)]


def _amount(text, where: str) -> Decimal | None:
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    raw = str(text).strip().replace(",", "").replace("$", "")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValidationError(f"{where}: '{text}' is not an amount.") from None
    if not value.is_finite() or value < 0 or value >= MAX_BUDGET:
        raise ValidationError(f"{where}: '{text}' is not an amount a budget can hold.")
    return round_money(value)


def _upsert(organization: Organization, cells: Mapping[tuple[int, int, date], Decimal | None]) -> tuple[int, int]:
    """Write (department, account, month) -> amount; None or zero removes the cell. Returns (written, removed)."""
    existing = {(b.department_id, b.account_id, b.month): b for b in Budget.objects.filter(
        organization=organization, department_id__in={k[0] for k in cells}, account_id__in={k[1] for k in cells},
        month__in={k[2] for k in cells})}
    new, changed, gone = [], [], []
    for key, amount in cells.items():
        row = existing.get(key)
        if not amount:
            if row is not None:
                gone.append(row.pk)
            continue
        if row is None:
            new.append(Budget(organization=organization, department_id=key[0], account_id=key[1], month=key[2],
                              amount=amount))
        elif row.amount != amount:
            row.amount = amount
            changed.append(row)
    Budget.objects.bulk_create(new, batch_size=1000)
    if changed:
        Budget.objects.bulk_update(changed, ["amount", "updated_at"], batch_size=1000)
    Budget.objects.filter(pk__in=gone).delete()
    return len(new) + len(changed), len(gone)


@transaction.atomic
def budget_grid_save(*, organization: Organization, department: Department, year: int,
                     cells: Mapping[tuple[int, int], str], actor) -> int:
    """Save a department's year from the grid: (account id, month number) -> the typed amount ('' clears).
    Every cell is checked first; one bad cell saves nothing and names its account and month."""
    if department.organization_id != organization.pk:
        raise ValidationError({"department": "This department belongs to another practice."})
    accounts = {a.pk: a for a in Account.objects.filter(organization=organization, account_type__in=PL_TYPES)}
    parsed: dict[tuple[int, int, date], Decimal | None] = {}
    errors = []
    for (account_id, month), text in cells.items():
        account = accounts.get(account_id)
        if account is None or not 1 <= month <= 12:
            errors.append(f"Account {account_id}: not a revenue or expense account of this practice.")
            continue
        try:
            parsed[(department.pk, account_id, date(year, month, 1))] = _amount(
                text, f"{account.code} {account.name}, {date(year, month, 1):%b %Y}")
        except ValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        raise ValidationError({"cells": errors})
    written, removed = _upsert(organization, parsed)
    audit_event(action="ledger.budget_saved", actor=actor, target=department, organization_id=organization.pk,
                summary=f"Budget {year} for {department.name}: {written} cells written, {removed} cleared")
    return written


# --- import ------------------------------------------------------------------------------------------------


def header_columns(rows: list[list[str]], columns: tuple[str, ...], max_rows: int) -> dict[str, int]:
    """Where each expected column is in an uploaded file's header (line 1), or a message naming what is missing."""
    if not rows:
        raise ValidationError({"file": "The file is empty."})
    header = [str(h).strip().lower() for h in rows[0]]
    missing = [c for c in columns if c not in header]
    if missing:
        raise ValidationError({"file": f"Line 1: the header lacks {', '.join(missing)} "
                                       f"(expected: {', '.join(columns)})."})
    if len(rows) - 1 > max_rows:
        raise ValidationError({"file": f"The file has more than {max_rows:,} rows; split it."})
    return {c: header.index(c) for c in columns}


def departments_by_name(organization: Organization) -> dict[str, Department]:
    """The practice's departments by lower-case code and by name, as files name them."""
    found: dict[str, Department] = {}
    for dept in Department.objects.filter(organization=organization):
        found[dept.code.strip().lower()] = dept
        found.setdefault(dept.name.strip().lower(), dept)
    return found


def _month(text: str, where: str) -> date:
    raw = str(text).strip()
    for fmt in ("%Y-%m", "%Y-%m-%d", "%m/%Y"):
        try:
            return timezone.datetime.strptime(raw, fmt).date().replace(day=1)
        except ValueError:
            continue
    raise ValidationError(f"{where}: month '{text}' is not a month (write 2026-03).")


@transaction.atomic
def budget_import(*, organization: Organization, rows: list[list[str]], actor) -> int:
    """Import budget cells from rows (header: department, account, month, amount). Departments by code or name,
    accounts by number. Every row is checked first; any bad row saves nothing and is named with its line number."""
    col = header_columns(rows, IMPORT_COLUMNS, MAX_IMPORT_ROWS)
    departments = {key: dept.pk for key, dept in departments_by_name(organization).items()}
    accounts = {a.code: a.pk for a in Account.objects.filter(organization=organization, account_type__in=PL_TYPES)}
    cells: dict[tuple[int, int, date], Decimal | None] = {}
    errors: list[str] = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(str(v).strip() for v in row):
            continue
        where = f"Line {number}"
        cell = lambda name, row=row: str(row[col[name]]).strip() if col[name] < len(row) else ""  # noqa: E731
        try:
            dept = departments.get(cell("department").lower())
            if dept is None:
                raise ValidationError(f"{where}: unknown department '{cell('department')}'.")
            account = accounts.get(cell("account"))
            if account is None:
                raise ValidationError(f"{where}: unknown revenue or expense account '{cell('account')}'.")
            key = (dept, account, _month(cell("month"), where))
            if key in cells:
                raise ValidationError(f"{where}: the same department, account and month appear twice.")
            cells[key] = _amount(cell("amount"), where)
        except ValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        shown = errors[:20] + ([f"… and {len(errors) - 20} more."] if len(errors) > 20 else [])
        raise ValidationError({"file": [*shown, "Nothing was saved."]})
    written, removed = _upsert(organization, cells)
    audit_event(action="ledger.budget_imported", actor=actor, organization_id=organization.pk,
                summary=f"Budget import: {written} cells written, {removed} cleared")
    return written


# --- budget against actual -----------------------------------------------------------------------------------


@dataclass
class BudgetLine:
    account: Account
    budget: list[Decimal]
    actual: list[Decimal]
    forecast: Decimal = ZERO
    total_budget: Decimal = field(init=False)
    total_actual: Decimal = field(init=False)

    def __post_init__(self) -> None:
        self.total_budget = sum(self.budget, ZERO)
        self.total_actual = sum(self.actual, ZERO)

    @property
    def variance(self) -> Decimal:
        """Budget less actual: for an expense, positive is under budget; for revenue, negative is ahead of plan."""
        return self.total_budget - self.total_actual


@dataclass
class BudgetReport:
    year: int
    department: Department | None
    months: list[date]
    lines: list[BudgetLine]
    ended: int  # months of the year ended as of today

    def totals(self, kind: str) -> dict[str, list[Decimal] | Decimal]:
        rows = [ln for ln in self.lines if ln.account.account_type == kind]
        return {"budget": [sum((r.budget[i] for r in rows), ZERO) for i in range(12)],
                "actual": [sum((r.actual[i] for r in rows), ZERO) for i in range(12)],
                "forecast": sum((r.forecast for r in rows), ZERO)}


def _ended_months(year: int, today: date) -> int:
    if today.year > year:
        return 12
    if today.year < year:
        return 0
    return today.month - 1


def budget_vs_actual(*, user, year: int, department_id: int | None = None, today: date | None = None) -> BudgetReport:
    """Each revenue and expense account with a budget or an actual in the year: month by month, the variance and
    the forecast to year end (see the module's docstring). Two queries for the figures."""
    today = today or timezone.localdate()
    org_id = user.organization_id
    months = year_months(year)
    accounts = {a.pk: a for a in Account.objects.filter(organization_id=org_id, account_type__in=PL_TYPES)
                .order_by("code")}
    budgets = Budget.objects.filter(organization_id=org_id, month__year=year)
    if department_id:
        budgets = budgets.filter(department_id=department_id)
    planned: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO] * 12)
    for account_id, month, total in budgets.order_by().values("account_id", "month").annotate(
            t=Sum("amount")).values_list("account_id", "month", "t"):
        planned[account_id][month.month - 1] += total
    actual: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO] * 12)
    for account_id, dept_id, month, total in pl_groups(organization_id=org_id, date_from=months[0],
                                                       date_to=date(year, 12, 31), account_ids=list(accounts)):
        if department_id and dept_id != department_id:
            continue
        sign = 1 if accounts[account_id].account_type in DEBIT_NORMAL else -1
        actual[account_id][month.month - 1] += sign * total
    ended = _ended_months(year, today)
    lines = []
    for account_id, account in accounts.items():
        if account_id not in planned and account_id not in actual:
            continue
        line = BudgetLine(account=account, budget=planned[account_id], actual=actual[account_id])
        line.forecast = forecast(budget=line.budget, actual=line.actual, ended=ended)
        lines.append(line)
    department = Department.objects.filter(organization_id=org_id, pk=department_id).first() if department_id else None
    return BudgetReport(year=year, department=department, months=months, lines=lines, ended=ended)


def forecast(*, budget: list[Decimal], actual: list[Decimal], ended: int) -> Decimal:
    """Actual to date plus, for each month to come, its budget when set, else the run rate of the ended months."""
    if ended >= 12:
        return sum(actual, ZERO)
    so_far = sum(actual[: ended + 1], ZERO)  # the ended months and the current one so far
    run_rate = (sum(actual[:ended], ZERO) / ended) if ended else ZERO
    to_come = sum((budget[m] if budget[m] else run_rate for m in range(ended + 1, 12)), ZERO)
    if ended == 0 and not any(actual):
        so_far = budget[0]  # a year not begun: its first month is its budget too
    return round_money(so_far + to_come)


# --- threshold alerts ----------------------------------------------------------------------------------------


def budget_alerts_check(*, organization: Organization, today: date | None = None,
                        thresholds: Iterable[int] = ALERT_THRESHOLDS) -> list[BudgetAlert]:
    """For this month: each department whose expense lines pass a threshold share of its expense budget gets one
    alert per threshold (recorded, then `budget_threshold_passed` is sent after commit). Run daily."""
    today = today or timezone.localdate()
    month = today.replace(day=1)
    expense_ids = list(Account.objects.filter(organization=organization, account_type=AccountType.EXPENSE)
                       .values_list("pk", flat=True))
    planned = dict(Budget.objects.filter(organization=organization, month=month, account_id__in=expense_ids)
                   .order_by().values("department_id").annotate(t=Sum("amount")).values_list("department_id", "t"))
    if not planned:
        return []
    spent = dict(JournalLine.objects.filter(organization=organization, entry_date__gte=month, entry_date__lte=today,
                                            account_id__in=expense_ids, department_id__in=list(planned))
                 .order_by().values("department_id").annotate(t=Sum("amount")).values_list("department_id", "t"))
    done = set(BudgetAlert.objects.filter(organization=organization, month=month)
               .values_list("department_id", "threshold"))
    made = []
    with transaction.atomic():
        for dept_id, budget in planned.items():
            actual = spent.get(dept_id) or ZERO
            for threshold in sorted(thresholds):
                if (dept_id, threshold) in done or actual * 100 < budget * threshold:
                    continue
                made.append(BudgetAlert.objects.create(organization=organization, department_id=dept_id, month=month,
                                                       threshold=threshold, budget=budget, actual=actual))
        for alert in made:
            transaction.on_commit(lambda alert=alert: budget_threshold_passed.send(sender=BudgetAlert, alert=alert))
    return made
