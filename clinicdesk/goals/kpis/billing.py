"""Revenue cycle KPIs from the books and the payments desk: days in A/R, net collection rate and collected at time
of service. Charges, payments and adjustments are read from the ledger, where every one of them is posted."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import F, Q, Sum
from django.db.models.functions import TruncDate

from clinicdesk.billing.choices import PaymentStatus
from clinicdesk.billing.models import Payment
from clinicdesk.core.permissions import Perm
from clinicdesk.ledger.choices import AccountRole, EntryKind
from clinicdesk.ledger.models import Account, JournalLine, OpenItem

from ..choices import Direction, KpiUnit
from .registry import Figure, Kpi, Rows, Scope, one_place, percent, register

ZERO = Decimal("0.00")
RECEIVABLES = (AccountRole.PATIENT_RECEIVABLE, AccountRole.INSURANCE_RECEIVABLE)
MONEY_IN = (AccountRole.CASH, AccountRole.UNDEPOSITED_FUNDS, AccountRole.CARD_CLEARING, AccountRole.OPERATING_BANK)


def _sum(qs) -> Decimal:
    return qs.aggregate(t=Sum("amount"))["t"] or ZERO


def _lines(org: int, roles, start: date | None, end: date):
    # the accounts by id (a subquery), so that the (organization, account, entry date) index serves the sum
    accounts = Account.objects.filter(organization_id=org, role__in=roles).values("pk")
    qs = JournalLine.objects.filter(organization_id=org, account_id__in=accounts, entry_date__lte=end)
    return qs.filter(entry_date__gte=start) if start else qs


def gross_charges(org: int, start: date, end: date) -> Decimal:
    """Service revenue credited by charge entries in the period (a positive amount)."""
    return -_sum(_lines(org, [AccountRole.SERVICE_REVENUE], start, end).filter(entry__kind=EntryKind.CHARGE))


# --- days in A/R ---------------------------------------------------------------------------------------------


def days_in_ar(org: int, start: date, end: date, scope: Scope) -> Figure:
    receivable = _sum(_lines(org, RECEIVABLES, None, end))
    charges = gross_charges(org, start, end)
    days = (end - start).days + 1
    if not charges:
        return Figure(value=None, numerator=receivable, denominator=ZERO, note="No charges posted in the period.")
    per_day = charges / days
    return Figure(value=one_place(receivable / per_day), numerator=receivable, denominator=(charges / days).quantize(
        Decimal("0.01")))


def ar_rows(org: int, start: date, end: date, scope: Scope) -> Rows:
    items = (OpenItem.objects.filter(organization_id=org)
             .annotate(balance=Sum("lines__amount", filter=Q(lines__entry_date__lte=end,
                                                              lines__account__role__in=RECEIVABLES)))
             .exclude(balance=0).exclude(balance__isnull=True).select_related("patient").order_by("service_date", "id"))
    return Rows(columns=["Item", "Patient", "Owed by", "Service date", "Description", "Balance"], items=items,
                cells=lambda i: [i.pk, f"{i.patient.last_name}, {i.patient.first_name}", i.party_label or
                                 i.get_party_kind_display(), i.service_date, i.description, i.balance],
                patients=lambda items: [i.patient for i in items])


register(Kpi(
    code="days_in_ar", name="Days in A/R", unit=KpiUnit.DAYS, source="billing", perm=Perm.BILLING_VIEW,
    better=Direction.AT_MOST, compute=days_in_ar, rows=ar_rows,
    formula="Receivables (patient and insurance A/R accounts) at the end of the period ÷ average charges per day, "
            "where average charges per day = service revenue credited by charge entries in the period ÷ days in the "
            "period. To one decimal. Practice-wide only (receivables are not kept by department). Excluded: "
            "unapplied patient credit, which sits in its own account."))


# --- net collection rate -------------------------------------------------------------------------------------


def _ncr_parts(org: int, start: date, end: date) -> tuple[Decimal, Decimal, Decimal]:
    payments = _sum(_lines(org, MONEY_IN, start, end).filter(entry__kind=EntryKind.PAYMENT))
    contractual = _sum(_lines(org, [AccountRole.CONTRACTUAL_ADJUSTMENT], start, end))
    return payments, gross_charges(org, start, end), contractual


def net_collection_rate(org: int, start: date, end: date, scope: Scope) -> Figure:
    payments, charges, contractual = _ncr_parts(org, start, end)
    collectible = charges - contractual
    return Figure(value=percent(payments, collectible), numerator=payments, denominator=collectible)


def ncr_rows(org: int, start: date, end: date, scope: Scope) -> Rows:
    items = (JournalLine.objects.filter(organization_id=org, entry_date__gte=start, entry_date__lte=end)
             .filter(Q(account__role__in=MONEY_IN, entry__kind=EntryKind.PAYMENT)
                     | Q(account__role=AccountRole.CONTRACTUAL_ADJUSTMENT)
                     | Q(account__role=AccountRole.SERVICE_REVENUE, entry__kind=EntryKind.CHARGE))
             .select_related("account", "entry").order_by("entry_date", "id"))
    return Rows(columns=["Date", "Entry", "Kind", "Account", "Amount"], items=items,
                cells=lambda ln: [ln.entry_date, ln.entry_id, ln.entry.get_kind_display(), f"{ln.account.code} "
                                  f"{ln.account.name}", ln.amount])


register(Kpi(
    code="net_collection_rate", name="Net collection rate", unit=KpiUnit.PERCENT, source="billing",
    perm=Perm.BILLING_VIEW, better=Direction.AT_LEAST, compute=net_collection_rate, rows=ncr_rows,
    formula="Payments received in the period (money debited to cash, undeposited funds, card clearing or the bank by "
            "payment entries) ÷ (charges posted in the period − contractual adjustments in the period) × 100. "
            "Excluded: refunds, transfers and deposits between money accounts, and write-offs (they are not "
            "contractual). Practice-wide only."))


# --- collected at time of service ----------------------------------------------------------------------------


def _payments(org: int, start: date, end: date, scope: Scope):
    qs = Payment.objects.filter(organization_id=org, status=PaymentStatus.POSTED, received_on__gte=start,
                                received_on__lte=end)
    if scope.location_id:
        qs = qs.filter(location_id=scope.location_id)
    return qs.annotate(visit_day=TruncDate("appointment__starts_at"))


def time_of_service(org: int, start: date, end: date, scope: Scope) -> Figure:
    qs = _payments(org, start, end, scope)
    total = qs.aggregate(t=Sum("amount"))["t"] or ZERO
    at_visit = qs.filter(appointment__isnull=False, visit_day=F("received_on")).aggregate(t=Sum("amount"))["t"] or ZERO
    return Figure(value=percent(at_visit, total), numerator=at_visit, denominator=total)


def time_of_service_rows(org: int, start: date, end: date, scope: Scope) -> Rows:
    items = _payments(org, start, end, scope).select_related("patient", "appointment").order_by("received_on", "id")
    return Rows(columns=["Payment", "Received", "Patient", "Method", "Amount", "At the visit"], items=items,
                cells=lambda p: [p.public_id, p.received_on,
                                 f"{p.patient.last_name}, {p.patient.first_name}" if p.patient else "",
                                 p.get_method_display(), p.amount,
                                 "yes" if p.appointment_id and p.visit_day == p.received_on else "no"],
                patients=lambda items: [p.patient for p in items if p.patient_id])


register(Kpi(
    code="time_of_service", name="Collected at time of service", unit=KpiUnit.PERCENT, source="billing",
    perm=Perm.BILLING_VIEW, better=Direction.AT_LEAST, compute=time_of_service, rows=time_of_service_rows,
    scopes=frozenset({"location"}),
    formula="Patient payments received on the day of the visit they were taken for ÷ all patient payments received "
            "in the period × 100, by amount. Excluded: declined and voided payments; insurance payments."))
