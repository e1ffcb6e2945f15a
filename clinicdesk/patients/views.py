"""Patient pages: the list and export, registration and editing, the patient page with its tabs,
contacts, consents, alerts, guarantor, and documents (upload and the audited file view)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_event, audit_events
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.csv_import_views import CsvImport, imported_counts
from clinicdesk.core.forms import TableImportConfirmForm, TableImportForm
from clinicdesk.core.permissions import Perm
from clinicdesk.core.tables import upload_carry, xlsx_response

from . import services
from .forms import (
    AlertForm,
    ConsentForm,
    DocumentUploadForm,
    EmergencyContactForm,
    GuarantorForm,
    PatientCreateForm,
    PatientForm,
    PatientListForm,
)
from .models import Patient
from .selectors import patient_likely_duplicates, patient_search
from .selectors.records import (
    document_get,
    document_list,
    emergency_contact_get,
    patient_alert_get,
    patient_chart,
    patient_for_change,
    patient_get,
    patient_scope,
)
from .selectors.records import patient_list as patient_list_query
from .services import imports

PAGE_SIZE = 50
SEARCH_LIMIT = 100
EXPORT_MAX_ROWS = 10_000


# --- the patient page's tabs and header facts: later apps add their own -----------------------------


@dataclass(frozen=True)
class PatientTab:
    """One tab of the patient page. `context(request, patient)` returns what `template` needs;
    a tab with no template (or an empty context) shows 'Nothing here yet'."""

    key: str
    label: str
    template: str | None = None
    context: Callable[[HttpRequest, Patient], dict] | None = None
    permission: str | None = None
    order: int = 100


@dataclass(frozen=True)
class PatientFact:
    """A fact in the patient page header (balance, next appointment); `value` returns text or None."""

    key: str
    label: str
    value: Callable[[HttpRequest, Patient], str | None] | None = None
    order: int = 100


PATIENT_TABS: dict[str, PatientTab] = {}
PATIENT_FACTS: dict[str, PatientFact] = {}


def register_patient_tab(tab: PatientTab) -> None:
    """Add or replace a tab (e.g. scheduling registers 'appointments' from its AppConfig.ready)."""
    PATIENT_TABS[tab.key] = tab


def register_patient_fact(fact: PatientFact) -> None:
    """Add or replace a header fact (e.g. billing registers 'balance')."""
    PATIENT_FACTS[fact.key] = fact


def _documents_tab(request: HttpRequest, patient: Patient) -> dict:
    documents = list(document_list(actor=request.user, patient=patient))
    can_upload = request.user.has_perm_code(Perm.DOCUMENT_UPLOAD)
    return {"documents": documents, "upload_form": DocumentUploadForm() if can_upload else None, "has_content": True}


for _tab in (
    PatientTab("summary", "Summary", "patients/tabs/summary.html", order=10),
    PatientTab("appointments", "Appointments", order=20),
    PatientTab("account", "Account", order=30),
    PatientTab("coverage", "Coverage", order=40),
    PatientTab("documents", "Documents", "patients/tabs/documents.html", _documents_tab, Perm.DOCUMENT_VIEW, order=50),
    PatientTab("messages", "Messages", order=60),
):
    register_patient_tab(_tab)
register_patient_fact(PatientFact("balance", "Balance", order=10))
register_patient_fact(PatientFact("next_appointment", "Next appointment", order=20))


def _visible_tabs(request: HttpRequest) -> list[PatientTab]:
    tabs = [t for t in PATIENT_TABS.values() if t.permission is None or request.user.has_perm_code(t.permission)]
    return sorted(tabs, key=lambda t: (t.order, t.label))


def _header_facts(request: HttpRequest, patient: Patient) -> list[dict]:
    facts = sorted(PATIENT_FACTS.values(), key=lambda f: (f.order, f.label))
    return [{"label": f.label, "value": (f.value(request, patient) if f.value else None) or "—"} for f in facts]


# --- list, search and export ------------------------------------------------------------------------


def _listed_patients(request: HttpRequest, form: PatientListForm):
    """The patients the list shows: search results for ?q=, else the filtered, sorted list."""
    data = form.cleaned_data
    if data.get("q"):
        found = list(patient_search(actor=request.user, query=data["q"], limit=SEARCH_LIMIT))
        if data.get("status"):
            found = [p for p in found if p.status == data["status"]]
        return found
    return patient_list_query(actor=request.user, status=data.get("status") or "", sort=data.get("sort") or "")


@require_GET
@requires(Perm.PATIENT_VIEW)
def patient_list(request: HttpRequest) -> HttpResponse:
    form = PatientListForm(request.GET)
    status = 200
    if form.is_valid():
        try:
            patients = _listed_patients(request, form)
        except ValidationError as exc:
            form.add_error(None, exc)
            patients = []
    else:
        patients, status = [], 400
    page = Paginator(patients, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "patients/patient_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "searching": bool(form.is_valid() and form.cleaned_data.get("q")),
            "can_export": request.user.has_perm_code(Perm.PATIENT_EXPORT),
            "can_create": request.user.has_perm_code(Perm.PATIENT_CREATE),
            "can_import": request.user.has_perm_code(Perm.PATIENT_CREATE) and request.user.has_perm_code(Perm.PATIENT_CHANGE),
        },
        status=status,
    )


@require_GET
@requires(Perm.PATIENT_VIEW, Perm.PATIENT_EXPORT)
def patient_export(request: HttpRequest, kind: str = "csv") -> HttpResponse:
    """The list as it is filtered, as CSV (or XLSX), in the import's columns. Each patient in the file gets an
    'exported' audit row."""
    form = PatientListForm(request.GET)
    error = None
    patients: list[Patient] = []
    if form.is_valid():
        try:
            patients = list(_listed_patients(request, form)[: EXPORT_MAX_ROWS + 1])
        except ValidationError as exc:
            form.add_error(None, exc)
            error = True
    if not form.is_valid() or error:
        return render(
            request, "patients/patient_list.html", {"form": form, "page": None, "can_export": True}, status=400
        )
    if len(patients) > EXPORT_MAX_ROWS:
        messages.error(request, f"That is more than {EXPORT_MAX_ROWS:,} patients; narrow the list before exporting.")
        return redirect(f"{reverse('patients:list')}?{request.GET.urlencode()}")
    filters = {k: v for k, v in form.cleaned_data.items() if v}
    audit_event(
        action="patient_list.exported",
        actor=request.user,
        channel=AuditChannel.EXPORT,
        summary=f"Exported {len(patients)} patient(s) with {filters or 'no filters'}"[:300],
    )
    audit_events(action="patient.exported", actor=request.user, targets=patients, channel=AuditChannel.EXPORT,
                 summary=f"Included in a patient list {kind.upper()}")
    write = xlsx_response if kind == "xlsx" else csv_response
    return write(f"patients.{kind}", imports.EXPORT_HEADER, (imports.patient_export_row(p) for p in patients))


@require_http_methods(["GET", "POST"])
@requires(Perm.PATIENT_VIEW, Perm.PATIENT_CREATE, Perm.PATIENT_CHANGE)
def patient_import(request: HttpRequest) -> HttpResponse:
    """Step 1: choose a CSV or XLSX file, see what every line would do (nothing saved). Step 2: confirm."""
    return CsvImport(
        upload_form=partial(TableImportForm, columns=imports.IMPORT_COLUMNS), confirm_form=TableImportConfirmForm,
        template="patients/patient_import.html", run=partial(imports.patient_import, actor=request.user),
        decode=upload_carry, done_url=reverse("patients:list"), done_message=imported_counts,
        context={"columns": imports.IMPORT_COLUMNS},
    ).response(request)


# --- create and edit -------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@requires(Perm.PATIENT_VIEW, Perm.PATIENT_CREATE)
def patient_create(request: HttpRequest) -> HttpResponse:
    """Register a patient. Likely duplicates are shown first; going past them takes an explicit tick."""
    duplicates: list[Patient] = []
    if request.method == "POST":
        form = PatientCreateForm(request.POST, actor=request.user)
        if form.is_valid():
            values = form.service_values()
            duplicates = list(
                patient_likely_duplicates(
                    actor=request.user,
                    first_name=values["first_name"],
                    last_name=values["last_name"],
                    date_of_birth=values["date_of_birth"],
                    phones=[values.get(f) or "" for f in ("phone_mobile", "phone_home", "phone_work")],
                )
            )
            if duplicates and not form.cleaned_data.get("create_anyway"):
                form = PatientCreateForm(request.POST, actor=request.user, show_duplicate_confirmation=True)
                form.is_valid()
                form.add_error(
                    "create_anyway",
                    "This may be someone already registered. Open the matching record, or tick the box to create a new one.",
                )
            else:
                try:
                    patient = services.patient_create(
                        actor=request.user, acknowledged_duplicates=duplicates, **values
                    )
                except ValidationError as exc:
                    form.add_service_errors(exc)
                else:
                    messages.success(request, f"{patient.display_name} is registered with MRN {patient.mrn}.")
                    return redirect("patients:detail", public_id=patient.public_id)
    else:
        form = PatientCreateForm(actor=request.user)
    return render(
        request,
        "patients/patient_form.html",
        {"form": form, "creating": True, "duplicates": duplicates},
        status=400 if form.is_bound and form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.PATIENT_VIEW, Perm.PATIENT_CHANGE)
def patient_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    if request.method == "POST":
        patient = patient_for_change(actor=request.user, public_id=public_id)
        form = PatientForm(request.POST, instance=patient, actor=request.user, creating=False)
        if form.is_valid():
            try:
                services.patient_update(patient=patient, actor=request.user, **form.changed_values())
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, "Saved.")
                return redirect("patients:detail", public_id=patient.public_id)
    else:
        patient = patient_get(actor=request.user, public_id=public_id, summary="Edit form opened")
        form = PatientForm(instance=patient, actor=request.user, creating=False)
    return render(
        request,
        "patients/patient_form.html",
        {"form": form, "creating": False, "patient": patient},
        status=400 if form.is_bound and form.errors else 200,
    )


# --- the patient page --------------------------------------------------------------------------------


@require_GET
@requires(Perm.PATIENT_VIEW)
def patient_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    """The patient page: a header everyone needs, then one tab at a time (?tab=)."""
    patient = patient_get(actor=request.user, public_id=public_id)
    tabs = _visible_tabs(request)
    selected = next((t for t in tabs if t.key == request.GET.get("tab")), tabs[0])
    tab_context = selected.context(request, patient) if selected.context else {}
    chart = patient_chart(patient=patient)
    return render(
        request,
        "patients/patient_detail.html",
        {
            "patient": patient,
            "chart": chart,
            "tabs": tabs,
            "selected_tab": selected,
            "tab": tab_context,
            "tab_is_empty": selected.template is None,
            "facts": _header_facts(request, patient),
            "can_change": request.user.has_perm_code(Perm.PATIENT_CHANGE),
            "can_merge": request.user.has_perm_code(Perm.PATIENT_MERGE),
        },
    )


@require_GET
@requires(Perm.PATIENT_VIEW)
def patient_print(request: HttpRequest, public_id: str) -> HttpResponse:
    """A one-page face sheet for paper: printing PHI is audited like an export."""
    patient = patient_get(
        actor=request.user, public_id=public_id, action="patient.printed", channel=AuditChannel.PRINT,
        summary="Face sheet printed",
    )
    return render(request, "patients/patient_print.html", {"patient": patient, "chart": patient_chart(patient=patient)})


# --- contacts, consents, alerts, guarantor --------------------------------------------------------------


def _small_form(request, *, patient, form, save, done: str, title: str, submit: str) -> HttpResponse:
    """The flow every small patient form shares: validate, call one service, show its errors on the fields."""
    if request.method == "POST" and form.is_valid():
        try:
            save(form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, done)
            return _back(patient)
    return render(
        request,
        "patients/patient_small_form.html",
        {"patient": patient, "form": form, "title": title, "submit": submit},
        status=400 if form.is_bound and form.errors else 200,
    )


def _back(patient: Patient) -> HttpResponse:
    return redirect("patients:detail", public_id=patient.public_id)


@require_http_methods(["GET", "POST"])
@requires(Perm.PATIENT_VIEW, Perm.PATIENT_CHANGE)
def contact_add(request: HttpRequest, public_id: str) -> HttpResponse:
    patient = patient_for_change(actor=request.user, public_id=public_id)
    form = EmergencyContactForm(request.POST or None)
    return _small_form(
        request, patient=patient, form=form, done="Emergency contact added.", title="Add an emergency contact",
        submit="Add contact",
        save=lambda data: services.emergency_contact_add(patient=patient, actor=request.user, **data),
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.PATIENT_VIEW, Perm.PATIENT_CHANGE)
def contact_edit(request: HttpRequest, public_id: str, contact_id: int) -> HttpResponse:
    patient = patient_for_change(actor=request.user, public_id=public_id)
    contact = emergency_contact_get(actor=request.user, patient=patient, contact_id=contact_id)
    form = EmergencyContactForm(request.POST or None, instance=contact)
    return _small_form(
        request, patient=patient, form=form, done="Emergency contact saved.", title=f"Edit {contact.name}", submit="Save",
        save=lambda data: services.emergency_contact_update(contact=contact, actor=request.user, **form.changed_values()),
    )


@require_POST
@requires(Perm.PATIENT_VIEW, Perm.PATIENT_CHANGE)
def contact_remove(request: HttpRequest, public_id: str, contact_id: int) -> HttpResponse:
    patient = patient_for_change(actor=request.user, public_id=public_id)
    contact = emergency_contact_get(actor=request.user, patient=patient, contact_id=contact_id)
    services.emergency_contact_remove(contact=contact, actor=request.user)
    messages.success(request, f"{contact.name} removed from emergency contacts.")
    return _back(patient)


@require_http_methods(["GET", "POST"])
@requires(Perm.PATIENT_VIEW, Perm.PATIENT_CHANGE)
def consent_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    patient = patient_for_change(actor=request.user, public_id=public_id)
    form = ConsentForm(request.POST or None, initial={"channel": request.GET.get("channel", "")})
    return _small_form(
        request, patient=patient, form=form, done="Contact preference recorded.", title="Record a contact preference",
        submit="Record", save=lambda data: services.consent_set(patient=patient, actor=request.user, **data),
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.PATIENT_VIEW, Perm.PATIENT_CHANGE)
def alert_add(request: HttpRequest, public_id: str) -> HttpResponse:
    patient = patient_for_change(actor=request.user, public_id=public_id)
    form = AlertForm(request.POST or None)
    return _small_form(
        request, patient=patient, form=form, done="Alert added.", title="Add an alert", submit="Add alert",
        save=lambda data: services.alert_add(patient=patient, actor=request.user, **data),
    )


@require_POST
@requires(Perm.PATIENT_VIEW, Perm.PATIENT_CHANGE)
def alert_deactivate(request: HttpRequest, public_id: str, alert_id: int) -> HttpResponse:
    patient = patient_for_change(actor=request.user, public_id=public_id)
    alert = patient_alert_get(actor=request.user, patient=patient, alert_id=alert_id)
    services.alert_deactivate(alert=alert, actor=request.user)
    messages.success(request, "Alert taken down.")
    return _back(patient)


@require_http_methods(["GET", "POST"])
@requires(Perm.PATIENT_VIEW, Perm.PATIENT_CHANGE)
def guarantor_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    patient = patient_for_change(actor=request.user, public_id=public_id)
    current = getattr(patient, "guarantor", None)
    form = GuarantorForm(request.POST or None, instance=current)

    def save(data):
        values = dict(data)
        mrn = values.pop("guarantor_patient")
        guarantor_patient = None
        if mrn:
            guarantor_patient = patient_scope(actor=request.user).filter(mrn=mrn).first()
            if guarantor_patient is None:
                raise ValidationError({"guarantor_patient": f"No patient with MRN {mrn} in this practice."})
        services.guarantor_set(patient=patient, actor=request.user, guarantor_patient=guarantor_patient, **values)

    return _small_form(
        request, patient=patient, form=form, done="Guarantor saved.", title="Who pays the bills", submit="Save guarantor",
        save=save,
    )


# --- documents ------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@requires(Perm.PATIENT_VIEW, Perm.DOCUMENT_UPLOAD)
def document_upload(request: HttpRequest, public_id: str) -> HttpResponse:
    patient = patient_for_change(actor=request.user, public_id=public_id)
    form = DocumentUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            document = services.document_upload(patient=patient, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"'{document.title}' filed under {document.get_category_display()}.")
            return redirect(f"{reverse('patients:detail', kwargs={'public_id': patient.public_id})}?tab=documents")
    return render(
        request,
        "patients/document_upload.html",
        {"patient": patient, "form": form},
        status=400 if form.is_bound and form.errors else 200,
    )


@require_GET
@requires(Perm.DOCUMENT_VIEW)
def document_view(request: HttpRequest, public_id: str) -> FileResponse:
    """The only way to a document's bytes: permission-checked, scoped to the practice, audited."""
    document = document_get(actor=request.user, public_id=public_id)
    try:
        handle = document.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The file is missing from storage.") from exc
    response = FileResponse(handle, content_type=document.content_type, as_attachment=False, filename=document.original_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
