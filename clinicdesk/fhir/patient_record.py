"""A patient's own record for a right-of-access request: one zip holding the patient as FHIR R4 JSON, their resources
of every exported type that is about a patient (a `collection` Bundle per type), the documents in their chart, and a
README.txt listing it all.

The resources come from the bulk export's sources (exporting.SOURCES), filtered to the one patient, so the record
holds exactly what the FHIR API and the bulk export would give the acting user about them. The zip is built in a
spooled temporary file (memory for small records, disk beyond), so large scans do not sit in memory.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO

from django.core.exceptions import PermissionDenied, ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.text import slugify
from fhir.resources.R4B.bundle import Bundle

from clinicdesk.core.audit import audit_event
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.models import User
from clinicdesk.core.permissions import Perm
from clinicdesk.patients.models import Document, Patient
from clinicdesk.patients.selectors.records import document_list

from .exporting import SOURCES, export_permission_check

# What the acting role needs: the chart, its documents, and the right to let a patient's data leave the practice.
RECORD_PERMISSIONS = (Perm.PATIENT_VIEW, Perm.DOCUMENT_VIEW, Perm.PATIENT_EXPORT)
SPOOL_BYTES = 8 * 1024 * 1024
COPY_CHUNK = 1024 * 1024
# File name extensions a document may keep inside the zip (the types the chart accepts); anything else gets none.
DOCUMENT_SUFFIXES = {".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".heic", ".heif"}


@dataclass
class PatientRecord:
    """The zip (positioned at its start, to be read and closed by the caller), its suggested name and what it holds."""

    file: IO[bytes]
    filename: str
    counts: dict[str, int]
    documents: int = 0
    missing_documents: list[str] = field(default_factory=list)


def patient_record_types() -> list[str]:
    """The exported resource types that are about one patient (Patient first), in the export's order."""
    return [t for t, source in SOURCES.items() if source.patient_field]


def patient_record_check(*, actor: User, patient: Patient) -> None:
    """The actor is an active user of the patient's practice whose role may see the chart and its documents, export
    patients' data, and read every resource type of the record; deny otherwise."""
    if not actor.is_active or patient.organization_id != actor.organization_id:
        raise PermissionDenied(f"{actor.username} is not an active user of the patient's practice.")
    missing = [code for code in RECORD_PERMISSIONS if not actor.has_perm_code(code)]
    if missing:
        raise PermissionDenied(f"{actor.username} ({actor.get_role_display()}) may not export a patient's record "
                               f"(needs {', '.join(missing)}).")
    export_permission_check(actor=actor, organization=actor.organization, types=patient_record_types())
    if patient.merged_into_id is not None:
        raise ValidationError({"patient": f"MRN {patient.mrn} was merged into another record; export that one."})


def _json_bytes(body: dict) -> bytes:
    return (json.dumps(body, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _collection(resources: list[dict], timestamp: str) -> dict:
    """A FHIR `collection` Bundle of the resources, checked against the R4B model."""
    bundle = {"resourceType": "Bundle", "type": "collection", "timestamp": timestamp,
              "entry": [{"resource": r} for r in resources]}
    if not resources:
        del bundle["entry"]
    return Bundle.model_validate(bundle).model_dump(mode="json", exclude_none=True)


def document_file_name(number: int, document: Document) -> str:
    """`documents/003-2027-03-01-referral-letter.pdf`: numbered (so names never collide), dated, the title as a slug
    and the stored file's own extension; nothing of the uploaded name reaches the path but those safe characters."""
    suffix = PurePosixPath(document.file.name or "").suffix.lower()
    if suffix not in DOCUMENT_SUFFIXES:
        suffix = PurePosixPath(document.original_name or "").suffix.lower()
    if suffix not in DOCUMENT_SUFFIXES:
        suffix = ""
    title = slugify(document.title)[:60].strip("-") or "document"
    return f"documents/{number:03d}-{timezone.localdate(document.created_at).isoformat()}-{title}{suffix}"


def _entry(name: str, when) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _copy_document(archive: zipfile.ZipFile, name: str, document: Document, when) -> str | None:
    """Copy the document's bytes from storage into the zip; its SHA-256, or None when storage no longer has it."""
    try:
        source = document.file.storage.open(document.file.name, "rb")
    except FileNotFoundError:
        return None
    digest = hashlib.sha256()
    with source, archive.open(_entry(name, when), "w", force_zip64=True) as target:
        while chunk := source.read(COPY_CHUNK):
            digest.update(chunk)
            target.write(chunk)
    return digest.hexdigest()


def _readme(*, actor: User, patient: Patient, when, counts: dict[str, int], listed: list[tuple[str, str]],
            missing: list[str]) -> str:
    lines = [
        f"Health record of {patient.display_name} (MRN {patient.mrn}), born {patient.date_of_birth.isoformat()}",
        f"Prepared by {actor.organization.name} on {when.strftime('%Y-%m-%d %H:%M %Z')} for the patient's request "
        f"for access to their record; exported by {actor.get_full_name() or actor.username}.",
        "",
        "What is inside",
        "",
        "  README.txt  this list",
    ]
    for resource_type, count in counts.items():
        if resource_type == "Patient":
            lines.append("  Patient.json  the patient's details: name, birth date, contacts, address, identifiers "
                         "(one FHIR R4 Patient resource)")
        else:
            lines.append(f"  {resource_type}.json  {count} {resource_type} resource(s) (a FHIR R4 Bundle of type "
                         f"collection)")
    lines += ["", f"Documents in the chart: {len(listed) + len(missing)}", ""]
    lines += [f"  {name}  {about}" for name, about in listed]
    lines += [f"  (not included) {title}: the file is missing from the practice's storage" for title in missing]
    lines += [
        "",
        "About the formats",
        "",
        "The .json files follow HL7 FHIR R4 (https://hl7.org/fhir/R4/), the format health record software exchanges; "
        "any FHIR viewer or patient app that imports FHIR can read them. The documents are the files as filed in the "
        "chart (PDF or image), each with its SHA-256 checksum above.",
        "",
    ]
    return "\n".join(lines)


def patient_record_zip(*, actor: User, patient: Patient) -> PatientRecord:
    """The patient's record as a zip (right of access): `Patient.json`, a `<Type>.json` collection Bundle per other
    type about the patient, every document under `documents/`, and `README.txt`. Audited as one `patient.exported`
    event with the counts, written once the zip is complete."""
    patient_record_check(actor=actor, patient=patient)
    now = timezone.now()
    when = timezone.localtime(now)
    timestamp = now.isoformat(timespec="seconds")
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115  (handed to the caller open)
    try:
        counts: dict[str, int] = {}
        listed: list[tuple[str, str]] = []
        missing: list[str] = []
        with zipfile.ZipFile(spool, "w") as archive:
            for resource_type in patient_record_types():
                source = SOURCES[resource_type]
                to_resource = source.to_resource(actor)
                rows = source.rows(actor).filter(**{source.patient_field: patient.pk})
                resources = [to_resource(row) for row in rows]
                counts[resource_type] = len(resources)
                if resource_type == "Patient":
                    if len(resources) != 1:
                        raise PermissionDenied(f"{actor.username} may not read this patient's record.")
                    body = resources[0]
                else:
                    body = _collection(resources, timestamp)
                archive.writestr(_entry(f"{resource_type}.json", when), _json_bytes(body))
            documents = list(document_list(actor=actor, patient=patient).order_by("created_at", "id"))
            for number, document in enumerate(documents, start=1):
                name = document_file_name(number, document)
                digest = _copy_document(archive, name, document, when)
                if digest is None:
                    missing.append(document.title)
                    continue
                listed.append((name, f"{document.title} ({document.get_category_display()}, "
                                     f"{filesizeformat(document.size)}, filed "
                                     f"{timezone.localdate(document.created_at).isoformat()}; sha256 {digest})"))
            readme = _readme(actor=actor, patient=patient, when=when, counts=counts, listed=listed, missing=missing)
            archive.writestr(_entry("README.txt", when), readme.encode("utf-8"))
        listing = ", ".join(f"{t} {n}" for t, n in counts.items() if t != "Patient")
        audit_event(action="patient.exported", actor=actor, target=patient, channel=AuditChannel.EXPORT,
                    summary=f"Record exported for the patient (right of access): {listing}; "
                            f"{len(listed)} document(s)"[:300],
                    changes={"counts": counts, "documents": len(listed), "missing_documents": len(missing)})
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    stamp = when.strftime("%Y%m%d")
    return PatientRecord(file=spool, filename=f"record-{slugify(patient.mrn) or patient.public_id}-{stamp}.zip",
                         counts=counts, documents=len(listed), missing_documents=missing)
