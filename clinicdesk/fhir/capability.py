"""The CapabilityStatement served at /fhir/R4/metadata: built from the same tables the endpoints use, so it
lists exactly what is implemented."""

from __future__ import annotations

from django.utils import timezone
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from .resources import claims, workflow
from .resources.billing import ACCOUNT_PARAMS, CHARGE_ITEM_PARAMS, INVOICE_PARAMS
from .scopes import RESOURCE_PERMISSIONS, WRITE
from .search import (
    APPOINTMENT_INCLUDES,
    APPOINTMENT_PARAMS,
    COVERAGE_PARAMS,
    PATIENT_PARAMS,
    PRACTITIONER_ROLE_PARAMS,
    SCHEDULE_PARAMS,
    SIMPLE_PARAMS,
    SLOT_MAX_RANGE,
    SLOT_PARAMS,
)

FHIR_VERSION = "4.0.1"

# FHIR search parameter types and what each one does here.
_PARAMS: dict[str, dict[str, tuple[str, str]]] = {
    "Patient": {
        "_id": ("token", "The patient's id"),
        "identifier": ("token", "The MRN, as value or system|value"),
        "name": ("string", "Any part of the name (first, middle, last, preferred); :contains and :exact too"),
        "family": ("string", "The last name; :contains and :exact too"),
        "given": ("string", "A first, middle or preferred name; :contains and :exact too"),
        "birthdate": ("date", "Date of birth, with the prefixes eq, ge, gt, le, lt"),
        "gender": ("token", "Administrative gender: male, female, other, unknown"),
    },
    "Appointment": {
        "_id": ("token", "The appointment's id"),
        "patient": ("reference", "Patient/[id]"),
        "practitioner": ("reference", "Practitioner/[id]"),
        "location": ("reference", "Location/[id]"),
        "date": ("date", "The start, with the prefixes eq, ge, gt, le, lt; repeat for a range"),
        "status": ("token", "The appointment status; comma-separated for any of several"),
    },
    "PractitionerRole": {
        "_id": ("token", "The role's id (the same as its practitioner's)"),
        "practitioner": ("reference", "Practitioner/[id]"),
        "location": ("reference", "Location/[id]: the providers who see patients there"),
    },
    "Schedule": {
        "_id": ("token", "The schedule's id, [practitioner id]-[location id]"),
        "actor": ("reference", "Practitioner/[id] or Location/[id]"),
        "date": ("date", "The planning horizon meets this date, with the prefixes eq, ge, gt, le, lt"),
    },
    "Slot": {
        "_id": ("token", "The slot's id, [schedule id]-[appointment type id]-[start, UTC, YYYYMMDDhhmmss]"),
        "schedule": ("reference", "Schedule/[id]"),
        "start": ("date", "The slot's start, with the prefixes eq, ge, gt, le, lt; repeat for a range. At most "
                          f"{SLOT_MAX_RANGE.days} days; from now for a week when not given"),
        "status": ("token", "free or busy (default both)"),
        "service-type": ("token", "The appointment type (system|code); required for free slots"),
    },
    "Coverage": {
        "_id": ("token", "The coverage's id"),
        "identifier": ("token", "The member ID, as value or system|value"),
        "patient": ("reference", "Patient/[id]"),
        "beneficiary": ("reference", "Patient/[id]"),
        "payor": ("reference", "The payer by its payer ID (payor:identifier=system|value, or the value alone); payers "
                               "are not served as resources"),
        "status": ("token", "active or cancelled"),
    },
    "Claim": claims.CLAIM_PARAM_DOCS,
    "ExplanationOfBenefit": claims.EOB_PARAM_DOCS,
    "Communication": workflow.COMMUNICATION_DOCS,
    "Task": workflow.TASK_DOCS,
    "ChargeItem": {
        "_id": ("token", "The charge's id, [encounter id]-[line number]"),
        "patient": ("reference", "Patient/[id]"),
        "entered-date": ("date", "When the line was coded, with the prefixes eq, ge, gt, le, lt"),
        "occurrence": ("date", "The service date, with the prefixes eq, ge, gt, le, lt"),
        "code": ("token", "The CPT or HCPCS code, as code or system|code"),
        "account": ("reference", "Account/[id]: the account the patient bills to"),
    },
    "Account": {
        "_id": ("token", "The account's id"),
        "patient": ("reference", "Patient/[id]: a patient on the account"),
        "status": ("token", "active, inactive or on-hold (collections hold)"),
    },
    "Invoice": {
        "_id": ("token", "The statement's id"),
        "patient": ("reference", "Patient/[id]: statements of the account the patient is on"),
        "date": ("date", "The statement date, with the prefixes eq, ge, gt, le, lt"),
        "status": ("token", "issued, or balanced once the account owes nothing"),
        "account": ("reference", "Account/[id]"),
    },
}
_DECLARED = {"Patient": PATIENT_PARAMS, "Appointment": APPOINTMENT_PARAMS, "PractitionerRole": PRACTITIONER_ROLE_PARAMS,
             "Schedule": SCHEDULE_PARAMS, "Slot": SLOT_PARAMS, "Coverage": COVERAGE_PARAMS,
             "Claim": claims.CLAIM_PARAMS, "ExplanationOfBenefit": claims.EOB_PARAMS,
             "Communication": workflow.COMMUNICATION_PARAMS, "Task": workflow.TASK_PARAMS,
             "ChargeItem": CHARGE_ITEM_PARAMS, "Account": ACCOUNT_PARAMS, "Invoice": INVOICE_PARAMS}


def _search_params(resource: str) -> list[dict]:
    declared = _DECLARED.get(resource, SIMPLE_PARAMS)
    described = _PARAMS.get(resource, {"_id": ("token", "The resource's id")})
    names = [n for n in declared if n != "_include"]
    assert set(names) == set(described), resource  # noqa: S101  (the statement must list exactly what is searched)
    common = [
        {"name": "_count", "type": "number", "documentation": "Entries per page, 1 to 100 (20 by default)"},
        {"name": "_page", "type": "number", "documentation": "The page to return, from 1 (the Bundle links page through)"},
    ]
    return [{"name": n, "type": described[n][0], "documentation": described[n][1]} for n in names] + common


def capability_statement(*, base_url: str) -> dict:
    resources = []
    for resource, accesses in RESOURCE_PERMISSIONS.items():
        interactions = [{"code": "read"}, {"code": "search-type"}]
        if WRITE in accesses:
            interactions += [{"code": "create"}, {"code": "patch", "documentation": "Cancel: a JSON Patch that replaces "
                              "/status with 'cancelled' and adds /cancelationReason"}]
        entry = {
            "type": resource,
            "interaction": interactions,
            "versioning": "no-version",
            "readHistory": False,
            "updateCreate": False,
            "searchParam": _search_params(resource),
        }
        if resource == "Appointment":
            entry["searchInclude"] = list(APPOINTMENT_INCLUDES)
        resources.append(entry)
    body = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": timezone.now().date().isoformat(),
        "publisher": "clinicdesk",
        "kind": "instance",
        "software": {"name": "clinicdesk"},
        "implementation": {"description": "clinicdesk FHIR API", "url": base_url},
        "instantiates": ["http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"],
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [{
            "mode": "server",
            "documentation": "JSON only. Errors are OperationOutcomes naming the element. See docs/fhir.md in the sources.",
            "security": {
                "cors": False,
                "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                         "code": "SMART-on-FHIR"}]}],
                "description": "Bearer tokens issued by the practice administrator, with scopes user/[Resource].read, "
                               "user/[Resource].write and user/*.read; the user's role applies as well.",
            },
            "resource": resources,
            "operation": [{"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
                           "documentation": "System-level $export of the token's practice as NDJSON: GET with Prefer: "
                                            "respond-async and _type; poll the Content-Location URL (see docs/export.md)."}],
        }],
    }
    return CapabilityStatement.model_validate(body).model_dump(mode="json", exclude_none=True)
