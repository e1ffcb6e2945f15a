"""Billing reports and the day close's reads: the deposit report, the day sheet, collections by provider and
department, charges against payments by month, card settlement, and the days closed.

Every selector takes the acting user and reads only the user's organization. Figures are summed in SQL (a fixed
number of queries whatever the number of rows); Python only arranges the rows it gets back. A/R aging is the
ledger's report (ledger app), not built here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.shortcuts import get_object_or_404

from clinicdesk.core.models import Department, Location, User
from clinicdesk.ledger.choices import AccountRole, EntryKind
from clinicdesk.ledger.models import JournalLine

from ..choices import (
    AdjustmentKind,
    DayCloseStatus,
    EncounterStatus,
    PaymentMethod,
    PaymentStatus,
    RefundMethod,
    RefundStatus,
)
from ..models import Adjustment, CashDrawer, DayClose, EncounterDiagnosis, Payment, Refund, ServiceLine
from ..models.dayclose import Deposit

ZERO = Decimal("0.00")
RECEIVABLE_ROLES = (AccountRole.PATIENT_RECEIVABLE, AccountRole.INSURANCE_RECEIVABLE)
MONEY_IN_ROLES = (AccountRole.CASH, AccountRole.UNDEPOSITED_FUNDS, AccountRole.CARD_CLEARING)
MAX_REPORT_DAYS = 732


def _money(value) -> Decimal:
    return (value if value is not None else ZERO).quantize(Decimal("0.01"))


def _period(start: date, end: date) -> None:
    if start > end:
        raise ValidationError({"end": "The end date is before the start date."})
    if (end - start).days > MAX_REPORT_DAYS:
        raise ValidationError({"end": "Choose a period of at most two years."})


def report_locations(*, user) -> list[Location]:
    """The organization's locations, for the reports' filters."""
    return list(Location.objects.filter(organization_id=user.organization_id).order_by("name"))


def location_for(*, user, location_id) -> Location:
    """One of the organization's locations; another organization's is a 404."""
    return get_object_or_404(Location, organization_id=user.organization_id, pk=location_id)


def _user_name(first: str | None, last: str | None, username: str | None) -> str:
    name = f"{first or ''} {last or ''}".strip()
    return name or username or "(no one recorded)"


# --- deposit report ----------------------------------------------------------------------------------------


@dataclass
class DepositReport:
    start: date
    end: date
    location: Location | None
    by_method: list[dict] = field(default_factory=list)  # method, label, count, amount, refunds, net
    by_user: list[dict] = field(default_factory=list)  # user, method label, count, amount
    deposits: list[Deposit] = field(default_factory=list)
    total_payments: Decimal = ZERO
    total_refunds: Decimal = ZERO
    net: Decimal = ZERO


def deposit_report(*, user, start: date, end: date, location: Location | None = None) -> DepositReport:
    """Money taken in a period by payment method and by who took it, less refunds paid out, and the deposits made."""
    _period(start, end)
    org = user.organization_id
    pays = Payment.objects.filter(organization_id=org, status=PaymentStatus.POSTED, received_on__range=(start, end))
    refunds = Refund.objects.filter(organization_id=org, status=RefundStatus.PAID, entry__entry_date__range=(start, end))
    deposits = Deposit.objects.filter(organization_id=org, deposit_date__range=(start, end)).select_related("location")
    if location is not None:
        pays = pays.filter(location=location)
        refunds = refunds.filter(location=location)
        deposits = deposits.filter(location=location)
    paid = {r["method"]: r for r in pays.values("method").annotate(count=Count("id"), amount=Sum("amount"))}
    back = {r["method"]: r["amount"] for r in refunds.values("method").annotate(amount=Sum("amount"))}
    report = DepositReport(start=start, end=end, location=location)
    for method in PaymentMethod:
        amount = _money(paid.get(method, {}).get("amount"))
        refunded = _money(back.get(method))
        report.by_method.append({"method": method.value, "label": method.label,
                                 "count": paid.get(method, {}).get("count", 0), "amount": amount,
                                 "refunds": refunded, "net": amount - refunded})
    rows = (pays.values("taken_by", "taken_by__first_name", "taken_by__last_name", "taken_by__username", "method")
            .annotate(count=Count("id"), amount=Sum("amount"))
            .order_by("taken_by__last_name", "taken_by__first_name", "taken_by", "method"))
    for row in rows:
        report.by_user.append({
            "user": _user_name(row["taken_by__first_name"], row["taken_by__last_name"], row["taken_by__username"]),
            "method": PaymentMethod(row["method"]).label, "count": row["count"], "amount": _money(row["amount"]),
        })
    report.deposits = list(deposits.order_by("deposit_date", "id"))
    report.total_payments = sum((r["amount"] for r in report.by_method), ZERO)
    report.total_refunds = sum((r["refunds"] for r in report.by_method), ZERO)
    report.net = report.total_payments - report.total_refunds
    return report


@dataclass(frozen=True)
class PaymentsWithoutLocation:
    """Cash and check payments posted with no location: they are in no drawer, so no day close counts them."""

    count: int
    total: Decimal
    payments: list[Payment]
    shown: int


NO_LOCATION_SHOWN = 50


def payments_without_location(*, user, start: date, end: date) -> PaymentsWithoutLocation:
    """The period's posted cash and check payments that name no location (two queries; the first 50 listed)."""
    rows = Payment.objects.filter(organization_id=user.organization_id, status=PaymentStatus.POSTED,
                                  method__in=(PaymentMethod.CASH, PaymentMethod.CHECK), location__isnull=True,
                                  received_on__range=(start, end))
    totals = rows.aggregate(count=Count("id"), total=Sum("amount"))
    if not totals["count"]:
        return PaymentsWithoutLocation(count=0, total=ZERO, payments=[], shown=0)
    listed = list(rows.select_related("account", "taken_by").order_by("received_on", "id")[:NO_LOCATION_SHOWN])
    return PaymentsWithoutLocation(count=totals["count"], total=_money(totals["total"]), payments=listed,
                                   shown=len(listed))


# --- day sheet ---------------------------------------------------------------------------------------------


@dataclass
class DaySheet:
    on: date
    location: Location
    charges: list[dict] = field(default_factory=list)
    payments: list[dict] = field(default_factory=list)
    adjustments: list[dict] = field(default_factory=list)
    refunds: list[dict] = field(default_factory=list)
    total_charges: Decimal = ZERO
    total_payments: Decimal = ZERO
    total_adjustments: Decimal = ZERO
    total_refunds: Decimal = ZERO
    patient_ids: set[int] = field(default_factory=set)

    @property
    def net_change(self) -> Decimal:
        """What the day adds to receivables: charges less payments and adjustments, plus refunds paid out."""
        return self.total_charges - self.total_payments - self.total_adjustments + self.total_refunds


def _patient_name(first, last, preferred) -> str:
    first = preferred or first or ""
    return f"{last or ''}, {first}".strip(", ")


def day_sheet(*, user, on: date, location: Location) -> DaySheet:
    """Everything posted for a day at one location: each charge with patient, provider and codes; each payment,
    adjustment and refund; and their totals. Five queries whatever the day's size."""
    if location.organization_id != user.organization_id:
        raise ValidationError({"location": "Unknown location."})
    org = user.organization_id
    sheet = DaySheet(on=on, location=location)
    lines = (ServiceLine.objects
             .filter(encounter__organization_id=org, encounter__location=location, encounter__service_date=on,
                     encounter__status=EncounterStatus.POSTED)
             .order_by("encounter__patient__last_name", "encounter__patient__first_name", "encounter_id", "sequence")
             .values("id", "encounter_id", "procedure_code", "modifiers", "units", "amount", "diagnosis_pointers",
                     "encounter__patient_id", "encounter__patient__first_name", "encounter__patient__last_name",
                     "encounter__patient__preferred_name", "encounter__patient__mrn",
                     "encounter__provider__first_name", "encounter__provider__last_name", "encounter__provider__username",
                     "encounter__department__name"))
    lines = list(lines)
    dx: dict[int, dict[int, str]] = {}
    for row in EncounterDiagnosis.objects.filter(encounter_id__in={ln["encounter_id"] for ln in lines}).values_list(
            "encounter_id", "sequence", "code"):
        dx.setdefault(row[0], {})[row[1]] = row[2]
    for ln in lines:
        pointers = [int(p) for p in ln["diagnosis_pointers"].split(",") if p.strip().isdigit()]
        sheet.charges.append({
            "patient": _patient_name(ln["encounter__patient__first_name"], ln["encounter__patient__last_name"],
                                     ln["encounter__patient__preferred_name"]),
            "mrn": ln["encounter__patient__mrn"],
            "provider": _user_name(ln["encounter__provider__first_name"], ln["encounter__provider__last_name"],
                                   ln["encounter__provider__username"]),
            "department": ln["encounter__department__name"] or "",
            "code": ln["procedure_code"] + (f"-{ln['modifiers']}" if ln["modifiers"] else ""),
            "diagnoses": ", ".join(dx.get(ln["encounter_id"], {}).get(p, "") for p in pointers),
            "units": ln["units"], "amount": ln["amount"],
        })
        sheet.patient_ids.add(ln["encounter__patient_id"])
    pays = (Payment.objects
            .filter(organization_id=org, location=location, received_on=on,
                    status__in=(PaymentStatus.POSTED, PaymentStatus.VOIDED))
            .order_by("id")
            .values("id", "method", "status", "amount", "check_number", "card_brand", "card_last4", "is_copay",
                    "account__number", "account__guarantor_name", "patient_id", "patient__first_name",
                    "patient__last_name", "patient__preferred_name", "taken_by__first_name", "taken_by__last_name",
                    "taken_by__username"))
    for p in pays:
        detail = {PaymentMethod.CHECK: f"Check {p['check_number']}",
                  PaymentMethod.CARD: f"{p['card_brand']} {p['card_last4']}".strip()}.get(p["method"], "")
        sheet.payments.append({
            "patient": (_patient_name(p["patient__first_name"], p["patient__last_name"], p["patient__preferred_name"])
                        if p["patient_id"] else p["account__guarantor_name"]),
            "account": p["account__number"], "method": PaymentMethod(p["method"]).label, "detail": detail,
            "copay": p["is_copay"], "status": PaymentStatus(p["status"]).label,
            "voided": p["status"] == PaymentStatus.VOIDED, "amount": p["amount"],
            "taken_by": _user_name(p["taken_by__first_name"], p["taken_by__last_name"], p["taken_by__username"]),
        })
        if p["patient_id"]:
            sheet.patient_ids.add(p["patient_id"])
    adjustments = (Adjustment.objects
                   .filter(organization_id=org, entry__entry_date=on, item__service_line__encounter__location=location)
                   .order_by("id")
                   .values("kind", "amount", "reason", "patient_id", "patient__first_name", "patient__last_name",
                           "patient__preferred_name", "item__service_line__procedure_code"))
    for a in adjustments:
        sheet.adjustments.append({
            "patient": _patient_name(a["patient__first_name"], a["patient__last_name"], a["patient__preferred_name"]),
            "kind": AdjustmentKind(a["kind"]).label,
            "code": a["item__service_line__procedure_code"] or "", "reason": a["reason"], "amount": a["amount"],
        })
        sheet.patient_ids.add(a["patient_id"])
    refunds = (Refund.objects
               .filter(organization_id=org, location=location, entry__entry_date=on,
                       status__in=(RefundStatus.PAID, RefundStatus.PENDING))
               .order_by("id")
               .values("method", "amount", "reason", "patient_id", "patient__first_name", "patient__last_name",
                       "patient__preferred_name"))
    for r in refunds:
        sheet.refunds.append({
            "patient": _patient_name(r["patient__first_name"], r["patient__last_name"], r["patient__preferred_name"]),
            "method": RefundMethod(r["method"]).label, "reason": r["reason"], "amount": r["amount"],
        })
        sheet.patient_ids.add(r["patient_id"])
    sheet.total_charges = _money(sum((c["amount"] for c in sheet.charges), ZERO))
    sheet.total_payments = _money(sum((p["amount"] for p in sheet.payments if not p["voided"]), ZERO))
    sheet.total_adjustments = _money(sum((a["amount"] for a in sheet.adjustments), ZERO))
    sheet.total_refunds = _money(sum((r["amount"] for r in sheet.refunds), ZERO))
    return sheet


# --- collections by provider and department ----------------------------------------------------------------


@dataclass
class Collections:
    start: date
    end: date
    by: str
    rows: list[dict] = field(default_factory=list)  # name, payments, credit_applied, total
    total_payments: Decimal = ZERO
    total_credit_applied: Decimal = ZERO
    total: Decimal = ZERO
    unapplied: Decimal = ZERO  # received in the period and held as credit


def _collection_lines(org: int, start: date, end: date):
    """Receivable lines that payments (or a credit applied) took off a charge in the period; a voided payment's
    reversal counts against it."""
    credit_used = JournalLine.objects.filter(entry_id=OuterRef("entry_id"), account__role=AccountRole.PATIENT_CREDIT,
                                             amount__gt=0)
    return (JournalLine.objects
            .filter(organization_id=org, entry_date__range=(start, end), account__role__in=RECEIVABLE_ROLES,
                    item__isnull=False)
            .annotate(from_credit=Exists(credit_used))
            .filter(Q(entry__kind=EntryKind.PAYMENT)
                    | Q(entry__kind=EntryKind.REVERSAL, entry__reverses__kind=EntryKind.PAYMENT)
                    | Q(entry__kind=EntryKind.TRANSFER, from_credit=True)))


def collections(*, user, start: date, end: date, by: str = "provider") -> Collections:
    """Money collected on charges in a period, by the charge's provider or department (ledger lines that settle a
    receivable item, followed back to its service line and encounter). Money received but not applied to a charge
    is shown apart, as is credit applied to charges later (it was counted as unapplied when it came in)."""
    if by not in ("provider", "department"):
        raise ValidationError({"by": "Group by provider or department."})
    _period(start, end)
    org = user.organization_id
    if by == "provider":
        key = Coalesce("item__service_line__rendering_provider_id", "item__service_line__encounter__provider_id")
    else:
        key = F("item__service_line__encounter__department_id")
    is_payment = Q(entry__kind=EntryKind.PAYMENT) | Q(entry__kind=EntryKind.REVERSAL)
    grouped = (_collection_lines(org, start, end).annotate(group=key).values("group")
               .annotate(payments=Sum("amount", filter=is_payment),
                         credit=Sum("amount", filter=Q(entry__kind=EntryKind.TRANSFER)))
               .order_by("group"))
    grouped = list(grouped)
    ids = [g["group"] for g in grouped if g["group"] is not None]
    if by == "provider":
        names = {u.pk: _user_name(u.first_name, u.last_name, u.username)
                 for u in User.objects.filter(organization_id=org, pk__in=ids).only("first_name", "last_name", "username")}
        nobody = "No provider (charges without an encounter)"
    else:
        names = dict(Department.objects.filter(organization_id=org, pk__in=ids).values_list("pk", "name"))
        nobody = "No department"
    report = Collections(start=start, end=end, by=by)
    for g in grouped:
        payments, credit = -_money(g["payments"]), -_money(g["credit"])
        report.rows.append({"name": names.get(g["group"], nobody), "payments": payments, "credit_applied": credit,
                            "total": payments + credit})
    report.rows.sort(key=lambda r: (r["name"] == nobody, r["name"]))
    report.total_payments = sum((r["payments"] for r in report.rows), ZERO)
    report.total_credit_applied = sum((r["credit_applied"] for r in report.rows), ZERO)
    report.total = report.total_payments + report.total_credit_applied
    unapplied = JournalLine.objects.filter(
        organization_id=org, entry_date__range=(start, end), account__role=AccountRole.PATIENT_CREDIT,
    ).filter(Q(entry__kind=EntryKind.PAYMENT) | Q(entry__kind=EntryKind.REVERSAL, entry__reverses__kind=EntryKind.PAYMENT)
             ).aggregate(t=Sum("amount"))["t"]
    report.unapplied = -_money(unapplied)
    return report


# --- charges against payments by month ---------------------------------------------------------------------


def _months(start: date, end: date) -> list[date]:
    months, day = [], date(start.year, start.month, 1)
    while day <= end:
        months.append(day)
        day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return months


def charges_vs_payments(*, user, start: date, end: date) -> list[dict]:
    """Per month: charges posted (less charges voided), payments received (less payments voided) and adjustments.
    One query."""
    _period(start, end)
    rows = (JournalLine.objects
            .filter(organization_id=user.organization_id, entry_date__range=(start, end))
            .annotate(month=TruncMonth("entry_date")).values("month")
            .annotate(
                charges=Sum("amount", filter=Q(account__role__in=RECEIVABLE_ROLES) & (
                    Q(entry__kind=EntryKind.CHARGE) | Q(entry__kind=EntryKind.REVERSAL, entry__reverses__kind=EntryKind.CHARGE))),
                payments=Sum("amount", filter=Q(account__role__in=MONEY_IN_ROLES) & (
                    Q(entry__kind=EntryKind.PAYMENT) | Q(entry__kind=EntryKind.REVERSAL, entry__reverses__kind=EntryKind.PAYMENT))),
                adjustments=Sum("amount", filter=Q(account__role__in=RECEIVABLE_ROLES, entry__kind=EntryKind.ADJUSTMENT)),
            ).order_by("month"))
    found = {}
    for r in rows:
        month = r["month"].date() if hasattr(r["month"], "date") and callable(r["month"].date) else r["month"]
        found[date(month.year, month.month, 1)] = r
    result = []
    for month in _months(start, end):
        r = found.get(month, {})
        result.append({"month": month, "charges": _money(r.get("charges")), "payments": _money(r.get("payments")),
                       "adjustments": -_money(r.get("adjustments"))})
    return result


# --- card settlement ---------------------------------------------------------------------------------------


def card_settlement(*, user, on: date, location: Location | None = None) -> list[dict]:
    """Card payments of a day by brand, less card refunds, as the card clearing account should see them (the
    processor's payouts are matched to them in services.payouts)."""
    org = user.organization_id
    pays = Payment.objects.filter(organization_id=org, method=PaymentMethod.CARD, status=PaymentStatus.POSTED,
                                  received_on=on)
    refunds = Refund.objects.filter(organization_id=org, method=RefundMethod.CARD, status=RefundStatus.PAID,
                                    entry__entry_date=on)
    if location is not None:
        pays = pays.filter(location=location)
        refunds = refunds.filter(payment__location=location)
    taken = {r["card_brand"] or "Unknown": r for r in pays.values("card_brand").annotate(count=Count("id"), amount=Sum("amount"))}
    back = {r["payment__card_brand"] or "Unknown": r["amount"]
            for r in refunds.values("payment__card_brand").annotate(amount=Sum("amount"))}
    rows = []
    for brand in sorted(set(taken) | set(back)):
        amount, refunded = _money(taken.get(brand, {}).get("amount")), _money(back.get(brand))
        rows.append({"brand": brand, "count": taken.get(brand, {}).get("count", 0), "amount": amount,
                     "refunds": refunded, "net": amount - refunded})
    return rows


# --- day close -------------------------------------------------------------------------------------------


def drawers(*, user) -> list[CashDrawer]:
    """The organization's cash drawers with their locations."""
    return list(CashDrawer.objects.filter(organization_id=user.organization_id).select_related("location"))


def drawer_for(*, user, location: Location) -> CashDrawer | None:
    return CashDrawer.objects.filter(organization_id=user.organization_id, location=location).select_related("location").first()


def day_closes(*, user, start: date | None = None, end: date | None = None, location: Location | None = None,
               status: str = ""):
    """The days counted and closed, newest first, with who closed and approved them."""
    rows = (DayClose.objects.filter(organization_id=user.organization_id)
            .select_related("location", "closed_by", "approved_by"))
    if start:
        rows = rows.filter(business_date__gte=start)
    if end:
        rows = rows.filter(business_date__lte=end)
    if location is not None:
        rows = rows.filter(location=location)
    if status in DayCloseStatus.values:
        rows = rows.filter(status=status)
    return rows.order_by("-business_date", "location__name")


def day_close_detail(*, user, public_id: str) -> DayClose:
    """One day close of the organization (another organization's is a 404)."""
    return get_object_or_404(
        DayClose.objects.select_related("location", "drawer", "closed_by", "approved_by", "organization"),
        organization_id=user.organization_id, public_id=public_id,
    )


def day_checks(*, user, location: Location, on: date) -> list[Payment]:
    """The check payments a drawer's day holds, to count against the checks in hand."""
    return list(Payment.objects.filter(organization_id=user.organization_id, location=location, received_on=on,
                                       status=PaymentStatus.POSTED, method=PaymentMethod.CHECK)
                .select_related("account", "patient", "account__guarantor_patient").order_by("id"))


def day_deposits(*, day: DayClose) -> list[Deposit]:
    return list(day.deposits.select_related("entry").prefetch_related("lines__payment").order_by("-id"))
