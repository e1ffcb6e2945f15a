"""Template pages: the list (and CSV), create, new version, each version, preview with sample or a patient's
data, retire, and installing the default templates. Letter writers read; template managers change."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.paging import page_of
from clinicdesk.core.permissions import Perm
from clinicdesk.patients.selectors import patient_search
from clinicdesk.patients.selectors.records import patient_for_change

from .. import merge
from ..defaults import defaults_install
from ..rendering import Rendered
from ..selectors import templates as selectors
from ..services import templates as services
from ..template_forms import TemplateCreateForm, TemplateFilterForm, TemplateVersionForm


@require_GET
@requires(Perm.LETTERS_WRITE)
def template_list(request: HttpRequest) -> HttpResponse:
    form = TemplateFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    rows = selectors.template_list(actor=request.user, kind=filters.get("kind", ""), active=filters.get("active") or "yes",
                                   q=filters.get("q", ""))
    if request.GET.get("format") == "csv":
        header = ["code", "name", "kind", "purpose", "in use", "current version", "versions", "merge fields", "changed"]
        return csv_response("templates.csv", header, (
            [t.code, t.name, t.get_kind_display(), t.get_purpose_display(), "yes" if t.is_active else "no",
             t.current.number if t.current else "", t.version_count,
             " ".join(t.current.merge_fields) if t.current else "", t.updated_at.isoformat(timespec="minutes")]
            for t in rows.iterator()
        ))
    page, query = page_of(request, rows)
    return render(request, "communications/template_list.html", {
        "form": form, "page": page, "query": query, "can_manage": request.user.has_perm_code(Perm.TEMPLATES_MANAGE),
    }, status=400 if form.is_bound and form.errors else 200)


@require_http_methods(["GET", "POST"])
@requires(Perm.TEMPLATES_MANAGE)
def template_create(request: HttpRequest) -> HttpResponse:
    form = TemplateCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            template = services.template_create(actor=request.user, organization=request.user.organization, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Template '{template.name}' saved as version 1.")
            return redirect("communications:template_detail", message_template_id=template.pk)
    return render(request, "communications/template_form.html", {
        "form": form, "template": None, "groups": merge.field_groups(),
    }, status=400 if form.is_bound and form.errors else 200)


@require_GET
@requires(Perm.LETTERS_WRITE)
def template_detail(request: HttpRequest, message_template_id: int) -> HttpResponse:
    template = selectors.template_get(actor=request.user, template_id=message_template_id)
    return render(request, "communications/template_detail.html", {
        "template": template, "version": template.current,
        "versions": selectors.template_versions(actor=request.user, template=template),
        "can_manage": request.user.has_perm_code(Perm.TEMPLATES_MANAGE),
    })


@require_http_methods(["GET", "POST"])
@requires(Perm.TEMPLATES_MANAGE)
def template_edit(request: HttpRequest, message_template_id: int) -> HttpResponse:
    """New wording becomes the next version; "Preview" fills the unsaved wording with sample values instead."""
    template = selectors.template_get(actor=request.user, template_id=message_template_id)
    current = template.current
    initial = {"subject": current.subject, "body": current.body} if current else {}
    form = TemplateVersionForm(request.POST or None, initial=initial)
    preview: Rendered | None = None
    if request.method == "POST" and form.is_valid():
        try:
            if "preview" in request.POST:
                preview = services.template_preview(actor=request.user, kind=template.kind, **form.cleaned_data)
            else:
                version = services.template_version_save(actor=request.user, template=template, **form.cleaned_data)
                messages.success(request, f"Saved as version {version.number}; earlier versions are kept.")
                return redirect("communications:template_detail", message_template_id=template.pk)
        except ValidationError as exc:
            form.add_service_errors(exc)
    return render(request, "communications/template_form.html", {
        "form": form, "template": template, "groups": merge.field_groups(), "preview": preview,
    }, status=400 if form.is_bound and form.errors else 200)


@require_GET
@requires(Perm.LETTERS_WRITE)
def template_version(request: HttpRequest, message_template_id: int, version_number: int) -> HttpResponse:
    template = selectors.template_get(actor=request.user, template_id=message_template_id)
    version = selectors.template_version_get(actor=request.user, template=template, number=version_number)
    return render(request, "communications/template_version.html", {"template": template, "version": version})


@require_GET
@requires(Perm.LETTERS_WRITE)
def template_preview(request: HttpRequest, message_template_id: int) -> HttpResponse:
    """The current wording filled with sample values, or with a chosen patient's details (that read is audited)."""
    template = selectors.template_get(actor=request.user, template_id=message_template_id)
    patient = None
    public_id = request.GET.get("patient", "")
    if public_id:
        patient = patient_for_change(actor=request.user, public_id=public_id)
    q = request.GET.get("q", "")[:100]
    found = patient_search(actor=request.user, query=q, limit=10) if q.strip() else []
    problem, rendered = "", None
    try:
        rendered = services.template_preview(actor=request.user, template=template, patient=patient)
    except ValidationError as exc:
        problem = " ".join(exc.messages)
    return render(request, "communications/template_preview.html", {
        "template": template, "patient": patient, "rendered": rendered, "problem": problem, "q": q, "found": found,
        "searched": bool(q.strip()),
    })


@require_POST
@requires(Perm.TEMPLATES_MANAGE)
def template_set_active(request: HttpRequest, message_template_id: int) -> HttpResponse:
    template = selectors.template_get(actor=request.user, template_id=message_template_id)
    if request.POST.get("active") == "yes":
        services.template_activate(actor=request.user, template=template)
        messages.success(request, f"'{template.name}' is in use again.")
    else:
        services.template_deactivate(actor=request.user, template=template)
        messages.success(request, f"'{template.name}' is retired; its versions are kept.")
    return redirect("communications:template_detail", message_template_id=template.pk)


@require_POST
@requires(Perm.TEMPLATES_MANAGE)
def template_defaults(request: HttpRequest) -> HttpResponse:
    made = defaults_install(organization=request.user.organization, actor=request.user)
    messages.success(request, f"{made} default template{'s' if made != 1 else ''} added." if made
                     else "Every default template is already there.")
    return redirect(reverse("communications:template_list"))
