"""Booking and cancelling through FHIR go through the front desk's scheduling services: the same rules, the
same audit rows, and a refusal changes nothing."""

import pytest

from clinicdesk.core.models import AuditEvent
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.choices import AppointmentStatus, BookingChannel
from clinicdesk.scheduling.models import Appointment
from clinicdesk.scheduling.tests.factories import AppointmentFactory

from .conftest import expressions, issues

pytestmark = pytest.mark.django_db


def booking(clinic, **changes) -> dict:
    body = {
        "resourceType": "Appointment",
        "status": "booked",
        "start": "2027-03-15T09:00:00-04:00",
        "serviceType": [{"coding": [{"system": f"urn:clinicdesk:{clinic.organization.slug}:appointment-type",
                                     "code": clinic.kind.code}]}],
        "comment": "Knee pain",
        "participant": [
            {"actor": {"reference": f"Patient/{clinic.patient.public_id}"}, "status": "accepted"},
            {"actor": {"reference": f"Practitioner/{clinic.provider.pk}"}, "status": "accepted"},
            {"actor": {"reference": f"Location/{clinic.location.pk}"}, "status": "accepted"},
        ],
    }
    body.update(changes)
    return body


def test_book(fhir, clinic):
    response = fhir.post("Appointment", booking(clinic))
    assert response.status_code == 201, response.content
    body = response.json()
    appointment = Appointment.objects.get()
    assert response["Location"].endswith(f"/fhir/R4/Appointment/{appointment.public_id}")
    assert body["id"] == appointment.public_id and body["status"] == "booked"
    assert body["start"] == "2027-03-15T09:00:00-04:00" and body["end"] == "2027-03-15T09:15:00-04:00"
    assert appointment.patient == clinic.patient and appointment.provider == clinic.provider
    assert appointment.channel == BookingChannel.API and appointment.notes == "Knee pain"
    assert appointment.booked_by == clinic.actor
    booked = AuditEvent.objects.get(action="appointment.booked")
    assert booked.actor_id == clinic.actor.pk and booked.patient_id == clinic.patient.pk and booked.channel == "api"


def test_the_end_or_the_length_can_be_given(fhir, clinic):
    response = fhir.post("Appointment", booking(clinic, minutesDuration=30))
    assert response.status_code == 201, response.content
    assert response.json()["end"] == "2027-03-15T09:30:00-04:00"
    response = fhir.post("Appointment", booking(clinic, start="2027-03-15T10:00:00-04:00", end="2027-03-15T10:20:00-04:00"))
    assert response.json()["end"] == "2027-03-15T10:20:00-04:00"


def test_no_double_booking(fhir, clinic):
    # given a visit of the provider at 09:00
    assert fhir.post("Appointment", booking(clinic)).status_code == 201
    other = PatientFactory(organization=clinic.organization)
    # when another patient is booked with the provider at 09:05
    body = booking(clinic, start="2027-03-15T09:05:00-04:00")
    body["participant"][0]["actor"]["reference"] = f"Patient/{other.public_id}"
    response = fhir.post("Appointment", body)
    # then
    assert response.status_code == 409
    assert issues(response)[0]["code"] == "conflict"
    assert expressions(response) == ["Appointment.start"]
    assert Appointment.objects.count() == 1


@pytest.mark.parametrize(("changes", "expression"), [
    ({"start": "2027-03-13T09:00:00-05:00"}, "Appointment.start"),  # a Saturday: outside the provider's hours
    ({"start": "2027-03-01T09:00:00-05:00"}, "Appointment.start"),  # in the past
    ({"start": "2027-03-15T09:00:00-04:00", "end": "2027-03-15T08:00:00-04:00"}, "Appointment.end"),
])
def test_booking_rules_name_the_element(fhir, clinic, changes, expression):
    response = fhir.post("Appointment", booking(clinic, **changes))
    assert response.status_code == 422, response.content
    assert expression in expressions(response)
    assert not Appointment.objects.exists()


def test_a_deceased_patient_is_not_booked(fhir, clinic):
    clinic.patient.status, clinic.patient.deceased_date = "deceased", clinic.patient.date_of_birth
    clinic.patient.save(update_fields=["status", "deceased_date"])
    response = fhir.post("Appointment", booking(clinic))
    assert response.status_code == 422
    assert expressions(response) == ["Appointment.participant[0].actor.reference"]


def test_participants_are_required_and_checked(fhir, clinic):
    body = booking(clinic)
    body["participant"] = body["participant"][:2]
    response = fhir.post("Appointment", body)
    assert response.status_code == 422
    assert "Location" in issues(response)[0]["diagnostics"] and expressions(response) == ["Appointment.participant"]
    body = booking(clinic)
    body["participant"][1]["actor"]["reference"] = "Practitioner/999999"
    body["participant"][2]["actor"]["reference"] = "Device/1"
    response = fhir.post("Appointment", body)
    assert expressions(response) == ["Appointment.participant[2].actor.reference"]


def test_unknown_practitioner_and_type(fhir, clinic):
    body = booking(clinic)
    body["participant"][1]["actor"]["reference"] = "Practitioner/999999"
    body["serviceType"][0]["coding"][0]["code"] = "no-such-type"
    response = fhir.post("Appointment", body)
    assert response.status_code == 422
    assert set(expressions(response)) == {"Appointment.participant[1].actor.reference", "Appointment.serviceType"}


def test_only_booked_can_be_created(fhir, clinic):
    response = fhir.post("Appointment", booking(clinic, status="proposed"))
    assert response.status_code == 422 and expressions(response) == ["Appointment.status"]
    response = fhir.post("Appointment", booking(clinic, status="maybe"))
    assert response.status_code == 422
    assert issues(response)[0]["code"] == "code-invalid" and expressions(response) == ["Appointment.status"]
    assert not Appointment.objects.exists()


def test_participant_status_binding_is_checked(fhir, clinic):
    body = booking(clinic)
    body["participant"][0]["status"] = "yes"
    response = fhir.post("Appointment", body)
    assert response.status_code == 422
    assert expressions(response) == ["Appointment.participant[0].status"]


def test_structure_errors_are_400_with_paths(fhir, clinic):
    body = booking(clinic, start="2027-03-15T09:00:00", colour="blue")
    body["participant"][0]["actor"]["reference"] = 5
    response = fhir.post("Appointment", body)
    assert response.status_code == 400
    assert set(expressions(response)) == {"Appointment.start", "Appointment.colour", "Appointment.participant[0].actor.reference"}
    assert not Appointment.objects.exists()


def _cancel(reason="Patient called to cancel"):
    ops = [{"op": "replace", "path": "/status", "value": "cancelled"}]
    if reason is not None:
        ops.append({"op": "add", "path": "/cancelationReason", "value": {"text": reason}})
    return ops


@pytest.fixture
def booked(clinic):
    return AppointmentFactory(
        organization=clinic.organization, patient=clinic.patient, provider=clinic.provider, location=clinic.location,
        appointment_type=clinic.kind, starts_at=clinic.at(2027, 3, 15, 9), ends_at=clinic.at(2027, 3, 15, 9, 15),
    )


def test_cancel_with_a_json_patch(fhir, clinic, booked):
    response = fhir.patch(f"Appointment/{booked.public_id}", _cancel())
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "cancelled" and body["cancelationReason"] == {"text": "Patient called to cancel"}
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.CANCELLED and booked.cancelled_by == clinic.actor
    assert AuditEvent.objects.filter(action="appointment.cancelled", target_id=str(booked.pk)).exists()
    # the freed time can be booked again
    assert fhir.post("Appointment", booking(clinic)).status_code == 201


def test_a_cancellation_needs_a_reason(fhir, booked):
    response = fhir.patch(f"Appointment/{booked.public_id}", _cancel(reason=None))
    assert response.status_code == 422
    assert expressions(response) == ["Appointment.cancelationReason"]
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.SCHEDULED


def test_a_finished_visit_is_not_cancelled(fhir, booked):
    Appointment.objects.filter(pk=booked.pk).update(status=AppointmentStatus.COMPLETED)
    response = fhir.patch(f"Appointment/{booked.public_id}", _cancel())
    assert response.status_code == 422 and expressions(response) == ["Appointment.status"]
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.COMPLETED


@pytest.mark.parametrize(("ops", "expression"), [
    ([{"op": "replace", "path": "/status", "value": "arrived"}], "Appointment.status"),
    ([{"op": "replace", "path": "/start", "value": "2027-03-16T09:00:00-04:00"}], "Appointment.start"),
    ([{"op": "remove", "path": "/participant/0"}], "Appointment.participant.0"),
])
def test_only_cancellation_is_patched(fhir, booked, ops, expression):
    response = fhir.patch(f"Appointment/{booked.public_id}", ops + [_cancel()[1]])
    assert response.status_code == 422
    assert expression in expressions(response)
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.SCHEDULED


def test_patch_needs_the_json_patch_media_type(fhir, booked):
    response = fhir.patch(f"Appointment/{booked.public_id}", _cancel(), content_type="application/fhir+json")
    assert response.status_code == 415


def test_patching_an_unknown_appointment_is_404(fhir):
    response = fhir.patch("Appointment/nosuchappt", _cancel())
    assert response.status_code == 404 and issues(response)[0]["code"] == "not-found"
