"""The demo practice's books: a chart, opening balances and monthly expenses by department, posted once."""

from decimal import Decimal

from clinicdesk.core import demo as core_demo
from clinicdesk.ledger import demo, reports
from clinicdesk.ledger.choices import EntryKind
from clinicdesk.ledger.models import Account, Budget, JournalEntry, JournalLine


def test_the_demo_books_are_posted_once_and_balance(db):
    ctx = core_demo.seed()
    added = demo.seed(ctx, patients=0, seed=2026)
    org = ctx.organization
    assert Account.objects.filter(organization=org, code="1200").exists()
    entries = JournalEntry.objects.filter(organization=org)
    assert entries.filter(kind=EntryKind.OPENING).count() == 1 and entries.filter(kind=EntryKind.MANUAL).count() >= 3
    budgets = Budget.objects.filter(organization=org)
    assert added == Account.objects.filter(organization=org).count() + entries.count() + budgets.count()
    assert budgets.filter(department=ctx.departments["lab"]).count() == 12
    assert JournalLine.objects.filter(organization=org, department=ctx.departments["clinical"]).exists()
    assert demo.seed(ctx, patients=0, seed=2026) == 0
    trial = reports.trial_balance(user=ctx.users["sam"], as_of=max(entries.values_list("entry_date", flat=True)))
    assert trial.total_debit == trial.total_credit > Decimal("85000")
