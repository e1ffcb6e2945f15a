"""The demo practice's books: the default chart of accounts, an opening bank balance against retained earnings,
a few months of expenses by department, so the ledger pages show something before billing posts charges, and a
budget for each department for the year (its monthly expenses with a small cushion). Idempotent: every entry has
a reference and budget cells are set only where none is, so a second run adds nothing.

It also adds the practice's bank accounts and a recurring bill (entered for the months it has come, the first
paid from the bank). Closing happens in `finish`, once billing and insurance have posted into the last few months:
last month's bank statement is imported, matched and reconciled, and last month is closed.

This quarter the Billing department's statement runs and certified letters pass its postage budget (account 6600),
and the daily budget check tells its owner (scenario 11 of the quarterly review)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from clinicdesk.core.money import round_money

from .bank import statement_line_entry_create, statement_line_match, statement_lines, statement_lines_auto_match
from .bank_import import ParsedLine, statement_import
from .bills import bill_enter, bill_pay, vendor_for
from .budgets import budget_alerts_check
from .choices import AccountRole, AccountType, EntryKind, Frequency, StatementFormat
from .models import Account, BankAccount, Bill, Budget, JournalEntry, JournalLine, Reconciliation, RecurringBill
from .periods import is_closed, period_close
from .reconcile import reconciliation_finish, reconciliation_preview
from .recurring import recurring_bill_create, recurring_bills_run
from .services import EntrySpec, LineSpec, account_for, chart_install, entries_post

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
SHREDDING = Decimal("185.00")
# Billing's postage and printing: the budget a month, and what the quarter actually brought (scenario 11).
POSTAGE_BUDGET = Decimal("450.00")
MAIL_HOUSE = "Lakeside Mailing House"
SHREDDER = "Riverside Secure Shredding"
VENDOR_EMAILS = {MAIL_HOUSE: "billing@lakeside-mailing.test", SHREDDER: "service@riverside-shredding.test"}
# day of the month, vendor bill number suffix (empty: bought at the post office, paid from the bank), amount, memo
POSTAGE_LINES = [
    (2, "A", Decimal("1184.60"), "Patient statement run: 1,412 statements printed, folded and mailed first-class"),
    (9, "", Decimal("152.60"), "USPS certified mail, return receipt: 14 final-notice letters"),
    (16, "B", Decimal("642.35"), "Past-due statement run: 768 second notices printed and mailed"),
    (23, "", Decimal("96.80"), "Window envelopes and statement paper"),
]
BANK_FEE = Decimal("15.00")


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
        # Only what is not posted yet: last month may be closed by now (see `finish`), and the database refuses
        # any insert dated in it, a replay included.
        posted = set(JournalEntry.objects.filter(organization=org, reference__in=[s.reference for s in specs])
                     .values_list("reference", flat=True))
        entries_post(organization=org, entries=[s for s in specs if s.reference not in posted])
        added += JournalEntry.objects.filter(organization=org).count() - before
        added += _budgets(org, accounts, ctx.departments, today.year)
        added += _bank_accounts(org, accounts)
        added += _recurring(org, accounts, ctx, today)
        added += _postage(org, accounts, ctx, today)
        # the daily budget check, as the periodic job runs it: Billing's owner is told it passed its budget
        budget_alerts_check(organization=org, today=today)
    return added


def _bank_accounts(org, accounts) -> int:
    """The operating account (the operating bank role's account) and a payroll account with its own ledger account."""
    added = 0
    if not BankAccount.objects.filter(organization=org, name="Operating account").exists():
        BankAccount.objects.create(organization=org, name="Operating account", institution="First Valley Bank",
                                   last4="4417", account=account_for(org, AccountRole.OPERATING_BANK),
                                   csv_mapping={"date": "Date", "description": "Description", "amount": "Amount",
                                                "reference": "Check number"})
        added += 1
    payroll, made = Account.objects.get_or_create(
        organization=org, code="1060", defaults={"name": "Payroll bank account", "account_type": AccountType.ASSET,
                                                 "description": "Funded from the operating account each pay day."})
    added += made
    if not BankAccount.objects.filter(organization=org, name="Payroll account").exists():
        BankAccount.objects.create(organization=org, name="Payroll account", institution="First Valley Bank",
                                   last4="9082", account=payroll)
        added += 1
    return added


def _recurring(org, accounts, ctx, today: date) -> int:
    """Document shredding every month on the 15th since two months ago; its bills so far entered, two paid."""
    if "6900" not in accounts or RecurringBill.objects.filter(organization=org).exists():
        return 0
    start = (today.replace(day=1) - timedelta(days=40)).replace(day=1)
    vendor_for(organization=org, name=SHREDDER, email=VENDOR_EMAILS[SHREDDER])
    recurring_bill_create(organization=org, vendor_name=SHREDDER, account=accounts["6900"],
                          department=ctx.departments.get("admin"), amount=SHREDDING, frequency=Frequency.MONTHLY,
                          day_of_month=15, start_date=start, terms_days=15, memo="Document shredding",
                          actor=ctx.users.get("priya"))
    before = JournalEntry.objects.filter(organization=org).count()
    made = recurring_bills_run(organization=org, today=today)
    last_day = today.replace(day=1) - timedelta(days=1)
    # The first paid when due; last month's paid by check on the month's last day, still on its way to the bank.
    if made:
        bill_pay(bill=made[0], paid_on=made[0].due_date, actor=ctx.users.get("priya"))
    if len(made) > 1 and made[1].bill_date <= last_day:
        bill_pay(bill=made[1], paid_on=last_day, actor=ctx.users.get("priya"))
    return 1 + JournalEntry.objects.filter(organization=org).count() - before


def _postage(org, accounts, ctx, today: date) -> int:
    """This quarter's statement runs and certified letters, on Billing's postage and printing account (6600), well
    past its budget: the mailing house's runs entered as bills, the post office paid from the operating account.
    Devon owns the Billing department, so the budget alert is his. Months already closed are left alone."""
    billing, devon = ctx.departments.get("billing"), ctx.users.get("devon")
    if "6600" not in accounts or billing is None:
        return 0
    if billing.owner_id is None and devon is not None:
        billing.owner = devon
        billing.save(update_fields=["owner"])
    quarter = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    vendor_for(organization=org, name=MAIL_HOUSE, email=VENDOR_EMAILS[MAIL_HOUSE])
    entered = set(Bill.objects.filter(organization=org, vendor__name=MAIL_HOUSE).values_list("number", flat=True))
    posted = set(JournalEntry.objects.filter(organization=org, reference__startswith="demo:postage:")
                 .values_list("reference", flat=True))
    before = JournalEntry.objects.filter(organization=org).count()
    direct = []
    month = quarter
    while month <= today:
        if not is_closed(organization_id=org.pk, day=month):
            for day, suffix, amount, memo in POSTAGE_LINES:
                on = min(month.replace(day=day), today)
                if suffix and f"LMH-{month:%Y%m}-{suffix}" not in entered:
                    bill_enter(organization=org, vendor_name=MAIL_HOUSE, number=f"LMH-{month:%Y%m}-{suffix}",
                               bill_date=on, due_date=on + timedelta(days=30), account=accounts["6600"],
                               department=billing, amount=amount, memo=memo, actor=devon)
                elif not suffix and f"demo:postage:{month:%Y-%m}:{day}" not in posted:
                    direct.append(EntrySpec(entry_date=on, kind=EntryKind.MANUAL, memo=memo,
                                            reference=f"demo:postage:{month:%Y-%m}:{day}", lines=[
                                                LineSpec(account=accounts["6600"], amount=amount, department=billing,
                                                         memo=memo),
                                                LineSpec(account=AccountRole.OPERATING_BANK, amount=-amount,
                                                         memo="Paid from the operating account")]))
        month = (month + timedelta(days=32)).replace(day=1)
    entries_post(organization=org, entries=direct)
    return JournalEntry.objects.filter(organization=org).count() - before


def finish(ctx, *, stdout=None) -> int:
    """Last month's statement for the operating account (built from what the books sent to the bank, less one
    check still outstanding, plus the bank's fee) imported, matched and reconciled; then last month closed."""
    org = ctx.organization
    manager = ctx.users.get("priya")
    today = timezone.localdate()
    last_day = today.replace(day=1) - timedelta(days=1)
    first_day = last_day.replace(day=1)
    operating = BankAccount.objects.filter(organization=org, name="Operating account").select_related("account").first()
    added = 0
    if operating is not None and not Reconciliation.objects.filter(bank_account=operating,
                                                                   statement_end_date=last_day).exists():
        with transaction.atomic():
            added += _reconcile_last_month(org, operating, first_day, last_day, manager)
    if not is_closed(organization_id=org.pk, day=last_day):
        period_close(organization=org, month=first_day, actor=manager)
        added += 1
    if stdout is not None and added:
        stdout.write(f"Ledger: {last_day:%B %Y} reconciled for the operating account and closed")
    return added


def _reconcile_last_month(org, operating, first_day: date, last_day: date, manager) -> int:
    lines = list(JournalLine.objects.filter(organization=org, account=operating.account, entry_date__gte=first_day,
                                            entry_date__lte=last_day).select_related("entry").order_by("entry_date", "id"))
    payments = [ln for ln in lines if ln.amount < 0]
    outstanding = payments[-1] if len(payments) > 1 else None  # the month's last check has not reached the bank
    rows = [ParsedLine(number=n, posted_on=ln.entry_date, amount=ln.amount, fitid=f"DEMO-{ln.pk}",
                       description=("DEPOSIT " if ln.amount > 0 else "PAYMENT ") + (ln.entry.memo or ln.memo)[:80])
            for n, ln in enumerate(lines, start=1) if ln is not outstanding]
    rows.append(ParsedLine(number=len(rows) + 1, posted_on=last_day, amount=-BANK_FEE, fitid=f"DEMO-FEE-{last_day:%Y%m}",
                           description="MONTHLY SERVICE FEE"))
    made, _preview = statement_import(bank_account=operating, lines=rows, file_format=StatementFormat.OFX,
                                      file_name=f"first-valley-{last_day:%Y-%m}.qfx", actor=manager)
    statement_lines_auto_match(bank_account=operating, actor=manager)
    by_fitid = {f"DEMO-{ln.pk}": ln for ln in lines}
    for line in statement_lines(bank_account=operating, status="unmatched").filter(posted_on__lte=last_day):
        if line.fitid in by_fitid:
            statement_line_match(statement_line=line, journal_line_ids=[by_fitid[line.fitid].pk], actor=manager)
        else:
            statement_line_entry_create(statement_line=line, account=Account.objects.get(organization=org, code="6900"),
                                        memo="Bank service fee", actor=manager)
    preview = reconciliation_preview(bank_account=operating, end_date=last_day, ending_balance=Decimal("0"))
    reconciliation_finish(bank_account=operating, end_date=last_day, ending_balance=preview.cleared_balance,
                          actor=manager)
    return made.lines_added + 1


def _budgets(org, accounts, departments, year: int) -> int:
    """Each department's monthly expenses, with a cushion, budgeted for every month of the year."""
    planned: dict[tuple[int, int, date], Decimal] = {}
    for code, dept, amount, _memo in MONTHLY_EXPENSES:
        if code not in accounts or dept not in departments:
            continue
        for month in range(1, 13):
            key = (departments[dept].pk, accounts[code].pk, date(year, month, 1))
            planned[key] = planned.get(key, Decimal("0")) + round_money(amount * BUDGET_CUSHION)
    if "6600" in accounts and "billing" in departments:
        for month in range(1, 13):
            planned[(departments["billing"].pk, accounts["6600"].pk, date(year, month, 1))] = POSTAGE_BUDGET
    have = set(Budget.objects.filter(organization=org, month__year=year)
               .values_list("department_id", "account_id", "month"))
    new = [Budget(organization=org, department_id=d, account_id=a, month=m, amount=v)
           for (d, a, m), v in planned.items() if (d, a, m) not in have]
    Budget.objects.bulk_create(new)
    return len(new)


