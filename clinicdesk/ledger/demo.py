"""The demo practice's books: the default chart of accounts, an opening bank balance against retained earnings,
and a few months of expenses by department, so the ledger pages show something before billing posts charges.
Idempotent: every entry has a reference, and a second run posts nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from .choices import AccountRole, EntryKind
from .models import Account, JournalEntry
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
    return added


