"""Upkeep: maintenance schedules and records of an asset, the maintenance due list, and the alerts raised before
cover runs out or maintenance falls due."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from clinicdesk.core.access import requires
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.paging import page_of
from clinicdesk.core.permissions import Perm

from .. import selectors
from ..forms import AlertFilterForm, DueFilterForm, MaintenanceForm, ScheduleForm
from ..services.maintenance import maintenance_record, schedule_save
from .pages import form_round_trip, today
from .register import a_url


@require_http_methods(["GET", "POST"])
@requires(Perm.ASSETS_MANAGE)
def schedule_create(request: HttpRequest, asset_id: int) -> HttpResponse:
    asset = selectors.asset_get(user=request.user, asset_id=asset_id)
    form = ScheduleForm(request.POST or None, organization_id=request.user.organization_id,
                        initial={"starts_on": today()})
    return form_round_trip(
        request, form, lambda f: schedule_save(actor=request.user, asset=asset, data=f.service_data()),
        template="assets/simple_form.html",
        context={"asset": asset, "heading": f"Schedule maintenance of {asset.tag} {asset.name}",
                 "form_id": "schedule-form"},
        done=lambda s: (f"{s.name} {s.interval_label}, next due {s.next_due_on:%b %d, %Y}.", a_url(asset, "maintenance")))


@require_http_methods(["GET", "POST"])
@requires(Perm.ASSETS_MANAGE)
def maintenance_create(request: HttpRequest, asset_id: int) -> HttpResponse:
    asset = selectors.asset_get(user=request.user, asset_id=asset_id)
    initial = {"performed_on": today(), "schedule": request.GET.get("schedule") or None}
    form = MaintenanceForm(request.POST or None, organization_id=request.user.organization_id, asset=asset,
                           initial=initial)
    return form_round_trip(
        request, form, lambda f: maintenance_record(actor=request.user, asset=asset, data=f.service_data()),
        template="assets/simple_form.html",
        context={"asset": asset, "heading": f"Record maintenance of {asset.tag} {asset.name}",
                 "form_id": "maintenance-form"},
        done=lambda r: (f"Recorded maintenance of {asset.tag} on {r.performed_on:%b %d, %Y}.",
                        a_url(asset, "maintenance")))


@require_GET
@requires(Perm.ASSETS_VIEW)
def maintenance_due(request: HttpRequest) -> HttpResponse:
    form = DueFilterForm(request.GET or None)
    within = (form.cleaned_data.get("within") if form.is_valid() else None) or 30
    rows = selectors.maintenance_due(user=request.user, today=today(), within_days=within)
    if request.GET.get("format") == "csv":
        return csv_response("maintenance-due.csv", [
            "asset_tag", "asset", "location", "maintenance", "interval", "last_done_on", "next_due_on", "days_left",
            "vendor"], (
            [r.schedule.asset.tag, r.schedule.asset.name,
             r.schedule.asset.location.name if r.schedule.asset.location else "", r.schedule.name,
             r.schedule.interval_label, r.schedule.last_done_on, r.schedule.next_due_on, r.days_left,
             r.schedule.vendor.name if r.schedule.vendor else ""] for r in rows))
    query = request.GET.copy()
    query.pop("format", None)
    return render(request, "assets/maintenance_due.html", {
        "form": form, "rows": rows, "within": within, "query": query.urlencode(),
        "can_manage": request.user.has_perm_code(Perm.ASSETS_MANAGE)})


@require_GET
@requires(Perm.ASSETS_MANAGE)
def alert_list(request: HttpRequest) -> HttpResponse:
    """Every alert raised (newest first): warranty, support and licence expiries, and maintenance due or overdue."""
    form = AlertFilterForm(request.GET or None)
    subject = form.cleaned_data.get("subject", "") if form.is_valid() else ""
    rows = selectors.alert_list(user=request.user, subject=subject)
    if request.GET.get("format") == "csv":
        return csv_response("asset-alerts.csv", [
            "raised_on", "asset_tag", "asset", "subject", "due_on", "threshold_days", "message"], (
            [a.raised_on, a.asset.tag, a.asset.name, a.get_subject_display(), a.due_on, a.threshold_days, a.message]
            for a in rows.iterator(chunk_size=500)))
    page, query = page_of(request, rows)
    return render(request, "assets/alert_list.html", {"form": form, "page": page, "query": query})
