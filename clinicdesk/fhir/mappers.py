"""Practice records as FHIR R4 resources. Each mapper returns plain JSON checked against the R4B model, so a
resource that does not validate is a bug caught here, never sent.

Identifier systems: MRNs are per practice (`urn:clinicdesk:<practice slug>:mrn`), NPIs are the national
system, appointment types are the practice's own codes.
"""

from __future__ import annotations

from datetime import datetime

from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.location import Location as FhirLocation
from fhir.resources.R4B.organization import Organization as FhirOrganization
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.practitioner import Practitioner as FhirPractitioner

from clinicdesk.core.models import Location, Organization, User
from clinicdesk.patients.choices import PatientStatus
from clinicdesk.patients.models import Patient
from clinicdesk.scheduling.choices import AppointmentStatus
from clinicdesk.scheduling.models import Appointment
from clinicdesk.scheduling.selectors.availability import location_tz

from .bindings import code_issues

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
TAX_ID_SYSTEM = "urn:oid:2.16.840.1.113883.4.4"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
LANGUAGE_SYSTEM = "urn:ietf:bcp:47"

# Our appointment statuses as FHIR's (appointmentstatus). Several of ours share one FHIR code; searching by a
# FHIR code finds every one of ours behind it.
APPOINTMENT_STATUS_TO_FHIR: dict[str, str] = {
    AppointmentStatus.SCHEDULED: "booked",
    AppointmentStatus.CONFIRMED: "booked",
    AppointmentStatus.ARRIVED: "arrived",
    AppointmentStatus.ROOMED: "checked-in",
    AppointmentStatus.WITH_PROVIDER: "checked-in",
    AppointmentStatus.COMPLETED: "fulfilled",
    AppointmentStatus.CANCELLED: "cancelled",
    AppointmentStatus.NO_SHOW: "noshow",
}


def mrn_system(organization: Organization) -> str:
    return f"urn:clinicdesk:{organization.slug}:mrn"


def appointment_type_system(organization: Organization) -> str:
    return f"urn:clinicdesk:{organization.slug}:appointment-type"


def location_code_system(organization: Organization) -> str:
    return f"urn:clinicdesk:{organization.slug}:location"


def _clean(value):
    """Drop empty strings, lists and dicts: FHIR forbids empty elements."""
    if isinstance(value, dict):
        cleaned = {k: _clean(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        cleaned = [_clean(v) for v in value]
        return [v for v in cleaned if v not in (None, "", [], {})]
    return value


def _checked(model, body: dict) -> dict:
    resource = model.model_validate(_clean(body)).model_dump(mode="json", exclude_none=True)
    issues = code_issues(resource)
    if issues:
        raise ValueError(f"{resource['resourceType']} {resource.get('id')}: {'; '.join(i.diagnostics for i in issues)}")
    return resource


def _instant(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


def _address(line1: str, line2: str, city: str, state: str, postal_code: str, country: str = "") -> dict:
    return {"use": "work", "line": [line1, line2], "city": city, "state": state, "postalCode": postal_code, "country": country}


def patient_resource(patient: Patient) -> dict:
    """Patient: MRN, names (official and the name they go by), contact points, address, language, provider."""
    organization = patient.organization
    names = [{"use": "official", "family": patient.last_name, "given": [patient.first_name, patient.middle_name],
              "suffix": [patient.suffix]}]
    if patient.preferred_name and patient.preferred_name != patient.first_name:
        names.append({"use": "usual", "family": patient.last_name, "given": [patient.preferred_name]})
    telecom = [
        {"system": "phone", "value": patient.phone_mobile, "use": "mobile"},
        {"system": "phone", "value": patient.phone_home, "use": "home"},
        {"system": "phone", "value": patient.phone_work, "use": "work"},
        {"system": "email", "value": patient.email},
    ]
    body = {
        "resourceType": "Patient",
        "id": patient.public_id,
        "meta": {"lastUpdated": _instant(patient.updated_at)},
        "identifier": [{
            "use": "usual", "type": {"coding": [{"system": V2_0203, "code": "MR", "display": "Medical record number"}]},
            "system": mrn_system(organization), "value": patient.mrn,
        }],
        "active": patient.status != PatientStatus.INACTIVE,
        "name": names,
        "telecom": [t for t in telecom if t["value"]],
        "gender": patient.sex,
        "birthDate": patient.date_of_birth.isoformat(),
        "address": [{**_address(patient.address_line1, patient.address_line2, patient.city, patient.state,
                                patient.postal_code, patient.country), "use": "home"}],
        "communication": [{"language": {"coding": [{"system": LANGUAGE_SYSTEM, "code": patient.preferred_language}]},
                           "preferred": True}] if patient.preferred_language else [],
        "generalPractitioner": [{"reference": f"Practitioner/{patient.primary_provider_id}"}] if patient.primary_provider_id else [],
        "managingOrganization": {"reference": f"Organization/{patient.organization_id}", "display": organization.name},
    }
    if patient.deceased_date:
        body["deceasedDateTime"] = patient.deceased_date.isoformat()
    return _checked(FhirPatient, body)


def practitioner_resource(user: User) -> dict:
    """Practitioner: a provider of the practice (a clinician or a nurse who is booked)."""
    body = {
        "resourceType": "Practitioner",
        "id": str(user.pk),
        "meta": {"lastUpdated": _instant(user.updated_at)},
        "identifier": [{"system": NPI_SYSTEM, "value": user.npi}] if user.npi else [],
        "active": user.is_active,
        "name": [{"use": "official", "family": user.last_name, "given": [user.first_name], "suffix": [user.title],
                  "text": str(user)}],
    }
    return _checked(FhirPractitioner, body)


def organization_resource(organization: Organization) -> dict:
    body = {
        "resourceType": "Organization",
        "id": str(organization.pk),
        "meta": {"lastUpdated": _instant(organization.updated_at)},
        "identifier": [
            {"system": NPI_SYSTEM, "value": organization.npi} if organization.npi else {},
            {"system": TAX_ID_SYSTEM, "value": organization.tax_id} if organization.tax_id else {},
        ],
        "active": True,
        "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "prov",
                              "display": "Healthcare Provider"}]}],
        "name": organization.name,
    }
    return _checked(FhirOrganization, body)


def location_resource(location: Location) -> dict:
    body = {
        "resourceType": "Location",
        "id": str(location.pk),
        "meta": {"lastUpdated": _instant(location.updated_at)},
        "identifier": [{"system": location_code_system(location.organization), "value": location.code}],
        "status": "active" if location.is_active else "inactive",
        "name": location.name,
        "mode": "instance",
        "telecom": [{"system": "phone", "value": location.phone, "use": "work"}] if location.phone else [],
        "address": _address(location.address_line1, location.address_line2, location.city, location.state,
                            location.postal_code),
        "managingOrganization": {"reference": f"Organization/{location.organization_id}"},
    }
    return _checked(FhirLocation, body)


def appointment_resource(appointment: Appointment) -> dict:
    """Appointment: times on the location's clock, the type as serviceType, patient, provider and location as
    participants."""
    location = appointment.location
    organization = location.organization
    tz = location_tz(location.time_zone)
    kind = appointment.appointment_type
    status = APPOINTMENT_STATUS_TO_FHIR[appointment.status]
    body = {
        "resourceType": "Appointment",
        "id": appointment.public_id,
        "meta": {"lastUpdated": _instant(appointment.updated_at)},
        "status": status,
        "serviceType": [{"coding": [{"system": appointment_type_system(organization), "code": kind.code,
                                     "display": kind.name}], "text": kind.name}],
        "start": _instant(appointment.starts_at.astimezone(tz)),
        "end": _instant(appointment.ends_at.astimezone(tz)),
        "minutesDuration": max(1, int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)),
        "created": _instant(appointment.created_at.astimezone(tz)),
        "comment": appointment.notes,
        "participant": [
            {"actor": {"reference": f"Patient/{appointment.patient.public_id}", "display": appointment.patient.display_name},
             "required": "required", "status": "accepted"},
            {"actor": {"reference": f"Practitioner/{appointment.provider_id}", "display": str(appointment.provider)},
             "required": "required", "status": "accepted"},
            {"actor": {"reference": f"Location/{appointment.location_id}", "display": location.name},
             "required": "required", "status": "accepted"},
        ],
    }
    if status == "cancelled":
        body["cancelationReason"] = {"text": appointment.cancel_reason}
    return _checked(FhirAppointment, body)
