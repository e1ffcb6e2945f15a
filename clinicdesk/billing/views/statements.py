"""Statement pages: the runs, a new run (preview, then start), a run's live progress and results, its print batch,
one statement's PDF, an account's statement history, and the dunning policy.

Runs, print batches and the policy need STATEMENTS_RUN (the biller, office manager and administrator: the people
who run collections day to day; PRACTICE_MANAGE would leave the biller out). A statement's PDF and an account's
history need only BILLING_VIEW, so the front desk can answer "what is this bill?" on the phone. Every read of a
guarantor's statement is audited.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_event, audit_events
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.money import format_money
from clinicdesk.core.permissions import Perm

from ..choices import DunningLevel, StatementRunStatus, StatementSkipReason
from ..models import AccountDunning
from ..selectors import statements as selectors
from ..services import statements as services
from ..statement_forms import DunningPolicyForm, StatementRunForm

PAGE_SIZE = 50


def _pdf(data: bytes, filename: str, *, download: bool = False) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'{"attachment" if download else "inline"}; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _form_errors(form, exc: ValidationError) -> None:
    for name, errors in exc.message_dict.items():
        form.add_error(name if name in form.fields else None, errors)


@requires(Perm.STATEMENTS_RUN)
@require_GET
def statement_runs(request: HttpRequest) -> HttpResponse:
    runs = selectors.statement_runs(actor=request.user)
    if request.GET.get("format") == "csv":
        return csv_response("statement-runs.csv", ["Statement date", "Cut-off", "Status", "E-mailed", "Printed",
                                                   "Written off", "Skipped", "Total due", "Started", "Finished", "By"],
                            ([r.statement_date, r.cutoff, r.get_status_display(), r.emailed_count, r.printed_count,
                              r.written_off_count, r.skipped_count, r.total_due, r.started_at, r.finished_at,
                              r.created_by.get_full_name() if r.created_by else ""] for r in runs.iterator()))
    page = Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "billing/statements/runs.html", {"page": page})


@requires(Perm.STATEMENTS_RUN)
@require_http_methods(["GET", "POST"])
def statement_run_new(request: HttpRequest) -> HttpResponse:
    """Settings, then a preview of what the run would do; saving makes a draft to start from its page."""
    from django.utils import timezone

    organization = request.user.organization
    policy = services.dunning_policy_for(organization=organization)
    form = StatementRunForm(request.POST or None, initial={
        "statement_date": timezone.localdate(), "minimum_balance": policy.minimum_statement_balance,
        "days_since_last": policy.days_between_statements})
    preview = None
    if request.method == "POST" and form.is_valid():
        settings = {name: form.cleaned_data[name] for name in ("statement_date", "cutoff", "minimum_balance", "days_since_last")}
        try:
            if "save" in request.POST:
                run = services.statement_run_create(actor=request.user, organization=organization, **settings)
                messages.success(request, "Statement run saved as a draft. Check the numbers, then start it.")
                return redirect("billing:statement_run_detail", run.pk)
            preview = services.statement_run_preview(organization=organization, **settings)
        except ValidationError as exc:
            _form_errors(form, exc)
    return render(request, "billing/statements/run_new.html",
                  {"form": form, "preview": _preview_rows(preview) if preview else None, "counts": preview},
                  status=400 if form.errors else 200)


def _preview_rows(preview: dict) -> list[tuple[str, object]]:
    rows = [("Statements", preview["statements"]), ("by e-mail", preview["email"]), ("to print", preview["print"]),
            ("Total due on them", format_money(Decimal(preview["total_due"])))]
    rows += [(DunningLevel(int(level)).label, count) for level, count in preview.get("levels", {}).items() if count]
    rows += [("Small balances to write off", preview["write_offs"]), ("Accounts to put on collections hold", preview["holds"])]
    rows += [(f"Skipped: {StatementSkipReason(reason).label.lower()}", count) for reason, count in preview["skipped"].items()]
    return rows


@requires(Perm.STATEMENTS_RUN)
@require_GET
def statement_run_detail(request: HttpRequest, statement_run_id: int) -> HttpResponse:
    run = selectors.statement_run_get(actor=request.user, run_id=statement_run_id)
    context = {"run": run, "preview": _preview_rows(run.preview) if run.preview else []}
    if request.headers.get("HX-Request") and run.status == StatementRunStatus.RUNNING:
        return render(request, "billing/statements/run_progress.html", context)
    if run.status == StatementRunStatus.DONE:
        statements = selectors.run_statements(actor=request.user, run=run)
        context["page"] = Paginator(statements, PAGE_SIZE).get_page(request.GET.get("page"))
    if request.headers.get("HX-Request"):
        # The run finished while the page was polling: the whole page again (results included).
        response = HttpResponse()
        response["HX-Refresh"] = "true"
        return response
    return render(request, "billing/statements/run_detail.html", context)


@requires(Perm.STATEMENTS_RUN)
@require_POST
def statement_run_start(request: HttpRequest, statement_run_id: int) -> HttpResponse:
    run = selectors.statement_run_get(actor=request.user, run_id=statement_run_id)
    try:
        services.statement_run_start(actor=request.user, run=run)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "The statements are being made; this page follows their progress.")
    return redirect("billing:statement_run_detail", run.pk)


@requires(Perm.STATEMENTS_RUN)
@require_GET
def statement_run_results(request: HttpRequest, statement_run_id: int) -> HttpResponse:
    """The run's results as CSV: every statement and how it went out, then every skipped account and why."""
    run = selectors.statement_run_get(actor=request.user, run_id=statement_run_id)
    statements = list(selectors.run_statements(actor=request.user, run=run))
    audit_events(action="statement.exported", actor=request.user, targets=statements, channel=AuditChannel.EXPORT,
                 summary=f"In the results of the statement run of {run.statement_date:%m/%d/%Y}")
    rows = [[s.account.number, s.account.guarantor_name, "statement", s.get_status_display(), s.amount_due,
             s.get_dunning_level_display(), s.aging_current, s.aging_31_60, s.aging_61_90, s.aging_91_120, s.aging_over_120,
             s.message.get_state_display() if s.message else ""] for s in statements]
    rows += [[row["number"], row["name"], "skipped", row["label"], row["amount"], "", "", "", "", "", "", row.get("note", "")]
             for row in run.skipped]
    return csv_response(f"statement-run-{run.statement_date:%Y-%m-%d}.csv",
                        ["Account", "Guarantor", "Result", "Status or reason", "Amount", "Dunning level", "Current",
                         "31-60", "61-90", "91-120", "Over 120", "Note"], rows)


@requires(Perm.STATEMENTS_RUN)
@require_GET
def statement_run_print_batch(request: HttpRequest, statement_run_id: int) -> HttpResponse:
    """One PDF of the run's paper statements for the office printer; each statement printed is audited."""
    run = selectors.statement_run_get(actor=request.user, run_id=statement_run_id)
    try:
        data = services.print_batch_bytes(run=run)
    except ValidationError as exc:
        messages.info(request, " ".join(exc.messages))
        return redirect("billing:statement_run_detail", run.pk)
    printed = list(selectors.run_statements(actor=request.user, run=run).filter(status="print"))
    audit_events(action="statement.printed", actor=request.user, targets=printed, channel=AuditChannel.EXPORT,
                 summary=f"Print batch of the statement run of {run.statement_date:%m/%d/%Y}")
    return _pdf(data, f"statements-{run.statement_date:%Y-%m-%d}-print.pdf", download=True)


@requires(Perm.BILLING_VIEW)
@require_GET
def statement_pdf(request: HttpRequest, statement_id: str) -> HttpResponse:
    statement = selectors.statement_get(actor=request.user, public_id=statement_id)
    try:
        data = services.statement_pdf_read(statement=statement)
    except (FileNotFoundError, ValidationError) as exc:
        messages.error(request, f"The statement's PDF cannot be shown: {exc}")
        return redirect("billing:account_statements", statement.account.public_id)
    audit_event(action="statement.viewed", actor=request.user, target=statement, patient=statement.account.guarantor_patient,
                summary=f"Statement of {statement.statement_date:%m/%d/%Y} for account {statement.account.number}")
    return _pdf(data, f"statement-{statement.account.number}-{statement.statement_date:%Y-%m-%d}.pdf")


@requires(Perm.BILLING_VIEW)
@require_GET
def account_statements(request: HttpRequest, account_public_id: str) -> HttpResponse:
    account = selectors.account_get(actor=request.user, public_id=account_public_id)
    statements = selectors.account_statements(actor=request.user, account=account)
    audit_event(action="statement_history.viewed", actor=request.user, target=account, patient=account.guarantor_patient,
                channel=AuditChannel.EXPORT if request.GET.get("format") == "csv" else None,
                summary=f"Statement history of account {account.number}")
    if request.GET.get("format") == "csv":
        return csv_response(f"statements-{account.number}.csv",
                            ["Statement date", "Previous balance", "New charges", "Insurance paid/adj.", "Payments",
                             "Adjustments", "Amount due", "Dunning level", "Delivery", "Status"],
                            ([s.statement_date, s.previous_balance, s.new_charges, s.insurance_adjusted, s.payments,
                              s.adjustments, s.amount_due, s.get_dunning_level_display(), s.get_delivery_display(),
                              s.get_status_display()] for s in statements.iterator()))
    dunning = AccountDunning.objects.filter(account=account).first()
    page = Paginator(statements, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "billing/statements/account_history.html", {"account": account, "page": page, "dunning": dunning})


@requires(Perm.STATEMENTS_RUN)
@require_http_methods(["GET", "POST"])
def dunning_policy(request: HttpRequest) -> HttpResponse:
    organization = request.user.organization
    policy = services.dunning_policy_for(organization=organization)
    initial = {name: getattr(policy, name) for name in services.POLICY_FIELDS}
    form = DunningPolicyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.dunning_policy_save(actor=request.user, organization=organization, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Dunning and statement rules saved.")
            return redirect("billing:dunning_policy")
    return render(request, "billing/statements/policy.html", {"form": form}, status=400 if form.errors else 200)
