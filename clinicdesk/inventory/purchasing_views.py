"""The purchasing pages (/supplies/orders/...): suggested orders, the order list, an order from draft to closed
(approve, send, receive, bill), its PDF; and the stock locations pages. Each checks its permission, reads through the
selectors and writes through one service."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.contrib import messages
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.form_pages import form_round_trip
from clinicdesk.core.paging import page_of
from clinicdesk.core.permissions import Perm

from . import selectors
from .choices import PurchaseOrderStatus as S
from .forms import (
    ApproveForm,
    BillForm,
    OrderFilterForm,
    OrderForm,
    ReasonForm,
    ReceiveOrderForm,
    SendForm,
    StockLocationForm,
)
from .services import purchasing as po
from .services.items import quantity_text, stock_location_create, stock_location_update
from .services.serials import serial_numbers_parse


def _errors_to_messages(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


@require_GET
@requires(Perm.INVENTORY_MANAGE)
def order_list(request: HttpRequest) -> HttpResponse:
    """The practice's purchase orders, newest first; by status (open, with a backorder ...) or number/vendor; CSV."""
    form = OrderFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    orders = selectors.purchase_order_list(user=request.user, status=data.get("status", ""), q=data.get("q", ""))
    if request.GET.get("format") == "csv":
        return csv_response("purchase-orders.csv", ["number", "vendor", "deliver_to", "status", "ordered_on",
                                                    "expected_on", "total"], (
            [o.number, o.vendor.name, o.stock_location.name, o.get_status_display(), o.ordered_on or "",
             o.expected_on or "", f"{o.total:.2f}"] for o in orders.iterator()))
    page, query = page_of(request, orders)
    return render(request, "inventory/order_list.html", {"form": form, "page": page, "query": query,
                                                         "today": timezone.localdate()})


@require_http_methods(["GET", "POST"])
@requires(Perm.INVENTORY_MANAGE)
def order_suggestions(request: HttpRequest) -> HttpResponse:
    """What to order (at or below the reorder point, counting what is on order), with CSV; chosen rows become
    draft orders, one per vendor and stock location."""
    rows = selectors.suggested_orders(user=request.user, today=timezone.localdate())
    if request.GET.get("format") == "csv":
        return csv_response("suggested-orders.csv", ["vendor", "stock_location", "item", "on_hand", "on_order",
                                                     "reorder_point", "par_level", "used_30_days", "order_quantity",
                                                     "unit", "unit_price", "total"], (
            [r.vendor.name if r.vendor else "", r.stock_location.name, r.item.name, quantity_text(r.on_hand), quantity_text(r.on_order),
             quantity_text(r.level.reorder_point), quantity_text(r.level.par_level), quantity_text(r.used), quantity_text(r.order_quantity),
             r.order_unit or r.item.base_unit, r.unit_price, r.total] for r in rows))
    if request.method == "POST":
        chosen = {v for v in request.POST.getlist("level") if v.isdigit()}
        picked = [r for r in rows if str(r.level.pk) in chosen]
        if not picked:
            messages.error(request, "Choose at least one suggestion to order.")
            return redirect("inventory:order_suggestions")
        try:
            orders = po.purchase_orders_from_suggestions(organization=request.user.organization, rows=picked,
                                                         actor=request.user)
        except ValidationError as exc:
            _errors_to_messages(request, exc)
            return redirect("inventory:order_suggestions")
        messages.success(request, f"Drafted {', '.join(o.number for o in orders)}.")
        if len(orders) == 1:
            return redirect("inventory:order_detail", purchase_order_id=orders[0].pk)
        return redirect("inventory:order_list")
    return render(request, "inventory/order_suggestions.html", {"rows": rows})


def _order_form(request: HttpRequest, order) -> HttpResponse:
    org_id = request.user.organization_id
    initial = {}
    lines = list(order.lines.select_related("item")) if order else []
    if order:
        initial = {"number": order.number, "vendor": order.vendor_id, "stock_location": order.stock_location_id,
                   "expected_on": order.expected_on, "vendor_email": order.vendor_email, "notes": order.notes}
        for n, line in enumerate(lines, start=1):
            initial |= {f"line_{n}_item": line.item_id, f"line_{n}_quantity": line.quantity,
                        f"line_{n}_unit": line.unit, f"line_{n}_unit_price": line.unit_price}
    form = OrderForm(request.POST or None, initial=initial, organization_id=org_id, lines=len(lines))
    if order:
        form.fields["number"].disabled = True
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            specs = [po.LineIn(item=i, quantity=q, unit=u, unit_price=p) for i, q, u, p in form.lines()]
            if not form.errors:
                head = {"vendor": data["vendor"], "stock_location": data["stock_location"], "lines": specs,
                        "expected_on": data["expected_on"], "vendor_email": data["vendor_email"],
                        "notes": data["notes"], "actor": request.user}
                try:
                    if order:
                        saved = po.purchase_order_update(order=order, **head)
                    else:
                        saved = po.purchase_order_create(organization=request.user.organization,
                                                         number=data["number"], **head)
                except ValidationError as exc:
                    form.add_service_errors(exc)
                else:
                    messages.success(request, f"Saved purchase order {saved.number}.")
                    return redirect("inventory:order_detail", purchase_order_id=saved.pk)
    return render(request, "inventory/order_form.html", {"form": form, "order": order}, status=status)


@require_http_methods(["GET", "POST"])
@requires(Perm.INVENTORY_MANAGE)
def order_create(request: HttpRequest) -> HttpResponse:
    return _order_form(request, None)


@require_http_methods(["GET", "POST"])
@requires(Perm.INVENTORY_MANAGE)
def order_edit(request: HttpRequest, purchase_order_id: int) -> HttpResponse:
    order = selectors.purchase_order_get(user=request.user, purchase_order_id=purchase_order_id)
    if order.status != S.DRAFT:
        messages.error(request, f"Purchase order {order.number} is {order.get_status_display().lower()}: only a "
                                f"draft is changed.")
        return redirect("inventory:order_detail", purchase_order_id=order.pk)
    return _order_form(request, order)


@require_GET
@requires(Perm.INVENTORY_MANAGE)
def order_detail(request: HttpRequest, purchase_order_id: int) -> HttpResponse:
    """An order: its lines and what arrived on each (lot, expiry, bill), the budget check, and the next steps."""
    order = selectors.purchase_order_get(user=request.user, purchase_order_id=purchase_order_id)
    lines = list(selectors.purchase_order_lines(order=order))
    check = None
    if order.status == S.AWAITING_APPROVAL:
        check = po.purchase_order_budget_check(order=order, actor=request.user)
    today = timezone.localdate()
    return render(request, "inventory/order_detail.html", {
        "order": order, "lines": lines, "total": sum((ln.total for ln in lines), Decimal("0")), "check": check,
        "S": S, "approve_form": ApproveForm(), "send_form": SendForm(initial={"vendor_email": order.vendor_email}),
        "reason_form": ReasonForm(), "unbilled": po.purchase_order_unbilled(order),
        "bill_form": BillForm(initial={"bill_date": today, "due_date": today + timedelta(days=30)}),
        "backorder": order.status == S.PARTLY_RECEIVED,
        "can_cancel": order.status in (S.DRAFT, S.AWAITING_APPROVAL, S.APPROVED, S.SENT),
        "raised_by_me": po.purchase_order_raised_by(order, request.user),
    })


def _act(request: HttpRequest, purchase_order_id: int, form_class, act, done: str) -> HttpResponse:
    """Run one step on an order from its page's small form; errors come back as messages on the order."""
    order = selectors.purchase_order_get(user=request.user, purchase_order_id=purchase_order_id)
    form = form_class(request.POST) if form_class else None
    if form is not None and not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label}: {' '.join(errors)}" if label else " ".join(errors))
        return redirect("inventory:order_detail", purchase_order_id=order.pk)
    try:
        act(order, form.cleaned_data if form is not None else {})
    except ValidationError as exc:
        _errors_to_messages(request, exc)
    else:
        messages.success(request, done.format(number=order.number))
    return redirect("inventory:order_detail", purchase_order_id=order.pk)


@require_POST
@requires(Perm.INVENTORY_MANAGE)
def order_submit(request: HttpRequest, purchase_order_id: int) -> HttpResponse:
    return _act(request, purchase_order_id, None, lambda o, d: po.purchase_order_submit(order=o, actor=request.user),
                "Purchase order {number} awaits approval.")


@require_POST
@requires(Perm.INVENTORY_MANAGE)
def order_approve(request: HttpRequest, purchase_order_id: int) -> HttpResponse:
    return _act(request, purchase_order_id, ApproveForm, lambda o, d: po.purchase_order_approve(
        order=o, actor=request.user, override_reason=d["override_reason"]), "Approved purchase order {number}.")


def order_pdf_bytes(order, lines) -> bytes:
    """The order as the printable PDF the vendor gets (the order page's PDF, and the e-mail's attachment)."""
    from weasyprint import CSS, HTML  # imported here: loading Pango costs a moment and only the PDF needs it

    html = render_to_string("inventory/purchase_order_pdf.html", {
        "order": order, "lines": lines, "total": sum((ln.total for ln in lines), Decimal("0")),
        "today": timezone.localdate()})
    stylesheet = finders.find("inventory/purchase-order-pdf.css")
    return HTML(string=html).write_pdf(stylesheets=[CSS(filename=stylesheet)] if stylesheet else None)


def order_email(order, lines) -> tuple[str, str]:
    """The order as the vendor reads it in an e-mail: plain text and HTML."""
    context = {"order": order, "lines": lines, "total": sum((ln.total for ln in lines), Decimal("0"))}
    return (render_to_string("inventory/purchase_order_email.txt", context),
            render_to_string("inventory/purchase_order_email.html", context))


@require_POST
@requires(Perm.INVENTORY_MANAGE)
def order_send(request: HttpRequest, purchase_order_id: int) -> HttpResponse:
    def act(order, data):
        lines = list(selectors.purchase_order_lines(order=order))
        text, html = order_email(order, lines)
        po.purchase_order_send(order=order, actor=request.user, vendor_email=data["vendor_email"], text=text,
                               html=html, subject=f"Purchase order {order.number} from {order.organization.name}",
                               pdf=order_pdf_bytes(order, lines) if data["vendor_email"] or order.vendor_email else b"")
    return _act(request, purchase_order_id, SendForm, act, "Sent purchase order {number}.")


@require_POST
@requires(Perm.INVENTORY_MANAGE)
def order_close(request: HttpRequest, purchase_order_id: int) -> HttpResponse:
    return _act(request, purchase_order_id, ReasonForm, lambda o, d: po.purchase_order_close(
        order=o, actor=request.user, reason=d["reason"]), "Closed purchase order {number}.")


@require_POST
@requires(Perm.INVENTORY_MANAGE)
def order_cancel(request: HttpRequest, purchase_order_id: int) -> HttpResponse:
    return _act(request, purchase_order_id, ReasonForm, lambda o, d: po.purchase_order_cancel(
        order=o, actor=request.user, reason=d["reason"]), "Cancelled purchase order {number}.")


@require_POST
@requires(Perm.INVENTORY_MANAGE)
def order_bill(request: HttpRequest, purchase_order_id: int) -> HttpResponse:
    return _act(request, purchase_order_id, BillForm, lambda o, d: po.purchase_order_bill(
        order=o, actor=request.user, **d), "Entered the vendor's bill for purchase order {number}.")


@require_http_methods(["GET", "POST"])
@requires(Perm.INVENTORY_MANAGE)
def order_receive(request: HttpRequest, purchase_order_id: int) -> HttpResponse:
    """Receive what arrived on an order: per line still to come, the quantity, lot and expiry; the rest stays on
    backorder. An error names its line and nothing is received."""
    order = selectors.purchase_order_get(user=request.user, purchase_order_id=purchase_order_id)
    lines = list(selectors.purchase_order_lines(order=order))
    form = ReceiveOrderForm(request.POST or None, lines=lines, initial={"received_on": timezone.localdate()})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            specs = [po.ReceiptIn(line=line, quantity=data.get(f"line_{line.position}_quantity") or Decimal("0"),
                                  unit=data.get(f"line_{line.position}_unit") or None,
                                  lot_number=data.get(f"line_{line.position}_lot_number") or "",
                                  serials=tuple(serial_numbers_parse(data.get(f"line_{line.position}_serials") or "")),
                                  expires_on=data.get(f"line_{line.position}_expires_on"),
                                  confirm_expired=bool(data.get(f"line_{line.position}_confirm_expired")))
                     for line in form.order_lines]
            try:
                made = po.purchase_order_receive(order=order, receipts=specs, actor=request.user,
                                                 received_on=data["received_on"], expected_on=data["expected_on"])
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                order.refresh_from_db(fields=["status"])
                left = " The rest is on backorder." if order.status == S.PARTLY_RECEIVED else ""
                messages.success(request, f"Received {len({r.line_id for r in made})} line(s) of {order.number}.{left}")
                return redirect("inventory:order_detail", purchase_order_id=order.pk)
    return render(request, "inventory/order_receive.html", {"form": form, "order": order,
                                                            "can_receive": order.is_open}, status=status)


@require_GET
@requires(Perm.INVENTORY_MANAGE)
def order_pdf(request: HttpRequest, purchase_order_id: int) -> HttpResponse:
    """The order as a printable PDF for the vendor."""
    order = selectors.purchase_order_get(user=request.user, purchase_order_id=purchase_order_id)
    pdf = order_pdf_bytes(order, list(selectors.purchase_order_lines(order=order)))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="purchase-order-{order.pk}.pdf"'
    return response


# --- stock locations -----------------------------------------------------------------------------------------------


@require_GET
@requires(Perm.INVENTORY_VIEW)
def stock_location_list(request: HttpRequest) -> HttpResponse:
    """The practice's stock locations, open and closed, with their office and department; CSV."""
    places = selectors.stock_location_all(user=request.user)
    if request.GET.get("format") == "csv":
        return csv_response("stock-locations.csv", ["name", "kind", "office", "department", "open"], (
            [p.name, p.get_kind_display(), p.location.name, p.department.name, "yes" if p.is_active else "no"]
            for p in places))
    return render(request, "inventory/stock_location_list.html", {
        "places": places, "can_manage": request.user.has_perm_code(Perm.INVENTORY_MANAGE)})


def _stock_location_form(request: HttpRequest, place) -> HttpResponse:
    initial = {"kind": "supply_room", "is_active": True}
    if place:
        initial = {"name": place.name, "location": place.location_id, "department": place.department_id,
                   "kind": place.kind, "is_active": place.is_active}
    form = StockLocationForm(request.POST or None, initial=initial, organization_id=request.user.organization_id)

    def save(form):
        data = dict(form.cleaned_data)
        if place:
            return stock_location_update(stock_location=place, actor=request.user, **data)
        data.pop("is_active")  # a new stock location is open
        return stock_location_create(organization=request.user.organization, actor=request.user, **data)

    return form_round_trip(request, form, save, template="inventory/stock_location_form.html", context={"place": place},
                           done=lambda saved: (f"Saved stock location {saved.name}.",
                                               reverse("inventory:stock_location_list")))


@require_http_methods(["GET", "POST"])
@requires(Perm.INVENTORY_MANAGE)
def stock_location_create_view(request: HttpRequest) -> HttpResponse:
    return _stock_location_form(request, None)


@require_http_methods(["GET", "POST"])
@requires(Perm.INVENTORY_MANAGE)
def stock_location_edit(request: HttpRequest, stock_location_id: int) -> HttpResponse:
    return _stock_location_form(request, selectors.stock_location_get(user=request.user,
                                                                      stock_location_id=stock_location_id))
