"""Encounter pages, under /billing/encounters/: the list, a new encounter without an appointment, "code this
visit" from an appointment, the coding page (diagnoses, services, superbill picker), the encounter with its posted
charges and their balances, and void. Clinicians code their own visits; billing staff anyone's."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_event, audit_events
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.permissions import Perm

from .. import icd10
from ..choices import EncounterStatus, PlaceOfService
from ..forms_encounters import EncounterListForm, EncounterNewForm, ReasonForm
from ..models import Encounter, Fee, FeeSchedule
from ..models.charges import MAX_DIAGNOSES
from ..selectors import encounters as selectors
from ..selectors.codes import procedure_search
from ..services import charges as services
from ..services.supplies import SupplyInput

PAGE_SIZE = 50
SERVICE_ROWS_MIN = 4
SERVICE_ROWS_MAX = 24
TO_CODE = (EncounterStatus.DRAFT, EncounterStatus.ON_HOLD)


def _text(value, limit: int = 100) -> str:
    return (value or "").replace("\x00", "").strip()[:limit]


def _filters(form) -> selectors.EncounterFilters:
    data = form.cleaned_data if form.is_valid() else {}
    status = data.get("status") or ""
    statuses = () if status == "all" else ((status,) if status else TO_CODE)
    return selectors.EncounterFilters(status=statuses, date_from=data.get("date_from"), date_to=data.get("date_to"),
                                      provider_id=data.get("provider"), location_id=data.get("location"))


def _money(lines) -> Decimal:
    return sum((s.amount for s in lines), Decimal("0"))


# --- the list ----------------------------------------------------------------------------------------------

LIST_CSV_HEADER = ["service_date", "patient", "mrn", "provider", "location", "status", "diagnoses", "services", "total"]


@require_GET
@requires(Perm.CHARGES_ENTER)
def encounter_list(request: HttpRequest) -> HttpResponse:
    """Visits to code (drafts and those sent back), or any status: the clinician's own, or the practice's."""
    user = request.user
    form = EncounterListForm(request.GET or None, providers=selectors.providers(user=user),
                             locations=selectors.locations(user=user))
    rows = selectors.encounter_list(user=user, filters=_filters(form))
    if request.GET.get("format") == "csv":
        listed = list(rows[:10_000])
        audit_events(action="encounter.exported", actor=user, targets=listed, channel=AuditChannel.EXPORT,
                     summary="Included in an encounter list CSV")
        return csv_response("encounters.csv", LIST_CSV_HEADER, (
            [e.service_date.isoformat(), e.patient.display_name, e.patient.mrn, str(e.provider), e.location.name,
             e.get_status_display(), " ".join(d.code for d in e.diagnoses.all()),
             " ".join(str(s) for s in e.services.all()), f"{_money(e.services.all()):.2f}"] for e in listed))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    for e in page:
        e.total = _money(e.services.all())
    audit_events(action="encounter.listed", actor=user, targets=list(page), summary="Shown in the encounter list")
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "billing/encounters/list.html", {
        "form": form, "page": page, "query": query.urlencode(), "may_review": selectors.may_see_all(user),
    }, status=400 if form.is_bound and form.errors else 200)


# --- a new encounter, and "code this visit" ------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@requires(Perm.CHARGES_ENTER)
def encounter_new(request: HttpRequest) -> HttpResponse:
    """An encounter without an appointment: find the patient, then provider, location and date."""
    from clinicdesk.patients.models import Patient
    from clinicdesk.patients.selectors.search import patient_search

    user = request.user
    q = _text(request.GET.get("q"))
    patient_id = _text(request.POST.get("patient") or request.GET.get("patient"), 14)
    patient = Patient.objects.filter(organization_id=user.organization_id, public_id=patient_id).first() if patient_id else None
    matches = patient_search(actor=user, query=q, limit=10) if q and patient is None else []
    providers = selectors.providers(user=user)
    if not selectors.may_see_all(user):
        providers = providers.filter(pk=user.pk)
    form = EncounterNewForm(request.POST or None, providers=providers, locations=selectors.locations(user=user),
                            initial={"service_date": timezone.localdate(), "provider": user.pk})
    status = 200
    if request.method == "POST":
        if patient is None:
            status = 400
            messages.error(request, "Choose the patient first.")
        elif form.is_valid():
            data = form.cleaned_data
            try:
                encounter = services.encounter_create(
                    patient=patient, provider=providers.get(pk=data["provider"]),
                    location=selectors.locations(user=user).get(pk=data["location"]), service_date=data["service_date"],
                    place_of_service=data["place_of_service"], actor=user)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Encounter of {encounter.service_date:%m/%d/%Y} for {patient.display_name} started.")
                return redirect("billing:encounter_code", encounter_id=encounter.public_id)
        if form.errors:
            status = 400
    return render(request, "billing/encounters/new.html", {
        "form": form, "q": q, "matches": matches, "patient": patient}, status=status)


@require_http_methods(["GET", "POST"])
@requires(Perm.CHARGES_ENTER)
def encounter_for_appointment(request: HttpRequest, appointment_id: str) -> HttpResponse:
    """'Code this visit': the appointment's encounter (made now if the visit was seen and it has none yet)."""
    from clinicdesk.scheduling.models import Appointment

    user = request.user
    appointment = (Appointment.objects.select_related("patient", "provider", "location", "appointment_type")
                   .filter(organization_id=user.organization_id, public_id=_text(appointment_id, 40)).first())
    if appointment is None:
        raise Http404("No such appointment.")
    own = appointment.provider_id == user.pk or selectors.may_see_all(user)
    existing = Encounter.objects.filter(appointment=appointment).first()
    if own and existing is not None:
        return redirect("billing:encounter_code" if existing.is_editable else "billing:encounter_detail",
                        encounter_id=existing.public_id)
    error = ""
    if request.method == "POST" and own:
        try:
            encounter = services.encounter_from_appointment(appointment=appointment, actor=user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            return redirect("billing:encounter_code", encounter_id=encounter.public_id)
    billable = appointment.status in services.BILLABLE_APPOINTMENT_STATUSES
    return render(request, "billing/encounters/from_appointment.html", {
        "appointment": appointment, "own": own, "billable": billable, "error": error,
    }, status=400 if error or (request.method == "POST" and not own) else 200)


# --- the coding page ---------------------------------------------------------------------------------------


@dataclass
class DxRow:
    n: int
    code: str = ""
    description: str = ""
    errors: list[str] = field(default_factory=list)
    suggestions: list = field(default_factory=list)


@dataclass
class ServiceRow:
    n: int
    code: str = ""
    modifiers: str = ""
    units: str = "1"
    pointers: str = "1"
    provider: str = ""
    description: str = ""
    price: Decimal | None = None
    amount: Decimal | None = None
    errors: list[str] = field(default_factory=list)


@dataclass
class SupplyRow:
    n: int
    line: str = "1"
    item: str = ""
    scan: str = ""
    lot: str = ""
    quantity: str = "1"
    errors: list[str] = field(default_factory=list)


SUPPLY_ROWS_MAX = 24
_ROW_ERROR = re.compile(r"^(Diagnosis|Service|Supply) (\d+): (.*)$", re.S)


def _rows_from_encounter(encounter: Encounter) -> tuple[list[DxRow], list[ServiceRow]]:
    dx = [DxRow(n=d.sequence, code=d.code, description=d.description) for d in encounter.diagnoses.all()]
    services_ = [ServiceRow(n=s.sequence, code=s.procedure_code, modifiers=s.modifiers, units=str(s.units),
                            pointers=s.diagnosis_pointers, provider=str(s.rendering_provider_id or ""),
                            description=s.description, price=s.unit_price, amount=s.amount)
                 for s in encounter.services.all()]
    return dx, services_


def _rows_from_post(post) -> tuple[list[DxRow], list[ServiceRow]]:
    dx = [DxRow(n=0, code=_text(post.get(f"dx_{i}"), 10)) for i in range(1, MAX_DIAGNOSES + 1)]
    dx = [row for row in dx if row.code]
    try:
        count = min(max(int(post.get("svc_count", SERVICE_ROWS_MIN)), 1), SERVICE_ROWS_MAX)
    except (TypeError, ValueError):
        count = SERVICE_ROWS_MIN
    services_ = []
    for i in range(1, count + 1):
        row = ServiceRow(n=0, code=_text(post.get(f"svc_{i}_code"), 10).upper(),
                         modifiers=_text(post.get(f"svc_{i}_modifiers"), 15).upper(),
                         units=_text(post.get(f"svc_{i}_units"), 6) or "1",
                         pointers=_text(post.get(f"svc_{i}_pointers"), 11) or "1",
                         provider=_text(post.get(f"svc_{i}_provider"), 12))
        if row.code:
            services_.append(row)
    return dx, services_


def _supply_rows_from_encounter(encounter: Encounter) -> list[SupplyRow]:
    return [SupplyRow(n=s.sequence, line=str(s.line), item=str(s.item_id), lot=str(s.lot_id or ""),
                      quantity=f"{s.quantity.normalize():f}") for s in selectors.encounter_supplies(encounter=encounter)]


def _supply_rows_from_post(post) -> list[SupplyRow]:
    try:
        count = min(max(int(post.get("sup_count", 0)), 0), SUPPLY_ROWS_MAX)
    except (TypeError, ValueError):
        count = 0
    rows = []
    for i in range(1, count + 1):
        row = SupplyRow(n=0, line=_text(post.get(f"sup_{i}_line"), 3) or "1", item=_text(post.get(f"sup_{i}_item"), 12),
                        scan=_text(post.get(f"sup_{i}_scan"), 20), lot=_text(post.get(f"sup_{i}_lot"), 12),
                        quantity=_text(post.get(f"sup_{i}_quantity"), 12) or "1")
        if row.item or row.scan:
            row.n = len(rows) + 1
            rows.append(row)
    return rows


def _supply_inputs(rows: list[SupplyRow]) -> list[SupplyInput]:
    def number(text: str) -> int | None:
        return int(text) if text.isdigit() else None

    return [SupplyInput(line=number(r.line), item_id=number(r.item), lot_id=number(r.lot), quantity=r.quantity,
                        gtin=r.scan) for r in rows]


def _number(dx: list[DxRow], services_: list[ServiceRow]) -> None:
    for n, row in enumerate(dx, start=1):
        row.n = n
    for n, row in enumerate(services_, start=1):
        row.n = n


def _service_inputs(services_: list[ServiceRow], provider_ids: set[int]) -> list[services.ServiceInput]:
    inputs = []
    for row in services_:
        try:
            units = int(row.units)
        except ValueError:
            units = -1
        provider = int(row.provider) if row.provider.isdigit() and int(row.provider) in provider_ids else None
        inputs.append(services.ServiceInput(code=row.code, units=units, modifiers=row.modifiers,
                                            pointers=row.pointers, rendering_provider_id=provider))
    return inputs


def _attach(messages_: list[str], dx: list[DxRow], services_: list[ServiceRow], general: list[str],
            supplies: list[SupplyRow] = ()) -> None:
    """Put each 'Diagnosis n: …' / 'Service n: …' / 'Supply n: …' message next to its row; the rest on top of the
    form."""
    for message in messages_:
        match = _ROW_ERROR.match(message)
        kind = match.group(1) if match else ""
        rows = dx if kind == "Diagnosis" else (supplies if kind == "Supply" else services_)
        n = int(match.group(2)) if match else 0
        if match and 1 <= n <= len(rows):
            rows[n - 1].errors.append(match.group(3))
        else:
            general.append(message)


def _suggest(dx: list[DxRow]) -> None:
    for row in dx:
        try:
            hit = icd10.diagnosis_check(row.code)
        except ValidationError as exc:
            if getattr(exc, "code", "") == "icd10_header":
                row.suggestions = icd10.leaf_codes_under(row.code)
            row.description = row.description or icd10.describe(row.code)
        else:
            row.description = hit.description


def _price(encounter: Encounter, services_: list[ServiceRow]) -> None:
    """Show the fee schedule's price on rows not saved yet (the saved ones carry their price)."""
    from ..services.codes import fee_lookup

    for row in services_:
        if row.price is not None:
            continue
        try:
            fee = fee_lookup(organization=encounter.organization, code=row.code, modifiers=row.modifiers,
                             on_date=encounter.service_date)
        except ValidationError:
            continue
        row.price = fee.price
        row.description = fee.procedure.description
        if row.units.isdigit():
            row.amount = fee.price * int(row.units)


def _add_from_superbill(post, dx: list[DxRow], services_: list[ServiceRow]) -> str:
    """The superbill's buttons (without JavaScript): add a diagnosis or a service, or take a suggested code."""
    if post.get("add_dx"):
        code = icd10.normalise(_text(post["add_dx"], 10))
        if code and code not in {r.code for r in dx} and len(dx) < MAX_DIAGNOSES:
            dx.append(DxRow(n=len(dx) + 1, code=code))
        return f"{code} added; save to keep it."
    if post.get("add_service"):
        code, _, mods = _text(post["add_service"], 30).partition("|")
        if code and len(services_) < SERVICE_ROWS_MAX:
            services_.append(ServiceRow(n=len(services_) + 1, code=code.upper(), modifiers=mods.upper()))
        return f"{code} added; save to keep it."
    if post.get("use_dx"):
        n, _, code = _text(post["use_dx"], 20).partition(":")
        if n.isdigit() and 1 <= int(n) <= len(dx):
            dx[int(n) - 1].code = icd10.normalise(code)
            dx[int(n) - 1].description = ""
        return f"Diagnosis {n} is now {icd10.normalise(code)}; save to keep it."
    return ""


def _superbill_choice(request: HttpRequest, encounter: Encounter):
    bills = list(selectors.superbill_list(user=request.user, include_inactive=False))
    wanted = request.GET.get("superbill") or request.POST.get("superbill") or encounter.superbill_id
    chosen = next((b for b in bills if str(b.pk) == str(wanted)), bills[0] if bills else None)
    return bills, chosen


@require_http_methods(["GET", "POST"])
@requires(Perm.CHARGES_ENTER)
def encounter_code(request: HttpRequest, encounter_id: str) -> HttpResponse:
    """Code a visit: up to 12 diagnoses in claim order, the services with modifiers, units, pointers and the
    rendering provider, priced from the fee schedule. Save, or save and send to the biller's review."""
    user = request.user
    encounter = selectors.encounter_get(user=user, public_id=encounter_id)
    if not encounter.is_editable:
        return redirect("billing:encounter_detail", encounter_id=encounter.public_id)
    providers = list(selectors.providers(user=user))
    provider_ids = {p.pk for p in providers}
    general: list[str] = []
    notice = ""
    status = 200
    place = encounter.place_of_service
    if request.method == "POST":
        dx, services_ = _rows_from_post(request.POST)
        supply_rows = _supply_rows_from_post(request.POST)
        place = _text(request.POST.get("place_of_service"), 2) or place
        notice = _add_from_superbill(request.POST, dx, services_)
        _number(dx, services_)
        action = request.POST.get("action")
        if not notice and action in ("save", "submit"):
            try:
                services.encounter_code(encounter=encounter, diagnoses=[r.code for r in dx],
                                        services=_service_inputs(services_, provider_ids), actor=user,
                                        place_of_service=place,
                                        supplies=_supply_inputs(supply_rows) if "sup_count" in request.POST else None)
                if action == "submit":
                    services.encounter_submit(encounter=encounter, actor=user)
            except ValidationError as exc:
                status = 400
                if hasattr(exc, "error_dict"):
                    for name, errs in exc.message_dict.items():
                        if name in ("diagnoses", "services", "supplies"):
                            _attach(errs, dx, services_, general, supply_rows)
                        else:
                            general.extend(errs)
                else:
                    general.extend(exc.messages)
            else:
                if action == "submit":
                    messages.success(request, f"Sent to review: {encounter.patient.display_name}, "
                                              f"{encounter.service_date:%m/%d/%Y}.")
                    target = "billing:review_queue" if selectors.may_see_all(user) else "billing:encounter_list"
                    return redirect(target)
                messages.success(request, "Saved.")
                return redirect("billing:encounter_code", encounter_id=encounter.public_id)
    else:
        dx, services_ = _rows_from_encounter(encounter)
        supply_rows = _supply_rows_from_encounter(encounter)
        audit_event(action="encounter.viewed", actor=user, target=encounter, summary="Opened for coding")
        if encounter.status != EncounterStatus.DRAFT:
            _attach([p["message"] for p in services.encounter_problems(encounter)], dx, services_, general)
    _suggest(dx)
    _price(encounter, services_)
    bills, chosen = _superbill_choice(request, encounter)
    blank = max(SERVICE_ROWS_MIN - len(services_), 2 if len(services_) < SERVICE_ROWS_MAX - 1 else 0)
    rows = services_ + [ServiceRow(n=len(services_) + i + 1, pointers="") for i in range(blank)]
    supply_items, shelf = selectors.supply_choices(user=user, encounter=encounter)
    blank_supplies = 2 if len(supply_rows) < SUPPLY_ROWS_MAX - 1 else 0
    all_supply_rows = supply_rows + [SupplyRow(n=len(supply_rows) + i + 1, line="", quantity="")
                                     for i in range(blank_supplies)]
    return render(request, "billing/encounters/code.html", {
        "encounter": encounter, "dx_rows": dx + [DxRow(n=len(dx) + i + 1) for i in range(MAX_DIAGNOSES - len(dx))],
        "service_rows": rows, "svc_count": len(rows), "providers": providers, "general": general, "notice": notice,
        "places": PlaceOfService.choices, "place": place, "superbills": bills, "superbill": chosen,
        "total": sum((r.amount or Decimal("0") for r in services_), Decimal("0")),
        "may_review": selectors.may_see_all(user), "supply_rows": all_supply_rows, "sup_count": len(all_supply_rows),
        "supply_items": supply_items, "shelf_by_item": _shelf_by_item(shelf),
    }, status=status)


def _shelf_by_item(shelf) -> list[tuple[int, str, list]]:
    """The usable lots grouped by item, for the lot picker's option groups (the first of each is suggested)."""
    grouped: dict[int, tuple[int, str, list]] = {}
    for balance in shelf:
        grouped.setdefault(balance.item_id, (balance.item_id, balance.item.name, []))[2].append(balance)
    return list(grouped.values())


# --- one encounter: posted charges and their balances, void --------------------------------------------------


def _detail_context(request: HttpRequest, encounter: Encounter) -> dict:
    from clinicdesk.ledger.selectors import item_balances

    lines = list(encounter.services.all())
    items = [s.item_id for s in lines if s.item_id]
    balances = item_balances(item_ids=items) if items else {}
    problems = services.encounter_problems(encounter) if encounter.is_editable else []
    return {
        "supplies": selectors.encounter_supplies(encounter=encounter),
        "encounter": encounter, "lines": [(s, balances.get(s.item_id)) for s in lines], "total": _money(lines),
        "open_total": sum(balances.values(), Decimal("0")), "problems": problems,
        "may_void": request.user.has_perm_code(Perm.CHARGES_REVIEW) and encounter.status == EncounterStatus.POSTED,
        "void_form": ReasonForm(), "may_review": selectors.may_see_all(request.user),
    }


@require_GET
@requires(Perm.CHARGES_ENTER)
def encounter_detail(request: HttpRequest, encounter_id: str) -> HttpResponse:
    encounter = selectors.encounter_get(user=request.user, public_id=encounter_id)
    audit_event(action="encounter.viewed", actor=request.user, target=encounter, summary="Encounter opened")
    return render(request, "billing/encounters/detail.html", _detail_context(request, encounter))


@require_POST
@requires(Perm.CHARGES_REVIEW)
def encounter_void(request: HttpRequest, encounter_id: str) -> HttpResponse:
    """Take back a posted encounter's charges (nothing paid or adjusted on them yet)."""
    encounter = selectors.encounter_get(user=request.user, public_id=encounter_id)
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            services.encounter_void(encounter=encounter, reason=form.cleaned_data["reason"], actor=request.user)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, "The charges are voided.")
            return redirect("billing:encounter_detail", encounter_id=encounter.public_id)
    context = _detail_context(request, encounter)
    context["void_form"] = form
    return render(request, "billing/encounters/detail.html", context, status=400)


# --- the procedure list for the services autocomplete ---------------------------------------------------------


@require_GET
@requires(Perm.CHARGES_ENTER)
def procedure_search_json(request: HttpRequest) -> JsonResponse:
    """?q=…&date=YYYY-MM-DD: the practice's active procedures with their price that day on the default fee
    schedule (the price without modifiers; a modifier's own price shows once the row is saved)."""
    from datetime import date

    q = _text(request.GET.get("q"))
    try:
        on_date = date.fromisoformat(_text(request.GET.get("date"), 10))
    except ValueError:
        on_date = timezone.localdate()
    hits = list(procedure_search(user=request.user, query=q, limit=15)) if q else []
    schedule = FeeSchedule.objects.filter(organization_id=request.user.organization_id, is_default=True).first()
    prices = {}
    if schedule is not None and hits:
        for fee in (Fee.objects.filter(schedule=schedule, procedure__in=hits, modifiers="", effective_from__lte=on_date)
                    .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=on_date))):
            prices[fee.procedure_id] = f"{fee.price:.2f}"
    return JsonResponse({"query": q, "results": [
        {"code": p.code, "code_system": p.code_system, "description": p.description, "price": prices.get(p.pk)}
        for p in hits]})


def code_url(encounter: Encounter) -> str:
    return reverse("billing:encounter_code", kwargs={"encounter_id": encounter.public_id})
