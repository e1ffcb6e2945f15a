"""Payroll summaries imported from a file: one row a department and pay period (gross wages, employer taxes,
benefits), posted as one balanced entry per file: each department's wages, taxes and benefits to salaries and
wages, paid from the operating bank account, dated the last day of the period. Any bad row is named and nothing
is posted; the same file posted twice posts once (its reference is the file's digest)."""

from __future__ import annotations

import calendar
import hashlib
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import Organization
from clinicdesk.core.money import round_money

from .budgets import departments_by_name, header_columns
from .choices import AccountRole, EntryKind
from .models import Account, JournalEntry
from .services import LineSpec, entry_post

PAYROLL_COLUMNS = ("period", "department", "gross wages", "employer taxes", "benefits")
SALARIES_CODE = "6000"
MAX_ROWS = 5_000


def _money(text: str, where: str, column: str) -> Decimal:
    raw = (text or "").strip().replace(",", "").replace("$", "") or "0"
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValidationError(f"{where}: {column} '{text}' is not an amount.") from None
    if not value.is_finite() or value < 0 or value >= Decimal("1000000000"):
        raise ValidationError(f"{where}: {column} '{text}' is not an amount payroll can hold.")
    return round_money(value)


def _period_end(text: str, where: str) -> date:
    try:
        start = timezone.datetime.strptime((text or "").strip(), "%Y-%m").date()
    except ValueError:
        raise ValidationError(f"{where}: period '{text}' is not a month (write 2026-03).") from None
    return start.replace(day=calendar.monthrange(start.year, start.month)[1])


@transaction.atomic
def payroll_import(*, organization: Organization, rows: list[list[str]], actor) -> JournalEntry:
    """Post a payroll summary (header: period, department, gross wages, employer taxes, benefits) as one entry."""
    col = header_columns(rows, PAYROLL_COLUMNS, MAX_ROWS)
    departments = departments_by_name(organization)
    salaries = Account.objects.filter(organization=organization, code=SALARIES_CODE, is_active=True).first()
    if salaries is None:
        raise ValidationError({"file": f"The chart has no open account {SALARIES_CODE} for salaries and wages."})
    lines: list[LineSpec] = []
    errors: list[str] = []
    period_ends: set[date] = set()
    for number, row in enumerate(rows[1:], start=2):
        if not any(str(v).strip() for v in row):
            continue
        where = f"Line {number}"

        def cell(name: str, row=row) -> str:
            return str(row[col[name]]).strip() if col[name] < len(row) else ""

        try:
            period_ends.add(_period_end(cell("period"), where))
            dept = departments.get(cell("department").lower())
            if dept is None:
                raise ValidationError(f"{where}: unknown department '{cell('department')}'.")
            parts = [(c, _money(cell(c), where, c)) for c in PAYROLL_COLUMNS[2:]]
            lines.extend(LineSpec(account=salaries, amount=amount, department=dept, memo=column)
                         for column, amount in parts if amount)
        except ValidationError as exc:
            errors.extend(exc.messages)
    if not errors and len(period_ends) > 1:
        errors.append("The file covers more than one period: import one pay period at a time.")
    if not errors and not lines:
        errors.append("The file has no amounts to post.")
    if errors:
        raise ValidationError({"file": [*errors[:20], "Nothing was posted."]})
    total = sum((ln.amount for ln in lines), Decimal("0"))
    lines.append(LineSpec(account=AccountRole.OPERATING_BANK, amount=-total, memo="Payroll paid"))
    (period_end,) = period_ends
    digest = hashlib.sha256(repr([(ln.department.pk if ln.department else None, ln.memo, ln.amount)
                                  for ln in lines]).encode()).hexdigest()[:16]
    entry = entry_post(organization=organization, entry_date=period_end, kind=EntryKind.MANUAL,
                       memo=f"Payroll for {period_end:%B %Y}", reference=f"payroll:{period_end:%Y-%m}:{digest}",
                       lines=lines, actor=actor)
    audit_event(action="ledger.payroll_imported", actor=actor, target=entry, organization_id=organization.pk,
                summary=f"Payroll for {period_end:%B %Y}: {total}")
    return entry
