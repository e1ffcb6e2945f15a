"""Day close: the front desk counts its drawer at the end of the business day, the count is checked against the
books, and the day's cash and checks go to the bank on one deposit.

Expected cash is the drawer's float plus the day's cash payments at the location less its cash refunds. Counting
more or less than that is an over/short, which needs a reason and an office manager's approval. Closing posts one
entry: Dr operating bank (the cash deposited, i.e. the count less the float the drawer keeps, plus each check in
hand), Cr cash on hand and Cr undeposited funds (what the books hold for the day), and the over/short to account
6950 "Cash over and short" (an expense account the service adds to the chart the first time it needs it: the
ledger's roles have none for it). Checks not in hand stay in undeposited funds, with a reason.

A closed day is locked: payments of that day at that location cannot be posted or voided until an office manager
reopens it, which reverses the deposit's entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.money import format_money, round_money
from clinicdesk.core.permissions import Perm
from clinicdesk.ledger.choices import AccountRole, AccountType, EntryKind
from clinicdesk.ledger.models import Account
from clinicdesk.ledger.services import LineSpec, entry_post, entry_reverse

from ..choices import (
    CASH_DENOMINATIONS,
    DayCloseStatus,
    DepositStatus,
    PaymentMethod,
    PaymentStatus,
    RefundMethod,
    RefundStatus,
)
from ..models import CashDrawer, DayClose, Deposit, DepositLine, Payment, Refund
from ..models.dayclose import denominations_total

ZERO = Decimal("0.00")
OVER_SHORT_CODE = "6950"
OVER_SHORT_NAME = "Cash over and short"
MAX_COUNT = 100_000


def _ensure_may(actor, code: str) -> None:
    if actor is not None and hasattr(actor, "has_perm_code") and not actor.has_perm_code(code):
        raise PermissionDenied(f"Needs {code}")


def _same_org(actor, organization_id: int) -> None:
    if actor is not None and getattr(actor, "organization_id", None) not in (None, organization_id):
        raise PermissionDenied("Another organization's drawer.")


def local_day_bounds(location, on: date) -> tuple[datetime, datetime]:
    """The aware start and end of a business day in the location's time zone (refunds carry a time, not a date)."""
    import zoneinfo

    zone = zoneinfo.ZoneInfo(location.time_zone)
    start = timezone.make_aware(datetime.combine(on, time.min), zone)
    return start, timezone.make_aware(datetime.combine(on + timedelta(days=1), time.min), zone)


@dataclass(frozen=True)
class DayFigures:
    """What the books say a drawer's day holds."""

    opening_float: Decimal
    cash_payments: Decimal
    cash_payment_count: int
    cash_refunds: Decimal
    checks_expected: Decimal
    check_count: int
    expected_cash: Decimal


def day_figures(*, drawer: CashDrawer, on: date, opening_float: Decimal | None = None) -> DayFigures:
    """Expected cash (float + cash payments − cash refunds) and the checks taken, in two queries."""
    pays = Payment.objects.filter(
        organization_id=drawer.organization_id, location_id=drawer.location_id, received_on=on,
        status=PaymentStatus.POSTED,
    ).aggregate(
        cash=Sum("amount", filter=Q(method=PaymentMethod.CASH)), cash_n=Count("id", filter=Q(method=PaymentMethod.CASH)),
        checks=Sum("amount", filter=Q(method=PaymentMethod.CHECK)), checks_n=Count("id", filter=Q(method=PaymentMethod.CHECK)),
    )
    start, end = local_day_bounds(drawer.location, on)
    refunds = Refund.objects.filter(
        organization_id=drawer.organization_id, location_id=drawer.location_id, method=RefundMethod.CASH,
        status=RefundStatus.PAID, created_at__gte=start, created_at__lt=end,
    ).aggregate(total=Sum("amount"))["total"] or ZERO
    float_ = drawer.opening_float if opening_float is None else opening_float
    cash = pays["cash"] or ZERO
    return DayFigures(
        opening_float=round_money(float_), cash_payments=round_money(cash), cash_payment_count=pays["cash_n"],
        cash_refunds=round_money(refunds), checks_expected=round_money(pays["checks"] or ZERO),
        check_count=pays["checks_n"], expected_cash=round_money(float_ + cash - refunds),
    )


def day_is_closed(*, location_id: int, on: date) -> bool:
    """Whether the business day at a location is closed (or approved): its payments are then final."""
    return DayClose.objects.filter(location_id=location_id, business_date=on).exclude(status=DayCloseStatus.OPEN).exists()


def denominations_check(raw: dict) -> dict[str, int]:
    """A count of bills and coins as the form or the API gives it: known faces only, whole non-negative counts."""
    if not isinstance(raw, dict):
        raise ValidationError({"denominations": "Give the count as bills and coins with how many of each."})
    counted: dict[str, int] = {}
    for face, value in raw.items():
        if face not in CASH_DENOMINATIONS:
            raise ValidationError({"denominations": f"'{face}' is not a bill or coin the drawer counts."})
        if value in (None, ""):
            continue
        if isinstance(value, (bool, float)):
            raise ValidationError({"denominations": f"Count the {face}s as a whole number."})
        try:
            number = int(str(value).strip())
        except (ValueError, InvalidOperation):
            raise ValidationError({"denominations": f"'{value}' is not a whole number of {face}s."}) from None
        if number < 0 or number > MAX_COUNT:
            raise ValidationError({"denominations": f"The count of {face}s must be from 0 to {MAX_COUNT}."})
        if number:
            counted[face] = number
    return counted


@transaction.atomic
def drawer_save(*, location, opening_float, actor, name: str = "Front desk") -> CashDrawer:
    """Set up (or change) the cash drawer of a location and its opening float."""
    from .payments import money_check

    _ensure_may(actor, Perm.PAYMENTS_ADJUST)
    _same_org(actor, location.organization_id)
    amount = money_check(opening_float, field="opening_float", allow_zero=True)
    drawer = CashDrawer.objects.select_for_update().filter(location=location).first()
    if drawer is None:
        drawer = CashDrawer(organization_id=location.organization_id, location=location)
    drawer.name = (name or "Front desk").strip()[:80] or "Front desk"
    drawer.opening_float = amount
    drawer.full_clean()
    drawer.save()
    audit_event(action="cash_drawer.saved", actor=actor, target=drawer, organization_id=location.organization_id,
                summary=f"{drawer}: float {format_money(amount)}")
    return drawer


@transaction.atomic
def day_close_open(*, drawer: CashDrawer, business_date: date, actor) -> DayClose:
    """The drawer's record for the day, made the first time anyone asks (the float is fixed from then on)."""
    _same_org(actor, drawer.organization_id)
    if business_date > timezone.localdate():
        raise ValidationError({"business_date": "A day in the future cannot be opened."})
    day, _ = DayClose.objects.get_or_create(
        location_id=drawer.location_id, business_date=business_date,
        defaults={"organization_id": drawer.organization_id, "drawer": drawer, "opening_float": drawer.opening_float},
    )
    return day


def over_short_account(organization) -> Account:
    """Account 6950 "Cash over and short" (an expense), added to the chart the first time a count is off."""
    account, _ = Account.objects.get_or_create(
        organization=organization, code=OVER_SHORT_CODE,
        defaults={"name": OVER_SHORT_NAME, "account_type": AccountType.EXPENSE,
                  "description": "Differences between a drawer's count and the books at day close."},
    )
    if account.account_type != AccountType.EXPENSE or not account.is_active:
        raise ValidationError({"over_short": f"Account {OVER_SHORT_CODE} must be an open expense account for cash over and short."})
    return account


@transaction.atomic
def day_close_close(
    *,
    drawer: CashDrawer,
    business_date: date,
    denominations: dict,
    actor,
    checks_in_hand: Sequence[int] | None = None,
    over_short_reason: str = "",
    missing_checks_reason: str = "",
) -> DayClose:
    """Count the drawer, close the day and post its deposit. `checks_in_hand` are the ids of the day's check payments
    that are in the drawer (None: all of them). An over/short needs a reason, a missing check too."""
    _ensure_may(actor, Perm.DAY_CLOSE)
    _same_org(actor, drawer.organization_id)
    if not drawer.is_active:
        raise ValidationError({"drawer": "This drawer is closed for good."})
    counted_faces = denominations_check(denominations)
    day = day_close_open(drawer=drawer, business_date=business_date, actor=actor)
    day = DayClose.objects.select_for_update().get(pk=day.pk)
    if day.status != DayCloseStatus.OPEN:
        raise ValidationError({"status": f"The day of {business_date:%m/%d/%Y} is already {day.get_status_display().lower()}."})
    figures = day_figures(drawer=drawer, on=business_date, opening_float=day.opening_float)
    counted = denominations_total(counted_faces)
    over_short = counted - figures.expected_cash
    reason = (over_short_reason or "").strip()
    if over_short != 0 and not reason:
        verdict = "over" if over_short > 0 else "short"
        raise ValidationError({"over_short_reason": f"The count is {format_money(abs(over_short))} {verdict}; say why."})
    checks = list(Payment.objects.filter(
        organization_id=drawer.organization_id, location_id=drawer.location_id, received_on=business_date,
        status=PaymentStatus.POSTED, method=PaymentMethod.CHECK,
    ).order_by("id"))
    wanted = {c.pk for c in checks} if checks_in_hand is None else {int(i) for i in checks_in_hand}
    if wanted - {c.pk for c in checks}:
        raise ValidationError({"checks_in_hand": "A check that is not one of this day's checks was ticked."})
    in_hand = [c for c in checks if c.pk in wanted]
    missing = [c for c in checks if c.pk not in wanted]
    missing_reason = (missing_checks_reason or "").strip()
    if missing and not missing_reason:
        raise ValidationError({"missing_checks_reason": f"{len(missing)} check(s) are not in the drawer; say why."})
    cash_payments = list(Payment.objects.filter(
        organization_id=drawer.organization_id, location_id=drawer.location_id, received_on=business_date,
        status=PaymentStatus.POSTED, method=PaymentMethod.CASH,
    ).only("id", "amount").order_by("id"))
    checks_amount = sum((c.amount for c in in_hand), ZERO)
    currency = counted - day.opening_float
    cash_book = figures.cash_payments - figures.cash_refunds

    day.cash_payments = figures.cash_payments
    day.cash_refunds = figures.cash_refunds
    day.expected_cash = figures.expected_cash
    day.denominations = counted_faces
    day.counted_cash = counted
    day.over_short = over_short
    day.over_short_reason = reason[:300] if over_short != 0 else ""
    day.checks_expected = figures.checks_expected
    day.checks_counted = checks_amount
    day.missing_checks_reason = missing_reason[:300] if missing else ""
    day.status = DayCloseStatus.CLOSED if over_short != 0 else DayCloseStatus.APPROVED
    day.closed_by = actor if getattr(actor, "is_authenticated", False) else None
    day.closed_at = timezone.now()
    day.approved_by = None
    day.approved_at = None
    day.approval_note = ""
    day.full_clean(exclude=["drawer", "location", "organization"])
    day.save()

    deposit = Deposit.objects.create(
        organization_id=drawer.organization_id, day_close=day, location_id=drawer.location_id,
        deposit_date=business_date, currency_amount=currency, checks_amount=checks_amount, check_count=len(in_hand),
        total=currency + checks_amount, created_by=day.closed_by,
    )
    DepositLine.objects.bulk_create(
        [DepositLine(deposit=deposit, payment=p, method=PaymentMethod.CASH, amount=p.amount) for p in cash_payments]
        + [DepositLine(deposit=deposit, payment=c, method=PaymentMethod.CHECK, amount=c.amount,
                       check_number=c.check_number) for c in in_hand]
    )
    wanted_lines = [
        (AccountRole.OPERATING_BANK, currency + checks_amount, "Deposit"),
        (AccountRole.CASH, -cash_book, "Cash of the day"),
        (AccountRole.UNDEPOSITED_FUNDS, -checks_amount, f"{len(in_hand)} check(s)"),
        (over_short_account(drawer.organization) if over_short != 0 else None, -over_short, reason[:200]),
    ]
    lines = [LineSpec(account=account, amount=amount, memo=memo) for account, amount, memo in wanted_lines
             if account is not None and amount != 0]
    if lines:
        deposit.entry = entry_post(
            organization=drawer.organization, entry_date=business_date, kind=EntryKind.DEPOSIT, lines=lines,
            memo=f"Deposit of {business_date:%m/%d/%Y} at {drawer.location.name}", reference=f"deposit:{deposit.pk}",
            actor=actor,
        )
        deposit.save(update_fields=["entry"])
    summary = f"Counted {format_money(counted)}, expected {format_money(figures.expected_cash)}"
    if over_short:
        summary += f", {'over' if over_short > 0 else 'short'} {format_money(abs(over_short))}: {reason[:80]}"
    audit_event(action="day_close.closed", actor=actor, target=day, organization_id=drawer.organization_id,
                summary=summary)
    return day


@transaction.atomic
def day_close_approve(*, day_close: DayClose, actor, note: str = "") -> DayClose:
    """The office manager accepts a count that was over or short, and its reason."""
    _ensure_may(actor, Perm.PAYMENTS_ADJUST)
    _same_org(actor, day_close.organization_id)
    day = DayClose.objects.select_for_update().get(pk=day_close.pk)
    if day.status != DayCloseStatus.CLOSED:
        raise ValidationError({"status": f"A day that is {day.get_status_display().lower()} is not waiting for approval."})
    day.status = DayCloseStatus.APPROVED
    day.approved_by = actor if getattr(actor, "is_authenticated", False) else None
    day.approved_at = timezone.now()
    day.approval_note = (note or "").strip()[:300]
    day.save(update_fields=["status", "approved_by", "approved_at", "approval_note", "updated_at"])
    audit_event(action="day_close.approved", actor=actor, target=day, organization_id=day.organization_id,
                summary=f"Over/short {format_money(day.over_short)} approved. {day.approval_note}"[:300])
    return day


@transaction.atomic
def day_close_reopen(*, day_close: DayClose, reason: str, actor) -> DayClose:
    """Reopen a closed day (a payment to void, a count to redo): the deposit's entry is reversed and the day is
    open again, to be counted and closed anew."""
    _ensure_may(actor, Perm.PAYMENTS_ADJUST)
    _same_org(actor, day_close.organization_id)
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the day is reopened."})
    day = DayClose.objects.select_for_update().get(pk=day_close.pk)
    if day.status == DayCloseStatus.OPEN:
        raise ValidationError({"status": "The day is open already."})
    for deposit in day.deposits.filter(status=DepositStatus.POSTED).select_related("entry"):
        if deposit.entry_id:
            deposit.void_entry = entry_reverse(entry=deposit.entry, actor=actor,
                                               memo=f"Day reopened: {reason.strip()}"[:300])
        deposit.status = DepositStatus.VOIDED
        deposit.save(update_fields=["void_entry", "status"])
    day.status = DayCloseStatus.OPEN
    day.reopened_reason = reason.strip()[:300]
    day.over_short = ZERO
    day.over_short_reason = ""
    day.save(update_fields=["status", "reopened_reason", "over_short", "over_short_reason", "updated_at"])
    audit_event(action="day_close.reopened", actor=actor, target=day, organization_id=day.organization_id,
                summary=reason.strip()[:300])
    return day


__all__ = [
    "DayFigures", "day_close_approve", "day_close_close", "day_close_open", "day_close_reopen", "day_figures",
    "day_is_closed", "denominations_check", "drawer_save", "local_day_bounds", "over_short_account",
]
