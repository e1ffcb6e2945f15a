"""One practice never sees another's records through FHIR: reads are 404, searches leave them out, bookings
cannot name them; a person limited to some locations sees only those."""

import pytest

from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.models import Appointment
from clinicdesk.scheduling.tests.factories import AppointmentFactory, Clinic

from .conftest import expressions

pytestmark = pytest.mark.django_db


@pytest.fixture
def elsewhere(db):
    """Another practice, with a patient named like ours and an appointment on the same day."""
    other = Clinic.build()
    PatientFactory(organization=other.organization, last_name="Sharedname")
    AppointmentFactory(organization=other.organization, patient=other.patient, provider=other.provider,
                       location=other.location, appointment_type=other.kind, starts_at=other.at(2027, 3, 15, 9),
                       ends_at=other.at(2027, 3, 15, 9, 15))
    return other


def test_reads_of_another_practice_are_404(fhir, clinic, elsewhere):
    appointment = Appointment.objects.get(organization=elsewhere.organization)
    for path in (f"Patient/{elsewhere.patient.public_id}", f"Practitioner/{elsewhere.provider.pk}",
                 f"Organization/{elsewhere.organization.pk}", f"Location/{elsewhere.location.pk}",
                 f"Appointment/{appointment.public_id}"):
        assert fhir.get(path).status_code == 404, path


def test_searches_leave_another_practice_out(fhir, clinic, elsewhere):
    PatientFactory(organization=clinic.organization, last_name="Sharedname")
    body = fhir.get("Patient", {"family": "sharedname"}).json()
    assert body["total"] == 1 and body["entry"][0]["resource"]["managingOrganization"]["reference"] == (
        f"Organization/{clinic.organization.pk}")
    for resource in ("Practitioner", "Organization", "Location", "Appointment"):
        assert fhir.get(resource).json()["total"] == (1 if resource != "Appointment" else 0), resource
    assert fhir.get("Appointment", {"patient": elsewhere.patient.public_id}).json()["total"] == 0
    assert fhir.get("Patient", {"_id": elsewhere.patient.public_id}).json()["total"] == 0


def test_a_booking_cannot_name_another_practice(fhir, clinic, elsewhere):
    body = {
        "resourceType": "Appointment", "status": "booked", "start": "2027-03-15T10:00:00-04:00",
        "serviceType": [{"coding": [{"code": clinic.kind.code}]}],
        "participant": [
            {"actor": {"reference": f"Patient/{elsewhere.patient.public_id}"}, "status": "accepted"},
            {"actor": {"reference": f"Practitioner/{elsewhere.provider.pk}"}, "status": "accepted"},
            {"actor": {"reference": f"Location/{elsewhere.location.pk}"}, "status": "accepted"},
        ],
    }
    response = fhir.post("Appointment", body)
    assert response.status_code == 422
    assert set(expressions(response)) == {f"Appointment.participant[{i}].actor.reference" for i in range(3)}
    assert Appointment.objects.filter(organization=clinic.organization).count() == 0


def test_another_practices_appointment_cannot_be_cancelled(fhir, elsewhere):
    appointment = Appointment.objects.get(organization=elsewhere.organization)
    response = fhir.patch(f"Appointment/{appointment.public_id}", [
        {"op": "replace", "path": "/status", "value": "cancelled"},
        {"op": "add", "path": "/cancelationReason", "value": {"text": "x"}},
    ])
    assert response.status_code == 404
    appointment.refresh_from_db()
    assert appointment.status == "scheduled"


def test_a_person_limited_to_a_location_sees_only_it(fhir_as, clinic):
    from clinicdesk.core.tests.factories import LocationFactory, UserFactory

    north = LocationFactory(organization=clinic.organization)
    limited = UserFactory(organization=clinic.organization, role="front_desk")
    limited.locations.set([north])
    AppointmentFactory(organization=clinic.organization, patient=clinic.patient, provider=clinic.provider,
                       location=clinic.location, appointment_type=clinic.kind, starts_at=clinic.at(2027, 3, 15, 9),
                       ends_at=clinic.at(2027, 3, 15, 9, 15))
    api = fhir_as(limited)
    assert {e["resource"]["id"] for e in api.get("Location").json()["entry"]} == {str(north.pk)}
    assert api.get(f"Location/{clinic.location.pk}").status_code == 404
    assert api.get("Appointment").json()["total"] == 0


def test_reads_of_another_practices_schedule_records_and_coverage_are_404(fhir, clinic, elsewhere):
    from clinicdesk.insurance.tests.factories_coverage import CoverageFactory

    coverage = CoverageFactory(patient=elsewhere.patient)
    schedule = f"{elsewhere.provider.pk}-{elsewhere.location.pk}"
    for path in (f"PractitionerRole/{elsewhere.provider.pk}", f"Schedule/{schedule}",
                 f"Slot/{schedule}-{elsewhere.kind.pk}-20270315140000", f"Coverage/{coverage.public_id}"):
        assert fhir.get(path).status_code == 404, path
    for resource in ("PractitionerRole", "Schedule", "Coverage"):
        assert all(elsewhere.organization.name not in str(e) for e in fhir.get(resource).json().get("entry", [])), resource
    assert fhir.get("Slot", {"schedule": schedule, "service-type": clinic.kind.code}).json()["total"] == 0
