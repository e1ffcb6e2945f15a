"""The supplies pages: items, on hand, the stock forms (receive, use, transfer, remove, count), alerts and the lot
recall. Each checks its permission, reads through the selectors (scoped to the practice) and writes through the
services."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_events
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.csv_import_views import CsvImport, imported_counts
from clinicdesk.core.form_pages import form_round_trip
from clinicdesk.core.forms import TableImportConfirmForm, TableImportForm
from clinicdesk.core.paging import page_of
from clinicdesk.core.permissions import Perm
from clinicdesk.core.tables import upload_carry, xlsx_response

from . import selectors
from .choices import MovementKind
from .codes import ndc_display
from .forms import (
    CountForm,
    ItemFilterForm,
    ItemForm,
    PackForm,
    ReceiveForm,
    RemoveForm,
    StockLevelForm,
    TransferForm,
    UseForm,
)
from .services.imports import EXPORT_COLUMNS, ITEM_COLUMNS, item_export_row, items_import
from .services.items import item_save, pack_add, quantity_in_base, quantity_text, stock_level_set
from .services.serials import serial_numbers_parse, stock_receive_tracked
from .services.stock import (
    cycle_count_post,
    fefo_balances,
    stock_adjust,
    stock_consume,
    stock_remove,
    stock_transfer,
)


@require_GET
@requires(Perm.INVENTORY_VIEW)
def item_list(request: HttpRequest) -> HttpResponse:
    """The practice's items with what is on hand; search by name, SKU, NDC or CVX; CSV."""
    form = ItemFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    items = selectors.item_list(user=request.user, q=data.get("q", ""), kind=data.get("kind", ""))
    download = {"csv": csv_response, "xlsx": xlsx_response}.get(request.GET.get("format", ""))
    if download is not None:
        # The import's columns, so a downloaded file can be edited and imported back.
        return download(f"supplies-items.{request.GET['format']}", EXPORT_COLUMNS,
                        (item_export_row(i) for i in items.iterator()))
    page, query = page_of(request, items)
    return render(request, "inventory/item_list.html", {
        "form": form, "page": page, "query": query, "can_import": request.user.has_perm_code(Perm.INVENTORY_MANAGE),
    })


@require_http_methods(["GET", "POST"])
@requires(Perm.INVENTORY_MANAGE)
def item_import(request: HttpRequest) -> HttpResponse:
    """Items from a CSV or XLSX file: see what every row would do (nothing saved), then confirm."""
    return CsvImport(
        upload_form=partial(TableImportForm, columns=ITEM_COLUMNS), confirm_form=TableImportConfirmForm,
        template="inventory/item_import.html", decode=upload_carry, context={"columns": EXPORT_COLUMNS},
        run=lambda **kw: items_import(organization=request.user.organization, actor=request.user, **kw),
        done_url=reverse("inventory:item_list"), done_message=imported_counts,
    ).response(request)


@require_GET
@requires(Perm.INVENTORY_VIEW)
def item_detail(request: HttpRequest, stock_item_id: int) -> HttpResponse:
    """An item: packs, par levels, lots (or serial numbers) on hand, first-expiring first, and its stock ledger."""
    item = selectors.item_get(user=request.user, item_id=stock_item_id)
    page, query = page_of(request, selectors.item_movements(item=item))
    return render(request, "inventory/item_detail.html", {
        "item": item, "ndc": ndc_display(item.ndc), "packs": item.packs.all(),
        "levels": item.levels.select_related("stock_location"), "lots": selectors.item_lots(item=item),
        "page": page, "query": query, "can_manage": request.user.has_perm_code(Perm.INVENTORY_MANAGE),
        "pack_form": PackForm(), "level_form": StockLevelForm(organization_id=request.user.organization_id),
    })


def _item_form(request: HttpRequest, item) -> HttpResponse:
    org_id = request.user.organization_id
    form = ItemForm(request.POST or None, instance=item, organization_id=org_id)
    return form_round_trip(
        request, form,
        lambda f: item_save(organization=request.user.organization, actor=request.user, item=item, data=f.cleaned_data),
        template="inventory/item_form.html", context={"item": item},
        done=lambda saved: (f"Saved {saved.name}.", reverse("inventory:item_detail", kwargs={"stock_item_id": saved.pk})))


@require_http_methods(["GET", "POST"])
@requires(Perm.INVENTORY_MANAGE)
def item_create(request: HttpRequest) -> HttpResponse:
    return _item_form(request, None)


@require_http_methods(["GET", "POST"])
@requires(Perm.INVENTORY_MANAGE)
def item_edit(request: HttpRequest, stock_item_id: int) -> HttpResponse:
    return _item_form(request, selectors.item_get(user=request.user, item_id=stock_item_id))


@require_http_methods(["POST"])
@requires(Perm.INVENTORY_MANAGE)
def item_pack_add(request: HttpRequest, stock_item_id: int) -> HttpResponse:
    item = selectors.item_get(user=request.user, item_id=stock_item_id)
    form = PackForm(request.POST)
    if form.is_valid():
        try:
            pack_add(item=item, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
    return _after_item_form(request, item, form, "pack")


@require_http_methods(["POST"])
@requires(Perm.INVENTORY_MANAGE)
def item_level_set(request: HttpRequest, stock_item_id: int) -> HttpResponse:
    item = selectors.item_get(user=request.user, item_id=stock_item_id)
    form = StockLevelForm(request.POST, organization_id=request.user.organization_id)
    if form.is_valid():
        try:
            stock_level_set(item=item, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
    return _after_item_form(request, item, form, "par level")


def _after_item_form(request: HttpRequest, item, form, what: str) -> HttpResponse:
    if form.errors:
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else what.capitalize()
            messages.error(request, f"{label}: {' '.join(errors)}")
        return redirect("inventory:item_detail", stock_item_id=item.pk)
    messages.success(request, f"Saved the {what} of {item.name}.")
    return redirect("inventory:item_detail", stock_item_id=item.pk)


@require_GET
@requires(Perm.INVENTORY_VIEW)
def on_hand(request: HttpRequest) -> HttpResponse:
    """On hand per item and stock location against the par level and reorder point; CSV."""
    places = selectors.stock_location_list(user=request.user)
    org_id = request.user.organization_id
    try:
        place_id = int(request.GET.get("stock_location") or 0)
    except ValueError:
        place_id = 0
    rows = selectors.on_hand_by_location(user=request.user, stock_location_id=place_id or None,
                                         q=(request.GET.get("q") or "")[:100])
    if request.GET.get("format") == "csv":
        return csv_response("supplies-on-hand.csv", ["stock_location", "item", "unit", "on_hand", "par_level",
                                                     "reorder_point"], (
            [r["stock_location_name"], r["item_name"], r["base_unit"], quantity_text(r["on_hand"]), quantity_text(r["par_level"]),
             quantity_text(r["reorder_point"])] for r in selectors.with_levels(rows, organization_id=org_id)))
    page, query = page_of(request, rows)
    return render(request, "inventory/on_hand.html", {
        "page": page, "rows": selectors.with_levels(page, organization_id=org_id), "query": query, "places": places,
        "place_id": place_id, "q": request.GET.get("q", "")})


@require_GET
@requires(Perm.INVENTORY_VIEW)
def gtin_lookup(request: HttpRequest) -> JsonResponse:
    """What a scanned barcode is: the item and pack (for scan.js); 404 with a message when it is not ours."""
    try:
        pack = selectors.pack_for_gtin(user=request.user, gtin=request.GET.get("gtin", ""))
    except ValidationError as exc:
        return JsonResponse({"errors": {"gtin": exc.messages}}, status=400)
    if pack is None:
        return JsonResponse({"errors": {"gtin": ["No pack of ours has this GTIN."]}}, status=404)
    return JsonResponse({"item_id": pack.item_id, "item": pack.item.name, "unit": pack.name,
                         "quantity": quantity_text(pack.quantity), "base_unit": pack.item.base_unit})


def _stock_form(request: HttpRequest, form_class, template: str, post, title: str) -> HttpResponse:
    """Render a stock form; on a valid POST call `post(form)` (one service call); errors name the field."""
    form = form_class(request.POST or None, organization_id=request.user.organization_id)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():
                    quantity = quantity_in_base(item=data["item"], quantity=data["quantity"], unit=data.get("unit"))
                    done = post(form, data, quantity)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, done)
                return redirect(request.path)
    fefo = []
    item = form.cleaned_data.get("item") if form.is_bound and hasattr(form, "cleaned_data") else None
    place = form.cleaned_data.get("stock_location") if item else None
    if item and place:
        fefo = fefo_balances(item=item, stock_location=place)
    return render(request, template, {"form": form, "title": title, "fefo": fefo}, status=status)


@require_http_methods(["GET", "POST"])
@requires(Perm.INVENTORY_USE)
def receive(request: HttpRequest) -> HttpResponse:
    def post(form, data, quantity):
        movements = stock_receive_tracked(item=data["item"], stock_location=data["stock_location"], quantity=quantity,
                                          actor=request.user, lot_number=data["lot_number"],
                                          serials=serial_numbers_parse(data["serials"]), expires_on=data["expires_on"],
                                          unit_cost=data["unit_cost"], confirm_expired=data["confirm_expired"])
        first = movements[0]
        numbers = ", ".join(m.lot.number for m in movements if m.lot.number)
        what = ("serial" + ("s" if len(movements) > 1 else "")) if first.lot.is_serial else "lot"
        return (f"Received {quantity_text(quantity)} {first.item.base_unit} of {first.item.name}"
                f"{f' {what} {numbers}' if numbers else ''} into {first.stock_location}.")
    return _stock_form(request, ReceiveForm, "inventory/stock_form.html", post, "Receive stock")


@require_http_methods(["GET", "POST"])
@requires(Perm.INVENTORY_USE)
def use(request: HttpRequest) -> HttpResponse:
    def post(form, data, quantity):
        patient = selectors.patient_by_mrn(user=request.user, mrn=data["patient_mrn"]) if data["patient_mrn"] else None
        movements = stock_consume(item=data["item"], stock_location=data["stock_location"], quantity=quantity,
                                  actor=request.user, lot=data["lot"], patient=patient,
                                  encounter_ref=data["encounter_ref"])
        lots = ", ".join(m.lot.label for m in movements if m.lot.number)
        return f"Used {quantity_text(quantity)} {data['item'].base_unit} of {data['item'].name}{' (' + lots + ')' if lots else ''}."
    return _stock_form(request, UseForm, "inventory/stock_form.html", post, "Use stock")


@require_http_methods(["GET", "POST"])
@requires(Perm.INVENTORY_USE)
def transfer(request: HttpRequest) -> HttpResponse:
    def post(form, data, quantity):
        stock_transfer(item=data["item"], from_location=data["stock_location"], to_location=data["to_location"],
                       lot=data["lot"], quantity=quantity, actor=request.user)
        return f"Moved {quantity_text(quantity)} {data['item'].base_unit} of {data['item'].name} to {data['to_location']}."
    return _stock_form(request, TransferForm, "inventory/stock_form.html", post, "Transfer stock")


@require_http_methods(["GET", "POST"])
@requires(Perm.INVENTORY_USE)
def remove(request: HttpRequest) -> HttpResponse:
    """Waste, expired, return to vendor; an adjustment needs the manage permission."""
    def post(form, data, quantity):
        kind = data["kind"]
        if kind == MovementKind.ADJUSTMENT:
            if not request.user.has_perm_code(Perm.INVENTORY_MANAGE):
                raise ValidationError({"kind": "Only a manager adjusts stock."})
            stock_adjust(item=data["item"], stock_location=data["stock_location"], lot=data["lot"],
                         quantity=quantity if data["found"] else -quantity, reason=data["reason"], actor=request.user)
        else:
            stock_remove(item=data["item"], stock_location=data["stock_location"], lot=data["lot"], quantity=quantity,
                         kind=kind, reason=data["reason"], actor=request.user)
        return f"Recorded: {MovementKind(kind).label.lower()} of {quantity_text(quantity)} {data['item'].base_unit} {data['item'].name}."
    return _stock_form(request, RemoveForm, "inventory/stock_form.html", post, "Waste, expiry, returns, adjustments")


@require_http_methods(["GET", "POST"])
@requires(Perm.INVENTORY_MANAGE)
def cycle_count(request: HttpRequest, stock_location_id: int) -> HttpResponse:
    """Count a stock location: every lot on its shelf; variances post as adjustments."""
    place = selectors.stock_location_get(user=request.user, stock_location_id=stock_location_id)
    balances = (place.balances.exclude(on_hand=0).select_related("item", "lot").order_by("item__name", "lot__number"))
    form = CountForm(request.POST or None, balances=balances)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                posted = cycle_count_post(stock_location=place, counts=form.counts(), actor=request.user)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Count of {place.name} posted: {len(posted)} variance(s).")
                return redirect("inventory:on_hand")
    return render(request, "inventory/cycle_count.html", {"form": form, "place": place}, status=status)


@require_GET
@requires(Perm.INVENTORY_VIEW)
def alerts(request: HttpRequest) -> HttpResponse:
    """Low stock, lots expiring within N days (30 unless asked), expired lots on the shelf, overdue orders."""
    try:
        within = max(1, min(365, int(request.GET.get("within") or 30)))
    except ValueError:
        within = 30
    found = selectors.stock_alerts(organization_id=request.user.organization_id, today=timezone.localdate(),
                                   within_days=within)
    return render(request, "inventory/alerts.html", {"alerts": found, "within": within,
                                                     "can_order": request.user.has_perm_code(Perm.INVENTORY_MANAGE)})


@require_GET
@requires(Perm.INVENTORY_USE, Perm.PATIENT_VIEW)
def lot_recall(request: HttpRequest) -> HttpResponse:
    """The patients who received a lot or a serial number (a recall): an audited read of each patient shown."""
    number = (request.GET.get("lot") or "").strip()[:40]
    uses = list(selectors.lot_recall(user=request.user, lot_number=number))
    patients = list({u.patient_id: u.patient for u in uses}.values())
    export = request.GET.get("format") == "csv" and bool(number)
    if patients:
        audit_events(targets=patients, action="patient.exported" if export else "patient.listed", actor=request.user,
                     channel=AuditChannel.EXPORT if export else AuditChannel.PAGE,
                     summary=f"Lot recall: received lot or serial {number}"[:300])
    if export:
        return csv_response(f"lot-recall-{number}.csv"[:80], ["lot", "item", "used_on", "mrn", "last_name",
                                                               "first_name", "encounter", "stock_location"], (
            [u.lot.number, u.item.name, u.occurred_on, u.patient.mrn, u.patient.last_name, u.patient.first_name,
             u.encounter_ref, u.stock_location.name] for u in uses))
    return render(request, "inventory/lot_recall.html", {"number": number, "uses": uses,
                                                         "csv_url": reverse("inventory:lot_recall")})
