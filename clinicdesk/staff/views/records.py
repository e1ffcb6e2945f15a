"""Staff list, record pages (record, credentials, onboarding and training tabs), edit, offboarding, and
"My training"."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from clinicdesk.core.access import requires
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.csv_import_views import CsvImport, imported_counts
from clinicdesk.core.forms import TableImportConfirmForm, TableImportForm
from clinicdesk.core.paging import page_of
from clinicdesk.core.permissions import Perm
from clinicdesk.core.tables import upload_carry, xlsx_response

from .. import selectors
from ..choices import StaffStatus
from ..forms import ChecklistApplyForm, OffboardForm, StaffFilterForm, StaffForm
from ..models import StaffDocument
from ..services import imports
from ..services.records import staff_offboard, staff_save
from .pages import audit_read, today

TABS = [("record", "Record"), ("credentials", "Credentials"), ("onboarding", "Onboarding"), ("training", "Training")]


@require_GET
@requires(Perm.STAFF_VIEW)
def staff_list(request: HttpRequest) -> HttpResponse:
    form = StaffFilterForm(request.GET or None, organization_id=request.user.organization_id)
    data = form.cleaned_data if form.is_valid() else {}
    department, skill = data.get("department"), data.get("skill")
    rows = selectors.staff_search(
        user=request.user, query=(data.get("q") or "").strip(), department_id=department.pk if department else None,
        status=data.get("status") or "", employment_type=data.get("employment_type") or "",
        skill_id=skill.pk if skill else None,
    )
    kind = request.GET.get("format")
    if kind in ("csv", "xlsx"):
        write = xlsx_response if kind == "xlsx" else csv_response
        return write(f"staff.{kind}", imports.COLUMNS, (imports.staff_export_row(m) for m in rows.iterator(chunk_size=500)))
    page, query = page_of(request, rows)
    return render(request, "staff/staff_list.html", {
        "form": form, "page": page, "query": query, "can_manage": request.user.has_perm_code(Perm.STAFF_MANAGE),
    })


def _staff_form(request: HttpRequest, member) -> HttpResponse:
    org_id = request.user.organization_id
    form = StaffForm(request.POST or None, instance=member, organization_id=org_id)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                saved = staff_save(actor=request.user, member=member, **form.service_arguments())
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Saved the record of {saved.full_name}.")
                return redirect("staff:detail", staff_id=saved.pk)
    return render(request, "staff/staff_form.html", {"form": form, "member": member}, status=status)


@require_http_methods(["GET", "POST"])
@requires(Perm.STAFF_MANAGE)
def staff_import(request: HttpRequest) -> HttpResponse:
    """Step 1: choose a CSV or XLSX file, see what every line would do (nothing saved). Step 2: confirm."""
    return CsvImport(
        upload_form=partial(TableImportForm, columns=imports.COLUMNS), confirm_form=TableImportConfirmForm,
        template="staff/staff_import.html", run=partial(imports.staff_import, actor=request.user),
        decode=upload_carry, done_url=reverse("staff:list"), done_message=imported_counts,
        context={"columns": imports.COLUMNS},
    ).response(request)


@require_http_methods(["GET", "POST"])
@requires(Perm.STAFF_MANAGE)
def staff_create(request: HttpRequest) -> HttpResponse:
    return _staff_form(request, None)


@require_http_methods(["GET", "POST"])
@requires(Perm.STAFF_MANAGE)
def staff_edit(request: HttpRequest, staff_id: int) -> HttpResponse:
    return _staff_form(request, selectors.staff_get(user=request.user, staff_id=staff_id))


def _tab_context(request: HttpRequest, member, tab: str) -> dict:
    day = today()
    context: dict = {}
    if tab == "credentials":
        context["credentials"] = [(c, c.status_on(day)) for c in member.credentials.select_related("document")]
    elif tab == "onboarding":
        context["plans"] = [
            (plan, list(plan.tasks.select_related("owner").order_by("position", "pk")))
            for plan in member.onboarding_plans.select_related("template")
        ]
        form = ChecklistApplyForm(organization_id=request.user.organization_id,
                                  initial={"start_date": member.hire_date or day})
        # The checklist named for the job (Medical assistant) is the likely one.
        form.initial["template"] = form.fields["template"].queryset.filter(name__iexact=member.job_title).first()
        context["apply_form"] = form
    elif tab == "training":
        context["assignments"] = selectors.training_assignments(user=request.user, staff=member).order_by(
            "-due_date", "-pk")
    return context


@require_GET
@requires(Perm.STAFF_VIEW)
def staff_detail(request: HttpRequest, staff_id: int) -> HttpResponse:
    member = selectors.staff_get(user=request.user, staff_id=staff_id)
    tab = request.GET.get("tab") if request.GET.get("tab") in dict(TABS) else "record"
    audit_read(request, member, what=f"the {tab} tab")
    user = request.user
    return render(request, "staff/staff_detail.html", {
        "member": member, "tab": tab, "tabs": TABS, "today": today(), **_tab_context(request, member, tab),
        "can_manage": user.has_perm_code(Perm.STAFF_MANAGE),
        "can_credentials": user.has_perm_code(Perm.CREDENTIALS_MANAGE),
        "can_training": user.has_perm_code(Perm.TRAINING_MANAGE),
        "offboarded": member.status == StaffStatus.OFFBOARDED,
    })


@require_http_methods(["GET", "POST"])
@requires(Perm.STAFF_MANAGE)
def staff_offboard_view(request: HttpRequest, staff_id: int) -> HttpResponse:
    member = selectors.staff_get(user=request.user, staff_id=staff_id)
    form = OffboardForm(request.POST or None, initial={"end_date": today()})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                staff_offboard(actor=request.user, member=member, end_date=form.cleaned_data["end_date"],
                               reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"{member.full_name} is offboarded: sign-in turned off at once.")
                return redirect("staff:detail", staff_id=member.pk)
    return render(request, "staff/offboard.html", {"form": form, "member": member}, status=status)


def _document_response(request: HttpRequest, document: StaffDocument) -> FileResponse:
    audit_read(request, document.staff, what=f"the document '{document.title}'")
    try:
        handle = document.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The file is missing from storage.") from exc
    response = FileResponse(handle, content_type=document.content_type, filename=document.original_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@requires(Perm.STAFF_VIEW)
def staff_document(request: HttpRequest, staff_document_id: int) -> FileResponse:
    """A credential scan or training certificate: permission-checked, scoped to the practice, audited."""
    document = StaffDocument.objects.filter(pk=staff_document_id, organization_id=request.user.organization_id).select_related(
        "staff").first()
    if document is None:
        raise Http404("No such document.")
    return _document_response(request, document)


@require_GET
@requires(Perm.STAFF_SELF)
def my_document(request: HttpRequest, my_document_id: int) -> FileResponse:
    """One of the signed-in person's own documents."""
    document = StaffDocument.objects.filter(pk=my_document_id, organization_id=request.user.organization_id,
                                            staff__user=request.user).select_related("staff").first()
    if document is None:
        raise Http404("No such document.")
    return _document_response(request, document)


@require_GET
@requires(Perm.STAFF_SELF)
def my_training(request: HttpRequest) -> HttpResponse:
    """The signed-in person's own record, credentials, onboarding tasks and training."""
    member = selectors.own_staff_record(user=request.user)
    context: dict = {"member": member, "today": today()}
    if member is not None:
        audit_read(request, member, what="their own record")
        context["credentials"] = [(c, c.status_on(context["today"])) for c in member.credentials.all()]
        context["assignments"] = selectors.training_assignments(user=request.user, staff=member).order_by(
            "status", "due_date")
        context["tasks"] = [t for plan in member.onboarding_plans.prefetch_related("tasks__owner")
                            for t in plan.tasks.all()]
    return render(request, "staff/my_training.html", context)


def detail_url(member, tab: str = "record") -> str:
    return f"{reverse('staff:detail', kwargs={'staff_id': member.pk})}?tab={tab}"
