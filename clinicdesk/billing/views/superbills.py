"""Superbill templates, under /billing/superbills/: a specialty's common services and diagnoses, offered on the
coding page. Fee managers keep them; every code is checked when saved."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from clinicdesk.core.access import requires
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.permissions import Perm

from ..forms_encounters import SuperbillForm, diagnoses_text, parse_diagnoses, parse_sections, sections_text
from ..selectors import encounters as selectors
from ..services.superbills import superbill_save


@require_GET
@requires(Perm.FEES_MANAGE)
def superbill_list(request: HttpRequest) -> HttpResponse:
    rows = selectors.superbill_list(user=request.user)
    if request.GET.get("format") == "csv":
        return csv_response("superbills.csv", ["name", "specialty", "section", "kind", "code", "modifiers", "label",
                                               "in_use"], (
            row for bill in rows for row in (
                [[bill.name, bill.specialty, s.get("title", ""), "service", v.get("code", ""), v.get("modifiers", ""),
                  v.get("label", ""), "yes" if bill.is_active else "no"]
                 for s in bill.sections for v in s.get("services", [])]
                + [[bill.name, bill.specialty, "", "diagnosis", d.get("code", ""), "", d.get("label", ""),
                    "yes" if bill.is_active else "no"] for d in bill.diagnoses])))
    return render(request, "billing/superbills/list.html", {"superbills": rows})


def _save(request: HttpRequest, form: SuperbillForm, template=None):
    data = form.cleaned_data
    try:
        return superbill_save(organization=request.user.organization, actor=request.user, name=data["name"],
                              specialty=data["specialty"], sections=parse_sections(data["sections"]),
                              diagnoses=parse_diagnoses(data["diagnoses"]), is_active=data["is_active"],
                              template=template)
    except ValidationError as exc:
        form.add_service_errors(exc)
        return None


@require_http_methods(["GET", "POST"])
@requires(Perm.FEES_MANAGE)
def superbill_create(request: HttpRequest) -> HttpResponse:
    form = SuperbillForm(request.POST or None, initial={"is_active": True})
    if request.method == "POST" and form.is_valid():
        template = _save(request, form)
        if template is not None:
            messages.success(request, f"Superbill {template.name} saved.")
            return redirect("billing:superbill_list")
    return render(request, "billing/superbills/form.html", {"form": form, "template": None},
                  status=400 if form.is_bound and form.errors else 200)


@require_http_methods(["GET", "POST"])
@requires(Perm.FEES_MANAGE)
def superbill_edit(request: HttpRequest, superbill_id: int) -> HttpResponse:
    template = selectors.superbill_get(user=request.user, superbill_id=superbill_id)
    form = SuperbillForm(request.POST or None, initial={
        "name": template.name, "specialty": template.specialty, "sections": sections_text(template.sections),
        "diagnoses": diagnoses_text(template.diagnoses), "is_active": template.is_active})
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form, template)
        if saved is not None:
            messages.success(request, f"Superbill {saved.name} saved.")
            return redirect("billing:superbill_list")
    return render(request, "billing/superbills/form.html", {"form": form, "template": template},
                  status=400 if form.is_bound and form.errors else 200)
