"""The patient list as a spreadsheet: the columns of its CSV/XLSX download, and the import of such a file (new
patients registered, known ones updated by MRN) through patient_create and patient_update."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.choices import ImportOutcome
from clinicdesk.core.models import User
from clinicdesk.core.tables import ImportResult, TableRow, date_parse, rows_save, table_read

from ..models import Patient
from .records import PATIENT_PHONE_FIELDS, normalize_phone, patient_create, patient_update

# The download's header; an import reads the same names (lower case, spaces as underscores).
EXPORT_HEADER = [
    "MRN", "last name", "first name", "middle name", "preferred name", "date of birth", "sex", "status",
    "mobile phone", "home phone", "email", "address", "city", "state", "postal code", "created",
]  # fmt: skip
IMPORT_COLUMNS = (
    "mrn", "last_name", "first_name", "middle_name", "preferred_name", "date_of_birth", "sex", "status",
    "mobile_phone", "home_phone", "email", "address", "city", "state", "postal_code",
)  # fmt: skip
REQUIRED_COLUMNS = ("last_name", "first_name", "date_of_birth", "sex")
# Where a column's name differs from the patient field it fills ("created" is the system's: read, never written).
_FIELD_OF = {"mobile_phone": "phone_mobile", "home_phone": "phone_home", "address": "address_line1"}
_COLUMN_OF = {f: c for c, f in _FIELD_OF.items()}


def patient_export_row(p: Patient) -> list:
    """One patient as a row of the download, in EXPORT_HEADER's order."""
    return [
        p.mrn, p.last_name, p.first_name, p.middle_name, p.preferred_name, p.date_of_birth, p.sex,
        p.status, p.phone_mobile, p.phone_home, p.email, p.address_line1, p.city, p.state, p.postal_code,
        timezone.localdate(p.created_at),
    ]  # fmt: skip


@dataclass
class PatientImportRow(TableRow):
    """A line of the file, with the patient fields it sets."""

    values: dict[str, Any] = field(default_factory=dict)


def _row_values(row: PatientImportRow, columns: tuple[str, ...]) -> None:
    for column in IMPORT_COLUMNS:
        if column not in columns or column == "mrn":
            continue
        text = row.cell(column)
        if column == "date_of_birth":
            row.values["date_of_birth"] = date_parse(row, column, text, required=True)
        elif column in ("sex", "status"):
            row.values[column] = text.lower()
        else:
            row.values[_FIELD_OF.get(column, column)] = text
    if "status" in row.values and not row.values["status"]:
        del row.values["status"]  # a blank status keeps the patient's (a new patient starts active)


def _changes(patient: Patient, values: dict[str, Any]) -> dict[str, Any]:
    """The fields the row changes, compared as the service would store them."""
    changed = {}
    for name, value in values.items():
        stored = value
        if name in PATIENT_PHONE_FIELDS:
            try:
                stored = normalize_phone(value, field=name, region=(patient.country or "US").upper())
            except ValidationError:
                stored = None  # the service names the problem
        elif name == "email":
            stored = value.lower()
        if getattr(patient, name) != stored:
            changed[name] = value
    return changed


def _match(rows: list[PatientImportRow], *, actor: User) -> None:
    """Each row's patient by MRN; a row without one that names a registered patient is a likely duplicate."""
    org_patients = Patient.objects.filter(organization_id=actor.organization_id)
    mrns = {r.cell("mrn") for r in rows if r.cell("mrn")}
    by_mrn = {p.mrn: p for p in org_patients.filter(mrn__in=mrns)}
    births = {r.values.get("date_of_birth") for r in rows if not r.cell("mrn")} - {None}
    by_name = {}
    for p in org_patients.filter(date_of_birth__in=births, merged_into__isnull=True):
        by_name.setdefault((p.last_name.lower(), p.first_name.lower(), p.date_of_birth), p)
    seen: dict[object, int] = {}
    for row in rows:
        if row.outcome == ImportOutcome.ERROR:
            continue
        mrn = row.cell("mrn")
        name_key = (row.cell("last_name").lower(), row.cell("first_name").lower(), row.values.get("date_of_birth"))
        key = mrn or name_key
        if key in seen:
            row.fail("mrn" if mrn else "last_name", f"the same {'MRN' if mrn else 'name and date of birth'} as line {seen[key]}.")
            continue
        seen[key] = row.line
        row.target = by_mrn.get(mrn) if mrn else None
        if row.target is None:
            known = None if mrn else by_name.get(name_key)
            if known is not None:
                row.fail("mrn", f"{known.display_name}, born {known.date_of_birth:%Y-%m-%d}, is already registered "
                                f"as MRN {known.mrn}; put that MRN on the line to update the record.")
            else:
                row.outcome = ImportOutcome.NEW
        else:
            row.values = _changes(row.target, row.values)
            row.outcome = ImportOutcome.UPDATED if row.values else ImportOutcome.UNCHANGED


@transaction.atomic
def patient_import(*, file, actor: User, dry_run: bool) -> ImportResult:
    """Register or update patients from a CSV or XLSX file with the columns of the patient list's download.
    All or nothing: any bad line saves nothing; a dry run saves nothing and shows what every line would do."""
    table = table_read(file, required=REQUIRED_COLUMNS, expected=IMPORT_COLUMNS)
    rows = []
    for line in table.rows:
        row = PatientImportRow(line=line.line, cells=line.cells(IMPORT_COLUMNS))
        if line.extra:
            row.fail("(extra)", f"{len(line.values)} values for {len(table.columns)} columns.")
        _row_values(row, table.columns)
        rows.append(row)
    _match(rows, actor=actor)
    result = ImportResult(rows=rows, dry_run=dry_run)

    def save(row: PatientImportRow) -> None:
        if row.target is None:
            patient_create(actor=actor, mrn=row.cell("mrn"), **row.values)
        else:
            patient_update(patient=row.target, actor=actor, **row.values)

    rows_save(result, save=save, columns=_COLUMN_OF)
    if result.saved:
        counts = result.counts
        audit_event(action="patients.imported", actor=actor, organization_id=actor.organization_id,
                    summary=f"Patients imported: {counts['new']} new, {counts['updated']} updated, "
                            f"{counts['unchanged']} unchanged",
                    changes={"counts": counts})
    return result
