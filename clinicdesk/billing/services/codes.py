"""Writes and checks of the procedure list and fee schedules: creating a schedule, importing a schedule from
CSV (CPT is licensed, so each practice brings its own list), and the two checks charge entry relies on,
`procedure_check` and `fee_lookup`."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.choices import ImportOutcome
from clinicdesk.core.models import Organization
from clinicdesk.core.tables import ImportResult, RowOutcome, date_parse, table_read

from ..choices import CodeSystem
from ..models import Fee, FeeSchedule, ProcedureCode
from ..models.codes import code_error, modifiers_normalise

IMPORT_COLUMNS = ("code", "modifiers", "description", "price", "effective_from", "effective_to")
# The download's columns, which the import reads back (code_system is optional there).
FEE_COLUMNS = (*IMPORT_COLUMNS, "code_system")
REQUIRED_COLUMNS = ("code", "description", "price", "effective_from")
_PRICE_RE = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,2})?$")


# --- fee schedules -----------------------------------------------------------------------------------------


@transaction.atomic
def fee_schedule_create(*, organization: Organization, name: str, is_default: bool = False, notes: str = "",
                        actor) -> FeeSchedule:
    """A new, empty fee schedule; made the default, it takes over from the previous default."""
    name = name.strip()
    if FeeSchedule.objects.filter(organization=organization, name__iexact=name).exists():
        raise ValidationError({"name": f"There is already a fee schedule called {name}."})
    has_default = FeeSchedule.objects.select_for_update().filter(organization=organization, is_default=True)
    if is_default:
        for previous in has_default:
            previous.is_default = False
            previous.save(update_fields=["is_default", "updated_at"])
    elif not has_default.exists():
        is_default = True  # the first schedule is the one charges are priced from
    schedule = FeeSchedule(organization=organization, name=name, is_default=is_default, notes=notes)
    schedule.full_clean()
    schedule.save()
    audit_event(action="fee_schedule.created", actor=actor, target=schedule,
                summary=f"Fee schedule {name}{' (default)' if is_default else ''}")
    return schedule


# --- import ------------------------------------------------------------------------------------------------


@dataclass
class ImportRow(RowOutcome):
    """One line of the file and what it does (or would do)."""

    line: int
    code: str
    modifiers: str = ""
    description: str = ""
    price: Decimal | None = None
    effective_from: date | None = None
    effective_to: date | None = None
    code_system: str = ""
    outcome: str = ImportOutcome.UNCHANGED
    messages: list[str] = field(default_factory=list)

    @property
    def cells(self) -> dict[str, str]:
        """The row as read, under FEE_COLUMNS, for the shared preview table."""
        return dict(zip(FEE_COLUMNS, fee_export_row(self, as_text=True), strict=True))


def fee_export_row(fee, *, as_text: bool) -> list:
    """A fee (or an imported row) in FEE_COLUMNS: the price and dates as text for CSV, as a number and dates
    for XLSX."""
    procedure = getattr(fee, "procedure", fee)
    price, start, end = fee.price, fee.effective_from, fee.effective_to
    if as_text:
        price, start, end = (f"{price:.2f}" if price is not None else "", start.isoformat() if start else "",
                             end.isoformat() if end else "")
    return [procedure.code, fee.modifiers, procedure.description, price, start, end, procedure.code_system]


def _parse_price(row: ImportRow, text: str) -> None:
    if not text:
        row.fail("price", "a price is required.")
    elif text.startswith("-"):
        row.fail("price", f"{text} is negative; a price is zero or more.")
    elif re.match(r"^[0-9]+\.[0-9]{3,}$", text):
        row.fail("price", f"{text} has more than two decimals; write cents at most, like 85.00.")
    elif not _PRICE_RE.match(text):
        row.fail("price", f"{text} is not a plain amount; write it like 85.00 (no currency sign, separators or exponent).")
    else:
        row.price = Decimal(text)


def _read_rows(file, *, code_system: str) -> list[ImportRow]:
    """Every data line parsed and checked on its own (formats, dates in order)."""
    table = table_read(file, required=REQUIRED_COLUMNS, expected=IMPORT_COLUMNS)
    has_system = "code_system" in table.columns
    if not has_system and code_system not in CodeSystem.values:
        raise ValidationError({"code_system": "Choose the code system (CPT or HCPCS), or add a code_system column."})
    rows: list[ImportRow] = []
    for values in table.rows:
        cell = values.cells()
        row = ImportRow(line=values.line, code=cell.get("code", "").upper())
        if values.extra:
            row.fail("(extra)", f"{len(values.values)} values for {len(table.columns)} columns.")
        system = cell.get("code_system", "").upper() if has_system else code_system
        if has_system and not system:
            system = code_system
        if system not in CodeSystem.values:
            row.fail("code_system", f"{system or '(blank)'} is not CPT or HCPCS.")
        else:
            row.code_system = system
            problem = code_error(row.code, system)
            if problem:
                row.fail("code", problem)
        try:
            row.modifiers = modifiers_normalise(cell.get("modifiers", ""))
        except ValidationError as exc:
            row.fail("modifiers", exc.messages[0])
        row.description = cell.get("description", "")
        if not row.description:
            row.fail("description", "a description is required.")
        elif len(row.description) > 200:
            row.fail("description", "at most 200 characters.")
        _parse_price(row, cell.get("price", ""))
        row.effective_from = date_parse(row, "effective_from", cell.get("effective_from", ""), required=True)
        row.effective_to = date_parse(row, "effective_to", cell.get("effective_to", ""), required=False)
        if row.effective_from and row.effective_to and row.effective_to < row.effective_from:
            row.fail("effective_to", f"{row.effective_to} is before effective_from {row.effective_from}.")
        rows.append(row)
    return rows


def _check_against_schedule(rows: list[ImportRow], *, schedule: FeeSchedule) -> tuple[dict, dict]:
    """Compare the rows with the practice's procedures and the schedule's fees: outcomes, clashes, overlaps."""
    procedures = {p.code: p for p in ProcedureCode.objects.filter(organization_id=schedule.organization_id)}
    fees = {(f.procedure.code, f.modifiers, f.effective_from): f
            for f in Fee.objects.filter(schedule=schedule).select_related("procedure")}
    seen: dict[tuple, ImportRow] = {}
    described: dict[str, ImportRow] = {}
    for row in rows:
        if row.outcome == ImportOutcome.ERROR:
            continue
        known = procedures.get(row.code)
        if known is not None and known.code_system != row.code_system:
            row.fail("code", f"{row.code} is already on the procedure list as {known.get_code_system_display()}.")
            continue
        key = (row.code, row.modifiers, row.effective_from)
        if key in seen:
            row.fail("code", f"the same code, modifiers and effective_from as line {seen[key].line}.")
            continue
        seen[key] = row
        first = described.setdefault(row.code, row)
        if first.description != row.description:
            row.fail("description", f"differs from line {first.line} for the same code ({first.description}).")
            continue
        fee = fees.get(key)
        procedure_changes = known is not None and (known.description != row.description or not known.is_active)
        if fee is None:
            row.outcome = ImportOutcome.NEW
        elif fee.price != row.price or fee.effective_to != row.effective_to or procedure_changes:
            row.outcome = ImportOutcome.UPDATED
        else:
            row.outcome = ImportOutcome.UNCHANGED
        if procedure_changes:
            row.messages.append("The procedure's description is updated." if known.is_active
                                else "The procedure is back in use.")
    # Overlaps: the schedule's fees as they would be after the import, per procedure and modifiers.
    ranges: dict[tuple[str, str], list[tuple[date, date | None, ImportRow | None]]] = defaultdict(list)
    for (code, mods, start), fee in fees.items():
        if (code, mods, start) not in seen:
            ranges[(code, mods)].append((start, fee.effective_to, None))
    for key, row in seen.items():
        if row.outcome != ImportOutcome.ERROR:
            ranges[(key[0], key[1])].append((row.effective_from, row.effective_to, row))
    for spans in ranges.values():
        spans.sort(key=lambda s: s[0])
        for (a_start, a_end, a_row), (b_start, b_end, b_row) in zip(spans, spans[1:], strict=False):
            if a_end is not None and a_end < b_start:
                continue
            if b_row is not None:
                culprit, start, end, where = b_row, a_start, a_end, f"line {a_row.line}" if a_row else "already on the schedule"
            elif a_row is not None:
                culprit, start, end, where = a_row, b_start, b_end, "already on the schedule"
            else:
                continue  # two saved fees; the database refused that long ago
            culprit.fail("effective_from", f"the dates overlap the price from {start} to {end or 'open end'} ({where}); "
                                           "end the earlier price the day before the next one starts.")
    return procedures, fees


@transaction.atomic
def fee_schedule_import(*, schedule: FeeSchedule, file, code_system: str = "", actor, dry_run: bool) -> ImportResult:
    """Import a fee schedule from CSV (code, modifiers, description, price, effective_from, effective_to and
    optionally code_system). Adds the procedures it names to the practice's list. All or nothing: one bad
    row and nothing is saved; a dry run saves nothing and shows what every row would do."""
    schedule = FeeSchedule.objects.select_for_update().get(pk=schedule.pk)  # one import or edit per schedule at a time
    rows = _read_rows(file, code_system=(code_system or "").upper())
    procedures, fees = _check_against_schedule(rows, schedule=schedule)
    result = ImportResult(rows=rows, dry_run=dry_run)
    if dry_run or result.errors:
        return result
    now = timezone.now()  # bulk_update does not touch auto_now fields
    new_procedures, changed_procedures = [], []
    for row in rows:
        known = procedures.get(row.code)
        if known is None:
            known = ProcedureCode(organization_id=schedule.organization_id, code_system=row.code_system, code=row.code,
                                  description=row.description)
            known.full_clean(validate_unique=False, validate_constraints=False)
            procedures[row.code] = known
            new_procedures.append(known)
        elif known.description != row.description or not known.is_active:
            known.description, known.is_active, known.updated_at = row.description, True, now
            changed_procedures.append(known)
    ProcedureCode.objects.bulk_create(new_procedures, batch_size=500)
    ProcedureCode.objects.bulk_update(changed_procedures, ["description", "is_active", "updated_at"], batch_size=500)
    new_fees, shrunk, changed_fees = [], [], []
    for row in rows:
        if row.outcome == ImportOutcome.NEW:
            fee = Fee(organization_id=schedule.organization_id, schedule=schedule, procedure=procedures[row.code],
                      modifiers=row.modifiers, price=row.price, effective_from=row.effective_from,
                      effective_to=row.effective_to)
            # Overlaps were checked above for the whole file against the whole schedule in one query;
            # the per-row checks of clean() would repeat that once per row.
            fee.clean_fields()
            new_fees.append(fee)
        elif row.outcome == ImportOutcome.UPDATED:
            fee = fees.get((row.code, row.modifiers, row.effective_from))
            if fee is not None and (fee.price != row.price or fee.effective_to != row.effective_to):
                shrinks = row.effective_to is not None and (fee.effective_to is None or row.effective_to < fee.effective_to)
                fee.price, fee.effective_to, fee.updated_at = row.price, row.effective_to, now
                (shrunk if shrinks else changed_fees).append(fee)
    # Ended prices first, then the rest, then new ones: PostgreSQL checks for overlaps row by row (migration 0002).
    Fee.objects.bulk_update(shrunk, ["price", "effective_to", "updated_at"], batch_size=500)
    Fee.objects.bulk_update(changed_fees, ["price", "effective_to", "updated_at"], batch_size=500)
    Fee.objects.bulk_create(new_fees, batch_size=500)
    result.saved = True
    counts = result.counts
    audit_event(
        action="fee_schedule.imported", actor=actor, target=schedule,
        summary=(f"Fee schedule {schedule.name} imported: {counts['new']} new, {counts['updated']} updated, "
                 f"{counts['unchanged']} unchanged; {len(new_procedures)} procedures added"),
        changes={"counts": counts, "procedures_added": len(new_procedures),
                 "procedures_updated": len(changed_procedures)},
    )
    return result


# --- checks charge entry relies on ---------------------------------------------------------------------


def procedure_check(*, organization: Organization, code: str) -> ProcedureCode:
    """The practice's active procedure for `code`, or a ValidationError on "code" naming it."""
    wanted = (code or "").strip().upper()
    procedure = ProcedureCode.objects.filter(organization=organization, code=wanted).first()
    if procedure is None:
        raise ValidationError({"code": f"{wanted or '(blank)'} is not on the practice's procedure list."})
    if not procedure.is_active:
        raise ValidationError({"code": f"{wanted} is no longer in use on the practice's procedure list."})
    return procedure


def fee_lookup(*, organization: Organization, code: str, modifiers: str = "", on_date: date,
               schedule: FeeSchedule | None = None) -> Fee:
    """The price of `code` with `modifiers` on `on_date` in `schedule` (the default one when not given).

    Without a price for exactly those modifiers, the price without modifiers applies. A ValidationError on
    "code" says when there is no price that day."""
    try:
        mods = modifiers_normalise(modifiers)
    except ValidationError as exc:
        raise ValidationError({"modifiers": exc.messages}) from exc
    if schedule is None:
        schedule = FeeSchedule.objects.filter(organization=organization, is_default=True).first()
        if schedule is None:
            raise ValidationError({"schedule": "The practice has no default fee schedule."})
    elif schedule.organization_id != organization.pk:
        raise ValidationError({"schedule": "That fee schedule belongs to another practice."})
    wanted = (code or "").strip().upper()
    candidates = list(
        Fee.objects.filter(schedule=schedule, procedure__code=wanted, modifiers__in={mods, ""},
                           effective_from__lte=on_date)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=on_date))
        .select_related("procedure")
    )
    for fee in sorted(candidates, key=lambda f: f.modifiers != mods):
        return fee
    shown = f"{wanted}-{mods.replace(',', '-')}" if mods else wanted
    raise ValidationError({"code": f"{shown or '(blank)'} has no price on {on_date:%Y-%m-%d} in {schedule.name}."})
