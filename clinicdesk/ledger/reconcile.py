"""Reconciling a bank account to a statement: for its end date and ending balance, the cleared items (the matched
statement lines not yet reconciled), the beginning balance (the last reconciliation's ending balance) and the
difference, which must be zero to finish. A finished reconciliation locks its statement lines and marks the
ledger lines it cleared; only the last one may be undone.

The first reconciliation of an account starts from the books: the ledger lines dated before the month of its
first statement line (statements run by month), not matched to any, are brought forward as cleared, and their sum
is its beginning balance."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from clinicdesk.core.audit import audit_event

from .bank import open_ledger_lines, statement_lines
from .models import BankAccount, ClearedLine, JournalLine, Reconciliation, StatementLine

ZERO = Decimal("0")


@dataclass
class ReconciliationPreview:
    """The arithmetic of a reconciliation before it is finished."""

    bank_account: BankAccount
    end_date: date
    ending_balance: Decimal
    beginning_balance: Decimal
    previous: Reconciliation | None
    cleared: list[StatementLine] = field(default_factory=list)
    unmatched: list[StatementLine] = field(default_factory=list)
    brought_forward: list[JournalLine] = field(default_factory=list)

    @property
    def deposits(self) -> Decimal:
        return sum((s.amount for s in self.cleared if s.amount > 0), ZERO)

    @property
    def payments(self) -> Decimal:
        return sum((s.amount for s in self.cleared if s.amount < 0), ZERO)

    @property
    def cleared_total(self) -> Decimal:
        return self.deposits + self.payments

    @property
    def cleared_balance(self) -> Decimal:
        return self.beginning_balance + self.cleared_total

    @property
    def difference(self) -> Decimal:
        return self.ending_balance - self.cleared_balance

    @property
    def can_finish(self) -> bool:
        return self.difference == 0 and not self.unmatched


def last_reconciliation(*, bank_account: BankAccount) -> Reconciliation | None:
    return (Reconciliation.objects.filter(bank_account=bank_account, undone_at__isnull=True)
            .order_by("-statement_end_date", "-id").first())


def reconciliation_preview(*, bank_account: BankAccount, end_date: date, ending_balance: Decimal) -> ReconciliationPreview:
    """What reconciling to this statement end date and ending balance would clear, and the difference left."""
    previous = last_reconciliation(bank_account=bank_account)
    if previous is not None and end_date <= previous.statement_end_date:
        raise ValidationError({"end_date": f"The account is reconciled to {previous.statement_end_date:%m/%d/%Y}: "
                                           f"choose a later statement end date."})
    pending = list(statement_lines(bank_account=bank_account).filter(reconciliation__isnull=True,
                                                                     posted_on__lte=end_date))
    preview = ReconciliationPreview(bank_account=bank_account, end_date=end_date, ending_balance=ending_balance,
                                    beginning_balance=previous.ending_balance if previous else ZERO, previous=previous)
    for s in pending:
        (preview.cleared if s.has_match else preview.unmatched).append(s)
    for s in preview.cleared:
        matched = sum((m.journal_line.amount for m in s.matches.all()), ZERO)
        if matched != s.amount:  # a match is always made to the amount; this guards the arithmetic all the same
            raise ValidationError({"statement_line": f"The line {s} is matched to {matched}, not its amount."})
    if previous is None:
        first_day = min((s.posted_on for s in pending), default=end_date).replace(day=1)
        preview.brought_forward = list(open_ledger_lines(bank_account=bank_account).filter(entry_date__lt=first_day))
        preview.beginning_balance = sum((ln.amount for ln in preview.brought_forward), ZERO)
    return preview


@transaction.atomic
def reconciliation_finish(*, bank_account: BankAccount, end_date: date, ending_balance: Decimal, actor) -> Reconciliation:
    """Finish a reconciliation whose difference is zero: lock its statement lines, mark its ledger lines cleared."""
    bank_account = BankAccount.objects.select_for_update().select_related("account").get(pk=bank_account.pk)
    preview = reconciliation_preview(bank_account=bank_account, end_date=end_date, ending_balance=ending_balance)
    if preview.unmatched:
        raise ValidationError({"end_date": f"{len(preview.unmatched)} statement lines up to {end_date:%m/%d/%Y} are not "
                                           f"matched: match them, or create entries for bank-only items, first."})
    if preview.difference != 0:
        raise ValidationError({"ending_balance": f"The difference is {preview.difference}: it must be zero to finish "
                                                 f"(cleared balance {preview.cleared_balance})."})
    rec = Reconciliation.objects.create(
        organization_id=bank_account.organization_id, bank_account=bank_account, statement_end_date=end_date,
        beginning_balance=preview.beginning_balance, ending_balance=ending_balance,
        cleared_total=preview.cleared_total, finished_by=actor, finished_at=timezone.now())
    StatementLine.objects.filter(pk__in=[s.pk for s in preview.cleared]).update(reconciliation=rec)
    line_ids = [m.journal_line_id for s in preview.cleared for m in s.matches.all()]
    line_ids += [ln.pk for ln in preview.brought_forward]
    ClearedLine.objects.bulk_create([ClearedLine(reconciliation=rec, journal_line_id=i) for i in line_ids])
    audit_event(action="ledger.bank_reconciled", actor=actor, target=rec, organization_id=bank_account.organization_id,
                summary=f"{bank_account.name} reconciled to {end_date:%m/%d/%Y} at {ending_balance}: "
                        f"{len(line_ids)} ledger lines cleared"[:300])
    return rec


@transaction.atomic
def reconciliation_undo(*, reconciliation: Reconciliation, actor) -> Reconciliation:
    """Undo the bank account's last reconciliation: its statement lines unlock and its ledger lines are no longer
    cleared. An earlier one cannot be undone while a later one stands."""
    rec = Reconciliation.objects.select_for_update().select_related("bank_account").get(pk=reconciliation.pk)
    if rec.undone_at is not None:
        raise ValidationError({"reconciliation": "This reconciliation was already undone."})
    last = last_reconciliation(bank_account=rec.bank_account)
    if last is None or last.pk != rec.pk:
        raise ValidationError({"reconciliation": "Only the last reconciliation of the account can be undone."})
    ClearedLine.objects.filter(reconciliation=rec).delete()
    StatementLine.objects.filter(reconciliation=rec).update(reconciliation=None)
    rec.undone_at, rec.undone_by = timezone.now(), actor
    rec.save(update_fields=["undone_at", "undone_by"])
    audit_event(action="ledger.bank_reconciliation_undone", actor=actor, target=rec,
                organization_id=rec.organization_id,
                summary=f"Reconciliation of {rec.bank_account.name} to {rec.statement_end_date:%m/%d/%Y} undone"[:300])
    return rec


def uncleared_lines(*, bank_account: BankAccount, as_of: date | None = None,
                    before: Reconciliation | None = None) -> QuerySet:
    """Ledger lines on the bank's account the bank has not shown yet (outstanding deposits are positive,
    outstanding checks and payments negative), up to `as_of`. With `before`, as they stood when that
    reconciliation was finished (lines cleared by later reconciliations count as outstanding)."""
    cleared = ClearedLine.objects.filter(journal_line=OuterRef("pk"))
    if before is not None:
        cleared = cleared.filter(Q(reconciliation=before) | Q(reconciliation__statement_end_date__lt=before.statement_end_date),
                                 reconciliation__bank_account=before.bank_account, reconciliation__undone_at__isnull=True)
    lines = (JournalLine.objects.filter(organization_id=bank_account.organization_id, account_id=bank_account.account_id)
             .exclude(Exists(cleared)).select_related("entry").order_by("entry_date", "id"))
    return lines.filter(entry_date__lte=as_of) if as_of is not None else lines


@dataclass
class ReconciliationReport:
    """A finished reconciliation as printed: the arithmetic, what cleared, and what was outstanding."""

    reconciliation: Reconciliation
    cleared: list[StatementLine]
    brought_forward: list[JournalLine]
    outstanding: list[JournalLine]
    book_balance: Decimal

    @property
    def outstanding_total(self) -> Decimal:
        return sum((ln.amount for ln in self.outstanding), ZERO)

    @property
    def unexplained(self) -> Decimal:
        """What the bank's balance and the outstanding items leave of the books' balance (zero when every line
        cleared on or before the end date)."""
        return self.book_balance - self.reconciliation.ending_balance - self.outstanding_total


def reconciliation_report(*, reconciliation: Reconciliation) -> ReconciliationReport:
    rec = reconciliation
    cleared = list(statement_lines(bank_account=rec.bank_account).filter(reconciliation=rec))
    matched_ids = {m.journal_line_id for s in cleared for m in s.matches.all()}
    brought = [c.journal_line for c in ClearedLine.objects.filter(reconciliation=rec)
               .select_related("journal_line__entry").order_by("journal_line__entry_date", "journal_line_id")
               if c.journal_line_id not in matched_ids]
    outstanding = list(uncleared_lines(bank_account=rec.bank_account, as_of=rec.statement_end_date, before=rec))
    book = (JournalLine.objects.filter(organization_id=rec.organization_id, account_id=rec.bank_account.account_id,
                                       entry_date__lte=rec.statement_end_date).aggregate(t=Sum("amount"))["t"] or ZERO)
    return ReconciliationReport(reconciliation=rec, cleared=cleared, brought_forward=brought, outstanding=outstanding,
                                book_balance=book)


def reconciliation_history(*, bank_account: BankAccount) -> QuerySet:
    return (Reconciliation.objects.filter(bank_account=bank_account)
            .select_related("finished_by", "undone_by").order_by("-statement_end_date", "-id"))
