"""Search parameters and paging: each parameter narrows the practice's rows, prefixes mean what FHIR says, and a
searchset Bundle carries the total and its page links. Every patient returned is audited as read."""

from datetime import date

import pytest

from clinicdesk.core.models import AuditEvent
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.choices import AppointmentStatus
from clinicdesk.scheduling.tests.factories import AppointmentFactory

from .conftest import expressions

pytestmark = pytest.mark.django_db


def ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {e["resource"]["id"] for e in response.json().get("entry", []) if e["search"]["mode"] == "match"}


@pytest.fixture
def people(clinic):
    org = clinic.organization
    # the clinic's own patient gets a name no search below matches and a birth date after all of theirs
    clinic.patient.first_name, clinic.patient.last_name, clinic.patient.preferred_name = "Zed", "Zimmer", ""
    clinic.patient.date_of_birth = date(2005, 6, 1)
    clinic.patient.save(update_fields=["first_name", "last_name", "preferred_name", "date_of_birth"])
    return {
        "ana": PatientFactory(organization=org, first_name="Ana", middle_name="Lucia", last_name="Alvarez",
                              date_of_birth=date(1980, 5, 17), sex="female", mrn="M100"),
        "bo": PatientFactory(organization=org, first_name="Bo", last_name="Anders", preferred_name="Bobby",
                             date_of_birth=date(1980, 5, 18), sex="male", mrn="M200"),
        "cy": PatientFactory(organization=org, first_name="Cy", last_name="Brandt", date_of_birth=date(1999, 1, 1),
                             sex="other", mrn="M300"),
    }


def test_patient_parameters(fhir, clinic, people):
    ana, bo, cy = (people[k].public_id for k in ("ana", "bo", "cy"))
    system = f"urn:clinicdesk:{clinic.organization.slug}:mrn"
    assert ids(fhir.get("Patient", {"_id": ana})) == {ana}
    assert ids(fhir.get("Patient", {"_id": f"{ana},{cy}"})) == {ana, cy}
    assert ids(fhir.get("Patient", {"identifier": "M200"})) == {bo}
    assert ids(fhir.get("Patient", {"identifier": f"{system}|M200"})) == {bo}
    assert ids(fhir.get("Patient", {"identifier": "urn:other|M200"})) == set()
    assert ids(fhir.get("Patient", {"family": "al"})) == {ana}  # starts with, any case
    assert ids(fhir.get("Patient", {"family:exact": "Alvarez"})) == {ana}
    assert ids(fhir.get("Patient", {"family:exact": "alvarez"})) == set()
    assert ids(fhir.get("Patient", {"given": "luc"})) == {ana}  # middle name
    assert ids(fhir.get("Patient", {"given": "bobby"})) == {bo}  # the name they go by
    assert ids(fhir.get("Patient", {"name": "an"})) == {ana, bo}  # Ana, Anders
    assert ids(fhir.get("Patient", {"name:contains": "rand"})) == {cy}
    assert ids(fhir.get("Patient", {"gender": "male"})) == {bo}
    assert ids(fhir.get("Patient", {"gender": "male,other"})) == {bo, cy}
    assert ids(fhir.get("Patient", {"name": "a", "gender": "female"})) == {ana}


@pytest.mark.parametrize(("value", "expected"), [
    ("1980-05-17", {"ana"}),
    ("eq1980-05-17", {"ana"}),
    ("1980-05", {"ana", "bo"}),
    ("1980", {"ana", "bo"}),
    ("ge1980-05-18", {"bo", "cy", "clinic"}),
    ("gt1980-05-17", {"bo", "cy", "clinic"}),
    ("le1980-05-17", {"ana", "old"}),
    ("lt1980-05-17", {"old"}),
])
def test_birthdate_prefixes(fhir, clinic, people, value, expected):
    # the clinic's own patient is born in 2005 (see people); add one born long ago
    people["clinic"] = clinic.patient
    people["old"] = PatientFactory(organization=clinic.organization, date_of_birth=date(1950, 1, 1))
    assert ids(fhir.get("Patient", {"birthdate": value})) == {people[k].public_id for k in expected}


def test_birthdate_range(fhir, clinic, people):
    response = fhir.get("Patient?birthdate=ge1980-01-01&birthdate=lt1990-01-01")
    assert ids(response) == {people["ana"].public_id, people["bo"].public_id}


@pytest.mark.parametrize(("params", "expression"), [
    ({"birthdate": "17/05/1980"}, "birthdate"),
    ({"birthdate": "ne1980-05-17"}, "birthdate"),
    ({"birthdate": "1980-02-30"}, "birthdate"),
    ({"gender": "f"}, "gender"),
    ({"phone": "555"}, "phone"),
    ({"name:phonetic": "ana"}, "name:phonetic"),
    ({"_count": "0"}, "_count"),
    ({"_count": "101"}, "_count"),
    ({"_page": "x"}, "_page"),
    ({"family": ""}, "family"),
])
def test_bad_search_parameters_are_400_naming_them(fhir, clinic, params, expression):
    response = fhir.get("Patient", params)
    assert response.status_code == 400
    assert expressions(response) == [expression]


def test_paging_links_and_total(fhir, clinic):
    # given 5 patients in all (the clinic's and 4 more)
    for _ in range(4):
        PatientFactory(organization=clinic.organization)
    # when
    first = fhir.get("Patient", {"_count": "2"}).json()
    second = fhir.get("Patient", {"_count": "2", "_page": "2"}).json()
    third = fhir.get("Patient", {"_count": "2", "_page": "3"}).json()
    # then
    assert first["type"] == "searchset" and first["total"] == 5
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert set(links) == {"self", "first", "next", "last"}
    assert links["next"].endswith("/fhir/R4/Patient?_count=2&_page=2")
    assert links["last"].endswith("_page=3")
    assert {link["relation"] for link in second["link"]} == {"self", "first", "previous", "next", "last"}
    assert {link["relation"] for link in third["link"]} == {"self", "first", "previous", "last"}
    seen = [e["resource"]["id"] for page in (first, second, third) for e in page["entry"]]
    assert len(seen) == 5 == len(set(seen))


def test_past_the_counted_matches_the_total_and_last_link_are_left_out(fhir, clinic, monkeypatch):
    # given 5 patients and a server that counts matches only up to 3
    monkeypatch.setattr("clinicdesk.fhir.views.TOTAL_COUNTED_UP_TO", 3)
    for _ in range(4):
        PatientFactory(organization=clinic.organization)
    # when the pages are followed by their next links
    pages = [fhir.get("Patient", {"_count": "2"}).json()]
    while "next" in (links := {link["relation"]: link["url"] for link in pages[-1]["link"]}):
        pages.append(fhir.client.get(links["next"], **fhir._headers()).json())
    # then the first two pages have no total and no last link, and the last page knows both
    assert len(pages) == 3
    assert "total" not in pages[0] and {link["relation"] for link in pages[0]["link"]} == {"self", "first", "next"}
    assert "total" not in pages[1] and {link["relation"] for link in pages[1]["link"]} == {"self", "first", "previous", "next"}
    assert pages[2]["total"] == 5
    assert {link["relation"]: link["url"][-7:] for link in pages[2]["link"]} == {
        "self": "_page=3", "first": "_page=1", "previous": "_page=2", "last": "_page=3"}
    seen = [e["resource"]["id"] for page in pages for e in page["entry"]]
    assert len(seen) == 5 == len(set(seen))


def test_total_is_counted_up_to_the_limit(fhir, clinic, monkeypatch):
    monkeypatch.setattr("clinicdesk.fhir.views.TOTAL_COUNTED_UP_TO", 3)
    for _ in range(2):
        PatientFactory(organization=clinic.organization)
    body = fhir.get("Patient", {"_count": "1", "_page": "2"}).json()
    assert body["total"] == 3 and {link["relation"] for link in body["link"]} == {"self", "first", "previous", "next", "last"}
    beyond = fhir.get("Patient", {"_count": "1", "_page": "9"}).json()
    assert beyond["total"] == 3 and "entry" not in beyond
    assert {link["relation"]: link["url"][-7:] for link in beyond["link"]}["previous"] == "_page=3"


def test_a_name_search_pages_in_name_order_past_the_counted_matches(fhir, clinic, monkeypatch):
    # given 4 Anns and a server that counts matches only up to 2 (PostgreSQL then reads the name index in order)
    monkeypatch.setattr("clinicdesk.fhir.views.TOTAL_COUNTED_UP_TO", 2)
    clinic.patient.first_name, clinic.patient.last_name, clinic.patient.preferred_name = "Zed", "Zimmer", ""
    clinic.patient.save(update_fields=["first_name", "last_name", "preferred_name"])
    for last in ("Diaz", "Baker", "Carr", "Abel"):
        PatientFactory(organization=clinic.organization, first_name="Ann", last_name=last)
    # when
    first = fhir.get("Patient", {"name": "ann", "_count": "2"}).json()
    second = fhir.get("Patient", {"name": "ann", "_count": "2", "_page": "2"}).json()
    # then
    assert "total" not in first and second["total"] == 4
    assert [e["resource"]["name"][0]["family"] for e in first["entry"] + second["entry"]] == ["Abel", "Baker", "Carr", "Diaz"]


@pytest.mark.parametrize("params", [
    {"name": "ann"}, {"name": "Ann"}, {"given": "ann"}, {"name": "ann,bo"}, {"name": "ann", "given": "ann m"},
    {"name": "ann", "gender": "male"}, {"name": "Núñ"}, {"name": "o'b"}, {"name": "ann", "family:contains": "r"},
])
def test_a_common_name_read_in_name_order_finds_the_same_pages(fhir, clinic, monkeypatch, params):
    # given Anns and others spread through the alphabet, some whose names only begin like "Ann"
    org = clinic.organization
    clinic.patient.first_name, clinic.patient.last_name, clinic.patient.preferred_name = "Zed", "Zimmer", ""
    clinic.patient.save(update_fields=["first_name", "last_name", "preferred_name"])
    for last, first, sex in (("Abel", "Ann", "female"), ("Abel", "Annabel", "female"), ("Baker", "Bo", "male"),
                             ("Carr", "Ann Marie", "female"), ("Annan", "Kofi", "male"), ("Diaz", "Joanna", "female"),
                             ("Evans", "Ann", "male"), ("Núñez", "Ann", "female"), ("O'Brien", "Ann", "female"),
                             ("Obrien", "Bo", "male"), ("Young", "Ann", "female"), ("Zane", "Anne", "male")):
        PatientFactory(organization=org, last_name=last, first_name=first, sex=sex)

    def pages() -> list[list[str]]:
        return [[e["resource"]["id"] for e in fhir.get("Patient", {**params, "_count": "2", "_page": str(n)}).json()
                 .get("entry", [])] for n in range(1, 8)]

    expected = pages()
    # when every count of matches is "many" and the name index is read two entries at a time (PostgreSQL)
    monkeypatch.setattr("clinicdesk.fhir.views.TOTAL_COUNTED_UP_TO", 0)
    monkeypatch.setattr("clinicdesk.patients.selectors.search.WALK_CHUNK", 2)
    walked = pages()
    # then the pages are the same, and few walk chunks fall back to the ordered read with the same answer
    assert walked == expected and any(expected)
    monkeypatch.setattr("clinicdesk.fhir.search.NAME_WALK_CHUNKS", 1)
    assert pages() == expected


def test_patients_come_in_name_order_with_accents_folded(fhir, clinic):
    # the clinic's own patient is Zimmer; Ávila sorts as Avila, between Abbott and Baker, on both databases
    clinic.patient.last_name = "Zimmer"
    clinic.patient.save(update_fields=["last_name"])
    for last, first in (("Baker", "Ann"), ("Ávila", "Rosa"), ("Abbott", "Zoe"), ("Abbott", "Al")):
        PatientFactory(organization=clinic.organization, last_name=last, first_name=first)
    pages = [fhir.get("Patient", {"_count": "2", "_page": str(n)}).json() for n in (1, 2, 3)]
    names = [(e["resource"]["name"][0]["family"], e["resource"]["name"][0]["given"][0])
             for page in pages for e in page.get("entry", [])]
    assert names == [("Abbott", "Al"), ("Abbott", "Zoe"), ("Ávila", "Rosa"), ("Baker", "Ann"),
                     ("Zimmer", clinic.patient.first_name)]


@pytest.mark.parametrize(("params", "expected"), [
    ({"family": "o'br"}, {"obrien"}),
    ({"family": "O'Brien"}, {"obrien"}),
    ({"family": "de la"}, {"delacruz"}),
    ({"family": "de la c"}, {"delacruz"}),
    ({"family": "smith-j"}, {"smithjones"}),
    ({"family": "smith j"}, set()),  # Smith, John: the last name does not start with "smith j"
    ({"family": "Núñ"}, {"nunez"}),
    ({"family": "'"}, set()),
    ({"family:exact": "De la Cruz"}, {"delacruz"}),
    ({"given": "ana lu"}, {"delacruz"}),
    ({"given": "smith"}, set()),  # a last name is not a given name
    ({"given": "jo"}, {"smith", "nunez"}),  # John; José
    ({"name": "cruz"}, set()),  # a word inside the last name, not its start
    ({"name": "kay"}, {"smithjones"}),
    ({"name": "smith"}, {"smith", "smithjones"}),
    ({"name:exact": "Smith"}, {"smith"}),
    ({"name:contains": "ith-jo"}, {"smithjones"}),
    ({"given": "Ana", "family": "de"}, {"delacruz"}),
    ({"family": "smith,o'b"}, {"smith", "smithjones", "obrien"}),
])
def test_name_parameters_match_the_name_parts(fhir, clinic, params, expected):
    org = clinic.organization
    clinic.patient.first_name, clinic.patient.last_name, clinic.patient.preferred_name = "Zed", "Zimmer", ""
    clinic.patient.save(update_fields=["first_name", "last_name", "preferred_name"])
    people = {
        "obrien": PatientFactory(organization=org, last_name="O'Brien", first_name="Margaret"),
        "delacruz": PatientFactory(organization=org, last_name="De la Cruz", first_name="Ana Lucía"),
        "smithjones": PatientFactory(organization=org, last_name="Smith-Jones", first_name="Kay"),
        "smith": PatientFactory(organization=org, last_name="Smith", first_name="John"),
        "nunez": PatientFactory(organization=org, last_name="Núñez", first_name="José"),
    }
    assert ids(fhir.get("Patient", params)) == {people[k].public_id for k in expected}


def test_search_results_are_audited_as_reads(fhir, clinic, people):
    fhir.get("Patient", {"family": "al"})
    rows = AuditEvent.objects.filter(action="patient.listed")
    assert [r.patient_id for r in rows] == [people["ana"].pk]
    assert rows[0].actor_id == clinic.actor.pk and rows[0].channel == "api"


@pytest.fixture
def visits(clinic):
    """Three visits of the clinic's patient (the 15th at 9, the 16th at 10 cancelled, the 20th at 11) and one of
    another patient on the 15th."""
    def visit(day, hour, patient=None, **kwargs):
        return AppointmentFactory(
            organization=clinic.organization, patient=patient or clinic.patient, provider=clinic.provider,
            location=clinic.location, appointment_type=clinic.kind, starts_at=clinic.at(2027, 3, day, hour),
            ends_at=clinic.at(2027, 3, day, hour, 15), **kwargs,
        )
    return {
        "a": visit(15, 9), "b": visit(16, 10, status=AppointmentStatus.CANCELLED, cancel_reason="Ill"),
        "c": visit(20, 11, status=AppointmentStatus.CONFIRMED),
        "other": visit(15, 10, patient=PatientFactory(organization=clinic.organization)),
    }


def test_appointment_parameters(fhir, clinic, visits):
    a, b, c, other = (visits[k].public_id for k in ("a", "b", "c", "other"))
    patient = clinic.patient.public_id
    assert ids(fhir.get("Appointment", {"patient": f"Patient/{patient}"})) == {a, b, c}
    assert ids(fhir.get("Appointment", {"patient": patient})) == {a, b, c}
    assert ids(fhir.get("Appointment", {"date": "2027-03-15"})) == {a, other}
    assert ids(fhir.get("Appointment?date=ge2027-03-16&date=lt2027-03-20")) == {b}
    assert ids(fhir.get("Appointment", {"date": "gt2027-03-16"})) == {c}
    assert ids(fhir.get("Appointment", {"date": "le2027-03-15T09:00:00-04:00"})) == {a}
    assert ids(fhir.get("Appointment", {"status": "cancelled"})) == {b}
    assert ids(fhir.get("Appointment", {"status": "booked"})) == {a, c, other}  # scheduled and confirmed are booked
    assert ids(fhir.get("Appointment", {"status": "booked,cancelled", "patient": patient})) == {a, b, c}
    assert ids(fhir.get("Appointment", {"practitioner": f"Practitioner/{clinic.provider.pk}", "_id": a})) == {a}
    assert ids(fhir.get("Appointment", {"location": f"Location/{clinic.location.pk}"})) == {a, b, c, other}


def test_appointments_come_in_start_order(fhir, visits):
    body = fhir.get("Appointment").json()
    starts = [e["resource"]["start"] for e in body["entry"]]
    assert starts == sorted(starts) and body["total"] == 4


@pytest.mark.parametrize(("params", "expression"), [
    ({"status": "done"}, "status"),
    ({"patient": "Practitioner/1"}, "patient"),
    ({"practitioner": "Practitioner/abc"}, "practitioner"),
    ({"date": "2027-13-01"}, "date"),
    ({"date": "2027-03-15T09:00:00"}, "date"),
    ({"_include": "Appointment:practitioner"}, "_include"),
])
def test_bad_appointment_parameters(fhir, params, expression):
    response = fhir.get("Appointment", params)
    assert response.status_code == 400 and expressions(response) == [expression]


def test_include_patient(fhir, clinic, visits):
    response = fhir.get("Appointment", {"_include": "Appointment:patient", "date": "2027-03-15"})
    entries = response.json()["entry"]
    matches = [e for e in entries if e["search"]["mode"] == "match"]
    included = [e["resource"] for e in entries if e["search"]["mode"] == "include"]
    assert len(matches) == 2 and response.json()["total"] == 2  # the total counts matches only
    assert {p["id"] for p in included} == {clinic.patient.public_id, visits["other"].patient.public_id}
    assert all(p["resourceType"] == "Patient" for p in included)
    # the appointments and the included patients are all audited
    assert AuditEvent.objects.filter(action="appointment.listed").count() == 2
    assert set(AuditEvent.objects.filter(action="patient.listed").values_list("patient_id", flat=True)) == {
        clinic.patient.pk, visits["other"].patient_id}


def test_simple_resources_search_by_id(fhir, clinic):
    assert ids(fhir.get("Practitioner", {"_id": str(clinic.provider.pk)})) == {str(clinic.provider.pk)}
    assert ids(fhir.get("Location", {"_id": str(clinic.location.pk)})) == {str(clinic.location.pk)}
    assert ids(fhir.get("Organization")) == {str(clinic.organization.pk)}
    response = fhir.get("Practitioner", {"name": "chen"})
    assert response.status_code == 400 and expressions(response) == ["name"]


@pytest.mark.parametrize("path", ["Patient", "Appointment?_include=Appointment:patient"])
def test_a_page_costs_the_same_queries_whatever_its_size(fhir, clinic, path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def add_visits(count, first_hour):
        for i in range(first_hour, first_hour + count):
            AppointmentFactory(
                organization=clinic.organization, patient=PatientFactory(organization=clinic.organization),
                provider=clinic.provider, location=clinic.location, appointment_type=clinic.kind,
                starts_at=clinic.at(2027, 3, 15, i), ends_at=clinic.at(2027, 3, 15, i, 15),
            )

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert fhir.get(path).status_code == 200
        return len(captured)

    fhir.get("Organization")  # the token's first use of the minute records it; the pages below are not the first
    add_visits(1, first_hour=8)
    few = queries()
    add_visits(5, first_hour=9)
    assert queries() == few
