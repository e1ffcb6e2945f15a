"""Each resource served validates against the FHIR R4B models and its code bindings, and says what the records
say; the CapabilityStatement lists exactly what the server does."""

from datetime import date

import pytest
from django.urls import resolve
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.location import Location as FhirLocation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.organization import Organization as FhirOrganization
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.practitioner import Practitioner as FhirPractitioner

from clinicdesk.fhir.views import KINDS
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.choices import AppointmentStatus
from clinicdesk.scheduling.tests.factories import AppointmentFactory

from .conftest import BASE, valid

pytestmark = pytest.mark.django_db


def test_patient(fhir, clinic):
    # given a patient with most of the chart filled in
    patient = PatientFactory(
        organization=clinic.organization, first_name="Ana", middle_name="Lucia", last_name="Álvarez", suffix="Jr",
        preferred_name="Lulu", date_of_birth=date(1980, 5, 17), sex="female", mrn="RFM0042", phone_home="+12025550111",
        address_line1="1 Elm St", city="Riverside", state="NY", postal_code="10001", preferred_language="es",
        primary_provider=clinic.provider, status="deceased", deceased_date=date(2027, 1, 2),
    )
    # when
    body = valid(FhirPatient, fhir.get(f"Patient/{patient.public_id}"))
    # then
    assert body["id"] == patient.public_id
    assert body["identifier"] == [{
        "use": "usual", "system": f"urn:clinicdesk:{clinic.organization.slug}:mrn", "value": "RFM0042",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR",
                             "display": "Medical record number"}]},
    }]
    assert body["name"][0] == {"use": "official", "family": "Álvarez", "given": ["Ana", "Lucia"], "suffix": ["Jr"]}
    assert body["name"][1] == {"use": "usual", "family": "Álvarez", "given": ["Lulu"]}
    assert body["gender"] == "female" and body["birthDate"] == "1980-05-17"
    assert body["deceasedDateTime"] == "2027-01-02" and body["active"] is True
    assert {"system": "phone", "value": "+12025550111", "use": "home"} in body["telecom"]
    assert body["address"][0]["line"] == ["1 Elm St"] and body["address"][0]["postalCode"] == "10001"
    assert body["communication"][0]["language"]["coding"][0]["code"] == "es"
    assert body["generalPractitioner"] == [{"reference": f"Practitioner/{clinic.provider.pk}"}]
    assert body["managingOrganization"]["reference"] == f"Organization/{clinic.organization.pk}"


def test_an_inactive_patient_is_not_active(fhir, clinic):
    patient = PatientFactory(organization=clinic.organization, status="inactive")
    assert valid(FhirPatient, fhir.get(f"Patient/{patient.public_id}"))["active"] is False


def test_practitioner_organization_location(fhir, clinic):
    clinic.provider.npi = "1234567893"
    clinic.provider.save(update_fields=["npi"])
    practitioner = valid(FhirPractitioner, fhir.get(f"Practitioner/{clinic.provider.pk}"))
    assert practitioner["identifier"] == [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}]
    assert practitioner["name"][0]["family"] == "Chen" and practitioner["name"][0]["given"] == ["Wei"]
    organization = valid(FhirOrganization, fhir.get(f"Organization/{clinic.organization.pk}"))
    assert organization["name"] == clinic.organization.name
    location = valid(FhirLocation, fhir.get(f"Location/{clinic.location.pk}"))
    assert location["name"] == clinic.location.name and location["status"] == "active"
    assert location["managingOrganization"] == {"reference": f"Organization/{clinic.organization.pk}"}


@pytest.mark.parametrize(("ours", "theirs"), [
    (AppointmentStatus.SCHEDULED, "booked"), (AppointmentStatus.CONFIRMED, "booked"),
    (AppointmentStatus.ARRIVED, "arrived"), (AppointmentStatus.ROOMED, "checked-in"),
    (AppointmentStatus.WITH_PROVIDER, "checked-in"), (AppointmentStatus.COMPLETED, "fulfilled"),
    (AppointmentStatus.CANCELLED, "cancelled"), (AppointmentStatus.NO_SHOW, "noshow"),
])
def test_appointment(fhir, clinic, ours, theirs):
    appointment = AppointmentFactory(
        organization=clinic.organization, patient=clinic.patient, provider=clinic.provider, location=clinic.location,
        appointment_type=clinic.kind, starts_at=clinic.at(2027, 3, 15, 9), ends_at=clinic.at(2027, 3, 15, 9, 30),
        status=ours, cancel_reason="Ill" if ours == AppointmentStatus.CANCELLED else "", notes="Knee",
    )
    body = valid(FhirAppointment, fhir.get(f"Appointment/{appointment.public_id}"))
    assert body["status"] == theirs
    assert body["start"] == "2027-03-15T09:00:00-04:00" and body["end"] == "2027-03-15T09:30:00-04:00"
    assert body["minutesDuration"] == 30 and body["comment"] == "Knee"
    assert [p["actor"]["reference"] for p in body["participant"]] == [
        f"Patient/{clinic.patient.public_id}", f"Practitioner/{clinic.provider.pk}", f"Location/{clinic.location.pk}"]
    assert body["serviceType"][0]["coding"][0]["code"] == clinic.kind.code
    assert ("cancelationReason" in body) == (theirs == "cancelled")


@pytest.mark.parametrize("path", ["Patient", "Practitioner", "Organization", "Location", "Appointment"])
def test_search_bundles_validate(fhir, clinic, path):
    AppointmentFactory(organization=clinic.organization, patient=clinic.patient, provider=clinic.provider,
                       location=clinic.location, appointment_type=clinic.kind,
                       starts_at=clinic.at(2027, 3, 15, 9), ends_at=clinic.at(2027, 3, 15, 9, 15))
    body = valid(Bundle, fhir.get(path))
    assert body["total"] >= 1 and all(e["resource"]["resourceType"] == path for e in body["entry"])


def test_errors_are_operation_outcomes(fhir):
    response = fhir.get("Patient/nosuchpatient")
    assert response.status_code == 404
    OperationOutcome.model_validate(response.json())


def test_the_capability_statement_lists_exactly_what_is_served(client):
    body = client.get(BASE + "metadata").json()
    CapabilityStatement.model_validate(body)
    assert body["fhirVersion"] == "4.0.1" and body["format"] == ["json"]
    resources = {r["type"]: r for r in body["rest"][0]["resource"]}
    assert set(resources) == set(KINDS)
    for name, kind in KINDS.items():
        codes = {i["code"] for i in resources[name]["interaction"]}
        expected = {"read", "search-type"} | ({"create"} if kind.create else set()) | ({"patch"} if kind.patch else set())
        assert codes == expected, name
    assert {p["name"] for p in resources["Patient"]["searchParam"]} == {
        "_id", "identifier", "name", "family", "given", "birthdate", "gender", "_count", "_page"}
    assert resources["Appointment"]["searchInclude"] == ["Appointment:patient"]
    params = {name: {p["name"] for p in resources[name]["searchParam"]} - {"_count", "_page"}
              for name in ("PractitionerRole", "Schedule", "Slot", "Coverage")}
    assert params == {
        "PractitionerRole": {"_id", "practitioner", "location"}, "Schedule": {"_id", "actor", "date"},
        "Slot": {"_id", "schedule", "start", "status", "service-type"},
        "Coverage": {"_id", "identifier", "patient", "beneficiary", "payor", "status"},
    }
    assert body["rest"][0]["security"]["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    assert resolve("/fhir/R4/metadata").url_name == "metadata"
