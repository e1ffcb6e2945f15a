"""Schedule (a provider's hours at a location) and Slot (free times offered by the scheduling app's slot search,
busy times held by appointments): validated against the R4B models, searched by actor, date, schedule, start and
status, slot ids readable back, bounded searches, the caller's practice and locations only."""

from datetime import date, timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.factories import LocationFactory, UserFactory
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.choices import AppointmentStatus
from clinicdesk.scheduling.tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    AvailabilityTemplateFactory,
    Clinic,
    ProviderFactory,
    ScheduleExceptionFactory,
)

from .conftest import expressions, issues, valid

pytestmark = pytest.mark.django_db

MONDAY_9 = "2027-03-15T09:00:00-04:00"
MONDAY_10 = "2027-03-15T10:00:00-04:00"


def schedule_of(clinic) -> str:
    return f"{clinic.provider.pk}-{clinic.location.pk}"


def slots(fhir, clinic, **params) -> list[dict]:
    query = {"schedule": f"Schedule/{schedule_of(clinic)}", "service-type": clinic.kind.code,
             "start": [f"ge{MONDAY_9}", f"lt{MONDAY_10}"], **params}
    body = valid(Bundle, fhir.get("Slot", query))
    return [e["resource"] for e in body.get("entry", [])]


def book(clinic, hour: int, minute: int = 0, **fields):
    return AppointmentFactory(organization=clinic.organization, patient=fields.pop("patient", clinic.patient),
                              provider=clinic.provider,
                              location=clinic.location, appointment_type=fields.pop("kind", clinic.kind),
                              starts_at=clinic.at(2027, 3, 15, hour, minute),
                              ends_at=clinic.at(2027, 3, 15, hour, minute) + timedelta(minutes=15), **fields)


# --- Schedule -------------------------------------------------------------------------------------------------


def test_a_schedule_is_a_providers_hours_at_a_location(fhir, clinic):
    body = valid(Schedule, fhir.get(f"Schedule/{schedule_of(clinic)}"))
    assert body["id"] == schedule_of(clinic) and body["active"] is True
    assert body["actor"] == [
        {"reference": f"Practitioner/{clinic.provider.pk}", "display": "Wei Chen, MD"},
        {"reference": f"Location/{clinic.location.pk}", "display": clinic.location.name},
    ]
    assert body["planningHorizon"] == {"start": "2020-01-01"}  # open-ended: no end


def test_successive_templates_make_one_schedule_and_an_ended_one_is_inactive(fhir, clinic):
    # given the usual week ended last year, and a new provider whose only template ended
    clinic.template.effective_to = date(2026, 12, 31)
    clinic.template.save(update_fields=["effective_to"])
    AvailabilityTemplateFactory(provider=clinic.provider, location=clinic.location, effective_from=date(2027, 1, 1),
                                effective_to=date(2027, 12, 31))
    gone = AvailabilityTemplateFactory(provider=ProviderFactory(organization=clinic.organization),
                                       location=clinic.location, effective_to=date(2026, 6, 30))
    # then
    body = valid(Schedule, fhir.get(f"Schedule/{schedule_of(clinic)}"))
    assert body["planningHorizon"] == {"start": "2020-01-01", "end": "2027-12-31"} and body["active"] is True
    ended = valid(Schedule, fhir.get(f"Schedule/{gone.provider_id}-{gone.location_id}"))
    assert ended["active"] is False and ended["planningHorizon"]["end"] == "2026-06-30"
    assert fhir.get("Schedule").json()["total"] == 2


def test_schedule_search_by_actor_id_and_date(fhir, clinic):
    north = LocationFactory(organization=clinic.organization)
    second = AvailabilityTemplateFactory(provider=clinic.provider, location=north, effective_from=date(2027, 4, 1),
                                         effective_to=date(2027, 6, 30))
    other_key = f"{second.provider_id}-{north.pk}"

    def found(params) -> set[str]:
        return {e["resource"]["id"] for e in valid(Bundle, fhir.get("Schedule", params)).get("entry", [])}

    assert found({"actor": f"Practitioner/{clinic.provider.pk}"}) == {schedule_of(clinic), other_key}
    assert found({"actor": f"Location/{north.pk}"}) == {other_key}
    assert found({"_id": other_key}) == {other_key}
    assert found({"date": "2027-03-15"}) == {schedule_of(clinic)}
    assert found({"date": ["ge2027-05-01", "le2027-05-31"]}) == {schedule_of(clinic), other_key}
    assert found({"date": "gt2027-06-30"}) == {schedule_of(clinic)}  # the open-ended one reaches past June
    assert found({"date": "lt2027-04-01"}) == {schedule_of(clinic)}
    assert found({"date": "lt2019-01-01"}) == set()


@pytest.mark.parametrize(("params", "name"), [
    ({"actor": str(1)}, "actor"), ({"actor": "Patient/abc"}, "actor"), ({"_id": "7"}, "_id"),
    ({"date": "sa2027-01-01"}, "date"), ({"date": "2027-13-01"}, "date"), ({"specialty": "x"}, "specialty"),
])
def test_schedule_search_names_a_bad_parameter(fhir, clinic, params, name):
    response = fhir.get("Schedule", params)
    assert response.status_code == 400 and expressions(response) == [name]


# --- Slot -----------------------------------------------------------------------------------------------------


def test_free_slots_come_from_the_slot_search_and_busy_ones_from_appointments(fhir, clinic):
    # given a visit at 09:15 and, the same morning, a different type's slots are not asked for
    book(clinic, 9, 15)
    # then free slots skip it, busy slots show it, both together tell the whole hour
    free = slots(fhir, clinic, status="free")
    assert [s["start"] for s in free] == [MONDAY_9, "2027-03-15T09:30:00-04:00", "2027-03-15T09:45:00-04:00"]
    busy = slots(fhir, clinic, status="busy")
    assert [(s["start"], s["end"], s["status"]) for s in busy] == [
        ("2027-03-15T09:15:00-04:00", "2027-03-15T09:30:00-04:00", "busy")]
    every = slots(fhir, clinic)
    assert [s["status"] for s in every] == ["free", "busy", "free", "free"]
    slot = every[0]
    Slot.model_validate(slot)
    assert slot["schedule"] == {"reference": f"Schedule/{schedule_of(clinic)}"}
    assert slot["serviceType"][0]["coding"][0] == {
        "system": f"urn:clinicdesk:{clinic.organization.slug}:appointment-type", "code": clinic.kind.code,
        "display": "Follow-up"}
    assert slot["end"] == "2027-03-15T09:15:00-04:00"


def test_slots_follow_the_schedules_rules(fhir, clinic):
    # time off over the morning leaves no free slot there; a cancelled visit holds nothing
    ScheduleExceptionFactory(provider=clinic.provider, starts_at=clinic.at(2027, 3, 15, 9, 30),
                             ends_at=clinic.at(2027, 3, 15, 12))
    book(clinic, 9, 0, status=AppointmentStatus.CANCELLED)
    assert [s["start"] for s in slots(fhir, clinic)] == [MONDAY_9, "2027-03-15T09:15:00-04:00"]


def test_a_slot_id_reads_back_free_then_busy_once_booked(fhir, clinic):
    slot = slots(fhir, clinic, status="free")[1]
    body = valid(Slot, fhir.get(f"Slot/{slot['id']}"))
    assert body == slot and body["status"] == "free"
    # when the time is booked
    book(clinic, 9, 15)
    # then the same id reads back busy, and searching by it finds it
    again = valid(Slot, fhir.get(f"Slot/{slot['id']}"))
    assert again["status"] == "busy" and again["id"] == slot["id"] and again["start"] == slot["start"]
    by_id = valid(Bundle, fhir.get("Slot", {"_id": slot["id"]}))
    assert [e["resource"]["status"] for e in by_id["entry"]] == ["busy"]


@pytest.mark.parametrize("slot_id", ["nonsense", "1-2-3-20270315130000"])
def test_a_slot_that_is_not_there_is_404(fhir, clinic, slot_id):
    assert fhir.get(f"Slot/{slot_id}").status_code == 404
    # a time the provider does not work
    evening = f"{schedule_of(clinic)}-{clinic.kind.pk}-20270315230000"
    assert fhir.get(f"Slot/{evening}").status_code == 404


def test_a_group_session_with_places_left_is_free(fhir, clinic):
    group = AppointmentTypeFactory(organization=clinic.organization, code="class", capacity=2)
    book(clinic, 9, 0, kind=group)
    query = {"service-type": "class", "start": [f"ge{MONDAY_9}", "lt2027-03-15T09:01:00-04:00"]}
    assert [s["status"] for s in slots(fhir, clinic, **query)] == ["free"]
    book(clinic, 9, 0, kind=group, patient=PatientFactory(organization=clinic.organization))
    assert [s["status"] for s in slots(fhir, clinic, **query)] == ["busy"]


def test_a_long_search_pages_without_gaps_or_repeats(fhir, clinic):
    # two working weeks of 15-minute slots: 10 days x 32 = 320, more than one slot search returns at once
    query = {"schedule": schedule_of(clinic), "service-type": clinic.kind.code, "status": "free",
             "start": ["ge2027-03-15", "lt2027-03-27"], "_count": 100}
    first = valid(Bundle, fhir.get("Slot", query))
    assert first["total"] == 320
    seen = []
    for page in range(1, 5):
        seen += [e["resource"]["id"] for e in fhir.get("Slot", {**query, "_page": page}).json()["entry"]]
    assert len(seen) == len(set(seen)) == 320
    links = {link["relation"] for link in first["link"]}
    assert {"self", "first", "next", "last"} <= links


@pytest.mark.parametrize(("params", "name"), [
    ({"start": ["ge2027-03-01", "lt2027-05-01"]}, "start"),
    ({"start": "2027"}, "start"),
    ({"start": ["ge2027-03-20", "lt2027-03-15"]}, "start"),
    ({"start": "sa2027-03-15"}, "start"),
    ({"start": "2027-03-15T09:00:00"}, "start"),
    ({"status": "waiting"}, "status"),
    ({"status": "busy-tentative"}, "status"),
    ({"service-type": "no-such-type"}, "service-type"),
    ({"service-type": "http://example.org|fu"}, "service-type"),
    ({"schedule": "Schedule/12"}, "schedule"),
    ({"slot-type": "x"}, "slot-type"),
])
def test_slot_search_names_a_bad_parameter(fhir, clinic, params, name):
    response = fhir.get("Slot", {"service-type": clinic.kind.code, **params})
    assert response.status_code == 400, response.content
    assert expressions(response) == [name]


def test_free_slots_need_an_appointment_type(fhir, clinic):
    response = fhir.get("Slot", {"start": f"ge{MONDAY_9}"})
    assert response.status_code == 400 and expressions(response) == ["service-type"]
    book(clinic, 9, 15)
    busy = valid(Bundle, fhir.get("Slot", {"status": "busy", "start": [f"ge{MONDAY_9}", f"lt{MONDAY_10}"]}))
    assert busy["total"] == 1


def test_another_practice_and_other_locations_are_never_seen(fhir, fhir_as, clinic):
    other = Clinic.build()
    AppointmentFactory(organization=other.organization, patient=other.patient, provider=other.provider,
                       location=other.location, appointment_type=other.kind, starts_at=other.at(2027, 3, 15, 9),
                       ends_at=other.at(2027, 3, 15, 9, 15))
    other_schedule = f"{other.provider.pk}-{other.location.pk}"
    assert fhir.get(f"Schedule/{other_schedule}").status_code == 404
    assert {e["resource"]["id"] for e in fhir.get("Schedule").json()["entry"]} == {schedule_of(clinic)}
    assert fhir.get("Slot", {"schedule": other_schedule, "service-type": clinic.kind.code}).json()["total"] == 0
    assert fhir.get("Slot", {"status": "busy", "start": [f"ge{MONDAY_9}", f"lt{MONDAY_10}"]}).json()["total"] == 0
    assert fhir.get(f"Slot/{other_schedule}-{other.kind.pk}-20270315130000").status_code == 404
    # someone limited to another location of the practice sees neither the schedule nor its slots
    north = LocationFactory(organization=clinic.organization)
    limited = UserFactory(organization=clinic.organization, role=Role.FRONT_DESK)
    limited.locations.set([north])
    api = fhir_as(limited)
    assert api.get(f"Schedule/{schedule_of(clinic)}").status_code == 404
    assert api.get("Slot", {"service-type": clinic.kind.code, "start": f"ge{MONDAY_9}"}).json()["total"] == 0
    free_id = slots(fhir, clinic, status="free")[0]["id"]
    assert api.get(f"Slot/{free_id}").status_code == 404


def test_scopes_and_roles_are_checked_and_refusals_audited(fhir_as, clinic):
    api = fhir_as(clinic.actor, scopes=["user/Schedule.read"])
    assert api.get(f"Schedule/{schedule_of(clinic)}").status_code == 200
    response = api.get("Slot", {"service-type": clinic.kind.code})
    assert response.status_code == 403 and "user/Slot.read" in issues(response)[0]["diagnostics"]
    auditor = UserFactory(organization=clinic.organization, role=Role.AUDITOR)
    assert fhir_as(auditor, scopes=["user/*.read"]).get("Schedule").status_code == 403
    assert AuditEvent.objects.filter(action="access.denied").count() == 2


@pytest.mark.parametrize("query", [
    "Slot?service-type=x,&start=ge2027-03-15", "Slot?start=ge9999-12-31&status=busy", "Slot?start=lt0001-01-01&status=busy",
    "Slot?start=9999&status=busy", "Slot?start=ge2027-03-15T25:00:00Z&status=busy", "Slot?_id=1-2-3-99991231235959",
    "Slot?schedule=,", "Slot?status=free,,busy", "Slot/1-1-1-99991231235959", "Slot/1-1-1-00010101000000",
    "Schedule?date=ge9999-12-31", "Schedule?date=lt0001-01-01", "Schedule?date=9999-12-31", "Schedule/99999999999999999999-1",
    "Schedule?actor=Practitioner/99999999999999999999", "Coverage?patient=", "Coverage?payor=|", "Coverage?_id=a,,b",
    "PractitionerRole?location=Location/", "PractitionerRole/99999999999999999999",
])
def test_garbage_in_the_new_searches_is_never_a_500(fhir, clinic, query):
    response = fhir.get(query)
    assert response.status_code in (200, 400, 404), (query, response.status_code)
    if response.status_code != 200:
        assert response.json()["resourceType"] == "OperationOutcome"
