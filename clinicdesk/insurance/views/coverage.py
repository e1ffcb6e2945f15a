"""Pages of the coverage side of insurance: payer set-up (clearinghouses, payers, plans, CSV import and export),
the patient chart's Insurance tab with coverages, cards and prior authorisations, and the check-in panel."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.csv_import_views import CsvImport
from clinicdesk.core.permissions import Perm
from clinicdesk.patients.selectors.records import patient_for_change

from .. import forms_coverage as f
from ..choices import CoverageRank
from ..models import Coverage
from ..selectors import coverage as sel
from ..services import coverage as svc


def _status(form) -> int:
    return 400 if form.is_bound and form.errors else 200


# --- clearinghouses ------------------------------------------------------------------------------------------


@require_GET
@requires(Perm.PAYERS_MANAGE)
def clearinghouse_list(request: HttpRequest) -> HttpResponse:
    return render(request, "insurance/coverage/clearinghouse_list.html",
                  {"clearinghouses": sel.clearinghouse_list(actor=request.user)})


@require_http_methods(["GET", "POST"])
@requires(Perm.PAYERS_MANAGE)
def clearinghouse_edit(request: HttpRequest, clearinghouse_id: int | None = None) -> HttpResponse:
    house = sel.clearinghouse_get(actor=request.user, clearinghouse_id=clearinghouse_id) if clearinghouse_id else None
    initial = {k: getattr(house, k) for k in svc.CLEARINGHOUSE_FIELDS} if house else {}
    form = f.ClearinghouseForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            house = svc.clearinghouse_save(organization=request.user.organization, actor=request.user,
                                           clearinghouse=house, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Clearinghouse {house.name} saved.")
            return redirect("insurance:clearinghouse_list")
    return render(request, "insurance/coverage/setup_form.html",
                  {"form": form, "title": f"Clearinghouse {house.name}" if house else "New clearinghouse",
                   "back": "insurance:clearinghouse_list"}, status=_status(form))


# --- payers and plans ----------------------------------------------------------------------------------------

PAYER_EXPORT_HEADER = [*svc.PAYER_CSV_HEADER, "active", "plans", "active_coverages"]


@require_GET
@requires(Perm.PAYERS_MANAGE)
def payer_list(request: HttpRequest) -> HttpResponse:
    """The practice's payers; ?format=csv gives the import's columns (so it can be edited and imported back)."""
    query = (request.GET.get("q") or "").strip()[:100]
    rows = sel.payer_list(actor=request.user, query=query)
    if request.GET.get("format") == "csv":
        return csv_response("payers.csv", PAYER_EXPORT_HEADER, (
            [p.payer_identifier, p.name, p.claim_filing_indicator, p.address_line1, p.address_line2, p.city, p.state,
             p.postal_code, p.phone, p.clearinghouse.name if p.clearinghouse else "paper", p.timely_filing_days,
             "yes" if p.is_active else "no", p.plan_count, p.coverage_count]
            for p in rows))
    return render(request, "insurance/coverage/payer_list.html", {"payers": rows, "q": query})


@require_http_methods(["GET", "POST"])
@requires(Perm.PAYERS_MANAGE)
def payer_edit(request: HttpRequest, payer_id: int | None = None) -> HttpResponse:
    payer = sel.payer_get(actor=request.user, payer_id=payer_id) if payer_id else None
    initial = {k: getattr(payer, k) for k in svc.PAYER_FIELDS} if payer else {}
    form = f.PayerForm(request.POST or None, initial=initial, organization_id=request.user.organization_id)
    if request.method == "POST" and form.is_valid():
        try:
            payer = svc.payer_save(organization=request.user.organization, actor=request.user, payer=payer,
                                   **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Payer {payer.name} saved.")
            return redirect("insurance:payer_detail", payer_id=payer.pk)
    return render(request, "insurance/coverage/setup_form.html",
                  {"form": form, "title": f"Payer {payer.name}" if payer else "New payer",
                   "back": "insurance:payer_list"}, status=_status(form))


@require_GET
@requires(Perm.PAYERS_MANAGE)
def payer_detail(request: HttpRequest, payer_id: int) -> HttpResponse:
    payer = sel.payer_get(actor=request.user, payer_id=payer_id)
    return render(request, "insurance/coverage/payer_detail.html", {"payer": payer, "plans": list(payer.plans.all()),
                                                                     "rule_count": payer.rules.count()})


@require_http_methods(["GET", "POST"])
@requires(Perm.PAYERS_MANAGE)
def plan_edit(request: HttpRequest, payer_id: int, insurance_plan_id: int | None = None) -> HttpResponse:
    payer = sel.payer_get(actor=request.user, payer_id=payer_id)
    plan = sel.plan_get(actor=request.user, plan_id=insurance_plan_id) if insurance_plan_id else None
    if plan is not None and plan.payer_id != payer.pk:
        raise Http404("No such plan.")
    initial = {k: getattr(plan, k) for k in svc.PLAN_FIELDS} if plan else {}
    form = f.PlanForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            plan = svc.plan_save(payer=payer, actor=request.user, plan=plan, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Plan {plan.name} saved.")
            return redirect("insurance:payer_detail", payer_id=payer.pk)
    return render(request, "insurance/coverage/setup_form.html",
                  {"form": form, "title": f"{payer.name}: {'plan ' + plan.name if plan else 'new plan'}",
                   "back": "insurance:payer_list"}, status=_status(form))


@require_http_methods(["GET", "POST"])
@requires(Perm.PAYERS_MANAGE)
def payer_import(request: HttpRequest) -> HttpResponse:
    """Step 1: choose a file, see what every line would do (nothing saved). Step 2: confirm, and it is imported."""
    return CsvImport(
        upload_form=f.PayerImportForm, confirm_form=f.PayerImportConfirmForm,
        template="insurance/coverage/payer_import.html",
        run=lambda **kw: svc.payer_import(organization=request.user.organization, actor=request.user, **kw),
        decode=svc.decode_import_file, done_url=reverse("insurance:payer_list"), done_message=_payers_imported,
        context={"unit": "line"},
    ).response(request)


def _payers_imported(result, file_name: str) -> str:
    c = result.counts
    return f"Payers imported: {c['new']} new, {c['updated']} updated, {c['unchanged']} unchanged."


# --- the patient chart's Insurance tab -----------------------------------------------------------------------


def insurance_tab(request: HttpRequest, patient) -> dict:
    """What the Insurance tab shows: coverages (active first), their cards and authorisations; the read is audited."""
    coverages = sel.coverage_list(actor=request.user, patient=patient)
    for c in coverages:
        c.authorizations = list(sel.authorization_list(actor=request.user, coverage=c))
    return {"coverages": coverages, "has_content": True, "today": timezone.localdate(),
            "can_manage": request.user.has_perm_code(Perm.COVERAGE_MANAGE),
            "active_count": sum(1 for c in coverages if c.is_active)}


def _coverage_initial(coverage: Coverage | None) -> dict:
    if coverage is None:
        return {}
    return {k: (getattr(coverage, k) if k not in ("payer", "plan") else getattr(coverage, f"{k}_id"))
            for k in svc.COVERAGE_FIELDS}


def _patient_tab_url(patient) -> str:
    return reverse("patients:detail", args=[patient.public_id]) + "?tab=insurance"


@require_http_methods(["GET", "POST"])
@requires(Perm.COVERAGE_VIEW, Perm.COVERAGE_MANAGE)
def coverage_create(request: HttpRequest, patient_id: str) -> HttpResponse:
    patient = patient_for_change(actor=request.user, public_id=patient_id)
    taken = {c.rank for c in sel.coverage_list(actor=request.user, patient=patient, audit=False, include_ended=False)}
    free = next((r for r in CoverageRank.values if r not in taken), CoverageRank.PRIMARY)
    form = f.CoverageForm(request.POST or None, initial={"rank": free}, organization_id=request.user.organization_id)
    if request.method == "POST" and form.is_valid():
        try:
            coverage = svc.coverage_create(patient=patient, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"{coverage.get_rank_display()} coverage with {coverage.payer.name} added.")
            return redirect(_patient_tab_url(patient))
    return render(request, "insurance/coverage/coverage_form.html",
                  {"form": form, "patient": patient, "coverage": None}, status=_status(form))


@require_http_methods(["GET", "POST"])
@requires(Perm.COVERAGE_VIEW, Perm.COVERAGE_MANAGE)
def coverage_edit(request: HttpRequest, coverage_id: str) -> HttpResponse:
    coverage = sel.coverage_get(actor=request.user, public_id=coverage_id)
    form = f.CoverageForm(request.POST or None, initial=_coverage_initial(coverage), editing=True,
                          organization_id=request.user.organization_id)
    if request.method == "POST" and form.is_valid():
        try:
            svc.coverage_update(coverage=coverage, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Coverage saved.")
            return redirect(_patient_tab_url(coverage.patient))
    return render(request, "insurance/coverage/coverage_form.html",
                  {"form": form, "patient": coverage.patient, "coverage": coverage,
                   "end_form": f.CoverageEndForm(initial={"ended_on": timezone.localdate()}),
                   "card_form": f.CardUploadForm(),
                   "authorizations": sel.authorization_list(actor=request.user, coverage=coverage)},
                  status=_status(form))


@require_POST
@requires(Perm.COVERAGE_VIEW, Perm.COVERAGE_MANAGE)
def coverage_end(request: HttpRequest, coverage_id: str) -> HttpResponse:
    coverage = sel.coverage_get(actor=request.user, public_id=coverage_id, audit=False)
    form = f.CoverageEndForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError({"ended_on": "Enter the last day covered."})
        svc.coverage_end(coverage=coverage, actor=request.user, on=form.cleaned_data["ended_on"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("insurance:coverage_edit", coverage_id=coverage.public_id)
    messages.success(request, f"Coverage with {coverage.payer.name} ended.")
    return redirect(_patient_tab_url(coverage.patient))


@require_POST
@requires(Perm.COVERAGE_VIEW, Perm.COVERAGE_MANAGE)
def coverage_reorder(request: HttpRequest, patient_id: str) -> HttpResponse:
    """Move one active coverage up a rank (?coverage=<id>&move=up), swapping with the one above, in one transaction."""
    patient = patient_for_change(actor=request.user, public_id=patient_id)
    active = sel.coverage_list(actor=request.user, patient=patient, audit=False, include_ended=False)
    ids = [c.public_id for c in active]
    moved = request.POST.get("coverage", "")
    if moved in ids:
        i = ids.index(moved)
        j = i - 1 if request.POST.get("move") == "up" else i + 1
        if 0 <= j < len(active):
            active[i], active[j] = active[j], active[i]
            try:
                svc.coverage_reorder(patient=patient, actor=request.user, order=active)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, "Coverages reordered.")
    else:
        messages.error(request, "Choose one of the patient's active coverages.")
    return redirect(_patient_tab_url(patient))


@require_POST
@requires(Perm.COVERAGE_VIEW, Perm.COVERAGE_MANAGE, Perm.DOCUMENT_UPLOAD)
def coverage_card_upload(request: HttpRequest, coverage_id: str) -> HttpResponse:
    coverage = sel.coverage_get(actor=request.user, public_id=coverage_id, audit=False)
    form = f.CardUploadForm(request.POST, request.FILES)
    try:
        if not form.is_valid():
            raise ValidationError({k: list(v) for k, v in form.errors.items()})
        svc.coverage_card_upload(coverage=coverage, actor=request.user, side=form.cleaned_data["side"],
                                 file=form.cleaned_data["file"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Card picture filed.")
    return redirect("insurance:coverage_edit", coverage_id=coverage.public_id)


# --- prior authorisations ------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@requires(Perm.COVERAGE_VIEW, Perm.COVERAGE_MANAGE)
def authorization_edit(request: HttpRequest, coverage_id: str | None = None,
                       authorization_id: int | None = None) -> HttpResponse:
    auth = sel.authorization_get(actor=request.user, authorization_id=authorization_id) if authorization_id else None
    coverage = auth.coverage if auth else sel.coverage_get(actor=request.user, public_id=coverage_id, audit=False)
    initial = {k: getattr(auth, k) for k in svc.AUTH_FIELDS} if auth else {"starts_on": timezone.localdate()}
    form = f.AuthorizationForm(request.POST or None, initial=initial)
    if request.method == "POST" and request.POST.get("delete") and auth is not None:
        try:
            svc.authorization_delete(authorization=auth, actor=request.user)
        except ValidationError as exc:
            form = f.AuthorizationForm(initial=initial)
            form.add_service_errors(exc)
            return render(request, "insurance/coverage/authorization_form.html",
                          {"form": form, "coverage": coverage, "auth": auth}, status=400)
        messages.success(request, "Authorisation deleted.")
        return redirect("insurance:coverage_edit", coverage_id=coverage.public_id)
    if request.method == "POST" and form.is_valid():
        try:
            if auth is None:
                auth = svc.authorization_create(coverage=coverage, actor=request.user, **form.cleaned_data)
            else:
                svc.authorization_update(authorization=auth, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Authorisation {auth.number} saved.")
            return redirect("insurance:coverage_edit", coverage_id=coverage.public_id)
    return render(request, "insurance/coverage/authorization_form.html",
                  {"form": form, "coverage": coverage, "auth": auth}, status=_status(form))


# --- check-in ------------------------------------------------------------------------------------------------


def check_in_panel(request: HttpRequest, patient, appointment) -> dict:
    """The check-in page's Coverage panel: coverages in force on the visit date, cards, the latest eligibility
    answer for the primary, warnings (none, expired, authorisations) and a link to edit. The read is audited."""
    user = request.user
    if not user.has_perm_code(Perm.COVERAGE_VIEW):
        return {"hidden": True}
    on = timezone.localtime(appointment.starts_at).date()
    every = sel.coverage_list(actor=user, patient=patient)
    in_force = [c for c in every if c.covers(on)]
    warnings = []
    if not in_force:
        lapsed = [c for c in every if c.effective_to and c.effective_to < on]
        if lapsed:
            last = max(lapsed, key=lambda c: c.effective_to)
            warnings.append(f"Coverage expired: {last.payer.name} ended {last.effective_to:%m/%d/%Y}. "
                            "Ask for the new card.")
        else:
            warnings.append("No coverage on file. Ask for the insurance card, or bill the visit to the patient.")
    elif not any(c.rank == CoverageRank.PRIMARY for c in in_force):
        warnings.append("No primary coverage in force on this date; check the order of the coverages.")
    for c in in_force:
        if c.effective_to and (c.effective_to - on).days <= 30:
            warnings.append(f"{c.payer.name} coverage ends {c.effective_to:%m/%d/%Y}.")
    codes = sel.appointment_codes_needing_authorization(appointment)
    warnings.extend(sel.authorization_warnings(patient, codes, on))
    primary = next((c for c in in_force if c.rank == CoverageRank.PRIMARY), None)
    return {"coverages": in_force, "eligibility": sel.latest_eligibility(primary) if primary else None,
            "warnings": warnings, "patient": patient, "on": on,
            "can_manage": user.has_perm_code(Perm.COVERAGE_MANAGE)}
