"""The ledger's staff pages: the chart of accounts, the journal and its entries, one account's ledger, the trial
balance and A/R aging, each with its CSV (and the two reports as PDF). Views parse, check permission, call one
service or selector, and render."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_event, audit_events
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.form_pages import form_round_trip
from clinicdesk.core.permissions import Perm
from clinicdesk.core.tables import sheet_rows, xlsx_response

from . import bills, budgets, payroll, periods, reports, services, statements, vendors
from .forms import (
    AccountForm,
    AgingForm,
    AsOfForm,
    BillForm,
    BillPayForm,
    BudgetImportForm,
    BudgetScopeForm,
    DateRangeForm,
    JournalFilterForm,
    ManualEntryForm,
    PayrollImportForm,
    PeriodForm,
    ProfitLossForm,
    ReverseForm,
    VendorForm,
    YearForm,
)
from .models import Account, BankAccount, Bill, Budget, JournalEntry

CENT = Decimal("0.01")
PAGE_SIZE = 50
EXPORT_MAX_ROWS = 100_000


def _query(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _account(request: HttpRequest, account_id: int) -> Account:
    account = reports.account_scope(user=request.user).filter(pk=account_id).first()
    if account is None:
        raise Http404("No such account.")
    return account


def _money_cell(value) -> Decimal | str:
    return value.quantize(CENT) if value else ""


def _amount_cell(value) -> Decimal:
    """An amount for a CSV cell: a Decimal, so that a negative amount stays a number (see core.csv_export)."""
    return Decimal(value).quantize(CENT)


@require_GET
@requires(Perm.LEDGER_VIEW)
def index(request: HttpRequest) -> HttpResponse:
    return redirect("ledger:finances")


# --- chart of accounts ---------------------------------------------------------------------------------------


@require_GET
@requires(Perm.LEDGER_VIEW)
def account_list(request: HttpRequest) -> HttpResponse:
    """The chart of accounts with each account's balance today."""
    accounts = list(reports.account_scope(user=request.user).select_related("parent").order_by("code"))
    balances = reports.account_balances(organization_id=request.user.organization_id)
    for a in accounts:
        raw = balances.get(a.pk, reports.ZERO)
        a.balance = raw if a.debit_normal else -raw
    return render(request, "ledger/account_list.html", {
        "accounts": accounts, "can_manage": request.user.has_perm_code(Perm.LEDGER_MANAGE),
    })


@require_GET
@requires(Perm.LEDGER_VIEW)
def account_export(request: HttpRequest) -> HttpResponse:
    accounts = reports.account_scope(user=request.user).select_related("parent").order_by("code")
    balances = reports.account_balances(organization_id=request.user.organization_id)
    audit_event(action="ledger.exported", actor=request.user, channel=AuditChannel.EXPORT, summary="Chart of accounts CSV")
    return csv_response("chart-of-accounts.csv", ["number", "name", "type", "job", "parent", "open", "balance (debit +)"], (
        [a.code, a.name, a.get_account_type_display(), a.get_role_display() if a.role else "",
         a.parent.code if a.parent_id else "", "yes" if a.is_active else "no", _amount_cell(balances.get(a.pk, reports.ZERO))]
        for a in accounts
    ))


@require_http_methods(["GET", "POST"])
@requires(Perm.LEDGER_MANAGE)
def account_create(request: HttpRequest) -> HttpResponse:
    form = AccountForm(request.POST or None, organization_id=request.user.organization_id)
    if request.method == "POST" and form.is_valid():
        try:
            account = services.account_create(organization=request.user.organization, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Account {account} added.")
            return redirect("ledger:accounts")
    return render(request, "ledger/account_form.html", {"form": form, "account": None}, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@requires(Perm.LEDGER_MANAGE)
def account_edit(request: HttpRequest, account_id: int) -> HttpResponse:
    account = _account(request, account_id)
    initial = {"code": account.code, "name": account.name, "account_type": account.account_type, "role": account.role,
               "parent": account.parent_id, "description": account.description, "is_active": account.is_active}
    form = AccountForm(request.POST or None, initial=initial, organization_id=request.user.organization_id, account=account)
    if request.method == "POST" and form.is_valid():
        try:
            services.account_update(account=account, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Account {account.code} saved.")
            return redirect("ledger:accounts")
    return render(request, "ledger/account_form.html", {"form": form, "account": account}, status=400 if form.errors else 200)


# --- one account's ledger ------------------------------------------------------------------------------------


def _account_ledger(request: HttpRequest, account_id: int):
    account = _account(request, account_id)
    form = DateRangeForm(request.GET or None)
    values = form.cleaned_data if form.is_valid() else {}
    ledger = reports.account_ledger(user=request.user, account=account, date_from=values.get("date_from"),
                                    date_to=values.get("date_to"))
    return form, ledger


@require_GET
@requires(Perm.LEDGER_VIEW)
def account_ledger(request: HttpRequest, account_id: int) -> HttpResponse:
    """One account's lines with the running balance, in the account's normal direction."""
    form, ledger = _account_ledger(request, account_id)
    page = Paginator(ledger.lines, PAGE_SIZE).get_page(request.GET.get("page"))
    for line in page:
        line.shown_balance = line.running * ledger.sign
        line.debit, line.credit = max(line.amount, 0), max(-line.amount, 0)
    return render(request, "ledger/account_ledger.html", {
        "form": form, "ledger": ledger, "page": page, "query": _query(request),
        "opening": ledger.opening * ledger.sign, "closing": ledger.closing * ledger.sign,
    }, status=400 if form.errors else 200)


@require_GET
@requires(Perm.LEDGER_VIEW)
def account_ledger_export(request: HttpRequest, account_id: int) -> HttpResponse:
    _form, ledger = _account_ledger(request, account_id)
    audit_event(action="ledger.exported", actor=request.user, channel=AuditChannel.EXPORT, target=ledger.account,
                summary=f"Account ledger CSV: {ledger.account}"[:300])
    return csv_response(f"account-{ledger.account.code}.csv",
                        ["date", "entry", "kind", "memo", "department", "patient", "debit", "credit", "balance"], (
        [ln.entry_date.isoformat(), ln.entry_id, ln.entry.get_kind_display(), ln.memo or ln.entry.memo,
         ln.department.name if ln.department_id else "", ln.patient.display_name if ln.patient_id else "",
         _money_cell(max(ln.amount, 0)), _money_cell(max(-ln.amount, 0)), _amount_cell(ln.running * ledger.sign)]
        for ln in ledger.lines.iterator(chunk_size=2000)
    ))


# --- journal -------------------------------------------------------------------------------------------------


def _journal(request: HttpRequest):
    form = JournalFilterForm(request.GET or None, organization_id=request.user.organization_id)
    if form.is_bound and not form.is_valid():
        return form, None
    values = form.cleaned_data if form.is_bound else {}
    entries = reports.journal(
        user=request.user, date_from=values.get("date_from"), date_to=values.get("date_to"), kind=values.get("kind", ""),
        account=values.get("account"), department=values.get("department"),
    )
    return form, entries


@require_GET
@requires(Perm.LEDGER_VIEW)
def journal_list(request: HttpRequest) -> HttpResponse:
    """Posted entries, newest first, with filters by date, kind, account and department."""
    form, entries = _journal(request)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page")) if entries is not None else None
    return render(request, "ledger/journal.html", {
        "form": form, "page": page, "query": _query(request), "can_manage": request.user.has_perm_code(Perm.LEDGER_MANAGE),
    }, status=200 if entries is not None else 400)


@require_GET
@requires(Perm.LEDGER_VIEW)
def journal_export(request: HttpRequest) -> HttpResponse:
    """The journal as filtered, one row per line."""
    form, entries = _journal(request)
    if entries is None:
        return render(request, "ledger/journal.html", {"form": form, "page": None}, status=400)
    from .models import JournalLine

    ids = list(entries.values_list("pk", flat=True)[: EXPORT_MAX_ROWS + 1])
    if len(ids) > EXPORT_MAX_ROWS:
        messages.error(request, f"That is more than {EXPORT_MAX_ROWS:,} entries; narrow the filters before exporting.")
        return redirect(f"{reverse('ledger:journal')}?{request.GET.urlencode()}")
    audit_event(action="ledger.exported", actor=request.user, channel=AuditChannel.EXPORT,
                summary=f"Journal CSV: {len(ids)} entries")

    def rows():
        for start in range(0, len(ids), 2000):
            chunk = (JournalLine.objects.filter(entry_id__in=ids[start:start + 2000])
                     .select_related("entry", "account", "department", "patient", "item")
                     .order_by("-entry_date", "-entry_id", "id"))
            for ln in chunk:
                e = ln.entry
                yield [e.pk, e.entry_date.isoformat(), e.get_kind_display(), e.reference, e.memo, ln.account.code,
                       ln.account.name, ln.department.name if ln.department_id else "",
                       ln.patient.display_name if ln.patient_id else "", ln.item.description if ln.item_id else "",
                       _money_cell(max(ln.amount, 0)), _money_cell(max(-ln.amount, 0)), ln.memo]

    return csv_response("journal.csv", ["entry", "date", "kind", "reference", "entry memo", "account", "account name",
                                        "department", "patient", "item", "debit", "credit", "line memo"], rows())


@require_GET
@requires(Perm.LEDGER_VIEW)
def entry_detail(request: HttpRequest, journal_entry_id: int) -> HttpResponse:
    try:
        entry = reports.entry_detail(user=request.user, entry_id=journal_entry_id)
    except JournalEntry.DoesNotExist:
        raise Http404("No such entry.") from None
    for ln in entry.line_list:
        ln.debit, ln.credit = max(ln.amount, 0), max(-ln.amount, 0)
    can_reverse = (request.user.has_perm_code(Perm.LEDGER_MANAGE) and entry.reversal is None
                   and entry.kind != "reversal")
    return render(request, "ledger/entry_detail.html", {
        "entry": entry, "can_reverse": can_reverse, "reverse_form": ReverseForm() if can_reverse else None,
    })


@require_http_methods(["POST"])
@requires(Perm.LEDGER_MANAGE)
def entry_reverse(request: HttpRequest, journal_entry_id: int) -> HttpResponse:
    """Reverse an entry (a reason required); the reversal's page follows."""
    try:
        entry = reports.entry_detail(user=request.user, entry_id=journal_entry_id)
    except JournalEntry.DoesNotExist:
        raise Http404("No such entry.") from None
    form = ReverseForm(request.POST)
    if form.is_valid():
        try:
            reversal = services.manual_entry_reverse(entry=entry, reason=form.cleaned_data["reason"], actor=request.user,
                                                     entry_date=form.cleaned_data.get("entry_date"))
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(request, f"Entry {entry.pk} reversed by entry {reversal.pk}.")
            return redirect("ledger:entry", journal_entry_id=reversal.pk)
    for ln in entry.line_list:
        ln.debit, ln.credit = max(ln.amount, 0), max(-ln.amount, 0)
    return render(request, "ledger/entry_detail.html", {"entry": entry, "can_reverse": True, "reverse_form": form},
                  status=400)


@require_http_methods(["GET", "POST"])
@requires(Perm.LEDGER_MANAGE)
def entry_create(request: HttpRequest) -> HttpResponse:
    """A manual journal entry with as many lines as it needs; it posts only when it balances."""
    org_id = request.user.organization_id
    form = ManualEntryForm(request.POST or None, organization_id=org_id, initial={"entry_date": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            entry = services.manual_entry_post(
                organization=request.user.organization, entry_date=form.cleaned_data["entry_date"],
                memo=form.cleaned_data["memo"], actor=request.user,
                lines=[services.LineSpec(account=a, amount=amt, department=d, memo=m) for a, amt, d, m in form.lines],
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Entry {entry.pk} posted.")
            return redirect("ledger:entry", journal_entry_id=entry.pk)
    rows = form.rows or [{"account": "", "debit": "", "credit": "", "department": "", "memo": ""} for _ in range(2)]
    return render(request, "ledger/entry_form.html", {
        "form": form, "rows": rows, "accounts": form.accounts, "departments": form.departments,
    }, status=400 if form.errors else 200)


# --- trial balance -------------------------------------------------------------------------------------------


def _as_of(request: HttpRequest, form_class=AsOfForm):
    form = form_class(request.GET or None)
    return form, form.as_of_date()


@require_GET
@requires(Perm.LEDGER_VIEW)
def trial_balance(request: HttpRequest) -> HttpResponse:
    form, as_of = _as_of(request)
    report = reports.trial_balance(user=request.user, as_of=as_of)
    return render(request, "ledger/trial_balance.html", {"form": form, "report": report, "query": _query(request)},
                  status=400 if form.errors else 200)


@require_GET
@requires(Perm.LEDGER_VIEW)
def trial_balance_export(request: HttpRequest) -> HttpResponse:
    _form, as_of = _as_of(request)
    report = reports.trial_balance(user=request.user, as_of=as_of)
    audit_event(action="ledger.exported", actor=request.user, channel=AuditChannel.EXPORT,
                summary=f"Trial balance CSV as of {as_of.isoformat()}")
    rows = [[r.account.code, r.account.name, r.account.get_account_type_display(), _money_cell(r.debit),
             _money_cell(r.credit)] for r in report.rows]
    rows.append(["", "Total", "", _amount_cell(report.total_debit), _amount_cell(report.total_credit)])
    return csv_response(f"trial-balance-{as_of.isoformat()}.csv", ["number", "account", "type", "debit", "credit"], rows)


def _pdf(template: str, context: dict, filename: str) -> HttpResponse:
    from weasyprint import CSS, HTML  # imported here: loading Pango costs a moment and only these views need it

    html = render_to_string(template, context)
    stylesheet = finders.find("ledger/report-pdf.css")
    response = HttpResponse(HTML(string=html).write_pdf(stylesheets=[CSS(filename=stylesheet)] if stylesheet else None),
                            content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@requires(Perm.LEDGER_VIEW)
def trial_balance_pdf(request: HttpRequest) -> HttpResponse:
    _form, as_of = _as_of(request)
    report = reports.trial_balance(user=request.user, as_of=as_of)
    audit_event(action="ledger.printed", actor=request.user, channel=AuditChannel.PRINT,
                summary=f"Trial balance PDF as of {as_of.isoformat()}")
    return _pdf("ledger/pdf/trial_balance.html", {"report": report, "organization": request.user.organization,
                                                  "printed_at": timezone.localtime()},
                f"trial-balance-{as_of.isoformat()}.pdf")


# --- A/R aging -----------------------------------------------------------------------------------------------


def _aging(request: HttpRequest):
    form, as_of = _as_of(request, AgingForm)
    values = form.cleaned_data if form.is_valid() else {}
    by = values.get("by") or "patient"
    party_kind = values.get("party_kind") or None
    report = reports.ar_aging(user=request.user, as_of=as_of, by=by, party_kind=party_kind)
    return form, report


@require_GET
@requires(Perm.LEDGER_VIEW)
def aging(request: HttpRequest) -> HttpResponse:
    """A/R aging by patient or by payer as of a date; patient rows link to the patient's chart."""
    form, report = _aging(request)
    page = Paginator(report.rows, PAGE_SIZE).get_page(request.GET.get("page"))
    report.attach_patients(page.object_list)
    can_open_charts = request.user.has_perm_code(Perm.PATIENT_VIEW)
    shown = [r.patient for r in page if r.patient is not None]
    if shown:
        audit_events(action="patient.listed", actor=request.user, targets=shown,
                     summary=f"Shown in A/R aging as of {report.as_of.isoformat()}")
    return render(request, "ledger/aging.html", {
        "form": form, "report": report, "page": page, "query": _query(request), "buckets": reports.BUCKETS,
        "can_open_charts": can_open_charts, "today": timezone.localdate(),
    }, status=400 if form.errors else 200)


def _aging_rows(report):
    """The CSV's rows, patients looked up a chunk at a time as the file streams."""
    for start in range(0, len(report.rows), 2000):
        yield from _aging_cells(report, report.attach_patients(report.rows[start:start + 2000]))
    yield from _aging_cells(report, [report.totals])


def _aging_cells(report, chunk) -> list[list]:
    rows = []
    for r in chunk:
        row = [r.label]
        if report.by == "patient":
            row.append(r.patient.mrn if r.patient is not None else "")
        row.extend(_amount_cell(b) for b in r.buckets)
        if report.by == "patient":
            row.append(_amount_cell(r.credit))
        row.append(_amount_cell(r.total))
        rows.append(row)
    return rows


def _aging_header(report) -> list[str]:
    head = ["patient", "MRN"] if report.by == "patient" else ["payer"]
    head.extend(f"{b} days" for b in reports.BUCKETS)
    if report.by == "patient":
        head.append("unapplied credit")
    return [*head, "total"]


def _audit_patients(request: HttpRequest, report, *, action: str, channel: str, what: str) -> None:
    if report.by != "patient":
        return
    for start in range(0, len(report.rows), 5000):
        patients = [r.patient for r in report.attach_patients(report.rows[start:start + 5000]) if r.patient is not None]
        audit_events(action=action, actor=request.user, targets=patients, channel=channel,
                     summary=f"Included in {what} as of {report.as_of.isoformat()}")


@require_GET
@requires(Perm.LEDGER_VIEW)
def aging_export(request: HttpRequest) -> HttpResponse:
    _form, report = _aging(request)
    audit_event(action="ledger.exported", actor=request.user, channel=AuditChannel.EXPORT,
                summary=f"A/R aging CSV by {report.by} as of {report.as_of.isoformat()}")
    _audit_patients(request, report, action="patient.exported", channel=AuditChannel.EXPORT, what="an A/R aging CSV")
    return csv_response(f"ar-aging-{report.by}-{report.as_of.isoformat()}.csv", _aging_header(report), _aging_rows(report))


@require_GET
@requires(Perm.LEDGER_VIEW)
def aging_pdf(request: HttpRequest) -> HttpResponse:
    _form, report = _aging(request)
    audit_event(action="ledger.printed", actor=request.user, channel=AuditChannel.PRINT,
                summary=f"A/R aging PDF by {report.by} as of {report.as_of.isoformat()}")
    _audit_patients(request, report, action="patient.printed", channel=AuditChannel.PRINT, what="an A/R aging PDF")
    return _pdf("ledger/pdf/aging.html", {"report": report, "header": _aging_header(report), "rows": list(_aging_rows(report)),
                                          "organization": request.user.organization, "printed_at": timezone.localtime()},
                f"ar-aging-{report.by}-{report.as_of.isoformat()}.pdf")


# --- closing months ------------------------------------------------------------------------------------------


def _periods_page(request: HttpRequest, form: PeriodForm | None = None, status: int = 200) -> HttpResponse:
    return render(request, "ledger/periods.html", {
        "rows": periods.period_list(user=request.user), "form": form,
        "can_close": request.user.has_perm_code(Perm.PERIODS_CLOSE),
    }, status=status)


@require_GET
@requires(Perm.LEDGER_VIEW)
def period_list(request: HttpRequest) -> HttpResponse:
    """The last twelve months and this one: which are closed, by whom, and why a month was last reopened."""
    return _periods_page(request)


def _period_act(request: HttpRequest, act) -> HttpResponse:
    form = PeriodForm(request.POST)
    if form.is_valid():
        try:
            period = act(organization=request.user.organization, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"{period.month:%B %Y} is {'closed' if period.is_closed else 'open again'}.")
            return redirect("ledger:periods")
    return _periods_page(request, form, status=400)


@require_http_methods(["POST"])
@requires(Perm.PERIODS_CLOSE)
def period_close(request: HttpRequest) -> HttpResponse:
    return _period_act(request, lambda reason, **kw: periods.period_close(**kw))


@require_http_methods(["POST"])
@requires(Perm.PERIODS_CLOSE)
def period_reopen(request: HttpRequest) -> HttpResponse:
    return _period_act(request, periods.period_reopen)


# --- financial statements ------------------------------------------------------------------------------------


def _profit_and_loss(request: HttpRequest):
    form = ProfitLossForm(request.GET or None, organization_id=request.user.organization_id)
    values = form.cleaned_data if form.is_valid() else {}
    department = values.get("department")
    statement = statements.profit_and_loss(user=request.user, year=form.year_value(), by=values.get("by") or "month",
                                           department_id=department.pk if department else None)
    return form, statement


def _balance_sheet(request: HttpRequest):
    form, as_of = _as_of(request)
    return form, statements.balance_sheet(user=request.user, as_of=as_of)


def _cash_summary(request: HttpRequest):
    form = YearForm(request.GET or None)
    return form, statements.cash_summary(user=request.user, year=form.year_value())


STATEMENTS = {"profit_loss": _profit_and_loss, "balance_sheet": _balance_sheet, "cash_summary": _cash_summary}


@require_GET
@requires(Perm.LEDGER_VIEW)
def statement(request: HttpRequest, which: str) -> HttpResponse:
    """A statement on screen with its downloads: profit and loss, the balance sheet or the cash summary."""
    form, report = STATEMENTS[which](request)
    return render(request, "ledger/statement.html", {
        "form": form, "statement": report, "which": which, "query": _query(request), "section": which,
        "export_url": reverse(f"ledger:{which}_export"), "xlsx_url": reverse(f"ledger:{which}_xlsx"),
        "pdf_url": reverse(f"ledger:{which}_pdf"),
    }, status=400 if form.errors else 200)


@require_GET
@requires(Perm.LEDGER_VIEW)
def statement_download(request: HttpRequest, which: str, fmt: str) -> HttpResponse:
    """The statement as CSV, XLSX or PDF; each download is audited."""
    _form, report = STATEMENTS[which](request)
    head, rows = report.table()
    name = f"{report.slug}.{fmt}"
    if fmt == "pdf":
        audit_event(action="ledger.printed", actor=request.user, channel=AuditChannel.PRINT,
                    summary=f"{report.title} PDF: {report.subtitle}"[:300])
        return _pdf("ledger/pdf/statement.html", {"statement": report, "organization": request.user.organization,
                                                  "printed_at": timezone.localtime()}, name)
    audit_event(action="ledger.exported", actor=request.user, channel=AuditChannel.EXPORT,
                summary=f"{report.title} {fmt.upper()}: {report.subtitle}"[:300])
    if fmt == "xlsx":
        return xlsx_response(name, head, rows, sheet_title=report.title)
    return csv_response(name, head, rows)


# --- budgets -------------------------------------------------------------------------------------------------


def _budget_scope(request: HttpRequest, data=None):
    form = BudgetScopeForm(data if data is not None else (request.GET or None),
                           organization_id=request.user.organization_id)
    values = form.cleaned_data if form.is_valid() else {}
    return form, form.year_value(), values.get("department")


@require_GET
@requires(Perm.LEDGER_VIEW)
def budget_grid(request: HttpRequest) -> HttpResponse:
    """A department's year on a grid: one row an account, one column a month; arrows and Tab move between cells."""
    form, year, department = _budget_scope(request)
    return _budget_grid_page(request, form, year, department)


@require_http_methods(["POST"])
@requires(Perm.BUDGETS_MANAGE)
def budget_grid_save(request: HttpRequest) -> HttpResponse:
    """Save the grid: every cell is checked first, and one bad cell saves nothing and is named."""
    form, year, department = _budget_scope(request, request.POST)
    typed = {(int(a), int(m)): v for key, v in request.POST.items() if key.startswith("cell-")
             for a, m in [key.split("-")[1:3]] if a.isdigit() and m.isdigit()}
    if department is None:
        return _budget_grid_page(request, form, year, department, typed, ["Choose the department whose budget this is."])
    try:
        written = budgets.budget_grid_save(organization=request.user.organization, department=department,
                                           year=year, cells=typed, actor=request.user)
    except ValidationError as exc:
        return _budget_grid_page(request, form, year, department, typed, exc.messages)
    messages.success(request, f"Budget {year} for {department.name} saved ({written} cells).")
    return redirect(f"{reverse('ledger:budget_grid')}?year={year}&department={department.pk}")


def _budget_grid_page(request: HttpRequest, form, year: int, department, typed: dict | None = None,
                      errors: list[str] | None = None) -> HttpResponse:
    typed = typed or {}
    accounts = list(Account.objects.filter(organization_id=request.user.organization_id,
                                           account_type__in=statements.PL_TYPES, is_active=True).order_by("code"))
    saved = {}
    if department is not None:
        saved = {(b.account_id, b.month.month): b.amount for b in Budget.objects.filter(
            organization_id=request.user.organization_id, department=department, month__year=year)}
    rows = [{"account": a, "cells": [
        {"month": m, "name": f"cell-{a.pk}-{m}",
         "value": typed.get((a.pk, m), saved[(a.pk, m)].quantize(CENT) if (a.pk, m) in saved else "")}
        for m in range(1, 13)]} for a in accounts]
    return render(request, "ledger/budget_grid.html", {
        "form": form, "year": year, "department": department, "rows": rows, "errors": errors or [],
        "months": budgets.year_months(year), "can_manage": request.user.has_perm_code(Perm.BUDGETS_MANAGE),
        "section": "budgets",
    }, status=400 if errors else 200)


@require_http_methods(["GET", "POST"])
@requires(Perm.BUDGETS_MANAGE)
def budget_import(request: HttpRequest) -> HttpResponse:
    """Budget cells from a CSV or XLSX file; a bad row is named and nothing is saved."""
    def done(written: int) -> HttpResponse:
        messages.success(request, f"{written} budget cells imported.")
        return redirect("ledger:budget_vs_actual")

    return _file_import(request, BudgetImportForm, budgets.budget_import, done, "ledger/budget_import.html", "budgets")


def _file_import(request: HttpRequest, form_class, service, done, template: str, section: str) -> HttpResponse:
    """An uploaded CSV or XLSX handed to an import service; its messages (naming the rows) go on the file field."""
    form = form_class(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            rows = [values for _, values in sheet_rows(upload)]
            result = service(organization=request.user.organization, rows=rows, actor=request.user)
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error("file", message)
        else:
            return done(result)
    return render(request, template, {"form": form, "section": section}, status=400 if form.errors else 200)


def _budget_report(request: HttpRequest):
    form, year, department = _budget_scope(request)
    return form, budgets.budget_vs_actual(user=request.user, year=year,
                                          department_id=department.pk if department else None)


@require_GET
@requires(Perm.LEDGER_VIEW)
def budget_vs_actual(request: HttpRequest) -> HttpResponse:
    """Budget against actual by account with the variance and the forecast to year end, and a chart of the
    month-by-month expenses."""
    form, report = _budget_report(request)
    expenses = report.totals("expense")
    chart = {"labels": [m.strftime("%b") for m in report.months],
             "budget": [str(v) for v in expenses["budget"]], "actual": [str(v) for v in expenses["actual"]]}
    return render(request, "ledger/budget_vs_actual.html", {
        "form": form, "report": report, "chart": chart, "query": _query(request), "section": "budgets",
        "can_manage": request.user.has_perm_code(Perm.BUDGETS_MANAGE),
    }, status=400 if form.errors else 200)


@require_GET
@requires(Perm.LEDGER_VIEW)
def budget_vs_actual_export(request: HttpRequest) -> HttpResponse:
    _form, report = _budget_report(request)
    audit_event(action="ledger.exported", actor=request.user, channel=AuditChannel.EXPORT,
                summary=f"Budget against actual CSV {report.year}")
    return csv_response(f"budget-vs-actual-{report.year}.csv",
                        ["account", "name", "type", "budget", "actual", "variance", "forecast to year end"], (
        [ln.account.code, ln.account.name, ln.account.get_account_type_display(), _amount_cell(ln.total_budget),
         _amount_cell(ln.total_actual), _amount_cell(ln.variance), _amount_cell(ln.forecast)] for ln in report.lines
    ))


# --- vendor bills --------------------------------------------------------------------------------------------

BILL_STATUSES = [("due", "Due"), ("overdue", "Overdue"), ("paid", "Paid"), ("", "All")]


def _bill(request: HttpRequest, bill_id) -> Bill:
    bill = bills.bill_list(user=request.user).filter(pk=bill_id).first() if str(bill_id).isdigit() else None
    if bill is None:
        raise Http404("No such bill.")
    return bill


@require_GET
@requires(Perm.LEDGER_VIEW)
def bill_list(request: HttpRequest) -> HttpResponse:
    """Vendor bills: due (soonest first), overdue, paid; each links its receipt and, unpaid, can be paid."""
    status = request.GET.get("status", "due")
    status = status if status in dict(BILL_STATUSES) else "due"
    page = Paginator(bills.bill_list(user=request.user, status=status), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "ledger/bills.html", {
        "page": page, "status": status, "statuses": BILL_STATUSES, "today": timezone.localdate(),
        "can_manage": request.user.has_perm_code(Perm.BILLS_MANAGE), "section": "bills",
    })


@require_GET
@requires(Perm.LEDGER_VIEW)
def bill_export(request: HttpRequest) -> HttpResponse:
    audit_event(action="ledger.exported", actor=request.user, channel=AuditChannel.EXPORT, summary="Vendor bills CSV")
    return csv_response("vendor-bills.csv", ["vendor", "invoice", "bill date", "due", "account", "department",
                                             "amount", "paid on"], (
        [b.vendor.name, b.number, b.bill_date.isoformat(), b.due_date.isoformat(), b.account.code,
         b.department.name if b.department_id else "", _amount_cell(b.amount),
         b.paid_on.isoformat() if b.paid_on else ""]
        for b in bills.bill_list(user=request.user, status=request.GET.get("status", "")).iterator(chunk_size=2000)
    ))


@require_http_methods(["GET", "POST"])
@requires(Perm.BILLS_MANAGE)
def bill_create(request: HttpRequest) -> HttpResponse:
    form = BillForm(request.POST or None, request.FILES or None, organization_id=request.user.organization_id)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            bill = bills.bill_enter(
                organization=request.user.organization, vendor_name=data["vendor"], number=data["number"],
                bill_date=data["bill_date"], due_date=data["due_date"], account=data["account"],
                department=data["department"], amount=data["amount"], memo=data["memo"], receipt=data["receipt"],
                actor=request.user)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Bill from {bill.vendor.name} for {bill.amount} entered.")
            return redirect("ledger:bills")
    return render(request, "ledger/bill_form.html", {"form": form, "section": "bills"},
                  status=400 if form.errors else 200)


@require_http_methods(["POST"])
@requires(Perm.BILLS_MANAGE)
def bill_pay(request: HttpRequest) -> HttpResponse:
    form = BillPayForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the day the bill was paid.")
        return redirect("ledger:bills")
    bill = _bill(request, form.cleaned_data["bill"])
    bank_account = None
    if form.cleaned_data.get("bank_account"):
        bank_account = (BankAccount.objects.filter(organization_id=request.user.organization_id,
                                                   pk=form.cleaned_data["bank_account"]).select_related("account").first())
        if bank_account is None:
            raise Http404("No such bank account.")
    try:
        bills.bill_pay(bill=bill, paid_on=form.cleaned_data["paid_on"], actor=request.user, bank_account=bank_account)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Bill from {bill.vendor.name} paid"
                                  f"{' from ' + bank_account.name if bank_account else ''}.")
    return redirect("ledger:bills_due" if request.POST.get("return_to") == "due" else "ledger:bills")


@require_GET
@requires(Perm.LEDGER_VIEW)
def bill_receipt(request: HttpRequest) -> HttpResponse:
    """A bill's receipt, served with the type its content was checked to be."""
    bill = _bill(request, request.GET.get("bill", ""))
    if not bill.receipt:
        raise Http404("This bill has no receipt.")
    audit_event(action="ledger.receipt_viewed", actor=request.user, target=bill, organization_id=bill.organization_id,
                summary=f"Receipt of the bill from {bill.vendor.name}"[:300])
    response = FileResponse(bill.receipt.open("rb"), content_type=bill.receipt_type or "application/octet-stream")
    response["Content-Disposition"] = f'inline; filename="receipt-{bill.pk}{bill.receipt.name[-4:]}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_http_methods(["GET", "POST"])
@requires(Perm.BILLS_MANAGE)
def payroll_import(request: HttpRequest) -> HttpResponse:
    """A payroll summary file (CSV or XLSX) posted as one entry; a bad row is named and nothing is posted."""
    def done(entry) -> HttpResponse:
        messages.success(request, f"Payroll posted as entry {entry.pk}.")
        return redirect("ledger:entry", journal_entry_id=entry.pk)

    return _file_import(request, PayrollImportForm, payroll.payroll_import, done, "ledger/payroll_import.html", "bills")


# --- vendors -------------------------------------------------------------------------------------------------------


@require_GET
@requires(Perm.LEDGER_VIEW)
def vendor_list(request: HttpRequest) -> HttpResponse:
    """The practice's vendors with the e-mail address their purchase orders go to; paged."""
    page = Paginator(vendors.vendor_list(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "ledger/vendor_list.html", {
        "page": page, "can_manage": request.user.has_perm_code(Perm.BILLS_MANAGE), "section": "bills"})


def _vendor_form(request: HttpRequest, vendor) -> HttpResponse:
    initial = {"name": vendor.name, "email": vendor.email} if vendor else {}
    form = VendorForm(request.POST or None, initial=initial)

    def save(form):
        return vendors.vendor_save(organization=request.user.organization, actor=request.user, vendor=vendor,
                                   **form.cleaned_data)

    return form_round_trip(request, form, save, template="ledger/vendor_form.html",
                           context={"vendor": vendor, "section": "bills"},
                           done=lambda saved: (f"Saved vendor {saved.name}.", reverse("ledger:vendors")))


@require_http_methods(["GET", "POST"])
@requires(Perm.BILLS_MANAGE)
def vendor_create(request: HttpRequest) -> HttpResponse:
    return _vendor_form(request, None)


@require_http_methods(["GET", "POST"])
@requires(Perm.BILLS_MANAGE)
def vendor_edit(request: HttpRequest, vendor_id: int) -> HttpResponse:
    """Change a vendor's name or e-mail address (another practice's vendor is not found)."""
    vendor = vendors.vendor_scope(user=request.user).filter(pk=vendor_id).first()
    if vendor is None:
        raise Http404("No such vendor.")
    return _vendor_form(request, vendor)
