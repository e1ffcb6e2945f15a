"""Bank accounts and matching: the practice's accounts at the bank, each booked to a ledger account; the bank
register (the ledger lines on that account, deposits from the day close among them); and the matching of imported
statement lines to those ledger lines, automatic (amount and date, reference when there is one, several entries
for one deposit) or by hand, with an entry posted for what only the bank knows (fees, interest)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Prefetch, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import Department, Organization
from clinicdesk.core.money import round_money

from . import reports
from .choices import AccountType, EntryKind
from .models import Account, BankAccount, BankMatch, ClearedLine, JournalLine, Reconciliation, StatementLine
from .services import LineSpec, entry_post

MATCH_WINDOW_DAYS = 4
BANK_ACCOUNT_FIELDS = ("name", "institution", "last4", "account_id", "is_active")
ZERO = Decimal("0")


# --- bank accounts -------------------------------------------------------------------------------------------


def bank_account_scope(*, user) -> QuerySet:
    """The user's practice's bank accounts with their ledger accounts."""
    return BankAccount.objects.filter(organization_id=user.organization_id).select_related("account")


def bank_account_list(*, user) -> list[BankAccount]:
    """The practice's bank accounts, each with its book balance, lines not yet matched and its last reconciliation;
    a fixed number of queries whatever the number of accounts."""
    accounts = list(bank_account_scope(user=user).order_by("-is_active", "name"))
    ids = [b.account_id for b in accounts]
    balances = dict(JournalLine.objects.filter(organization_id=user.organization_id, account_id__in=ids)
                    .values("account_id").annotate(t=Sum("amount")).values_list("account_id", "t"))
    unmatched = dict(StatementLine.objects.filter(bank_account__in=accounts, reconciliation__isnull=True)
                     .exclude(Exists(BankMatch.objects.filter(statement_line=OuterRef("pk"))))
                     .values("bank_account_id").annotate(n=Count("id")).values_list("bank_account_id", "n"))
    last: dict[int, Reconciliation] = {}
    for rec in Reconciliation.objects.filter(bank_account__in=accounts, undone_at__isnull=True).order_by("statement_end_date"):
        last[rec.bank_account_id] = rec
    for b in accounts:
        b.balance = round_money(balances.get(b.account_id) or ZERO)
        b.unmatched_count = unmatched.get(b.pk, 0)
        b.last_reconciliation = last.get(b.pk)
    return accounts


@transaction.atomic
def bank_account_save(*, organization: Organization, actor, name: str, institution: str, last4: str,
                      account: Account, is_active: bool = True, bank_account: BankAccount | None = None) -> BankAccount:
    """Add a bank account (or change one): booked to one of the practice's asset accounts, one bank per account.
    Once lines of it are reconciled its ledger account stays: the reconciled balance is that account's."""
    errors: dict[str, str] = {}
    if bank_account is not None and bank_account.organization_id != organization.pk:
        raise ValidationError({"bank_account": "This bank account belongs to another practice."})
    if account.organization_id != organization.pk or account.account_type != AccountType.ASSET:
        errors["account"] = "Choose one of the practice's asset accounts."
    elif BankAccount.objects.filter(account=account).exclude(pk=bank_account.pk if bank_account else None).exists():
        errors["account"] = "Another bank account already books to this account."
    elif bank_account is not None and account.pk != bank_account.account_id:
        reconciled = (Reconciliation.objects.filter(bank_account=bank_account, undone_at__isnull=True)
                      .order_by("-statement_end_date").first())
        if reconciled is not None:
            errors["account"] = (f"Lines of this bank account are reconciled (to {reconciled.statement_end_date:%m/%d/%Y}) "
                                 f"on its ledger account {bank_account.account.code}: the ledger account cannot "
                                 "change. Undo those reconciliations first, or add a new bank account.")
    name = " ".join((name or "").split())
    if BankAccount.objects.filter(organization=organization, name__iexact=name).exclude(
            pk=bank_account.pk if bank_account else None).exists():
        errors["name"] = "The practice has a bank account of this name."
    if errors:
        raise ValidationError(errors)
    creating = bank_account is None
    bank_account = bank_account or BankAccount(organization=organization)
    before = {f: getattr(bank_account, f) for f in BANK_ACCOUNT_FIELDS}
    bank_account.name, bank_account.institution, bank_account.last4 = name[:120], institution.strip()[:120], last4.strip()
    bank_account.account, bank_account.is_active = account, is_active
    bank_account.full_clean(exclude=["csv_mapping"])
    changed = [f for f in BANK_ACCOUNT_FIELDS if getattr(bank_account, f) != before[f]]
    if creating:
        bank_account.save()
    elif changed:
        bank_account.save(update_fields=[*changed, "updated_at"])
    else:
        return bank_account
    summary = f"Bank account {bank_account}" + ("" if creating else f": {', '.join(changed).replace('_id', '')} changed")
    audit_event(action="ledger.bank_account_added" if creating else "ledger.bank_account_changed", actor=actor,
                target=bank_account, organization_id=organization.pk, summary=summary[:300])
    return bank_account


def bank_register(*, user, bank_account: BankAccount, date_from: date | None = None, date_to: date | None = None):
    """The bank account's register: its ledger account's lines with the running balance (the account ledger),
    each marked matched or cleared."""
    ledger = reports.account_ledger(user=user, account=bank_account.account, date_from=date_from, date_to=date_to)
    ledger.lines = ledger.lines.annotate(
        is_matched=Exists(BankMatch.objects.filter(journal_line=OuterRef("pk"))),
        is_cleared=Exists(ClearedLine.objects.filter(journal_line=OuterRef("pk"))),
    )
    return ledger


def bank_balance_by_month(*, bank_account: BankAccount, months: int = 12) -> list[tuple[date, Decimal]]:
    """The book balance at the end of each of the last `months` months (this one included), oldest first: two
    queries whatever the number of lines."""
    today = timezone.localdate()
    starts = [today.replace(day=1)]
    while len(starts) < months:
        previous = starts[-1] - timedelta(days=1)
        starts.append(previous.replace(day=1))
    starts.reverse()
    lines = JournalLine.objects.filter(organization_id=bank_account.organization_id, account_id=bank_account.account_id)
    balance = lines.filter(entry_date__lt=starts[0]).aggregate(t=Sum("amount"))["t"] or ZERO
    by_month = dict(lines.filter(entry_date__gte=starts[0]).annotate(m=TruncMonth("entry_date")).values("m")
                    .annotate(t=Sum("amount")).values_list("m", "t"))
    shown = []
    for start in starts:
        balance += by_month.get(start, ZERO) or ZERO
        shown.append((start, round_money(balance)))
    return shown


def open_ledger_lines(*, bank_account: BankAccount) -> QuerySet:
    """Ledger lines on the bank's account that no statement line has matched and no reconciliation cleared."""
    return (JournalLine.objects.filter(organization_id=bank_account.organization_id, account_id=bank_account.account_id)
            .exclude(Exists(BankMatch.objects.filter(journal_line=OuterRef("pk"))))
            .exclude(Exists(ClearedLine.objects.filter(journal_line=OuterRef("pk"))))
            .select_related("entry").order_by("entry_date", "id"))


def statement_lines(*, bank_account: BankAccount, status: str = "") -> QuerySet:
    """The bank account's statement lines with their matches: `unmatched`, `matched` (not reconciled),
    `reconciled`, or all."""
    lines = (StatementLine.objects.filter(bank_account=bank_account)
             .prefetch_related(Prefetch("matches", queryset=BankMatch.objects.select_related("journal_line__entry")))
             .annotate(has_match=Exists(BankMatch.objects.filter(statement_line=OuterRef("pk")))))
    if status == "unmatched":
        lines = lines.filter(has_match=False, reconciliation__isnull=True)
    elif status == "matched":
        lines = lines.filter(has_match=True, reconciliation__isnull=True)
    elif status == "reconciled":
        lines = lines.filter(reconciliation__isnull=False)
    return lines.order_by("posted_on", "id")


# --- matching ------------------------------------------------------------------------------------------------


def _mentions(line: JournalLine, reference: str) -> bool:
    reference = reference.lower()
    return any(reference in (text or "").lower() for text in (line.entry.reference, line.entry.memo, line.memo))


def _pick_single(s: StatementLine, pool: list[JournalLine]) -> JournalLine | None:
    """The one ledger line of the statement line's amount: by reference when it has one, else the nearest date in
    the window when that nearest is not shared."""
    same = [ln for ln in pool if ln.amount == s.amount and abs((ln.entry_date - s.posted_on).days) <= MATCH_WINDOW_DAYS]
    if s.reference:
        named = [ln for ln in same if _mentions(ln, s.reference)]
        if len(named) == 1:
            return named[0]
    if not same:
        return None
    same.sort(key=lambda ln: abs((ln.entry_date - s.posted_on).days))
    if len(same) > 1 and abs((same[1].entry_date - s.posted_on).days) == abs((same[0].entry_date - s.posted_on).days):
        return None
    return same[0]


def _pick_group(s: StatementLine, pool: list[JournalLine]) -> list[JournalLine]:
    """Several ledger lines of one day (and one direction) that together make the statement line: a bank
    deposit of several entries."""
    by_day: dict[date, list[JournalLine]] = defaultdict(list)
    for ln in pool:
        if (ln.amount > 0) == (s.amount > 0) and abs((ln.entry_date - s.posted_on).days) <= MATCH_WINDOW_DAYS:
            by_day[ln.entry_date].append(ln)
    for day in sorted(by_day, key=lambda d: abs((d - s.posted_on).days)):
        group = by_day[day]
        if len(group) > 1 and sum((ln.amount for ln in group), ZERO) == s.amount:
            return group
    return []


@transaction.atomic
def statement_lines_auto_match(*, bank_account: BankAccount, actor) -> int:
    """Match what can be matched without doubt; returns how many statement lines were matched."""
    pending = list(statement_lines(bank_account=bank_account, status="unmatched"))
    if not pending:
        return 0
    low = min(s.posted_on for s in pending) - timedelta(days=MATCH_WINDOW_DAYS)
    high = max(s.posted_on for s in pending) + timedelta(days=MATCH_WINDOW_DAYS)
    pool = list(open_ledger_lines(bank_account=bank_account).filter(entry_date__gte=low, entry_date__lte=high))
    made: list[BankMatch] = []
    matched = 0
    for s in pending:
        single = _pick_single(s, pool)
        chosen = [single] if single is not None else _pick_group(s, pool)
        if not chosen:
            continue
        matched += 1
        for ln in chosen:
            pool.remove(ln)
            made.append(BankMatch(organization_id=bank_account.organization_id, statement_line=s, journal_line=ln,
                                  is_auto=True, matched_by=actor))
    BankMatch.objects.bulk_create(made)
    if matched:
        audit_event(action="ledger.bank_matched", actor=actor, target=bank_account,
                    organization_id=bank_account.organization_id,
                    summary=f"{matched} statement lines of {bank_account.name} matched automatically"[:300])
    return matched


def _statement_line_for_change(statement_line: StatementLine) -> StatementLine:
    line = StatementLine.objects.select_for_update().select_related("bank_account").get(pk=statement_line.pk)
    if line.reconciliation_id is not None:
        raise ValidationError({"statement_line": "This line is in a finished reconciliation: it is locked."})
    return line


@transaction.atomic
def statement_line_match(*, statement_line: StatementLine, journal_line_ids: Sequence[int], actor) -> StatementLine:
    """Match a statement line by hand to one or more ledger lines on its bank's account that together make its
    amount."""
    line = _statement_line_for_change(statement_line)
    if line.matches.exists():
        raise ValidationError({"statement_line": "This line is already matched: unmatch it first."})
    ids = sorted({int(i) for i in journal_line_ids})
    if not ids:
        raise ValidationError({"journal_lines": "Choose the ledger lines this statement line matches."})
    chosen = list(open_ledger_lines(bank_account=line.bank_account).filter(pk__in=ids))
    if len(chosen) != len(ids):
        raise ValidationError({"journal_lines": "A chosen ledger line is not on this bank account, or is already "
                                                "matched or cleared."})
    total = sum((ln.amount for ln in chosen), ZERO)
    if total != line.amount:
        raise ValidationError({"journal_lines": f"The chosen ledger lines come to {total}, the statement line to "
                                                f"{line.amount}: they must be equal."})
    BankMatch.objects.bulk_create([BankMatch(organization_id=line.organization_id, statement_line=line, journal_line=ln,
                                             matched_by=actor) for ln in chosen])
    audit_event(action="ledger.bank_matched", actor=actor, target=line, organization_id=line.organization_id,
                summary=f"Statement line {line} matched to {len(chosen)} ledger lines"[:300])
    return line


@transaction.atomic
def statement_line_unmatch(*, statement_line: StatementLine, actor) -> StatementLine:
    """Undo a statement line's match; a line in a finished reconciliation stays matched."""
    line = _statement_line_for_change(statement_line)
    removed, _ = BankMatch.objects.filter(statement_line=line).delete()
    if not removed:
        raise ValidationError({"statement_line": "This line is not matched."})
    audit_event(action="ledger.bank_unmatched", actor=actor, target=line, organization_id=line.organization_id,
                summary=f"Statement line {line} unmatched"[:300])
    return line


@transaction.atomic
def statement_line_entry_create(*, statement_line: StatementLine, account: Account, actor, memo: str = "",
                                department: Department | None = None) -> StatementLine:
    """Post what only the bank knows (a fee, interest) as a balanced entry on the statement line's date, between
    the bank's account and the chosen account, and match the line to it. A closed month refuses it."""
    line = _statement_line_for_change(statement_line)
    bank = line.bank_account
    if line.matches.exists():
        raise ValidationError({"statement_line": "This line is already matched."})
    if account.organization_id != line.organization_id or account.pk == bank.account_id or not account.is_active:
        raise ValidationError({"account": "Choose another open account of the practice (an expense or income account)."})
    if department is not None and department.organization_id != line.organization_id:
        raise ValidationError({"department": "This department belongs to another practice."})
    entry = entry_post(
        organization=bank.organization, entry_date=line.posted_on, kind=EntryKind.BANK_ITEM,
        reference=f"bank-line:{line.pk}", memo=(memo or line.description)[:300], actor=actor, lines=[
            LineSpec(account=bank.account, amount=line.amount, memo=line.description[:200]),
            LineSpec(account=account, amount=-line.amount, department=department, memo=(memo or line.description)[:200]),
        ])
    bank_line = entry.lines.get(account=bank.account)
    BankMatch.objects.create(organization_id=line.organization_id, statement_line=line, journal_line=bank_line,
                             matched_by=actor)
    audit_event(action="ledger.bank_item_posted", actor=actor, target=entry, organization_id=line.organization_id,
                summary=f"Bank item {line.description} {line.amount} posted to {account}"[:300])
    return line


def match_candidates(*, bank_account: BankAccount, statement_line: StatementLine, limit: int = 12) -> list[JournalLine]:
    """Open ledger lines worth offering for a statement line: same direction, near its date, nearest amount first."""
    window = timedelta(days=MATCH_WINDOW_DAYS * 4)
    lines = open_ledger_lines(bank_account=bank_account).filter(
        entry_date__gte=statement_line.posted_on - window, entry_date__lte=statement_line.posted_on + window)
    lines = lines.filter(amount__gt=0) if statement_line.amount > 0 else lines.filter(amount__lt=0)
    found = list(lines[:200])
    found.sort(key=lambda ln: (ln.amount != statement_line.amount, abs((ln.entry_date - statement_line.posted_on).days)))
    return found[:limit]
