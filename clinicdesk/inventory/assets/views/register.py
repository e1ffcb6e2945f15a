"""The asset register: the list with its filters and CSV, an asset's page (maintenance, tickets, who had it
when), the forms that record, change and hand over an asset, and the printable register."""

from __future__ import annotations

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from clinicdesk.core.access import requires
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.paging import page_of
from clinicdesk.core.permissions import Perm

from .. import selectors
from ..forms import AssetFilterForm, AssetForm, AssignForm
from ..services.assets import asset_assign, asset_save
from .pages import form_round_trip, today

CSV_HEADER = ["tag", "name", "kind", "status", "make", "model", "serial_number", "location", "department",
              "assigned_to", "vendor", "purchase_date", "purchase_cost", "warranty_expires", "support_expires",
              "licence_expires", "licence_seats", "retired_on", "open_tickets"]


def _filtered(request: HttpRequest):
    form = AssetFilterForm(request.GET or None, organization_id=request.user.organization_id)
    data = form.cleaned_data if form.is_valid() else {}
    location = data.get("location")
    rows = selectors.asset_search(
        user=request.user, kind=data.get("kind") or "", status=data.get("status") or "",
        location_id=location.pk if location else None, expiring_within=data.get("expiring"), query=data.get("q") or "",
        today=today())
    return form, rows


def _csv_row(a) -> list:
    return [a.tag, a.name, a.get_kind_display(), a.get_status_display(), a.make, a.model, a.serial_number,
            a.location.name if a.location else "", a.department.name if a.department else "",
            a.assigned_to.full_name if a.assigned_to else "", a.vendor.name if a.vendor else "", a.purchase_date,
            a.purchase_cost, a.warranty_expires, a.support_expires, a.licence_expires, a.licence_seats,
            a.retired_on, a.open_tickets]


@require_GET
@requires(Perm.ASSETS_VIEW)
def asset_list(request: HttpRequest) -> HttpResponse:
    """The register with filters (kind, status, location, cover expiring); ?format=csv downloads every match."""
    form, rows = _filtered(request)
    if request.GET.get("format") == "csv":
        return csv_response("asset-register.csv", CSV_HEADER, (_csv_row(a) for a in rows.iterator(chunk_size=500)))
    page, query = page_of(request, rows)
    return render(request, "assets/asset_list.html", {
        "form": form, "page": page, "query": query, "can_manage": request.user.has_perm_code(Perm.ASSETS_MANAGE),
        "today": today(),
    })


@require_GET
@requires(Perm.ASSETS_MANAGE)
def register_pdf(request: HttpRequest) -> HttpResponse:
    """The register as a printable PDF, with the same filters as the list."""
    from weasyprint import CSS, HTML  # imported here: loading Pango costs a moment and only this view needs it

    form, rows = _filtered(request)
    html = render_to_string("assets/register_pdf.html", {
        "rows": rows, "today": today(), "organization": request.user.organization}, request=request)
    stylesheet = finders.find("assets/register-pdf.css")
    pdf = HTML(string=html).write_pdf(stylesheets=[CSS(filename=stylesheet)] if stylesheet else None)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="asset-register.pdf"'
    return response


@require_GET
@requires(Perm.ASSETS_VIEW)
def asset_detail(request: HttpRequest, asset_id: int) -> HttpResponse:
    asset = selectors.asset_get(user=request.user, asset_id=asset_id)
    can_manage = request.user.has_perm_code(Perm.ASSETS_MANAGE)
    return render(request, "assets/asset_detail.html", {
        "asset": asset, "can_manage": can_manage, "today": today(),
        "history": selectors.asset_history(asset=asset),
        "schedules": asset.schedules.select_related("vendor").order_by("next_due_on"),
        "records": asset.maintenance.select_related("vendor", "schedule").order_by("-performed_on", "-pk"),
        "tickets": selectors.ticket_search(user=request.user, asset_id=asset.pk),
        "alerts": asset.alerts.select_related("schedule").order_by("-raised_on")[:20],
    })


@require_http_methods(["GET", "POST"])
@requires(Perm.ASSETS_MANAGE)
def asset_create(request: HttpRequest) -> HttpResponse:
    form = AssetForm(request.POST or None, organization_id=request.user.organization_id, creating=True)
    return form_round_trip(
        request, form, lambda f: asset_save(actor=request.user, data=f.service_data()),
        template="assets/asset_form.html", context={"asset": None},
        done=lambda a: (f"Recorded {a.tag} {a.name}.", a_url(a)))


@require_http_methods(["GET", "POST"])
@requires(Perm.ASSETS_MANAGE)
def asset_edit(request: HttpRequest, asset_id: int) -> HttpResponse:
    asset = selectors.asset_get(user=request.user, asset_id=asset_id)
    form = AssetForm(request.POST or None, organization_id=request.user.organization_id, instance=asset)
    return form_round_trip(
        request, form, lambda f: asset_save(actor=request.user, asset=asset, data=f.service_data()),
        template="assets/asset_form.html", context={"asset": asset},
        done=lambda a: (f"Saved {a.tag} {a.name}.", a_url(a)))


@require_http_methods(["GET", "POST"])
@requires(Perm.ASSETS_MANAGE)
def asset_assign_view(request: HttpRequest, asset_id: int) -> HttpResponse:
    asset = selectors.asset_get(user=request.user, asset_id=asset_id)
    form = AssignForm(request.POST or None, organization_id=request.user.organization_id, initial={
        "staff": asset.assigned_to_id, "location": asset.location_id, "department": asset.department_id})
    return form_round_trip(
        request, form, lambda f: asset_assign(actor=request.user, asset=asset, **f.cleaned_data),
        template="assets/simple_form.html",
        context={"asset": asset, "heading": f"Hand over {asset.tag} {asset.name}", "form_id": "assign-form"},
        done=lambda row: (f"{asset.tag} is now with {row.staff.full_name if row.staff else 'nobody'}.",
                          a_url(asset, "history")))


def a_url(asset, anchor: str = "") -> str:
    """The asset's page, at one of its sections."""
    return reverse("assets:detail", args=[asset.pk]) + (f"#{anchor}" if anchor else "")
