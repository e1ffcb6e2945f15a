"""The finances pages about the bank: the finances overview, bank accounts and their registers, statement import
(preview, then save), matching, reconciliation with its report (PDF and CSV) and the uncleared items, recurring
bills and the bills due. Views parse, check permission, call one service or selector, and render."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_event
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.permissions import Perm

from . import bank, bank_import, bills, periods, reconcile, recurring
from .bank_forms import (
    BankAccountEditForm,
    BankAccountForm,
    BankItemForm,
    BillsDueForm,
    MatchForm,
    ReconcileForm,
    RecurringBillForm,
    StatementLineForm,
    StatementUploadForm,
    UndoForm,
)
from .forms import DateRangeForm
from .models import BankAccount, Reconciliation, RecurringBill, StatementLine
from .views import PAGE_SIZE, _amount_cell, _money_cell, _pdf, _query

CENT = Decimal("0.01")
SESSION_PREVIEW = "ledger-statement-preview"
MATCH_STATUSES = [("unmatched", "Not matched"), ("matched", "Matched"), ("reconciled", "Reconciled"), ("", "All")]


def _bank(request: HttpRequest, bank_account_id: int) -> BankAccount:
    found = bank.bank_account_scope(user=request.user).filter(pk=bank_account_id).first()
    if found is None:
        raise Http404("No such bank account.")
    return found


def _statement_line(request: HttpRequest, bank_account: BankAccount, line_id) -> StatementLine:
    line = StatementLine.objects.filter(bank_account=bank_account, pk=line_id).first() if line_id else None
    if line is None:
        raise Http404("No such statement line.")
    return line


def _reconciliation(request: HttpRequest, bank_account: BankAccount, raw) -> Reconciliation:
    rec = (Reconciliation.objects.filter(bank_account=bank_account, pk=int(raw)).select_related("bank_account__account")
           .first() if str(raw or "").isdigit() else None)
    if rec is None:
        raise Http404("No such reconciliation.")
    return rec


def _can_reconcile(request: HttpRequest) -> bool:
    return request.user.has_perm_code(Perm.BANK_RECONCILE)


# --- the finances overview -----------------------------------------------------------------------------------


@require_GET
@requires(Perm.LEDGER_VIEW)
def finances(request: HttpRequest) -> HttpResponse:
    """Where the office's finances start: bank balances, bills due, the months closed, and every finances page."""
    accounts = bank.bank_account_list(user=request.user)
    due = bills.bills_due(user=request.user, days=7)
    today = timezone.localdate()
    months = periods.period_list(user=request.user, months=3)
    return render(request, "ledger/finances.html", {
        "accounts": accounts, "due_count": due.count(), "overdue_count": due.filter(due_date__lt=today).count(),
        "months": months, "section": "finances", "can_reconcile": _can_reconcile(request),
    })


# --- bank accounts -------------------------------------------------------------------------------------------


@require_GET
@requires(Perm.LEDGER_VIEW)
def bank_list(request: HttpRequest) -> HttpResponse:
    return render(request, "ledger/bank_list.html", {
        "accounts": bank.bank_account_list(user=request.user), "can_reconcile": _can_reconcile(request),
        "section": "bank",
    })


@require_GET
@requires(Perm.LEDGER_VIEW)
def bank_list_export(request: HttpRequest) -> HttpResponse:
    accounts = bank.bank_account_list(user=request.user)
    audit_event(action="ledger.exported", actor=request.user, channel=AuditChannel.EXPORT, summary="Bank accounts CSV")
    return csv_response("bank-accounts.csv", ["name", "bank", "last four", "ledger account", "open", "book balance",
                                              "statement lines not matched", "reconciled to"], (
        [b.name, b.institution, b.last4, b.account.code, "yes" if b.is_active else "no", _amount_cell(b.balance),
         b.unmatched_count, b.last_reconciliation.statement_end_date.isoformat() if b.last_reconciliation else ""]
        for b in accounts
    ))


@require_http_methods(["GET", "POST"])
@requires(Perm.BANK_RECONCILE)
def bank_create(request: HttpRequest) -> HttpResponse:
    form = BankAccountForm(request.POST or None, organization_id=request.user.organization_id)
    if request.method == "POST" and form.is_valid():
        try:
            made = bank.bank_account_save(organization=request.user.organization, actor=request.user,
                                          **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Bank account {made.name} added.")
            return redirect("ledger:bank_detail", bank_account_id=made.pk)
    return render(request, "ledger/bank_form.html", {"form": form, "section": "bank"},
                  status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@requires(Perm.BANK_RECONCILE)
def bank_edit(request: HttpRequest, bank_account_id: int) -> HttpResponse:
    """Change a bank account's name, bank, last four digits, ledger account (until lines are reconciled) or close it."""
    account = _bank(request, bank_account_id)
    form = BankAccountEditForm(request.POST or None, bank_account=account, initial={
        "name": account.name, "institution": account.institution, "last4": account.last4,
        "account": account.account_id, "is_active": account.is_active})
    if request.method == "POST" and form.is_valid():
        try:
            bank.bank_account_save(organization=request.user.organization, actor=request.user, bank_account=account,
                                   **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Bank account {account.name} saved.")
            return redirect("ledger:bank_detail", bank_account_id=account.pk)
    return render(request, "ledger/bank_form.html", {"form": form, "section": "bank", "bank": account},
                  status=400 if form.errors else 200)


def _register(request: HttpRequest, bank_account: BankAccount):
    form = DateRangeForm(request.GET or None)
    values = form.cleaned_data if form.is_valid() else {}
    return form, bank.bank_register(user=request.user, bank_account=bank_account, date_from=values.get("date_from"),
                                    date_to=values.get("date_to"))


@require_GET
@requires(Perm.LEDGER_VIEW)
def bank_detail(request: HttpRequest, bank_account_id: int) -> HttpResponse:
    """A bank account's register: every ledger line on its account (deposits from the day close, card payouts,
    bills paid, bank items) with the running balance, and its reconciliations."""
    account = _bank(request, bank_account_id)
    form, ledger = _register(request, account)
    page = Paginator(ledger.lines, PAGE_SIZE).get_page(request.GET.get("page"))
    for line in page:
        line.debit, line.credit = max(line.amount, 0), max(-line.amount, 0)
    history = list(reconcile.reconciliation_history(bank_account=account)[:12])
    last = next((r for r in history if r.undone_at is None), None)
    months = bank.bank_balance_by_month(bank_account=account)
    chart = {"labels": [m.strftime("%b %Y") for m, _ in months], "balance": [str(v) for _, v in months]}
    return render(request, "ledger/bank_detail.html", {
        "chart": chart,
        "bank": account, "form": form, "ledger": ledger, "page": page, "query": _query(request),
        "history": history, "last": last, "can_reconcile": _can_reconcile(request), "section": "bank",
    }, status=400 if form.errors else 200)


@require_GET
@requires(Perm.LEDGER_VIEW)
def bank_register_export(request: HttpRequest, bank_account_id: int) -> HttpResponse:
    account = _bank(request, bank_account_id)
    _form, ledger = _register(request, account)
    audit_event(action="ledger.exported", actor=request.user, channel=AuditChannel.EXPORT, target=account,
                summary=f"Bank register CSV: {account.name}"[:300])
    return csv_response(f"bank-register-{account.pk}.csv",
                        ["date", "entry", "kind", "reference", "memo", "deposit", "payment", "balance", "status"], (
        [ln.entry_date.isoformat(), ln.entry_id, ln.entry.get_kind_display(), ln.entry.reference,
         ln.memo or ln.entry.memo, _money_cell(max(ln.amount, 0)), _money_cell(max(-ln.amount, 0)),
         _amount_cell(ln.running), "cleared" if ln.is_cleared else ("matched" if ln.is_matched else "")]
        for ln in ledger.lines.iterator(chunk_size=2000)
    ))


# --- statement import ----------------------------------------------------------------------------------------


def _preview_rows(lines: list[bank_import.ParsedLine]) -> list[dict]:
    return [{"n": ln.number, "d": ln.posted_on.isoformat(), "s": ln.description, "a": str(ln.amount),
             "r": ln.reference, "f": ln.fitid} for ln in lines]


def _preview_lines(rows: list[dict]) -> list[bank_import.ParsedLine]:
    return [bank_import.ParsedLine(number=r["n"], posted_on=date.fromisoformat(r["d"]), description=r["s"],
                                   amount=Decimal(r["a"]), reference=r["r"], fitid=r["f"]) for r in rows]


@require_http_methods(["GET", "POST"])
@requires(Perm.BANK_RECONCILE)
def bank_import_view(request: HttpRequest, bank_account_id: int) -> HttpResponse:
    """Upload a statement, see what it holds (new lines, duplicates skipped), then save it. Nothing is saved until
    the preview is confirmed; a bad file names its line and field."""
    account = _bank(request, bank_account_id)
    if request.method == "POST" and request.POST.get("step") == "save":
        held = request.session.get(SESSION_PREVIEW) or {}
        if held.get("bank") != account.pk or held.get("token") != request.POST.get("token"):
            messages.error(request, "This preview has expired: upload the file again.")
            return redirect("ledger:bank_import", bank_account_id=account.pk)
        made, preview = bank_import.statement_import(
            bank_account=account, lines=_preview_lines(held["lines"]), file_format=held["format"],
            file_name=held["name"], mapping=held.get("mapping"), actor=request.user)
        request.session.pop(SESSION_PREVIEW, None)
        matched = bank.statement_lines_auto_match(bank_account=account, actor=request.user)
        messages.success(request, f"{made.lines_added} statement lines imported, {made.lines_skipped} duplicates "
                                  f"skipped; {matched} matched automatically.")
        return redirect("ledger:bank_matching", bank_account_id=account.pk)
    initial = {f"{k}_column": v for k, v in (account.csv_mapping or {}).items()}
    form = StatementUploadForm(request.POST or None, request.FILES or None, initial=initial)
    preview = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        mapping = form.mapping()
        try:
            kind, lines = bank_import.statement_file_read(bank_account=account, name=upload.name,
                                                          content=upload.read(), mapping=mapping)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            preview = bank_import.statement_preview(bank_account=account, lines=lines)
            token = timezone.now().strftime("%Y%m%d%H%M%S%f")
            request.session[SESSION_PREVIEW] = {
                "bank": account.pk, "token": token, "name": upload.name[:200], "format": str(kind),
                "mapping": mapping if kind == "csv" else None, "lines": _preview_rows(lines)}
            return render(request, "ledger/bank_import.html", {
                "bank": account, "form": form, "preview": preview, "token": token, "section": "bank",
                "file_name": upload.name})
    return render(request, "ledger/bank_import.html", {"bank": account, "form": form, "preview": preview,
                                                       "section": "bank"}, status=400 if form.errors else 200)


# --- matching ------------------------------------------------------------------------------------------------


@require_GET
@requires(Perm.LEDGER_VIEW)
def bank_matching(request: HttpRequest, bank_account_id: int) -> HttpResponse:
    """The statement lines with their matches; a line not matched shows the ledger lines it might be (same
    direction, near its date), to tick and match, or an entry to create for a bank-only item."""
    account = _bank(request, bank_account_id)
    status = request.GET.get("status", "unmatched")
    status = status if status in dict(MATCH_STATUSES) else "unmatched"
    page = Paginator(bank.statement_lines(bank_account=account, status=status), PAGE_SIZE).get_page(request.GET.get("page"))
    pending = [s for s in page if not s.has_match and s.reconciliation_id is None]
    if pending:
        window = timedelta(days=bank.MATCH_WINDOW_DAYS * 4)
        pool = list(bank.open_ledger_lines(bank_account=account).filter(
            entry_date__gte=min(s.posted_on for s in pending) - window,
            entry_date__lte=max(s.posted_on for s in pending) + window)[:2000])
        for s in pending:
            near = [ln for ln in pool if (ln.amount > 0) == (s.amount > 0) and abs((ln.entry_date - s.posted_on).days)
                    <= window.days]
            near.sort(key=lambda ln, s=s: (ln.amount != s.amount, abs((ln.entry_date - s.posted_on).days)))
            s.candidates = near[:12]
    item_form = BankItemForm(organization_id=request.user.organization_id, exclude_account_id=account.account_id)
    return render(request, "ledger/bank_matching.html", {
        "bank": account, "page": page, "status": status, "statuses": MATCH_STATUSES, "query": f"status={status}",
        "item_accounts": item_form.fields["account"].queryset, "can_reconcile": _can_reconcile(request),
        "section": "bank",
    })


@require_GET
@requires(Perm.LEDGER_VIEW)
def bank_matching_export(request: HttpRequest, bank_account_id: int) -> HttpResponse:
    account = _bank(request, bank_account_id)
    audit_event(action="ledger.exported", actor=request.user, channel=AuditChannel.EXPORT, target=account,
                summary=f"Statement lines CSV: {account.name}"[:300])
    return csv_response(f"statement-lines-{account.pk}.csv",
                        ["date", "description", "reference", "fitid", "amount", "matched entries", "reconciled"], (
        [s.posted_on.isoformat(), s.description, s.reference, s.fitid, _amount_cell(s.amount),
         " ".join(str(m.journal_line.entry_id) for m in s.matches.all()), "yes" if s.reconciliation_id else "no"]
        for s in bank.statement_lines(bank_account=account, status=request.GET.get("status", ""))
    ))


def _back_to_matching(account: BankAccount, request: HttpRequest) -> HttpResponse:
    status = request.POST.get("status", "unmatched")
    status = status if status in dict(MATCH_STATUSES) else "unmatched"
    return redirect(f"{reverse('ledger:bank_matching', args=[account.pk])}?status={status}")


@require_http_methods(["POST"])
@requires(Perm.BANK_RECONCILE)
def bank_auto_match(request: HttpRequest, bank_account_id: int) -> HttpResponse:
    account = _bank(request, bank_account_id)
    matched = bank.statement_lines_auto_match(bank_account=account, actor=request.user)
    messages.success(request, f"{matched} statement lines matched automatically.")
    return _back_to_matching(account, request)


@require_http_methods(["POST"])
@requires(Perm.BANK_RECONCILE)
def bank_match(request: HttpRequest, bank_account_id: int) -> HttpResponse:
    account = _bank(request, bank_account_id)
    form = MatchForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the statement line and the ledger lines it matches.")
        return _back_to_matching(account, request)
    line = _statement_line(request, account, form.cleaned_data["statement_line"])
    try:
        bank.statement_line_match(statement_line=line, journal_line_ids=form.cleaned_data["journal_lines"],
                                  actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{line.description} matched.")
    return _back_to_matching(account, request)


@require_http_methods(["POST"])
@requires(Perm.BANK_RECONCILE)
def bank_unmatch(request: HttpRequest, bank_account_id: int) -> HttpResponse:
    account = _bank(request, bank_account_id)
    form = StatementLineForm(request.POST)
    line = _statement_line(request, account, form.cleaned_data["statement_line"] if form.is_valid() else None)
    try:
        bank.statement_line_unmatch(statement_line=line, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{line.description} unmatched.")
    return _back_to_matching(account, request)


@require_http_methods(["POST"])
@requires(Perm.BANK_RECONCILE)
def bank_item_create(request: HttpRequest, bank_account_id: int) -> HttpResponse:
    """Post an entry for a bank-only item (fee, interest) and match the statement line to it."""
    account = _bank(request, bank_account_id)
    form = BankItemForm(request.POST, organization_id=request.user.organization_id,
                        exclude_account_id=account.account_id)
    if not form.is_valid():
        messages.error(request, "Choose the account for the entry (an expense or income account).")
        return _back_to_matching(account, request)
    line = _statement_line(request, account, form.cleaned_data["statement_line"])
    try:
        bank.statement_line_entry_create(statement_line=line, account=form.cleaned_data["account"],
                                         memo=form.cleaned_data["memo"], actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Entry posted for {line.description} and matched.")
    return _back_to_matching(account, request)


# --- reconciliation ------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@requires(Perm.BANK_RECONCILE)
def bank_reconcile(request: HttpRequest, bank_account_id: int) -> HttpResponse:
    """Reconcile to a statement: its end date and ending balance give the cleared items, the beginning balance and
    the difference; with a difference of zero (and every line matched) the reconciliation can be finished."""
    account = _bank(request, bank_account_id)
    data = request.POST if request.method == "POST" else (request.GET if request.GET.get("end_date") else None)
    form = ReconcileForm(data)
    preview = None
    if data is not None and form.is_valid():
        values = dict(form.cleaned_data)
        try:
            if request.method == "POST":
                rec = reconcile.reconciliation_finish(bank_account=account, actor=request.user, **values)
                messages.success(request, f"{account.name} reconciled to {rec.statement_end_date:%m/%d/%Y}.")
                return redirect("ledger:bank_detail", bank_account_id=account.pk)
            preview = reconcile.reconciliation_preview(bank_account=account, **values)
        except ValidationError as exc:
            form.add_service_errors(exc)
            if request.method == "POST":
                try:
                    preview = reconcile.reconciliation_preview(bank_account=account, **values)
                except ValidationError:
                    preview = None
    return render(request, "ledger/bank_reconcile.html", {
        "bank": account, "form": form, "preview": preview, "last": reconcile.last_reconciliation(bank_account=account),
        "section": "bank",
    }, status=400 if form.errors else 200)


@require_http_methods(["POST"])
@requires(Perm.BANK_RECONCILE)
def bank_reconcile_undo(request: HttpRequest, bank_account_id: int) -> HttpResponse:
    account = _bank(request, bank_account_id)
    form = UndoForm(request.POST)
    rec = _reconciliation(request, account, form.cleaned_data["reconciliation"] if form.is_valid() else None)
    try:
        reconcile.reconciliation_undo(reconciliation=rec, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"The reconciliation to {rec.statement_end_date:%m/%d/%Y} was undone.")
    return redirect("ledger:bank_detail", bank_account_id=account.pk)


def _report(request: HttpRequest, bank_account_id: int):
    """The reconciliation named in the query, or the account's last one."""
    account = _bank(request, bank_account_id)
    raw = request.GET.get("reconciliation")
    if raw is None:
        last = reconcile.last_reconciliation(bank_account=account)
        if last is None:
            raise Http404("This account has not been reconciled yet.")
        raw = str(last.pk)
    rec = _reconciliation(request, account, raw)
    return reconcile.reconciliation_report(reconciliation=rec)


@require_GET
@requires(Perm.LEDGER_VIEW)
def reconciliation_pdf(request: HttpRequest, bank_account_id: int) -> HttpResponse:
    report = _report(request, bank_account_id)
    rec = report.reconciliation
    audit_event(action="ledger.printed", actor=request.user, channel=AuditChannel.PRINT, target=rec,
                summary=f"Reconciliation report {rec}"[:300])
    return _pdf("ledger/pdf/reconciliation.html", {"report": report, "rec": rec, "bank": rec.bank_account,
                                                    "organization": request.user.organization,
                                                    "printed_at": timezone.localtime()},
                f"reconciliation-{rec.bank_account_id}-{rec.statement_end_date.isoformat()}.pdf")


@require_GET
@requires(Perm.LEDGER_VIEW)
def reconciliation_csv(request: HttpRequest, bank_account_id: int) -> HttpResponse:
    report = _report(request, bank_account_id)
    rec = report.reconciliation
    audit_event(action="ledger.exported", actor=request.user, channel=AuditChannel.EXPORT, target=rec,
                summary=f"Reconciliation report CSV {rec}"[:300])
    rows: list[list] = [["beginning balance", "", "", "", _amount_cell(rec.beginning_balance)]]
    rows += [["cleared", s.posted_on.isoformat(), s.description, s.reference, _amount_cell(s.amount)]
             for s in report.cleared]
    rows += [["brought forward", ln.entry_date.isoformat(), ln.memo or ln.entry.memo, ln.entry.reference,
              _amount_cell(ln.amount)] for ln in report.brought_forward]
    rows.append(["ending balance", rec.statement_end_date.isoformat(), "", "", _amount_cell(rec.ending_balance)])
    rows += [["outstanding", ln.entry_date.isoformat(), ln.memo or ln.entry.memo, ln.entry.reference,
              _amount_cell(ln.amount)] for ln in report.outstanding]
    rows.append(["book balance", rec.statement_end_date.isoformat(), "", "", _amount_cell(report.book_balance)])
    return csv_response(f"reconciliation-{rec.bank_account_id}-{rec.statement_end_date.isoformat()}.csv",
                        ["section", "date", "description", "reference", "amount"], rows)


def _uncleared(request: HttpRequest, bank_account_id: int):
    account = _bank(request, bank_account_id)
    form = DateRangeForm(request.GET or None)
    as_of = form.cleaned_data.get("date_to") if form.is_valid() else None
    return account, form, reconcile.uncleared_lines(bank_account=account, as_of=as_of)


@require_GET
@requires(Perm.LEDGER_VIEW)
def bank_uncleared(request: HttpRequest, bank_account_id: int) -> HttpResponse:
    """Outstanding deposits and checks: ledger lines on the bank's account no reconciliation has cleared."""
    account, form, lines = _uncleared(request, bank_account_id)
    page = Paginator(lines, PAGE_SIZE).get_page(request.GET.get("page"))
    for line in page:
        line.debit, line.credit = max(line.amount, 0), max(-line.amount, 0)
    sums = lines.aggregate(deposits=Sum("amount", filter=Q(amount__gt=0)), payments=Sum("amount", filter=Q(amount__lt=0)))
    return render(request, "ledger/bank_uncleared.html", {
        "bank": account, "form": form, "page": page, "query": _query(request),
        "deposits": sums["deposits"] or 0, "payments": -(sums["payments"] or 0), "section": "bank",
    })


@require_GET
@requires(Perm.LEDGER_VIEW)
def bank_uncleared_export(request: HttpRequest, bank_account_id: int) -> HttpResponse:
    account, _form, lines = _uncleared(request, bank_account_id)
    audit_event(action="ledger.exported", actor=request.user, channel=AuditChannel.EXPORT, target=account,
                summary=f"Uncleared items CSV: {account.name}"[:300])
    return csv_response(f"uncleared-{account.pk}.csv", ["date", "entry", "kind", "reference", "memo", "deposit", "payment"], (
        [ln.entry_date.isoformat(), ln.entry_id, ln.entry.get_kind_display(), ln.entry.reference,
         ln.memo or ln.entry.memo, _money_cell(max(ln.amount, 0)), _money_cell(max(-ln.amount, 0))]
        for ln in lines.iterator(chunk_size=2000)
    ))


# --- recurring bills and bills due ---------------------------------------------------------------------------


@require_GET
@requires(Perm.LEDGER_VIEW)
def recurring_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(recurring.recurring_bill_list(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "ledger/recurring_list.html", {
        "page": page, "can_manage": request.user.has_perm_code(Perm.BILLS_MANAGE), "section": "bills",
    })


@require_GET
@requires(Perm.LEDGER_VIEW)
def recurring_export(request: HttpRequest) -> HttpResponse:
    audit_event(action="ledger.exported", actor=request.user, channel=AuditChannel.EXPORT, summary="Recurring bills CSV")
    return csv_response("recurring-bills.csv", ["vendor", "account", "department", "amount", "how often", "day",
                                                "starts", "ends", "next bill", "active"], (
        [t.vendor.name, t.account.code, t.department.name if t.department_id else "", _amount_cell(t.amount),
         t.get_frequency_display(), t.day_of_month, t.start_date.isoformat(),
         t.end_date.isoformat() if t.end_date else "", t.next_date.isoformat(), "yes" if t.is_active else "no"]
        for t in recurring.recurring_bill_list(user=request.user)
    ))


@require_http_methods(["GET", "POST"])
@requires(Perm.BILLS_MANAGE)
def recurring_create(request: HttpRequest) -> HttpResponse:
    form = RecurringBillForm(request.POST or None, organization_id=request.user.organization_id,
                             initial={"start_date": timezone.localdate(), "day_of_month": 1})
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            template = recurring.recurring_bill_create(organization=request.user.organization, actor=request.user,
                                                       vendor_name=data.pop("vendor"), **data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Recurring bill from {template.vendor.name} added; the first comes on "
                                      f"{template.next_date:%m/%d/%Y}.")
            return redirect("ledger:recurring")
    return render(request, "ledger/recurring_form.html", {"form": form, "section": "bills"},
                  status=400 if form.errors else 200)


@require_http_methods(["POST"])
@requires(Perm.BILLS_MANAGE)
def recurring_stop(request: HttpRequest) -> HttpResponse:
    raw = request.POST.get("recurring", "")
    template = (RecurringBill.objects.filter(organization_id=request.user.organization_id, pk=int(raw))
                .select_related("vendor").first() if raw.isdigit() else None)
    if template is None:
        raise Http404("No such recurring bill.")
    recurring.recurring_bill_stop(template=template, actor=request.user)
    messages.success(request, f"Recurring bill from {template.vendor.name} stopped.")
    return redirect("ledger:recurring")


def _due(request: HttpRequest):
    form = BillsDueForm(request.GET or None)
    days = (form.cleaned_data.get("days") if form.is_valid() else None)
    days = 30 if days is None else days
    return form, days, bills.bills_due(user=request.user, days=days)


@require_GET
@requires(Perm.LEDGER_VIEW)
def bills_due(request: HttpRequest) -> HttpResponse:
    """Unpaid bills due within N days and those overdue, each payable from one of the practice's bank accounts."""
    form, days, due = _due(request)
    page = Paginator(due, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "ledger/bills_due.html", {
        "form": form, "days": days, "page": page, "query": f"days={days}", "today": timezone.localdate(),
        "banks": [b for b in bank.bank_account_scope(user=request.user).order_by("name") if b.is_active],
        "can_manage": request.user.has_perm_code(Perm.BILLS_MANAGE), "section": "bills",
    }, status=400 if form.errors else 200)


@require_GET
@requires(Perm.LEDGER_VIEW)
def bills_due_export(request: HttpRequest) -> HttpResponse:
    _form, days, due = _due(request)
    today = timezone.localdate()
    audit_event(action="ledger.exported", actor=request.user, channel=AuditChannel.EXPORT,
                summary=f"Bills due within {days} days CSV")
    return csv_response("bills-due.csv", ["vendor", "invoice", "bill date", "due", "overdue", "account", "amount"], (
        [b.vendor.name, b.number, b.bill_date.isoformat(), b.due_date.isoformat(), "yes" if b.due_date < today else "",
         b.account.code, _amount_cell(b.amount)] for b in due
    ))
