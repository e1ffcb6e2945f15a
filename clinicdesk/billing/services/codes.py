"""Writes and checks of the procedure list and fee schedules: creating a schedule, importing a schedule from
CSV (CPT is licensed, so each practice brings its own list), and the two checks charge entry relies on,
`procedure_check` and `fee_lookup`."""

from __future__ import annotations

import csv
import io
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
from clinicdesk.core.models import Organization

from ..choices import CodeSystem, ImportOutcome
from ..models import Fee, FeeSchedule, ProcedureCode
from ..models.codes import code_error, modifiers_normalise

IMPORT_COLUMNS = ("code", "modifiers", "description", "price", "effective_from", "effective_to")
REQUIRED_COLUMNS = ("code", "description", "price", "effective_from")
MAX_IMPORT_ROWS = 20_000
MAX_IMPORT_BYTES = 5 * 1024 * 1024
_PRICE_RE = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,2})?$")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


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


class RowOutcome:
    """What one line of an imported CSV file does (or would do), and why not when it fails; every importer's row
    dataclass mixes it in and has `line`, `outcome` and `messages` fields."""

    line: int
    outcome: str
    messages: list[str]

    @property
    def message(self) -> str:
        return " ".join(self.messages)

    def fail(self, column: str, text: str) -> None:
        self.outcome = ImportOutcome.ERROR
        self.messages.append(f"Line {self.line}, column {column}: {text}")


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


@dataclass
class ImportResult:
    """The outcome of every row (of any importer); `saved` is true only when the file was imported (no dry run,
    no error)."""

    rows: list[RowOutcome]
    dry_run: bool
    saved: bool = False

    @property
    def errors(self) -> list[RowOutcome]:
        return [r for r in self.rows if r.outcome == ImportOutcome.ERROR]

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(ImportOutcome.values, 0)
        for row in self.rows:
            counts[row.outcome] += 1
        return counts


def decode_import_file(file) -> str:
    """The text of an uploaded file (bytes in UTF-8, with or without a byte order mark) or of a string."""
    data = file.read() if hasattr(file, "read") else file
    if isinstance(data, bytes | bytearray):
        if len(data) > MAX_IMPORT_BYTES:
            raise ValidationError({"file": f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB."})
        try:
            data = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationError({"file": "The file is not UTF-8 text; save it from the spreadsheet as CSV UTF-8."}) from exc
    if not isinstance(data, str):
        raise ValidationError({"file": "Choose a CSV file."})
    return data.removeprefix("\ufeff")


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


def _parse_date(row: ImportRow, column: str, text: str, *, required: bool) -> date | None:
    if not text:
        if required:
            row.fail(column, "a date is required (YYYY-MM-DD).")
        return None
    try:
        if not _DATE_RE.match(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        row.fail(column, f"{text} is not a date; write it as YYYY-MM-DD, e.g. 2026-01-01.")
        return None


def csv_header_read(text: str, *, required, expected) -> tuple:
    """A CSV reader past its header line and the header's column names (lower case, spaces as underscores);
    refuses an empty or unreadable file, or a header that lacks a required column, naming them."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationError({"file": "The file is empty."}) from None
    except csv.Error as exc:
        raise ValidationError({"file": f"The file is not readable as CSV: {exc}"}) from exc
    names = [h.strip().lower().replace(" ", "_") for h in header]
    missing = [c for c in required if c not in names]
    if missing:
        raise ValidationError({"file": f"Line 1 (the header) lacks the column{'s' if len(missing) > 1 else ''} "
                                       f"{', '.join(missing)}; expected {', '.join(expected)}."})
    return reader, names


def _read_rows(text: str, *, code_system: str) -> list[ImportRow]:
    """Every data line parsed and checked on its own (formats, dates in order)."""
    reader, names = csv_header_read(text, required=REQUIRED_COLUMNS, expected=IMPORT_COLUMNS)
    has_system = "code_system" in names
    if not has_system and code_system not in CodeSystem.values:
        raise ValidationError({"code_system": "Choose the code system (CPT or HCPCS), or add a code_system column."})
    rows: list[ImportRow] = []
    ended = reader.line_num
    try:
        for values in reader:
            # A quoted value may span lines: a row is named by the line it starts on.
            line, ended = ended + 1, reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(rows) >= MAX_IMPORT_ROWS:
                raise ValidationError({"file": f"The file has more than {MAX_IMPORT_ROWS:,} rows; split it."})
            cell = dict(zip(names, (v.strip() for v in values), strict=False))
            row = ImportRow(line=line, code=cell.get("code", "").upper())
            if len(values) > len(names):
                row.fail("(extra)", f"{len(values)} values for {len(names)} columns.")
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
            row.effective_from = _parse_date(row, "effective_from", cell.get("effective_from", ""), required=True)
            row.effective_to = _parse_date(row, "effective_to", cell.get("effective_to", ""), required=False)
            if row.effective_from and row.effective_to and row.effective_to < row.effective_from:
                row.fail("effective_to", f"{row.effective_to} is before effective_from {row.effective_from}.")
            rows.append(row)
    except csv.Error as exc:
        raise ValidationError({"file": f"Line {reader.line_num}: not readable as CSV ({exc})."}) from exc
    if not rows:
        raise ValidationError({"file": "The file has a header but no rows."})
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
    rows = _read_rows(decode_import_file(file), code_system=(code_system or "").upper())
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
