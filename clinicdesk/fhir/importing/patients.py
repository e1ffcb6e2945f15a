"""Patient resources: a new patient through `patient_create` (the practice's next MRN; the source's id is kept in the
import mapping), or, when the resource changed since the last import, the changed fields through `patient_update`.
Both are audited like any change at the front desk. A phone number the practice would refuse (Synthea's 555
numbers) is left out with a note rather than refusing the patient."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError

from clinicdesk.patients.choices import AdministrativeSex, PatientStatus
from clinicdesk.patients.models import Patient
from clinicdesk.patients.selectors.duplicates import patient_likely_duplicates
from clinicdesk.patients.services.records import normalize_phone, patient_create, patient_update

from .bundle import Entry
from .identity import ImportContext, fingerprint
from .report import CREATED, SKIPPED, UPDATED

PHONE_FIELDS = {"mobile": "phone_mobile", "home": "phone_home", "work": "phone_work"}


def _official_name(resource: dict) -> dict:
    names = resource.get("name") or []
    return next((n for n in names if n.get("use") == "official"), names[0] if names else {})


def patient_fields(ctx: ImportContext, entry: Entry) -> dict:
    """The practice's patient fields from a Patient resource; a missing name or birth date refuses the bundle."""
    resource = entry.resource
    name = _official_name(resource)
    given = [g for g in name.get("given") or [] if g]
    if not given or not name.get("family"):
        raise entry.refused("a patient needs a given and a family name.", "Patient.name")
    if not resource.get("birthDate"):
        raise entry.refused("a patient needs a birth date.", "Patient.birthDate")
    birth = str(resource["birthDate"])
    if len(birth) != 10:
        raise entry.refused(f"the birth date '{birth}' is not a full date (YYYY-MM-DD).", "Patient.birthDate")
    gender = resource.get("gender") or AdministrativeSex.UNKNOWN
    if gender not in AdministrativeSex.values:
        raise entry.refused(f"'{gender}' is not one of: {', '.join(AdministrativeSex.values)}.", "Patient.gender")
    address = (resource.get("address") or [{}])[0]
    lines = address.get("line") or []
    fields = {
        "first_name": given[0][:80], "middle_name": " ".join(given[1:])[:80], "last_name": name["family"][:80],
        "suffix": " ".join(name.get("suffix") or [])[:10], "date_of_birth": date.fromisoformat(birth), "sex": gender,
        "address_line1": (lines[0] if lines else "")[:200], "address_line2": (lines[1] if len(lines) > 1 else "")[:200],
        "city": (address.get("city") or "")[:100], "state": (address.get("state") or "")[:40],
        "postal_code": (address.get("postalCode") or "")[:12], "country": (address.get("country") or "US")[:2].upper(),
    }
    language = ((resource.get("communication") or [{}])[0].get("language") or {}).get("coding") or [{}]
    if language[0].get("code"):
        fields["preferred_language"] = language[0]["code"][:20]
    deceased = resource.get("deceasedDateTime")
    if deceased:
        fields["deceased_date"] = date.fromisoformat(str(deceased)[:10])
        fields["status"] = PatientStatus.DECEASED
    for n, telecom in enumerate(resource.get("telecom") or []):
        value = telecom.get("value") or ""
        if telecom.get("system") == "email" and value:
            fields["email"] = value.lower()[:254]
        elif telecom.get("system") == "phone" and value:
            field = PHONE_FIELDS.get(telecom.get("use"), "phone_home")
            try:
                fields[field] = normalize_phone(value, field=field, region=fields["country"])
            except ValidationError:
                ctx.report.notes.append(f"entry {entry.index}: phone '{value}' (Patient.telecom[{n}]) is not a valid "
                                        f"number; left out.")
    return fields


def patients_import(ctx: ImportContext, entries: list[Entry]) -> dict[str, Patient]:
    """Every Patient entry made or brought up to date; returns the local patient of each entry's full URL."""
    result: dict[str, Patient] = {}
    ctx.load([("Patient", e.source_id) for e in entries])
    for entry in entries:
        row = ctx.find("Patient", entry.source_id)
        patient = ctx.target("Patient", entry.source_id, Patient) if row is not None else None
        if patient is not None and row.fingerprint == fingerprint(entry.resource):
            ctx.report.add(SKIPPED, "patients", reason="already imported, unchanged")
            result[entry.full_url] = patient
            continue
        fields = patient_fields(ctx, entry)
        try:
            if patient is None:
                duplicates = patient_likely_duplicates(
                    organization=ctx.organization, first_name=fields["first_name"], last_name=fields["last_name"],
                    date_of_birth=fields["date_of_birth"])
                patient = patient_create(actor=ctx.actor, acknowledged_duplicates=duplicates, **fields)
                ctx.report.add(CREATED, "patients")
                if duplicates:
                    ctx.report.notes.append(f"entry {entry.index}: patient {patient.mrn} may be the same person as "
                                            f"{', '.join(d.mrn for d in duplicates)}; review for a merge.")
            else:
                changed = {k: v for k, v in fields.items() if getattr(patient, k) != v}
                if changed:
                    patient = patient_update(patient=patient, actor=ctx.actor, **changed)
                    ctx.report.add(UPDATED, "patients")
                else:
                    ctx.report.add(SKIPPED, "patients", reason="already imported, no field of ours changed")
        except ValidationError as exc:
            raise entry.refused("; ".join(f"{f}: {' '.join(m)}" for f, m in exc.message_dict.items()),
                                "Patient") from None
        ctx.remember("Patient", entry.source_id, patient, resource=entry.resource,
                     display=f"{fields['first_name']} {fields['last_name']}")
        result[entry.full_url] = patient
    return result
