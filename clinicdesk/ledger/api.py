"""API routes of the practice's bank (/api/v1/ledger): its bank accounts, statement lines imported as JSON, and
where each account's reconciliation stands. Amounts are strings ("25.00"); identifiers are strings."""

from django.http import Http404, HttpRequest
from ninja import Router, Schema, Status
from pydantic import StrictStr

from clinicdesk.core.api_auth import api_requires
from clinicdesk.core.api_schemas import DetailOut, ErrorsOut, Strict
from clinicdesk.core.audit import audit_event
from clinicdesk.core.money import round_money
from clinicdesk.core.permissions import Perm

from . import bank, bank_import, reconcile
from .choices import StatementFormat
from .models import BankAccount

router = Router(tags=["ledger"])


class BankAccountOut(Schema):
    id: str
    name: str
    institution: str
    last4: str
    ledger_account: str
    currency: str
    is_active: bool
    book_balance: str
    unmatched_lines: int
    reconciled_to: str | None


class StatementLineIn(Strict):
    date: StrictStr
    description: StrictStr
    amount: StrictStr
    reference: StrictStr = ""
    fitid: StrictStr = ""


class StatementIn(Strict):
    lines: list[StatementLineIn]


class SkippedOut(Schema):
    line: int
    reason: str


class ImportOut(Schema):
    id: str
    added: int
    skipped: list[SkippedOut]
    matched: int


class ReconciliationOut(Schema):
    bank_account: str
    reconciled_to: str | None
    reconciled_balance: str | None
    book_balance: str
    unmatched_lines: int
    matched_not_reconciled: int
    uncleared_deposits: str
    uncleared_payments: str


def _bank(request: HttpRequest, bank_account_id: str) -> BankAccount:
    found = (bank.bank_account_scope(user=request.user).filter(pk=int(bank_account_id)).first()
             if bank_account_id.isdigit() else None)
    if found is None:
        raise Http404("No such bank account.")
    return found


def _out(b: BankAccount) -> dict:
    return {"id": str(b.pk), "name": b.name, "institution": b.institution, "last4": b.last4,
            "ledger_account": b.account.code, "currency": b.currency, "is_active": b.is_active,
            "book_balance": str(b.balance), "unmatched_lines": b.unmatched_count,
            "reconciled_to": b.last_reconciliation.statement_end_date.isoformat() if b.last_reconciliation else None}


@router.get("/bank-accounts", response={200: list[BankAccountOut]}, summary="The practice's bank accounts")
@api_requires(Perm.LEDGER_VIEW)
def bank_account_list(request: HttpRequest):
    accounts = bank.bank_account_list(user=request.user)
    audit_event(action="ledger.bank_accounts_listed", actor=request.user,
                summary=f"Listed {len(accounts)} bank accounts by API")
    return [_out(b) for b in accounts]


@router.post("/bank-accounts/{bank_account_id}/statement-lines",
             response={201: ImportOut, 400: ErrorsOut, 404: DetailOut}, summary="Import statement lines")
@api_requires(Perm.LEDGER_VIEW, Perm.BANK_RECONCILE)
def statement_lines_import(request: HttpRequest, bank_account_id: str, payload: StatementIn):
    """Lines as JSON: `date` (YYYY-MM-DD), `description`, `amount` as a string (money in positive), optional
    `reference` and `fitid`. A bad line is named (`lines[3].amount`) and nothing is saved; duplicates are skipped
    and listed; what can be matched is matched."""
    account = _bank(request, bank_account_id)
    lines = bank_import.api_lines_read([line.model_dump() for line in payload.lines])
    made, preview = bank_import.statement_import(bank_account=account, lines=lines, file_format=StatementFormat.API,
                                                 file_name="API", actor=request.user)
    matched = bank.statement_lines_auto_match(bank_account=account, actor=request.user)
    return Status(201, {"id": str(made.pk), "added": made.lines_added, "matched": matched,
                        "skipped": [{"line": ln.number, "reason": why} for ln, why in preview.duplicates]})


@router.get("/bank-accounts/{bank_account_id}/reconciliation", response={200: ReconciliationOut, 404: DetailOut},
            summary="Where the account's reconciliation stands")
@api_requires(Perm.LEDGER_VIEW)
def reconciliation_status(request: HttpRequest, bank_account_id: str):
    account = _bank(request, bank_account_id)
    listed = {b.pk: b for b in bank.bank_account_list(user=request.user)}[account.pk]
    last = reconcile.last_reconciliation(bank_account=account)
    uncleared = [ln.amount for ln in reconcile.uncleared_lines(bank_account=account)]
    audit_event(action="ledger.bank_viewed", actor=request.user, target=account,
                summary=f"Reconciliation status of {account.name} by API"[:300])
    return {
        "bank_account": str(account.pk),
        "reconciled_to": last.statement_end_date.isoformat() if last else None,
        "reconciled_balance": str(last.ending_balance) if last else None,
        "book_balance": str(listed.balance), "unmatched_lines": listed.unmatched_count,
        "matched_not_reconciled": bank.statement_lines(bank_account=account, status="matched").count(),
        "uncleared_deposits": str(round_money(sum((a for a in uncleared if a > 0), start=bank.ZERO))),
        "uncleared_payments": str(round_money(-sum((a for a in uncleared if a < 0), start=bank.ZERO))),
    }
