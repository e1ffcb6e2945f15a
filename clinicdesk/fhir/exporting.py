"""A bulk export of one practice as NDJSON, one file per resource type, in the shape of FHIR Bulk Data `$export`
(a `manifest.json` beside the files).

Each line is made by the mapper the API uses (mappers.py) from the rows the API's own scoped queries give the acting
user (search.py), streamed with `.iterator()`. The files are written into a hidden folder beside OUTDIR and renamed to
OUTDIR only once every file is complete and the export is audited, so a failed export leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone

from clinicdesk.core.audit import audit_event, audit_event_rows
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.models import Organization, User
from clinicdesk.core.permissions import Perm
from clinicdesk.patients.models import Patient

from . import mappers, search
from .resources import billing, claims, workflow
from .scopes import READ, RESOURCE_TYPES, role_allows

CHUNK_SIZE = 500
# Slot is computed on request from the schedules (a window of days), not stored: it has no rows to export.
EXPORT_TYPES: tuple[str, ...] = tuple(t for t in RESOURCE_TYPES if t != "Slot")
# The resource types whose lines carry a patient's data (the patient's name or record): exporting them needs the
# role's patient-export permission, and each patient they name is audited as exported.
PATIENT_TYPES = ("Patient", "Appointment", "Coverage", "Claim", "ExplanationOfBenefit", "Communication", "Task",
                 "ChargeItem", "Account", "Invoice")


@dataclass(frozen=True)
class _Source:
    """Where one resource type's lines come from: its rows, the mapper, and the patient each row is about."""

    rows: Callable[[User], Iterable]
    to_resource: Callable[[User], Callable]
    # The row's column holding the patient it is about ("pk" for Patient itself): read for the audit, and filtered
    # on to take one patient's rows.
    patient_field: str | None = None

    def patient_id(self, row) -> int | None:
        return getattr(row, self.patient_field) if self.patient_field else None


def _no_params() -> QueryDict:
    return QueryDict()


def _patients(actor: User) -> QuerySet:
    return search.patient_search(actor=actor, params=_no_params(), mrn_system=mappers.mrn_system(actor.organization))


def _practitioner_roles(actor: User) -> QuerySet:
    return search.practitioner_scope(actor=actor).select_related("organization", "staff_member").prefetch_related(
        "locations", "availability_templates")


def _role_mapper(actor: User) -> Callable:
    visible = list(search.location_scope(actor=actor).order_by("name", "id"))
    return lambda user: mappers.practitioner_role_resource(user, search.role_locations(user, visible))


def _coverages(actor: User) -> QuerySet:
    organization = actor.organization
    return search.coverage_search(actor=actor, params=_no_params(), member_system=mappers.member_id_system(organization),
                                  payer_system=mappers.payer_id_system(organization))


SOURCES: dict[str, _Source] = {
    "Patient": _Source(rows=_patients, to_resource=lambda actor: mappers.patient_resource, patient_field="pk"),
    "Practitioner": _Source(rows=lambda actor: search.practitioner_scope(actor=actor),
                            to_resource=lambda actor: mappers.practitioner_resource),
    "Organization": _Source(rows=lambda actor: Organization.objects.filter(pk=actor.organization_id),
                            to_resource=lambda actor: mappers.organization_resource),
    "Location": _Source(rows=lambda actor: search.location_scope(actor=actor).order_by("name", "id"),
                        to_resource=lambda actor: mappers.location_resource),
    "Appointment": _Source(rows=lambda actor: search.appointment_search(actor=actor, params=_no_params())[0],
                           to_resource=lambda actor: mappers.appointment_resource, patient_field="patient_id"),
    "PractitionerRole": _Source(rows=_practitioner_roles, to_resource=_role_mapper),
    "Schedule": _Source(rows=lambda actor: search.schedule_scope(actor=actor),
                        to_resource=lambda actor: mappers.schedule_resource),
    "Coverage": _Source(rows=_coverages, to_resource=lambda actor: mappers.coverage_resource,
                        patient_field="patient_id"),
    "Claim": _Source(rows=lambda actor: claims.claim_scope(actor=actor).order_by("id"),
                     to_resource=lambda actor: claims.claim_resource, patient_field="patient_id"),
    # `patient_id` of a claim payment is its claim's patient (annotated by the scope)
    "ExplanationOfBenefit": _Source(rows=lambda actor: claims.eob_scope(actor=actor).order_by("id"),
                                    to_resource=lambda actor: claims.eob_resource, patient_field="patient_id"),
    "Communication": _Source(rows=lambda actor: workflow.communication_search(actor=actor, params=_no_params()),
                             to_resource=lambda actor: workflow.communication_resource, patient_field="patient_id"),
    "Task": _Source(rows=lambda actor: workflow.task_scope(actor=actor), to_resource=lambda actor: workflow.task_resource,
                    patient_field="patient_id"),
    # Each row's `patient_id` is annotated: the line's patient; an account's (and its statements') guarantor when a
    # patient, else the first patient on it.
    "ChargeItem": _Source(rows=lambda actor: billing.charge_item_scope(actor=actor),
                          to_resource=lambda actor: billing.charge_item_resource, patient_field="patient_id"),
    "Account": _Source(rows=lambda actor: billing.account_rows(actor=actor),
                       to_resource=lambda actor: billing.account_resource, patient_field="patient_id"),
    "Invoice": _Source(rows=lambda actor: billing.invoice_rows(actor=actor),
                       to_resource=lambda actor: billing.invoice_resource, patient_field="patient_id"),
}
assert tuple(SOURCES) == EXPORT_TYPES  # noqa: S101  (every served type but Slot is exported, in the API's order)


@dataclass
class ExportResult:
    """What an export wrote: the folder, the manifest, the lines per type and the patients named."""

    outdir: Path
    manifest: dict
    counts: dict[str, int] = field(default_factory=dict)
    patients: int = 0


def export_types(text: str | None) -> list[str]:
    """The resource types named in a comma list (every exportable type when none), in the list's order; an unknown
    name is refused by name."""
    if not text:
        return list(EXPORT_TYPES)
    wanted: list[str] = []
    for name in (part.strip() for part in text.split(",")):
        if not name:
            continue
        if name not in EXPORT_TYPES:
            why = " (slots are computed on request, not stored)" if name == "Slot" else ""
            raise ValidationError({"type": f"'{name}' is not a resource type that can be exported{why}; use any of: "
                                           f"{', '.join(EXPORT_TYPES)}."})
        if name not in wanted:
            wanted.append(name)
    if not wanted:
        raise ValidationError({"type": f"Name at least one resource type: {', '.join(EXPORT_TYPES)}."})
    return wanted


def export_permission_check(*, actor: User, organization: Organization, types: Iterable[str]) -> None:
    """The actor is an active user of the practice whose role reads every type asked for (as the API would let them)
    and, for types that carry patients' data, may export patients; deny otherwise."""
    if not actor.is_active or actor.organization_id != organization.pk:
        raise PermissionDenied(f"{actor.username} is not an active user of {organization.slug}.")
    refused = [t for t in types if not role_allows(actor, t, READ)]
    if refused:
        raise PermissionDenied(f"{actor.username} ({actor.get_role_display()}) may not read {', '.join(refused)}.")
    carrying = [t for t in types if t in PATIENT_TYPES]
    if carrying and not actor.has_perm_code(Perm.PATIENT_EXPORT):
        raise PermissionDenied(f"{actor.username} ({actor.get_role_display()}) may not export patients' data "
                               f"({', '.join(carrying)}).")


def check_outdir(outdir: Path) -> Path:
    """OUTDIR as an absolute path: a folder that does not exist yet (its parent does) or is empty."""
    outdir = Path(outdir).expanduser().absolute()
    if outdir.exists():
        if not outdir.is_dir():
            raise ValidationError({"outdir": f"{outdir} is a file; give a folder that does not exist yet or is empty."})
        if any(outdir.iterdir()):
            raise ValidationError({"outdir": f"{outdir} is not empty; give a folder that does not exist yet or is empty."})
    elif not outdir.parent.is_dir():
        raise ValidationError({"outdir": f"The folder {outdir.parent} (where {outdir.name} would go) does not exist."})
    return outdir


def _lines(rows: Iterable, to_resource: Callable) -> Iterator[tuple[object, str]]:
    for row in rows:
        yield row, json.dumps(to_resource(row), ensure_ascii=False, separators=(",", ":"))


def _stream(rows) -> Iterable:
    return rows.iterator(chunk_size=CHUNK_SIZE) if isinstance(rows, QuerySet) else rows


def _write_type(folder: Path, resource_type: str, actor: User, patient_ids: set[int]) -> int:
    source = SOURCES[resource_type]
    count = 0
    path = folder / f"{resource_type}.ndjson"
    with path.open("w", encoding="utf-8") as out:
        for row, line in _lines(_stream(source.rows(actor)), source.to_resource(actor)):
            out.write(line)
            out.write("\n")
            count += 1
            patient_id = source.patient_id(row)
            if patient_id is not None:
                patient_ids.add(patient_id)
    if count == 0:
        path.unlink()  # Bulk Data lists only files with resources in them
    return count


def _audit(*, actor: User, organization: Organization, counts: dict[str, int], patient_ids: set[int],
           outdir: Path) -> None:
    """One event for the export (the lines per type) and one `patient.exported` row per patient it names, written
    in batches of array inserts (the trail's cheapest way for many rows)."""
    listed = ", ".join(f"{t} {n}" for t, n in counts.items())
    audit_event(action="fhir.bulk_exported", actor=actor, organization_id=organization.pk, channel=AuditChannel.EXPORT,
                summary=f"FHIR bulk export to {outdir.name}: {listed}; {len(patient_ids)} patient(s)"[:300],
                changes={"counts": counts, "patients": len(patient_ids), "outdir": str(outdir)})
    ordered = sorted(patient_ids)
    for start in range(0, len(ordered), CHUNK_SIZE):
        chunk = Patient.objects.filter(pk__in=ordered[start : start + CHUNK_SIZE]).order_by("pk")
        audit_event_rows({"action": "patient.exported", "actor": actor, "target": patient,
                          "channel": AuditChannel.EXPORT, "summary": "Included in a FHIR bulk export"}
                         for patient in chunk)


def _manifest(*, organization: Organization, types: list[str], counts: dict[str, int], started) -> dict:
    return {
        "transactionTime": started.isoformat(timespec="seconds"),
        "request": f"$export?_type={','.join(types)}&organization={organization.slug}",
        "requiresAccessToken": False,
        "output": [{"type": t, "url": f"{t}.ndjson", "count": n} for t, n in counts.items() if n],
        "error": [],
    }


def fhir_export(*, actor: User, organization: Organization, outdir: Path, types: list[str] | None = None) -> ExportResult:
    """Write the practice's resources of `types` (every exportable one by default) as `<Type>.ndjson` files and a
    Bulk Data `manifest.json` into `outdir`, which must not exist or be empty; audited as one export plus one row per
    patient named. All or nothing: on any error the folder is left as it was."""
    types = list(types) if types else list(EXPORT_TYPES)
    unknown = [t for t in types if t not in EXPORT_TYPES]
    if unknown:
        raise ValidationError({"type": f"'{unknown[0]}' is not a resource type that can be exported; use any of: "
                                       f"{', '.join(EXPORT_TYPES)}."})
    export_permission_check(actor=actor, organization=organization, types=types)
    outdir = check_outdir(outdir)
    started = timezone.now()
    work = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.", suffix=".partial", dir=outdir.parent))
    try:
        counts: dict[str, int] = {}
        patient_ids: set[int] = set()
        for resource_type in types:
            counts[resource_type] = _write_type(work, resource_type, actor, patient_ids)
        manifest = _manifest(organization=organization, types=types, counts=counts, started=started)
        (work / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        with transaction.atomic():
            _audit(actor=actor, organization=organization, counts=counts, patient_ids=patient_ids, outdir=outdir)
            # Last, inside the transaction: a folder that cannot take the files undoes the audit rows too.
            check_outdir(outdir)
            if outdir.exists():
                outdir.rmdir()
            os.rename(work, outdir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return ExportResult(outdir=outdir, manifest=manifest, counts=counts, patients=len(patient_ids))
