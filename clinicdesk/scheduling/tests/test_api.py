"""The schedule's REST API: the same rules as the pages, 409 for a taken time, 400 naming the field, string ids
and ISO 8601 datetimes with the location's offset."""

import json

import pytest
from freezegun import freeze_time

from clinicdesk.core import services as core_services
from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.permissions import ROLE_PERMISSIONS
from clinicdesk.core.tests.factories import UserFactory
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.models import Appointment

from .factories import AppointmentFactory, Clinic

pytestmark = pytest.mark.django_db

BASE = "/api/v1/schedule"


@pytest.fixture(autouse=True)
def frozen():
    with freeze_time("2027-03-10T12:00:00Z"):
        yield


@pytest.fixture
def clinic():
    return Clinic.build()


class Api:
    def __init__(self, client, user):
        _, self.secret = core_services.api_token_create(user=user, name="test", scopes=sorted(ROLE_PERMISSIONS[user.role]), days=1)
        self.client = client

    def _auth(self):
        return {"HTTP_AUTHORIZATION": f"Bearer {self.secret}"}

    def get(self, path, **params):
        return self.client.get(BASE + path, params, **self._auth())

    def post(self, path, body):
        return self.client.post(BASE + path, json.dumps(body), content_type="application/json", **self._auth())

    def patch(self, path, body):
        return self.client.patch(BASE + path, json.dumps(body), content_type="application/json", **self._auth())


@pytest.fixture
def api(client, clinic):
    return Api(client, clinic.actor)


def booking(clinic, **overrides):
    body = {"patient": clinic.patient.public_id, "provider": str(clinic.provider.pk), "location": str(clinic.location.pk),
            "appointment_type": str(clinic.kind.pk), "starts_at": "2027-03-15T09:00:00-04:00"}
    body.update(overrides)
    return body


def test_book_answers_201_with_strings(api, clinic):
    response = api.post("/appointments", booking(clinic, notes="Knee"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["starts_at"] == "2027-03-15T09:00:00-04:00" and body["ends_at"] == "2027-03-15T09:15:00-04:00"
    assert body["provider_id"] == str(clinic.provider.pk) and body["patient_id"] == clinic.patient.public_id
    assert body["channel"] == "api" and body["status"] == "scheduled"
    assert Appointment.objects.get(public_id=body["id"]).notes == "Knee"


def test_a_taken_time_is_409_naming_the_field(api, clinic):
    assert api.post("/appointments", booking(clinic)).status_code == 201
    other = PatientFactory(organization=clinic.organization)
    response = api.post("/appointments", booking(clinic, patient=other.public_id, starts_at="2027-03-15T13:05:00Z"))
    assert response.status_code == 409
    assert list(response.json()["errors"]) == ["starts_at"]


@pytest.mark.parametrize(("overrides", "field"), [
    ({"patient": "nosuchpatient1"}, "patient"),
    ({"provider": "abc"}, "provider"),
    ({"provider": "999999"}, "provider"),
    ({"location": "999999"}, "location"),
    ({"appointment_type": "no-such-type"}, "appointment_type"),
    ({"starts_at": "2027-03-15T09:00:00"}, "starts_at"),
    ({"starts_at": "tomorrow"}, "starts_at"),
    ({"starts_at": "2027-03-15T12:30:00-04:00"}, "starts_at"),
    ({"starts_at": "2027-03-01T09:00:00-05:00"}, "starts_at"),
    ({"ends_at": "2027-03-15T08:00:00-04:00"}, "ends_at"),
    ({"rrule": "FREQ=SOMETIMES"}, "rrule"),
    ({"room": "x"}, "room"),
    ({"colour": "red"}, "colour"),
])  # fmt: skip
def test_bad_input_is_400_naming_the_field(api, clinic, overrides, field):
    response = api.post("/appointments", booking(clinic, **overrides))
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not Appointment.objects.exists()


def test_another_practices_patient_is_unknown(api, clinic):
    response = api.post("/appointments", booking(clinic, patient=PatientFactory().public_id))
    assert response.status_code == 400 and response.json()["errors"] == {"patient": ["No such patient."]}


def test_book_a_series(api, clinic):
    response = api.post("/appointments", booking(clinic, rrule="FREQ=WEEKLY;COUNT=3"))
    assert response.status_code == 201
    assert [a["starts_at"] for a in response.json()["items"]] == [
        "2027-03-15T09:00:00-04:00", "2027-03-22T09:00:00-04:00", "2027-03-29T09:00:00-04:00"]


def test_slots(api, clinic):
    response = api.get("/slots", type=clinic.kind.code, start="2027-03-15T00:00:00-04:00", limit=2, time_of_day="afternoon")
    assert response.status_code == 200
    assert response.json() == {"count": 2, "items": [
        {"provider_id": str(clinic.provider.pk), "location_id": str(clinic.location.pk),
         "starts_at": "2027-03-15T13:00:00-04:00", "ends_at": "2027-03-15T13:15:00-04:00"},
        {"provider_id": str(clinic.provider.pk), "location_id": str(clinic.location.pk),
         "starts_at": "2027-03-15T13:15:00-04:00", "ends_at": "2027-03-15T13:30:00-04:00"},
    ]}  # fmt: skip
    by_provider = api.get("/slots", type=str(clinic.kind.pk), provider=str(clinic.provider.pk), location=str(clinic.location.pk), limit=1)
    assert by_provider.json()["items"][0]["starts_at"] == "2027-03-10T08:00:00-05:00"


@pytest.mark.parametrize(("params", "field"), [
    ({}, "type"),
    ({"type": "x", "limit": 0}, "type"),
    ({"type": "follow", "limit": 0}, "limit"),
    ({"type": "follow", "time_of_day": "noon"}, "time_of_day"),
    ({"type": "follow", "provider": "12x"}, "provider"),
    ({"type": "follow", "start": "2027-03-15T00:00:00"}, "start"),
    ({"type": "follow", "start": "2027-03-15T00:00:00Z", "end": "2027-03-14T00:00:00Z"}, "end"),
    ({"type": "follow", "sort": "x"}, "sort"),
])  # fmt: skip
def test_slot_search_refusals(api, clinic, params, field):
    clinic.kind.code = "follow"
    clinic.kind.save()
    response = api.get("/slots", **params)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]


def test_list_and_read_are_audited(api, clinic):
    appointment = AppointmentFactory(organization=clinic.organization, provider=clinic.provider, location=clinic.location,
                                     patient=clinic.patient, starts_at=clinic.at(2027, 3, 15, 9))
    AppointmentFactory(starts_at=clinic.at(2027, 3, 15, 9))  # another practice's
    listed = api.get("/appointments", start="2027-03-15T00:00:00Z", end="2027-03-16T00:00:00Z")
    assert [a["id"] for a in listed.json()["items"]] == [appointment.public_id]
    assert api.get(f"/appointments/{appointment.public_id}").json()["id"] == appointment.public_id
    assert AuditEvent.objects.filter(action="appointment.viewed", target_id=str(appointment.pk)).exists()
    assert AuditEvent.objects.filter(action="appointment.listed", target_id=str(appointment.pk)).exists()
    assert api.get("/appointments", patient=clinic.patient.public_id).json()["count"] == 1
    assert api.get("/appointments", status="bogus").status_code == 400


def test_another_practices_appointment_is_404(api):
    foreign = AppointmentFactory()
    assert api.get(f"/appointments/{foreign.public_id}").status_code == 404
    assert api.patch(f"/appointments/{foreign.public_id}", {"starts_at": "2027-03-16T09:00:00-04:00"}).status_code == 404
    assert api.post(f"/appointments/{foreign.public_id}/cancel", {"reason": "x"}).status_code == 404


def test_move_cancel_and_status(api, clinic):
    appointment_id = api.post("/appointments", booking(clinic)).json()["id"]
    moved = api.patch(f"/appointments/{appointment_id}", {"starts_at": "2027-03-16T10:00:00-04:00"})
    assert moved.status_code == 200 and moved.json()["starts_at"] == "2027-03-16T10:00:00-04:00"
    assert api.patch(f"/appointments/{appointment_id}", {"starts_at": "2027-03-16T12:30:00-04:00"}).status_code == 400
    confirmed = api.post(f"/appointments/{appointment_id}/status", {"status": "confirmed"})
    assert confirmed.json()["status"] == "confirmed"
    assert api.post(f"/appointments/{appointment_id}/status", {"status": "completed"}).json()["errors"]["status"]
    assert api.post(f"/appointments/{appointment_id}/cancel", {"reason": ""}).status_code == 400
    cancelled = api.post(f"/appointments/{appointment_id}/cancel", {"reason": "Feeling better"})
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["cancel_reason"] == "Feeling better"


def test_moving_into_a_taken_time_is_409(api, clinic):
    api.post("/appointments", booking(clinic, patient=PatientFactory(organization=clinic.organization).public_id))
    appointment_id = api.post("/appointments", booking(clinic, starts_at="2027-03-15T10:00:00-04:00")).json()["id"]
    response = api.patch(f"/appointments/{appointment_id}", {"starts_at": "2027-03-15T09:00:00-04:00"})
    assert response.status_code == 409


def test_provider_schedule(api, clinic):
    AppointmentFactory(organization=clinic.organization, provider=clinic.provider, location=clinic.location,
                       starts_at=clinic.at(2027, 3, 15, 9))
    response = api.get(f"/providers/{clinic.provider.pk}/schedule", date="2027-03-15")
    body = response.json()
    assert [w["starts_at"] for w in body["windows"]] == ["2027-03-15T08:00:00-04:00", "2027-03-15T13:00:00-04:00"]
    assert len(body["appointments"]) == 1
    assert api.get("/providers/999999/schedule", date="2027-03-15").status_code == 404
    assert api.get(f"/providers/{clinic.provider.pk}/schedule", date="someday").status_code == 400


def test_a_biller_reads_but_cannot_book(client, clinic):
    biller = Api(client, UserFactory(organization=clinic.organization, role=Role.BILLER))
    assert biller.get("/slots", type=clinic.kind.code).status_code == 200
    assert biller.post("/appointments", booking(clinic)).status_code == 403
