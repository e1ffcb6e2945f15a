"""Writes and checks of payer contracts: reference schedules and contract fee lists imported from CSV (with a
dry run naming every bad line and column), contracts with their effective dates, the contract's allowed amount
for a code, and the underpayment check the 835 posting runs on every posted line."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from clinicdesk.billing.models.codes import modifiers_normalise
from clinicdesk.core.audit import audit_event
from clinicdesk.core.choices import ImportOutcome
from clinicdesk.core.models import Organization
from clinicdesk.core.money import round_money
from clinicdesk.core.tables import ImportResult, RowOutcome, csv_header_read, decode_import_file

from ..choices import AdjustmentGroup, ContractBasis
from ..models import (
    ClaimLine,
    ContractRate,
    Payer,
    PayerContract,
    ReferenceRate,
    ReferenceSchedule,
    Remittance,
    RemittanceLine,
)
from .bulk_rows import rows_set

RATE_COLUMNS = ("code", "modifiers", "amount")
REQUIRED_RATE_COLUMNS = ("code", "amount")
MAX_RATE_ROWS = 20_000
_AMOUNT_RE = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,2})?$")
_CODE_RE = re.compile(r"^[A-Z0-9]{5}$")
HUNDRED = Decimal(100)
ZERO = Decimal("0.00")


# --- CSV of rates ------------------------------------------------------------------------------------------


@dataclass
class RateRow(RowOutcome):
    """One line of a rates file and what it does (or would do)."""

    line: int
    code: str
    modifiers: str = ""
    amount: Decimal | None = None
    outcome: str = ImportOutcome.UNCHANGED
    messages: list[str] = field(default_factory=list)


# The outcome of every line of a rates file (billing's import result serves every CSV importer).
RateImportResult = ImportResult


def _parse_amount(row: RateRow, text: str) -> None:
    if not text:
        row.fail("amount", "an amount is required.")
    elif text.startswith("-"):
        row.fail("amount", f"{text} is negative; an amount is zero or more.")
    elif re.match(r"^[0-9]+\.[0-9]{3,}$", text):
        row.fail("amount", f"{text} has more than two decimals; write cents at most, like 85.00.")
    elif not _AMOUNT_RE.match(text):
        row.fail("amount", f"{text} is not a plain amount; write it like 85.00 (no currency sign, separators or exponent).")
    else:
        row.amount = Decimal(text).quantize(Decimal("0.01"))


def rates_read(text: str) -> list[RateRow]:
    """Every data line of a rates file parsed and checked on its own, and repeats of a code and modifiers."""
    reader, names = csv_header_read(text, required=REQUIRED_RATE_COLUMNS, expected=RATE_COLUMNS)
    rows: list[RateRow] = []
    seen: dict[tuple[str, str], RateRow] = {}
    ended = reader.line_num
    try:
        for values in reader:
            line, ended = ended + 1, reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(rows) >= MAX_RATE_ROWS:
                raise ValidationError({"file": f"The file has more than {MAX_RATE_ROWS:,} rows; split it."})
            cell = dict(zip(names, (v.strip() for v in values), strict=False))
            row = RateRow(line=line, code=cell.get("code", "").upper())
            if len(values) > len(names):
                row.fail("(extra)", f"{len(values)} values for {len(names)} columns.")
            if not _CODE_RE.match(row.code):
                row.fail("code", f"{row.code or '(blank)'} is not a procedure code (five letters or digits, e.g. 99213).")
            try:
                row.modifiers = modifiers_normalise(cell.get("modifiers", ""))
            except ValidationError as exc:
                row.fail("modifiers", exc.messages[0])
            _parse_amount(row, cell.get("amount", ""))
            if row.outcome != ImportOutcome.ERROR:
                first = seen.setdefault((row.code, row.modifiers), row)
                if first is not row:
                    row.fail("code", f"the same code and modifiers as line {first.line}.")
            rows.append(row)
    except csv.Error as exc:
        raise ValidationError({"file": f"Line {reader.line_num}: not readable as CSV ({exc})."}) from exc
    if not rows:
        raise ValidationError({"file": "The file has a header but no rows."})
    return rows


def _rates_apply(rows: list[RateRow], existing: dict[tuple[str, str], Decimal], *, dry_run: bool, save) -> RateImportResult:
    for row in rows:
        if row.outcome == ImportOutcome.ERROR:
            continue
        before = existing.get((row.code, row.modifiers))
        row.outcome = (ImportOutcome.NEW if before is None
                       else ImportOutcome.UNCHANGED if before == row.amount else ImportOutcome.UPDATED)
    result = RateImportResult(rows=rows, dry_run=dry_run)
    if dry_run or result.errors:
        return result
    save([r for r in rows if r.outcome in (ImportOutcome.NEW, ImportOutcome.UPDATED)])
    result.saved = True
    return result


# --- reference schedules -----------------------------------------------------------------------------------


@transaction.atomic
def reference_schedule_create(*, organization: Organization, name: str, effective_from: date, actor) -> ReferenceSchedule:
    """A new, empty reference schedule (the yardstick contracts are measured against); its rates come from CSV."""
    name = (name or "").strip()
    if ReferenceSchedule.objects.filter(organization=organization, name__iexact=name).exists():
        raise ValidationError({"name": f"There is already a reference schedule called {name}."})
    schedule = ReferenceSchedule(organization=organization, name=name, effective_from=effective_from)
    schedule.full_clean()
    schedule.save()
    audit_event(action="reference_schedule.created", actor=actor, target=schedule, summary=f"Reference schedule {name}")
    return schedule


@transaction.atomic
def reference_schedule_import(*, schedule: ReferenceSchedule, file, actor, dry_run: bool = True) -> RateImportResult:
    """Import (code, modifiers, amount) rows into a reference schedule; a dry run or any bad line saves nothing.
    Rows not in the file stay as they are."""
    rows = rates_read(decode_import_file(file))
    ReferenceSchedule.objects.select_for_update().filter(pk=schedule.pk).first()
    existing = {(r.procedure_code, r.modifiers): r.amount for r in ReferenceRate.objects.filter(schedule=schedule)}

    def save(changed: list[RateRow]) -> None:
        for row in changed:
            ReferenceRate.objects.update_or_create(schedule=schedule, procedure_code=row.code, modifiers=row.modifiers,
                                                   defaults={"amount": row.amount})
        schedule.save(update_fields=["updated_at"])
        counts = result_counts(changed)
        audit_event(action="reference_schedule.imported", actor=actor, target=schedule,
                    summary=f"Reference schedule {schedule.name}: {counts[ImportOutcome.NEW]} new, "
                            f"{counts[ImportOutcome.UPDATED]} updated")

    return _rates_apply(rows, existing, dry_run=dry_run, save=save)


def result_counts(rows: Iterable[RateRow]) -> dict[str, int]:
    counts = dict.fromkeys(ImportOutcome.values, 0)
    for row in rows:
        counts[row.outcome] += 1
    return counts


# --- contracts ---------------------------------------------------------------------------------------------


def _overlapping(contract: PayerContract):
    """Other contracts of the same payer whose dates meet this one's (open ends run forever)."""
    others = PayerContract.objects.filter(organization_id=contract.organization_id, payer_id=contract.payer_id)
    if contract.pk:
        others = others.exclude(pk=contract.pk)
    others = others.filter(Q(effective_to__isnull=True) | Q(effective_to__gte=contract.effective_from))
    if contract.effective_to is not None:
        others = others.filter(effective_from__lte=contract.effective_to)
    return others


def _contract_check(contract: PayerContract) -> None:
    if contract.payer.organization_id != contract.organization_id:
        raise ValidationError({"payer": "That payer belongs to another practice."})
    if contract.reference_schedule_id and contract.reference_schedule.organization_id != contract.organization_id:
        raise ValidationError({"reference_schedule": "That schedule belongs to another practice."})
    if (contract.reference_schedule_id is None) != (contract.percent_of_reference is None):
        raise ValidationError({"percent_of_reference": "Name both the reference schedule and the percentage, or neither."})
    contract.full_clean()
    clash = _overlapping(contract).first()
    if clash is not None:
        ends = f"{clash.effective_to:%m/%d/%Y}" if clash.effective_to else "open-ended"
        raise ValidationError({"effective_from": f"The dates overlap the payer's contract {clash.name} "
                                                 f"({clash.effective_from:%m/%d/%Y} – {ends})."})


@transaction.atomic
def payer_contract_create(*, organization: Organization, payer: Payer, name: str, effective_from: date,
                          basis: str = ContractBasis.FEE_LIST, effective_to: date | None = None,
                          reference_schedule: ReferenceSchedule | None = None,
                          percent_of_reference: Decimal | None = None, notes: str = "", actor) -> PayerContract:
    """A payer's contract between two dates; no two contracts of one payer overlap (checked under the payer's
    row lock, so two people saving at once cannot both succeed)."""
    Payer.objects.select_for_update().filter(pk=payer.pk).first()
    contract = PayerContract(organization=organization, payer=payer, name=(name or "").strip(), basis=basis,
                             effective_from=effective_from, effective_to=effective_to,
                             reference_schedule=reference_schedule, percent_of_reference=percent_of_reference,
                             notes=notes, created_by=actor)
    _contract_check(contract)
    contract.save()
    audit_event(action="payer_contract.created", actor=actor, target=contract,
                summary=f"Contract {contract.name} with {payer.name} from {effective_from:%m/%d/%Y}")
    return contract


CONTRACT_FIELDS = ("name", "basis", "effective_from", "effective_to", "reference_schedule", "percent_of_reference", "notes")


@transaction.atomic
def payer_contract_update(*, contract: PayerContract, actor, **changes) -> PayerContract:
    """Change a contract's terms or dates (the same checks as creating one)."""
    unknown = set(changes) - set(CONTRACT_FIELDS)
    if unknown:
        raise ValidationError({None: f"Unknown fields: {', '.join(sorted(unknown))}."})
    Payer.objects.select_for_update().filter(pk=contract.payer_id).first()
    contract = PayerContract.objects.select_related("payer").get(pk=contract.pk)
    for name, value in changes.items():
        setattr(contract, name, value.strip() if isinstance(value, str) else value)
    _contract_check(contract)
    fields = [("reference_schedule" if n == "reference_schedule" else n) for n in changes]
    contract.save(update_fields=[*fields, "updated_at"])
    audit_event(action="payer_contract.changed", actor=actor, target=contract, summary=f"Contract {contract.name} changed")
    return contract


@transaction.atomic
def contract_rates_import(*, contract: PayerContract, file, actor, dry_run: bool = True) -> RateImportResult:
    """Import a contract's fee list (code, modifiers, amount = allowed); a dry run or any bad line saves nothing."""
    rows = rates_read(decode_import_file(file))
    PayerContract.objects.select_for_update().filter(pk=contract.pk).first()
    existing = {(r.procedure_code, r.modifiers): r.allowed_amount for r in ContractRate.objects.filter(contract=contract)}

    def save(changed: list[RateRow]) -> None:
        for row in changed:
            ContractRate.objects.update_or_create(contract=contract, procedure_code=row.code, modifiers=row.modifiers,
                                                  defaults={"allowed_amount": row.amount})
        contract.save(update_fields=["updated_at"])
        counts = result_counts(changed)
        audit_event(action="payer_contract.rates_imported", actor=actor, target=contract,
                    summary=f"Contract {contract.name}: {counts[ImportOutcome.NEW]} new rates, "
                            f"{counts[ImportOutcome.UPDATED]} updated")

    return _rates_apply(rows, existing, dry_run=dry_run, save=save)


# --- what the contract allows ------------------------------------------------------------------------------


def contract_in_force(payer: Payer | int, on: date) -> PayerContract | None:
    """The payer's contract on `on` (at most one: contracts of a payer never overlap)."""
    payer_id = payer if isinstance(payer, int) else payer.pk
    return (PayerContract.objects.select_related("reference_schedule")
            .filter(payer_id=payer_id, effective_from__lte=on)
            .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=on)).order_by("-effective_from").first())


def _modifier_keys(modifiers: str) -> list[str]:
    try:
        exact = modifiers_normalise(modifiers or "")
    except ValidationError:
        exact = (modifiers or "").upper()
    return [exact, ""] if exact else [""]


def reference_amount(schedule_id: int, procedure_code: str, modifiers: str = "") -> Decimal | None:
    """The reference schedule's amount for a code: with exactly these modifiers, else without modifiers."""
    keys = _modifier_keys(modifiers)
    found = dict(ReferenceRate.objects.filter(schedule_id=schedule_id, procedure_code=procedure_code.upper(),
                                              modifiers__in=keys).values_list("modifiers", "amount"))
    return next((found[k] for k in keys if k in found), None)


def contract_rate(contract: PayerContract, procedure_code: str, modifiers: str = "") -> Decimal | None:
    """What `contract` allows per unit: its fee list (exact modifiers, then none), else the percentage of the
    reference schedule when the contract names one."""
    code = (procedure_code or "").strip().upper()
    keys = _modifier_keys(modifiers)
    if contract.basis == ContractBasis.FEE_LIST:
        found = dict(ContractRate.objects.filter(contract=contract, procedure_code=code, modifiers__in=keys)
                     .values_list("modifiers", "allowed_amount"))
        for key in keys:
            if key in found:
                return found[key]
    if contract.reference_schedule_id and contract.percent_of_reference is not None:
        base = reference_amount(contract.reference_schedule_id, code, modifiers)
        if base is not None:
            return round_money(base * contract.percent_of_reference / HUNDRED)
    return None


def contract_allowed(payer: Payer, procedure_code: str, modifiers: str, on: date) -> Decimal | None:
    """What the payer's contract in force on `on` allows for one unit of the code, or None (no contract, or the
    contract says nothing about the code)."""
    contract = contract_in_force(payer, on)
    return None if contract is None else contract_rate(contract, procedure_code, modifiers)


# --- underpayments -----------------------------------------------------------------------------------------


def _line_terms(line) -> tuple[int | None, date | None, Decimal, Decimal | None]:
    """(payer id, service date, units, what the payer allowed) of a claim line or a remittance line."""
    if isinstance(line, ClaimLine):
        return line.claim.payer_id, line.service_date, Decimal(line.units), line.allowed_amount
    claim = line.remittance_claim.claim
    payer_id = line.remittance_claim.remittance.payer_id or (claim.payer_id if claim else None)
    on = line.service_date or (line.claim_line.service_date if line.claim_line_id else None) \
        or (claim.service_from if claim else None)
    allowed = line.allowed
    if allowed is None:
        contractual = sum((a.amount for a in line.adjustments.all() if a.group_code == AdjustmentGroup.CONTRACTUAL), ZERO)
        allowed = line.charge - contractual
    return payer_id, on, Decimal(line.units or 1), allowed


def underpayments_flag(lines: Iterable[ClaimLine | RemittanceLine]) -> list:
    """Set expected_allowed (contract per unit × units) and underpaid_amount (expected less what the payer
    allowed, never below zero) on each line, and save them. A line the payer allowed nothing for is a denial,
    not an underpayment: it is left to the denials queue. Returns the lines found underpaid."""
    cache: dict[tuple, Decimal | None] = {}
    contracts: dict[tuple, PayerContract | None] = {}
    underpaid = []
    changed = []
    for line in lines:
        payer_id, on, units, allowed = _line_terms(line)
        expected = None
        if payer_id is not None and on is not None:
            key_contract = (payer_id, on)
            if key_contract not in contracts:
                contracts[key_contract] = contract_in_force(payer_id, on)
            contract = contracts[key_contract]
            if contract is not None:
                key = (contract.pk, line.procedure_code, line.modifiers)
                if key not in cache:
                    cache[key] = contract_rate(contract, line.procedure_code, line.modifiers)
                per_unit = cache[key]
                expected = None if per_unit is None else round_money(per_unit * units)
        shortfall = ZERO
        if expected is not None and allowed is not None and allowed > 0 and expected > allowed:
            shortfall = round_money(expected - allowed)
        if (line.expected_allowed, line.underpaid_amount) != (expected, shortfall):
            line.expected_allowed, line.underpaid_amount = expected, shortfall
            changed.append(line)
        if shortfall > 0:
            underpaid.append(line)
    # a whole remittance is checked at once: one statement per thousand changed lines, none for unchanged ones
    for model in {type(line) for line in changed}:
        rows_set(model, [line for line in changed if type(line) is model], ["expected_allowed", "underpaid_amount"])
    return underpaid


@transaction.atomic
def remittance_lines_check(remittance: Remittance, lines: list[RemittanceLine] | None = None) -> list:
    """Check every line of a posted remittance (and the claim line it paid) against the payer's contract;
    reversals are skipped. Returns the underpaid remittance lines; an audit row names their total. The posting
    passes the `lines` it holds (with their claims and claim lines), so a large file is not read back."""
    if lines is None:
        lines = list(RemittanceLine.objects.filter(remittance_claim__remittance=remittance)
                     .exclude(remittance_claim__status_code="22")
                     .select_related("remittance_claim__remittance", "remittance_claim__claim", "claim_line__claim")
                     .prefetch_related("adjustments"))
    underpaid = underpayments_flag(lines)
    underpayments_flag([line.claim_line for line in lines if line.claim_line_id])
    if underpaid:
        total = sum((line.underpaid_amount for line in underpaid), ZERO)
        audit_event(action="remittance.underpaid", actor=None, target=remittance,
                    summary=f"ERA {remittance.check_number}: {len(underpaid)} lines underpaid by {total} in all")
    return underpaid
