"""The demo practice's books: a chart, opening balances and monthly expenses by department, posted once."""

from decimal import Decimal

from clinicdesk.core import demo as core_demo
from clinicdesk.ledger import demo, reports
from clinicdesk.ledger.choices import EntryKind
from clinicdesk.ledger.models import Account, BankAccount, Budget, JournalEntry, JournalLine, RecurringBill


def test_the_demo_books_are_posted_once_and_balance(db):
    ctx = core_demo.seed()
    added = demo.seed(ctx, patients=0, seed=2026)
    org = ctx.organization
    assert Account.objects.filter(organization=org, code="1200").exists()
    entries = JournalEntry.objects.filter(organization=org)
    assert entries.filter(kind=EntryKind.OPENING).count() == 1 and entries.filter(kind=EntryKind.MANUAL).count() >= 3
    budgets = Budget.objects.filter(organization=org)
    banking = BankAccount.objects.filter(organization=org).count() + RecurringBill.objects.filter(organization=org).count()
    assert added == Account.objects.filter(organization=org).count() + entries.count() + budgets.count() + banking
    assert budgets.filter(department=ctx.departments["lab"]).count() == 12
    assert JournalLine.objects.filter(organization=org, department=ctx.departments["clinical"]).exists()
    assert demo.seed(ctx, patients=0, seed=2026) == 0
    trial = reports.trial_balance(user=ctx.users["sam"], as_of=max(entries.values_list("entry_date", flat=True)))
    assert trial.total_debit == trial.total_credit > Decimal("85000")


def test_the_demo_bank_is_reconciled_for_last_month_and_last_month_is_closed(db):
    from datetime import timedelta

    from django.utils import timezone

    from clinicdesk.ledger.models import Bill, FiscalPeriod, Reconciliation, StatementLine
    from clinicdesk.ledger.reconcile import uncleared_lines

    # given the demo books
    ctx = core_demo.seed()
    demo.seed(ctx, patients=0, seed=2026)
    org = ctx.organization
    # when the demo finishes
    assert demo.finish(ctx) > 0
    # then
    last_day = timezone.localdate().replace(day=1) - timedelta(days=1)
    operating = BankAccount.objects.get(organization=org, name="Operating account")
    assert BankAccount.objects.filter(organization=org).count() == 2
    rec = Reconciliation.objects.get(bank_account=operating)
    assert rec.statement_end_date == last_day and rec.ending_balance == rec.beginning_balance + rec.cleared_total
    assert not StatementLine.objects.filter(bank_account=operating, reconciliation__isnull=True).exists()
    # the shredding bill paid on the month's last day is the check still outstanding
    assert [ln.entry.memo for ln in uncleared_lines(bank_account=operating, as_of=last_day)] == [
        f"Paid bill {Bill.objects.get(recurring__isnull=False, paid_on=last_day).pk} to Riverside Secure Shredding"]
    assert FiscalPeriod.objects.get(organization=org, month=last_day.replace(day=1)).is_closed
    template = RecurringBill.objects.get(organization=org)
    assert Bill.objects.filter(recurring=template).count() >= 2 and template.next_date > timezone.localdate()
    # a second run adds nothing
    assert demo.seed(ctx, patients=0, seed=2026) == 0 and demo.finish(ctx) == 0
