"""Practice records as FHIR R4 resources. Each mapper returns plain JSON checked against the R4B model, so a
resource that does not validate is a bug caught here, never sent. Patient, served by the page in searches, is
the exception: it is written in the model's own form and checked by the tests instead (see `patient_resource`).

Identifier systems: MRNs are per practice (`urn:clinicdesk:<practice slug>:mrn`), NPIs are the national
system, appointment types are the practice's own codes.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.coverage import Coverage as FhirCoverage
from fhir.resources.R4B.location import Location as FhirLocation
from fhir.resources.R4B.organization import Organization as FhirOrganization
from fhir.resources.R4B.practitioner import Practitioner as FhirPractitioner
from fhir.resources.R4B.practitionerrole import PractitionerRole as FhirPractitionerRole
from fhir.resources.R4B.schedule import Schedule as FhirSchedule
from fhir.resources.R4B.slot import Slot as FhirSlot

from clinicdesk.core.choices import Role
from clinicdesk.core.models import Location, Organization, User
from clinicdesk.insurance.choices import SubscriberRelationship
from clinicdesk.insurance.models import Coverage
from clinicdesk.patients.choices import PatientStatus
from clinicdesk.patients.models import Patient
from clinicdesk.scheduling.choices import AppointmentStatus
from clinicdesk.scheduling.models import Appointment, AppointmentType
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


def payer_id_system(organization: Organization) -> str:
    """The practice's payer IDs (the IDs its clearinghouse routes claims by): payers are not served as resources."""
    return f"urn:clinicdesk:{organization.slug}:payer-id"


def member_id_system(organization: Organization) -> str:
    return f"urn:clinicdesk:{organization.slug}:member-id"


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
    return _bindings_checked(model.model_validate(_clean(body)).model_dump(mode="json", exclude_none=True))


def _bindings_checked(resource: dict) -> dict:
    issues = code_issues(resource)
    if issues:
        raise ValueError(f"{resource['resourceType']} {resource.get('id')}: {'; '.join(i.diagnostics for i in issues)}")
    return resource


def _instant(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


def _model_instant(at: datetime) -> str:
    """An instant as the R4B models write it: UTC as "Z"."""
    text = _instant(at)
    return f"{text[:-6]}Z" if text.endswith("+00:00") else text


def _coded(body: dict) -> dict:
    """A resource built in its model's element order, cleaned and its code bindings checked, without validating it
    through the model (see `patient_resource`)."""
    return _bindings_checked(_clean(body))


def _address(line1: str, line2: str, city: str, state: str, postal_code: str, country: str = "") -> dict:
    return {"use": "work", "line": [line1, line2], "city": city, "state": state, "postalCode": postal_code, "country": country}


def patient_resource(patient: Patient) -> dict:
    """Patient: MRN, names (official and the name they go by), contact points, address, language, provider.

    Written exactly as validating it through the R4B Patient model would write it (elements in the model's order,
    instants in UTC as "Z"), but not validated on the way out: a search page maps twenty patients, and the model
    took a millisecond each. The tests validate this output for patients of every shape and require it unchanged.
    """
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
        "meta": {"lastUpdated": _model_instant(patient.updated_at)},
        "identifier": [{
            "use": "usual", "type": {"coding": [{"system": V2_0203, "code": "MR", "display": "Medical record number"}]},
            "system": mrn_system(organization), "value": patient.mrn,
        }],
        "active": patient.status != PatientStatus.INACTIVE,
        "name": names,
        "telecom": [t for t in telecom if t["value"]],
        "gender": patient.sex,
        "birthDate": patient.date_of_birth.isoformat(),
        "deceasedDateTime": patient.deceased_date.isoformat() if patient.deceased_date else None,
        "address": [{**_address(patient.address_line1, patient.address_line2, patient.city, patient.state,
                                patient.postal_code, patient.country), "use": "home"}],
        "communication": [{"language": {"coding": [{"system": LANGUAGE_SYSTEM, "code": patient.preferred_language}]},
                           "preferred": True}] if patient.preferred_language else [],
        "generalPractitioner": [{"reference": f"Practitioner/{patient.primary_provider_id}"}] if patient.primary_provider_id else [],
        "managingOrganization": {"reference": f"Organization/{patient.organization_id}", "display": organization.name},
    }
    return _coded(body)


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


# --- scheduling: PractitionerRole, Schedule, Slot -------------------------------------------------------------

NUCC_TAXONOMY = "http://nucc.org/provider-taxonomy"
PRACTITIONER_ROLE_SYSTEM = "http://terminology.hl7.org/CodeSystem/practitioner-role"
# Our sign-in roles as HL7's practitioner-role codes (an example binding): a clinician is a "doctor" only with a
# physician's title; nurses and medical assistants are "nurse". The practice's own role code is always sent too.
PHYSICIAN_TITLES = ("MD", "DO")


def role_system(organization: Organization) -> str:
    return f"urn:clinicdesk:{organization.slug}:role"


def practitioner_role_resource(user: User, locations: list[Location]) -> dict:
    """PractitionerRole: a provider's role at the practice, the locations they see patients at and, from their
    staff record, their NUCC taxonomy (as specialty) and the dates they work here."""
    organization = user.organization
    staff = getattr(user, "staff_member", None)
    codings = [{"system": role_system(organization), "code": user.role, "display": user.get_role_display()}]
    if user.role == Role.NURSE:
        codings.append({"system": PRACTITIONER_ROLE_SYSTEM, "code": "nurse", "display": "Nurse"})
    elif user.role == Role.CLINICIAN and user.title.upper().replace(".", "") in PHYSICIAN_TITLES:
        codings.append({"system": PRACTITIONER_ROLE_SYSTEM, "code": "doctor", "display": "Doctor"})
    updated = max([user.updated_at, *([staff.updated_at] if staff else [])])
    body = {
        "resourceType": "PractitionerRole",
        "id": str(user.pk),
        "meta": {"lastUpdated": _instant(updated)},
        "active": user.is_active,
        "period": {"start": staff.hire_date.isoformat() if staff and staff.hire_date else None,
                   "end": staff.end_date.isoformat() if staff and staff.end_date else None},
        "practitioner": {"reference": f"Practitioner/{user.pk}", "display": str(user)},
        "organization": {"reference": f"Organization/{organization.pk}", "display": organization.name},
        "code": [{"coding": codings, "text": (staff.job_title if staff and staff.job_title else user.get_role_display())}],
        "specialty": [{"coding": [{"system": NUCC_TAXONOMY, "code": staff.taxonomy_code}]}]
        if staff and staff.taxonomy_code else [],
        "location": [{"reference": f"Location/{loc.pk}", "display": loc.name} for loc in locations],
    }
    return _checked(FhirPractitionerRole, body)


def schedule_id(provider_id: int, location_id: int) -> str:
    return f"{provider_id}-{location_id}"


def schedule_resource(row: dict) -> dict:
    """Schedule: one provider's hours at one location (their availability templates there, one after another), as
    a row of `search.schedule_scope`."""
    today = timezone.localdate()
    ended = not row["open_ended"] and row["last"] is not None and row["last"] < today
    provider = f"{row['provider__first_name']} {row['provider__last_name']}".strip()
    if row["provider__title"]:
        provider = f"{provider}, {row['provider__title']}"
    body = {
        "resourceType": "Schedule",
        "id": schedule_id(row["provider_id"], row["location_id"]),
        "meta": {"lastUpdated": _instant(row["updated"])},
        "active": bool(row["provider__is_active"] and row["location__is_active"] and not ended),
        "actor": [
            {"reference": f"Practitioner/{row['provider_id']}", "display": provider},
            {"reference": f"Location/{row['location_id']}", "display": row["location__name"]},
        ],
        "planningHorizon": {"start": row["first"].isoformat(),
                            "end": row["last"].isoformat() if row["last"] and not row["open_ended"] else None},
        "comment": f"{provider}'s hours at {row['location__name']}",
    }
    return _checked(FhirSchedule, body)


def slot_resource(slot) -> dict:
    """Slot: a free or busy stretch of a schedule for one appointment type (a `search.FhirSlot`)."""
    organization = slot.appointment_type.organization
    kind: AppointmentType = slot.appointment_type
    body = {
        "resourceType": "Slot",
        "id": slot.id,
        "serviceType": [{"coding": [{"system": appointment_type_system(organization), "code": kind.code,
                                     "display": kind.name}], "text": kind.name}],
        "schedule": {"reference": f"Schedule/{schedule_id(slot.provider_id, slot.location_id)}"},
        "status": slot.status,
        "start": _instant(slot.starts_at.astimezone(slot.tz)),
        "end": _instant(slot.ends_at.astimezone(slot.tz)),
    }
    return _checked(FhirSlot, body)


# --- insurance: Coverage --------------------------------------------------------------------------------------

SUBSCRIBER_RELATIONSHIP_SYSTEM = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
COVERAGE_CLASS_SYSTEM = "http://terminology.hl7.org/CodeSystem/coverage-class"
COPAY_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/coverage-copay-type"
UCUM = "http://unitsofmeasure.org"
# The X12 relationship codes we keep (SBR02 / PAT01) as FHIR's subscriber-relationship.
RELATIONSHIP_TO_FHIR: dict[str, str] = {
    SubscriberRelationship.SELF: "self",
    SubscriberRelationship.SPOUSE: "spouse",
    SubscriberRelationship.CHILD: "child",
    SubscriberRelationship.LIFE_PARTNER: "common",
    SubscriberRelationship.EMPLOYEE: "other",
    SubscriberRelationship.OTHER: "other",
}
SUBSCRIBER_SEX_TO_FHIR = {"F": "female", "M": "male", "U": "unknown"}


def coverage_status(coverage: Coverage) -> str:
    return "active" if coverage.is_active else "cancelled"


def coverage_resource(coverage: Coverage) -> dict:
    """Coverage: the payer (by its payer ID), the member ID, the subscriber (the patient, or a contained
    RelatedPerson when someone else holds the policy), billing order, period, group, plan and card amounts."""
    organization = coverage.organization
    patient = coverage.patient
    patient_ref = {"reference": f"Patient/{patient.public_id}", "display": patient.display_name}
    relationship = RELATIONSHIP_TO_FHIR[coverage.relationship]
    subscriber_name = f"{coverage.subscriber_first_name} {coverage.subscriber_last_name}".strip()
    contained = []
    if relationship == "self":
        subscriber = patient_ref
    else:
        subscriber = {"reference": "#subscriber", "display": subscriber_name}
        contained.append({
            "resourceType": "RelatedPerson", "id": "subscriber", "patient": {"reference": f"Patient/{patient.public_id}"},
            "name": [{"use": "official", "family": coverage.subscriber_last_name, "given": [coverage.subscriber_first_name]}],
            "gender": SUBSCRIBER_SEX_TO_FHIR.get(coverage.subscriber_sex, "unknown"),
            "birthDate": coverage.subscriber_date_of_birth.isoformat() if coverage.subscriber_date_of_birth else None,
            "address": [{"use": "home", "line": [coverage.subscriber_address_line1], "city": coverage.subscriber_city,
                         "state": coverage.subscriber_state, "postalCode": coverage.subscriber_postal_code}],
        })
    classes = []
    if coverage.group_number:
        classes.append({"type": {"coding": [{"system": COVERAGE_CLASS_SYSTEM, "code": "group"}]},
                        "value": coverage.group_number, "name": coverage.group_name})
    if coverage.plan_id:
        classes.append({"type": {"coding": [{"system": COVERAGE_CLASS_SYSTEM, "code": "plan"}]},
                        "value": str(coverage.plan_id), "name": coverage.plan.name})
    costs = []
    for code, amount in (("copay", coverage.copay), ("deductible", coverage.deductible)):
        if amount is not None:
            costs.append({"type": {"coding": [{"system": COPAY_TYPE_SYSTEM, "code": code}]},
                          "valueMoney": {"value": amount, "currency": "USD"}})
    if coverage.coinsurance_percent is not None:
        costs.append({"type": {"coding": [{"system": COPAY_TYPE_SYSTEM, "code": "copaypct"}]},
                      "valueQuantity": {"value": coverage.coinsurance_percent, "unit": "%", "system": UCUM, "code": "%"}})
    body = {
        "resourceType": "Coverage",
        "id": coverage.public_id,
        "meta": {"lastUpdated": _instant(coverage.updated_at)},
        "contained": contained,
        "identifier": [{
            "use": "usual", "type": {"coding": [{"system": V2_0203, "code": "MB", "display": "Member Number"}]},
            "system": member_id_system(organization), "value": coverage.member_id,
        }],
        "status": coverage_status(coverage),
        "subscriber": subscriber,
        "subscriberId": coverage.member_id,
        "beneficiary": patient_ref,
        "relationship": {"coding": [{"system": SUBSCRIBER_RELATIONSHIP_SYSTEM, "code": relationship}],
                         "text": coverage.get_relationship_display()},
        "period": {"start": coverage.effective_from.isoformat() if coverage.effective_from else None,
                   "end": coverage.effective_to.isoformat() if coverage.effective_to else None},
        "payor": [{"identifier": {"system": payer_id_system(organization), "value": coverage.payer.payer_identifier},
                   "display": coverage.payer.name}],
        "class": classes,
        "order": coverage.rank,
        "costToBeneficiary": costs,
    }
    return _checked(FhirCoverage, body)
