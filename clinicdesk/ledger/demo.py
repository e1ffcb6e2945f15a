"""The demo practice's books: the default chart of accounts, an opening bank balance against retained earnings,
a few months of expenses by department, so the ledger pages show something before billing posts charges, and a
budget for each department for the year (its monthly expenses with a small cushion). Idempotent: every entry has
a reference and budget cells are set only where none is, so a second run adds nothing.

No month is closed here: billing and insurance seed after the ledger and post into the last few months."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from clinicdesk.core.money import round_money

from .choices import AccountRole, EntryKind
from .models import Account, Budget, JournalEntry
from .services import EntrySpec, LineSpec, chart_install, entries_post

OPENING_BANK = Decimal("85000.00")
OPENING_CASH = Decimal("400.00")
# account code, department code, monthly amount, memo
MONTHLY_EXPENSES = [
    ("6000", "clinical", Decimal("38500.00"), "Clinical salaries"),
    ("6000", "front", Decimal("9200.00"), "Front office salaries"),
    ("6000", "billing", Decimal("6100.00"), "Billing salaries"),
    ("6000", "nursing", Decimal("14800.00"), "Nursing salaries"),
    ("6500", "admin", Decimal("7250.00"), "Rent, 120 Main Street and 8 Orchard Road"),
    ("6300", "clinical", Decimal("2315.40"), "Medical supplies"),
    ("6300", "lab", Decimal("1120.75"), "Lab supplies"),
    ("6400", "front", Decimal("286.19"), "Office supplies"),
    ("6700", "admin", Decimal("940.00"), "Practice software and IT"),
    ("6800", "admin", Decimal("612.33"), "Utilities"),
]
MONTHS = 3
BUDGET_CUSHION = Decimal("1.03")


def seed(ctx, *, patients: int, seed: int, stdout=None) -> int:
    """Install the chart and post the opening entries; returns the number of rows added (0 on a second run)."""
    org = ctx.organization
    with transaction.atomic():
        added = len(chart_install(organization=org))
        accounts = {a.code: a for a in Account.objects.filter(organization=org)}
        today = timezone.localdate()
        first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
        for _ in range(MONTHS - 1):
            first = (first - timedelta(days=1)).replace(day=1)
        opening_day = first - timedelta(days=1)
        specs = [EntrySpec(
            entry_date=opening_day, kind=EntryKind.OPENING, reference="demo:opening",
            memo="Opening balances brought forward",
            lines=[
                LineSpec(account=AccountRole.OPERATING_BANK, amount=OPENING_BANK, memo="Operating account"),
                LineSpec(account=AccountRole.CASH, amount=OPENING_CASH, memo="Front-desk drawers"),
                LineSpec(account=AccountRole.RETAINED_EARNINGS, amount=-(OPENING_BANK + OPENING_CASH)),
            ],
        )]
        month = first
        while month <= today.replace(day=1):
            day = min(month + timedelta(days=27), today)
            lines = [
                LineSpec(account=accounts[code], amount=amount, department=ctx.departments.get(dept), memo=memo)
                for code, dept, amount, memo in MONTHLY_EXPENSES if code in accounts
            ]
            total = sum((ln.amount for ln in lines), Decimal("0"))
            lines.append(LineSpec(account=AccountRole.OPERATING_BANK, amount=-total, memo="Paid from the operating account"))
            specs.append(EntrySpec(entry_date=day, kind=EntryKind.MANUAL, reference=f"demo:expenses:{month:%Y-%m}",
                                   memo=f"Expenses for {month:%B %Y}", lines=lines))
            month = (month + timedelta(days=32)).replace(day=1)
        before = JournalEntry.objects.filter(organization=org).count()
        entries_post(organization=org, entries=specs)
        added += JournalEntry.objects.filter(organization=org).count() - before
        added += _budgets(org, accounts, ctx.departments, today.year)
    return added


def _budgets(org, accounts, departments, year: int) -> int:
    """Each department's monthly expenses, with a cushion, budgeted for every month of the year."""
    planned: dict[tuple[int, int, date], Decimal] = {}
    for code, dept, amount, _memo in MONTHLY_EXPENSES:
        if code not in accounts or dept not in departments:
            continue
        for month in range(1, 13):
            key = (departments[dept].pk, accounts[code].pk, date(year, month, 1))
            planned[key] = planned.get(key, Decimal("0")) + round_money(amount * BUDGET_CUSHION)
    have = set(Budget.objects.filter(organization=org, month__year=year)
               .values_list("department_id", "account_id", "month"))
    new = [Budget(organization=org, department_id=d, account_id=a, month=m, amount=v)
           for (d, a, m), v in planned.items() if (d, a, m) not in have]
    Budget.objects.bulk_create(new)
    return len(new)


