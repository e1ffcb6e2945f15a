"""Purchasing: orders to vendors from draft to approval (by someone other than who raised them, checked against the
department's budget), sent, received (through the same stock receipt as a manual one, so the stock ledger, lots, cost
layers and postings match), billed and closed.

An order's state only moves forward: draft -> awaiting approval -> approved -> sent -> partly received -> received
-> closed; an order nothing was received on may be cancelled, and a partly received one closed with its backorder
given up. Errors about a line name it (`line_<position>_<field>`) and nothing is posted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import Organization
from clinicdesk.core.money import format_money, round_money
from clinicdesk.core.permissions import Perm
from clinicdesk.ledger.bills import bill_enter_received
from clinicdesk.ledger.budgets import budget_vs_actual
from clinicdesk.ledger.choices import AccountRole
from clinicdesk.ledger.models import Bill, Budget, Vendor
from clinicdesk.ledger.services import account_for

from ..choices import PurchaseOrderStatus as S
from ..models import OPEN_ORDER_STATUSES, Item, PurchaseOrder, PurchaseOrderLine, PurchaseReceipt, StockLocation
from ..signals import purchase_order_sent
from .items import quantity_in_base
from .serials import stock_receive_tracked

ZERO = Decimal("0")
PRICE_LIMIT = Decimal("1e10")  # what a unit price column (14 digits, 4 decimals) holds


@dataclass
class LineIn:
    """One line as entered: the item, how many in which unit (a pack name or the base unit) at what price per unit
    (the item's price for that unit when None)."""

    item: Item
    quantity: Decimal
    unit: str = ""
    unit_price: Decimal | None = None


@dataclass
class ReceiptIn:
    """What arrived on one line: a quantity in the line's unit (or `unit`), with its lot and expiry (a serial-tracked
    item: its serial numbers, one per unit)."""

    line: PurchaseOrderLine
    quantity: Decimal
    unit: str | None = None
    lot_number: str = ""
    expires_on: date | None = None
    confirm_expired: bool = False
    serials: tuple[str, ...] = ()


def _line_error(position: int, item: Item, field: str, exc: ValidationError | str) -> ValidationError:
    text = " ".join(exc.messages) if isinstance(exc, ValidationError) else exc
    return ValidationError({f"line_{position}_{field}": f"Line {position} ({item.name}): {text}"})


def _field_of(exc: ValidationError, default: str) -> str:
    return next(iter(exc.error_dict), default) if hasattr(exc, "error_dict") else default


def purchase_order_next_number(*, organization: Organization, on: date | None = None) -> str:
    """The next free number of the year: PO-2026-0001, -0002 ..."""
    year = (on or timezone.localdate()).year
    prefix = f"PO-{year}-"
    taken = PurchaseOrder.objects.filter(organization=organization, number__startswith=prefix).values_list(
        "number", flat=True)
    last = max((int(n[len(prefix):]) for n in taken if n[len(prefix):].isdigit()), default=0)
    return f"{prefix}{last + 1:04d}"


def _lines_make(order: PurchaseOrder, lines: list[LineIn]) -> None:
    if not lines:
        raise ValidationError({"lines": "An order has at least one line."})
    made = []
    for position, spec in enumerate(lines, start=1):
        item = spec.item
        if item.organization_id != order.organization_id:
            raise _line_error(position, item, "item", "this item belongs to another practice.")
        try:
            base = quantity_in_base(item=item, quantity=spec.quantity, unit=spec.unit or "")
        except ValidationError as exc:
            raise _line_error(position, item, _field_of(exc, "quantity"), exc) from None
        per_unit = base / Decimal(spec.quantity)
        price = spec.unit_price if spec.unit_price is not None else (item.price * per_unit).quantize(Decimal("0.0001"))
        if not price.is_finite() or price < 0 or price >= PRICE_LIMIT or price != price.quantize(Decimal("0.0001")):
            raise _line_error(position, item, "unit_price", "a price is zero or more, below 10,000,000,000, with at most 4 decimals.")
        made.append(PurchaseOrderLine(organization_id=order.organization_id, order=order, position=position, item=item,
                                      unit=(spec.unit or "").strip(), quantity=Decimal(spec.quantity),
                                      unit_price=price, base_quantity=base))
    order.lines.all().delete()
    PurchaseOrderLine.objects.bulk_create(made)


def _order_check(organization: Organization, vendor: Vendor, stock_location: StockLocation) -> None:
    if vendor.organization_id != organization.pk:
        raise ValidationError({"vendor": "This vendor belongs to another practice."})
    if stock_location.organization_id != organization.pk:
        raise ValidationError({"stock_location": "This stock location belongs to another practice."})
    if not stock_location.is_active:
        raise ValidationError({"stock_location": f"{stock_location.name} is closed."})


@transaction.atomic
def purchase_order_create(*, organization: Organization, vendor: Vendor, stock_location: StockLocation,
                          lines: list[LineIn], actor, number: str = "", expected_on: date | None = None,
                          vendor_email: str = "", notes: str = "") -> PurchaseOrder:
    """A draft order to a vendor; without a number it gets the next of the year, without an e-mail address the
    vendor's. A number already used in the practice is refused, naming it."""
    _order_check(organization, vendor, stock_location)
    number = " ".join((number or "").split()) or purchase_order_next_number(organization=organization)
    if PurchaseOrder.objects.filter(organization=organization, number__iexact=number).exists():
        raise ValidationError({"number": f"Purchase order {number} already exists."})
    order = PurchaseOrder(organization=organization, number=number, vendor=vendor, stock_location=stock_location,
                          expected_on=expected_on, vendor_email=(vendor_email or "").strip() or vendor.email,
                          notes=(notes or "").strip()[:500], created_by=actor)
    order.full_clean(exclude=["created_by", "submitted_by", "approved_by"])
    try:
        with transaction.atomic():
            order.save()
    except IntegrityError:
        raise ValidationError({"number": f"Purchase order {number} already exists."}) from None
    _lines_make(order, lines)
    audit_event(action="inventory.po_created", actor=actor, target=order, organization_id=organization.pk,
                summary=f"Purchase order {number} to {vendor.name}, {len(lines)} line(s)"[:300])
    return order


def _locked(order: PurchaseOrder) -> PurchaseOrder:
    return (PurchaseOrder.objects.select_for_update().select_related("vendor", "stock_location", "organization")
            .get(pk=order.pk))


def _require(order: PurchaseOrder, *statuses: str, doing: str) -> None:
    if order.status not in statuses:
        raise ValidationError({"status": f"A purchase order that is {order.get_status_display().lower()} "
                                         f"cannot be {doing}."})


@transaction.atomic
def purchase_order_update(*, order: PurchaseOrder, actor, vendor: Vendor, stock_location: StockLocation,
                          lines: list[LineIn], expected_on: date | None = None, vendor_email: str = "",
                          notes: str = "") -> PurchaseOrder:
    """Change a draft: its vendor, where it goes, its lines."""
    order = _locked(order)
    _require(order, S.DRAFT, doing="changed")
    _order_check(order.organization, vendor, stock_location)
    order.vendor, order.stock_location, order.expected_on = vendor, stock_location, expected_on
    order.vendor_email, order.notes = (vendor_email or "").strip(), (notes or "").strip()[:500]
    order.full_clean(exclude=["created_by", "submitted_by", "approved_by"])
    order.save(update_fields=["vendor", "stock_location", "expected_on", "vendor_email", "notes", "updated_at"])
    _lines_make(order, lines)
    audit_event(action="inventory.po_changed", actor=actor, target=order, organization_id=order.organization_id,
                summary=f"Purchase order {order.number} changed"[:300])
    return order


def purchase_order_total(order: PurchaseOrder) -> Decimal:
    return sum((line.total for line in order.lines.all()), ZERO)


@transaction.atomic
def purchase_order_submit(*, order: PurchaseOrder, actor) -> PurchaseOrder:
    """Ask a manager to approve a draft (another than whoever raised or submitted it)."""
    order = _locked(order)
    _require(order, S.DRAFT, doing="sent for approval")
    if not order.lines.exists():
        raise ValidationError({"lines": "An order has at least one line."})
    order.status, order.submitted_by = S.AWAITING_APPROVAL, actor
    order.save(update_fields=["status", "submitted_by", "updated_at"])
    audit_event(action="inventory.po_submitted", actor=actor, target=order, organization_id=order.organization_id,
                summary=f"Purchase order {order.number} for {purchase_order_total(order)} awaits approval"[:300])
    return order


@dataclass
class BudgetCheck:
    """The order's department's supplies budget this month: budgeted, spent, still to come on other approved orders
    (committed), and what is left for this one (None when the department has no budget for the month)."""

    budget: Decimal | None
    spent: Decimal
    committed: Decimal
    total: Decimal

    @property
    def remaining(self) -> Decimal | None:
        return None if self.budget is None else self.budget - self.spent - self.committed

    @property
    def over_by(self) -> Decimal:
        return ZERO if self.remaining is None else max(ZERO, self.total - self.remaining)

    def note(self, department: str, month: date) -> str:
        if self.budget is None:
            return f"{department} has no supplies budget for {month:%B %Y}."
        return (f"{department} {month:%B %Y}: budget {format_money(self.budget)}, spent {format_money(self.spent)}, "
                f"to come on other orders {format_money(self.committed)}, left {format_money(self.remaining)}; "
                f"this order {format_money(self.total)}")


def purchase_order_budget_check(*, order: PurchaseOrder, actor, on: date | None = None) -> BudgetCheck:
    """The order against its department's budget for the month on supplies expense: the budget, less what was spent
    (the ledger's actual), less what is still to come on the department's other orders approved this month.

    Each dollar counts once. Received stock is inventory, not spending, until it is used: then its cost is supplies
    expense and shows in what was spent (a vendor's price difference too, when billed). So an approved order counts
    as committed only for what has not arrived yet (ordered minus received, at the ordered price); what arrived and
    is used counts as spent, and what arrived and sits on the shelf counts in neither until it is used. A received,
    closed or cancelled order commits nothing."""
    on = on or timezone.localdate()
    month = on.replace(day=1)
    department = order.stock_location.department
    account = account_for(order.organization_id, AccountRole.SUPPLIES_EXPENSE)
    cell = Budget.objects.filter(organization_id=order.organization_id, department=department, account=account,
                                 month=month).first()
    total = purchase_order_total(order)
    if cell is None:
        return BudgetCheck(budget=None, spent=ZERO, committed=ZERO, total=total)
    # The report reads the order's practice, whoever asks (a background approval has no signed-in user).
    report = budget_vs_actual(user=SimpleNamespace(organization_id=order.organization_id), year=month.year,
                              department_id=department.pk, today=on)
    spent = next((ln.actual[month.month - 1] for ln in report.lines if ln.account.pk == account.pk), ZERO)
    others = (PurchaseOrderLine.objects.filter(order__organization_id=order.organization_id,
                                               order__stock_location__department=department,
                                               order__status__in=OPEN_ORDER_STATUSES,
                                               order__approved_at__date__gte=month, order__approved_at__date__lte=on)
              .exclude(order=order).values_list("quantity", "unit_price", "base_quantity", "received"))
    committed = sum((round_money(q * p * (base - received) / base) for q, p, base, received in others
                     if received < base), ZERO)
    return BudgetCheck(budget=cell.amount, spent=spent, committed=committed, total=total)


def purchase_order_raised_by(order: PurchaseOrder, user) -> bool:
    """Whether `user` created or submitted the order (and so may not approve it)."""
    return user is not None and user.pk is not None and user.pk in (order.created_by_id, order.submitted_by_id)


@transaction.atomic
def purchase_order_approve(*, order: PurchaseOrder, actor, override_reason: str = "",
                           on: date | None = None) -> PurchaseOrder:
    """Approve an order awaiting approval; whoever created or submitted it may not (four eyes on every order).
    Over the department's remaining budget it needs a manager's override with a reason (who and why are kept on the
    order and audited)."""
    order = _locked(order)
    _require(order, S.AWAITING_APPROVAL, doing="approved")
    if purchase_order_raised_by(order, actor):
        raise ValidationError({"approved_by": "An order is approved by someone other than who raised it."})
    check = purchase_order_budget_check(order=order, actor=actor, on=on)
    reason = " ".join((override_reason or "").split())[:300]
    note = check.note(order.stock_location.department.name, (on or timezone.localdate()).replace(day=1))
    if check.over_by > 0:
        if actor is None or not actor.has_perm_code(Perm.BUDGETS_MANAGE):
            raise ValidationError({"override_reason": f"Over budget by {format_money(check.over_by)}: only a manager "
                                                      f"who keeps the budgets may approve it."})
        if not reason:
            raise ValidationError({"override_reason": f"Over budget by {format_money(check.over_by)} ({note}): give a "
                                                      f"reason to approve it anyway."})
    order.status, order.approved_by, order.approved_at = S.APPROVED, actor, timezone.now()
    order.budget_note = note[:300]
    order.override_reason = reason if check.over_by > 0 else ""
    order.save(update_fields=["status", "approved_by", "approved_at", "budget_note", "override_reason", "updated_at"])
    if check.over_by > 0:
        audit_event(action="inventory.po_budget_override", actor=actor, target=order,
                    organization_id=order.organization_id,
                    summary=f"Purchase order {order.number} approved {format_money(check.over_by)} over budget: "
                            f"{reason}"[:300])
    else:
        audit_event(action="inventory.po_approved", actor=actor, target=order, organization_id=order.organization_id,
                    summary=f"Purchase order {order.number} approved. {note}"[:300])
    return order


@transaction.atomic
def purchase_order_send(*, order: PurchaseOrder, actor, vendor_email: str = "", text: str = "", html: str = "",
                        subject: str = "", pdf: bytes = b"") -> PurchaseOrder:
    """Mark an approved order as sent to the vendor (today is its order date); with an e-mail address the order
    (`text`, `html`, and the `pdf` attached as PO-<number>.pdf) goes by e-mail through the communications outbox.
    Sending again repeats the e-mail."""
    order = _locked(order)
    _require(order, S.APPROVED, S.SENT, doing="sent")
    email = (vendor_email or order.vendor_email or "").strip()
    if email:
        order.vendor_email = email
        order.full_clean(exclude=["created_by", "submitted_by", "approved_by"])
    order.status, order.sent_at = S.SENT, timezone.now()
    order.ordered_on = order.ordered_on or timezone.localdate()
    order.save(update_fields=["status", "sent_at", "ordered_on", "vendor_email", "updated_at"])
    audit_event(action="inventory.po_sent", actor=actor, target=order, organization_id=order.organization_id,
                summary=f"Purchase order {order.number} sent to {order.vendor.name}"
                        f"{' at ' + email if email else ''}"[:300])
    if email:
        purchase_order_sent.send(sender=PurchaseOrder, order=order, to_address=email, actor=actor,
                                 subject=subject or f"Purchase order {order.number}", text=text, html=html,
                                 pdf=pdf, pdf_name=f"PO-{order.number}.pdf")
    return order


@transaction.atomic
def purchase_order_receive(*, order: PurchaseOrder, receipts: list[ReceiptIn], actor, received_on: date | None = None,
                           expected_on: date | None = None) -> list[PurchaseReceipt]:
    """Receive what arrived, line by line, through the stock receipt (lot and expiry, or the serial numbers of a
    serial-tracked item, one receipt row each; cost at the ordered price,
    Dr Inventory / Cr accounts payable). More than is still to come on a line is refused, naming the line; an
    expired lot needs its confirmation. What is still to come stays on backorder (`expected_on` is its new date)."""
    order = _locked(order)
    _require(order, S.APPROVED, S.SENT, S.PARTLY_RECEIVED, doing="received")
    receipts = [r for r in receipts if r.quantity]
    if not receipts:
        raise ValidationError({"lines": "Enter what arrived on at least one line."})
    lines = {line.pk: line for line in order.lines.select_for_update().select_related("item")}
    made = []
    for spec in receipts:
        line = lines.get(spec.line.pk)
        if line is None:
            raise ValidationError({"lines": "This line is not on the order."})
        unit = line.unit if spec.unit is None else spec.unit
        try:
            base = quantity_in_base(item=line.item, quantity=spec.quantity, unit=unit)
        except ValidationError as exc:
            raise _line_error(line.position, line.item, _field_of(exc, "quantity"), exc) from None
        if base > line.outstanding:
            raise _line_error(line.position, line.item, "quantity",
                              f"{base.normalize():f} {line.item.base_unit} is more than the "
                              f"{line.outstanding.normalize():f} still to come.")
        try:
            movements = stock_receive_tracked(item=line.item, stock_location=order.stock_location, quantity=base,
                                              actor=actor, lot_number=spec.lot_number, serials=spec.serials,
                                              expires_on=spec.expires_on, unit_cost=line.base_unit_cost,
                                              received_on=received_on, confirm_expired=spec.confirm_expired)
        except ValidationError as exc:
            raise _line_error(line.position, line.item, _field_of(exc, "quantity"), exc) from None
        line.received += base
        line.save(update_fields=["received"])
        made.extend(PurchaseReceipt(organization_id=order.organization_id, line=line, movement=movement,
                                    quantity=movement.quantity, value=movement.value,
                                    received_on=movement.occurred_on) for movement in movements)
    PurchaseReceipt.objects.bulk_create(made)
    done = all(line.outstanding == 0 for line in lines.values())
    order.status = S.RECEIVED if done else S.PARTLY_RECEIVED
    if expected_on and not done:
        order.expected_on = expected_on
    order.save(update_fields=["status", "expected_on", "updated_at"])
    audit_event(action="inventory.po_received", actor=actor, target=order, organization_id=order.organization_id,
                summary=(f"Purchase order {order.number}: {len(receipts)} line(s) received"
                         f"{'' if done else ', the rest on backorder'}")[:300])
    return made


def _finish(order: PurchaseOrder, *, actor, status: str, reason: str, verb: str) -> PurchaseOrder:
    """Close or cancel the (locked) order with its reason, audited."""
    order.status, order.closed_reason = status, reason
    order.save(update_fields=["status", "closed_reason", "updated_at"])
    audit_event(action=f"inventory.po_{verb}", actor=actor, target=order, organization_id=order.organization_id,
                summary=f"Purchase order {order.number} {verb}{': ' + reason if reason else ''}"[:300])
    return order


@transaction.atomic
def purchase_order_close(*, order: PurchaseOrder, actor, reason: str = "") -> PurchaseOrder:
    """Close a received order, or a partly received one whose backorder will not come (a reason is required)."""
    order = _locked(order)
    _require(order, S.RECEIVED, S.PARTLY_RECEIVED, doing="closed")
    reason = " ".join((reason or "").split())[:300]
    if order.status == S.PARTLY_RECEIVED and not reason:
        raise ValidationError({"reason": "Say why the backorder is given up."})
    return _finish(order, actor=actor, status=S.CLOSED, reason=reason, verb="closed")


@transaction.atomic
def purchase_order_cancel(*, order: PurchaseOrder, actor, reason: str) -> PurchaseOrder:
    """Cancel an order nothing was received on; a reason is required."""
    order = _locked(order)
    _require(order, S.DRAFT, S.AWAITING_APPROVAL, S.APPROVED, S.SENT, doing="cancelled")
    reason = " ".join((reason or "").split())[:300]
    if not reason:
        raise ValidationError({"reason": "Say why the order is cancelled."})
    return _finish(order, actor=actor, status=S.CANCELLED, reason=reason, verb="cancelled")


@transaction.atomic
def purchase_order_bill(*, order: PurchaseOrder, actor, number: str, bill_date: date, due_date: date,
                        amount: Decimal) -> Bill:
    """Enter the vendor's bill for what was received on the order and not billed yet. The receipts already owe the
    vendor their value; the bill posts only the difference (see ledger.bills.bill_enter_received)."""
    order = _locked(order)
    receipts = list(PurchaseReceipt.objects.select_for_update().filter(line__order=order, bill__isnull=True))
    received = sum((r.value for r in receipts), ZERO)
    if not receipts:
        raise ValidationError({"amount": "Nothing received on this order is waiting for a bill."})
    bill = bill_enter_received(organization=order.organization, vendor=order.vendor, number=number,
                               bill_date=bill_date, due_date=due_date, amount=amount, received_value=received,
                               department=order.stock_location.department, actor=actor,
                               memo=f"Purchase order {order.number}")
    PurchaseReceipt.objects.filter(pk__in=[r.pk for r in receipts]).update(bill=bill)
    audit_event(action="inventory.po_billed", actor=actor, target=order, organization_id=order.organization_id,
                summary=f"Purchase order {order.number}: bill {bill.number} for {amount} (received {received})"[:300])
    return bill


def purchase_order_unbilled(order: PurchaseOrder) -> Decimal:
    """The value received on the order that no bill has paid for yet."""
    return PurchaseReceipt.objects.filter(line__order=order, bill__isnull=True).aggregate(
        t=Sum("value"))["t"] or ZERO


@transaction.atomic
def purchase_orders_from_suggestions(*, organization: Organization, rows: list, actor) -> list[PurchaseOrder]:
    """Draft orders from chosen suggestions (selectors.suggested_orders rows): one per vendor and stock location.
    A suggestion whose item has no preferred vendor is refused, naming it."""
    groups: dict[tuple[int, int], list] = {}
    for row in rows:
        if row.vendor is None:
            raise ValidationError({"rows": f"{row.item.name} has no preferred vendor: set one on the item first."})
        groups.setdefault((row.vendor.pk, row.stock_location.pk), []).append(row)
    orders = []
    for group in groups.values():
        first = group[0]
        orders.append(purchase_order_create(
            organization=organization, vendor=first.vendor, stock_location=first.stock_location, actor=actor,
            lines=[LineIn(item=r.item, quantity=r.order_quantity, unit=r.order_unit) for r in group],
            notes="From suggested orders"))
    return orders
