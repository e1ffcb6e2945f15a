"""Recurring vendor bills (rent, software, service contracts): a template that enters the bill (with `bill_enter`)
every month, quarter or year on a day, from its start date until its end date. A daily task enters the bills
whose day has come; a day missed (the task did not run) is caught up. A bill that cannot be entered (its month
is closed) is noted on the template and the others go on."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import Department, Organization

from .bills import bill_enter, vendor_for
from .choices import FREQUENCY_MONTHS, AccountType, Frequency
from .models import Account, Bill, RecurringBill

MAX_CATCH_UP = 36


def occurrence(*, year: int, month: int, day: int) -> date:
    """The day in that month, or the month's last day when it is shorter."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def first_occurrence(*, start: date, day: int) -> date:
    """The first bill date on or after `start` on the given day of the month."""
    candidate = occurrence(year=start.year, month=start.month, day=day)
    if candidate < start:
        month = start.month % 12 + 1
        candidate = occurrence(year=start.year + (start.month == 12), month=month, day=day)
    return candidate


def next_occurrence(*, after: date, frequency: str, day: int) -> date:
    months = FREQUENCY_MONTHS[Frequency(frequency)]
    index = after.year * 12 + after.month - 1 + months
    return occurrence(year=index // 12, month=index % 12 + 1, day=day)


@transaction.atomic
def recurring_bill_create(*, organization: Organization, vendor_name: str, account: Account, amount: Decimal,
                          frequency: str, day_of_month: int, start_date: date, actor, end_date: date | None = None,
                          department: Department | None = None, memo: str = "", terms_days: int = 15) -> RecurringBill:
    """A recurring bill: its first bill comes on its day on or after the start date."""
    errors: dict[str, str] = {}
    if account.organization_id != organization.pk or account.account_type != AccountType.EXPENSE:
        errors["account"] = "Choose one of the practice's expense accounts."
    if department is not None and department.organization_id != organization.pk:
        errors["department"] = "This department belongs to another practice."
    if amount <= 0:
        errors["amount"] = "The amount is more than zero."
    if frequency not in Frequency.values:
        errors["frequency"] = "Choose how often the bill comes."
    if not 1 <= day_of_month <= 31:
        errors["day_of_month"] = "The day is between 1 and 31."
    if end_date is not None and end_date < start_date:
        errors["end_date"] = "The end date is before the start date."
    if errors:
        raise ValidationError(errors)
    vendor = vendor_for(organization=organization, name=vendor_name)
    template = RecurringBill(
        organization=organization, vendor=vendor, account=account, department=department, amount=amount,
        memo=memo.strip()[:200], frequency=frequency, day_of_month=day_of_month, terms_days=terms_days,
        start_date=start_date, end_date=end_date,
        next_date=first_occurrence(start=start_date, day=day_of_month), created_by=actor)
    template.full_clean()
    template.save()
    audit_event(action="ledger.recurring_bill_added", actor=actor, target=template, organization_id=organization.pk,
                summary=f"Recurring bill from {vendor.name}: {template.get_frequency_display().lower()} "
                        f"{amount} on day {day_of_month}"[:300])
    return template


@transaction.atomic
def recurring_bill_stop(*, template: RecurringBill, actor) -> RecurringBill:
    """Stop a recurring bill: no more bills are entered from it (those entered stay)."""
    template.is_active = False
    template.save(update_fields=["is_active", "updated_at"])
    audit_event(action="ledger.recurring_bill_stopped", actor=actor, target=template,
                organization_id=template.organization_id, summary=f"Recurring bill from {template.vendor} stopped"[:300])
    return template


def recurring_bills_run(*, organization: Organization, today: date | None = None, actor=None) -> list[Bill]:
    """Enter every bill whose day has come (today included) in one practice; returns the bills entered."""
    today = today or timezone.localdate()
    made: list[Bill] = []
    due = (RecurringBill.objects.filter(organization=organization, is_active=True, next_date__lte=today)
           .select_related("vendor", "account", "department").order_by("next_date", "id"))
    for template in due:
        made += _run_one(template, today, actor)
    return made


def _run_one(template: RecurringBill, today: date, actor) -> list[Bill]:
    made: list[Bill] = []
    for _ in range(MAX_CATCH_UP):
        day = template.next_date
        if day > today or (template.end_date is not None and day > template.end_date):
            break
        try:
            with transaction.atomic():
                if not Bill.objects.filter(recurring=template, bill_date=day).exists():
                    made.append(bill_enter(
                        organization=template.organization, vendor_name=template.vendor.name, bill_date=day,
                        due_date=day + timedelta(days=template.terms_days), account=template.account,
                        department=template.department, amount=template.amount,
                        memo=template.memo or f"{template.get_frequency_display()} bill", actor=actor,
                        recurring=template))
                template.next_date = next_occurrence(after=day, frequency=template.frequency,
                                                     day=template.day_of_month)
                template.last_error = ""
                template.save(update_fields=["next_date", "last_error", "updated_at"])
        except ValidationError as exc:
            template.last_error = f"{day:%m/%d/%Y}: {' '.join(exc.messages)}"[:300]
            template.save(update_fields=["last_error", "updated_at"])
            break
    return made


def recurring_bill_list(*, user) -> QuerySet:
    return (RecurringBill.objects.filter(organization_id=user.organization_id)
            .select_related("vendor", "account", "department").order_by("-is_active", "next_date", "id"))
