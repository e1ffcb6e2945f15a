"""The encounter pages: who may code what, the coding form without JavaScript (rows, errors next to the row they
name, suggested codes for a heading, superbill buttons), "code this visit", a new encounter, the procedure JSON,
the posted encounter with its balances and void, the list with its CSV and a query count that does not grow."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinicdesk.billing.choices import EncounterStatus
from clinicdesk.billing.models import Encounter
from clinicdesk.billing.services.charges import encounter_post
from clinicdesk.billing.services.superbills import SuperbillSection, superbill_save
from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.ledger.selectors import patient_balance
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.choices import AppointmentStatus
from clinicdesk.scheduling.tests.factories import AppointmentFactory

from .factories_encounters import DAY, add_procedures, coded, new_encounter


@pytest.fixture
def doctor(make_user):
    return make_user(Role.CLINICIAN, username="drlee")


@pytest.fixture
def biller(make_user):
    return make_user(Role.BILLER, username="devon")


@pytest.fixture
def prices(fee_schedule):
    add_procedures(fee_schedule)
    return fee_schedule


def body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8-sig")
    return response.content.decode()


def code_url(encounter) -> str:
    return reverse("billing:encounter_code", args=[encounter.public_id])


def form(dx=(), services=(), **extra) -> dict:
    data = {"svc_count": str(max(len(services), 4)), "place_of_service": "11", **extra}
    for n, code in enumerate(dx, start=1):
        data[f"dx_{n}"] = code
    for n, (code, mods, units, pointers) in enumerate(services, start=1):
        data.update({f"svc_{n}_code": code, f"svc_{n}_modifiers": mods, f"svc_{n}_units": units,
                     f"svc_{n}_pointers": pointers})
    return data


# --- who may code what -------------------------------------------------------------------------------------


def test_a_clinician_codes_their_own_visit_but_not_a_colleagues(client_as, org, doctor, make_user, prices):
    mine = new_encounter(org, doctor)
    theirs = new_encounter(org, make_user(Role.CLINICIAN, username="drother"))
    client = client_as(doctor)
    assert client.get(code_url(mine)).status_code == 200
    assert client.get(code_url(theirs)).status_code == 404
    assert client.get(reverse("billing:encounter_detail", args=[theirs.public_id])).status_code == 404
    listed = body(client.get(reverse("billing:encounter_list")))
    assert mine.public_id in listed and theirs.public_id not in listed
    # and the queue and posting are the biller's
    assert client.get(reverse("billing:review_queue")).status_code == 403
    assert client.post(reverse("billing:review_post"), {"encounter": [mine.public_id]}).status_code == 403


def test_the_front_desk_cannot_code_and_another_practice_is_not_found(client_as, org, doctor, front_desk, biller,
                                                                      other_org, prices):
    from clinicdesk.core.tests.factories import UserFactory

    encounter = new_encounter(org, doctor)
    assert client_as(front_desk).get(code_url(encounter)).status_code == 403
    elsewhere = new_encounter(other_org, UserFactory(organization=other_org, role=Role.CLINICIAN))
    client = client_as(biller)
    assert client.get(code_url(elsewhere)).status_code == 404
    assert client.post(reverse("billing:encounter_void", args=[elsewhere.public_id]), {"reason": "x"}).status_code == 404


# --- the coding form ---------------------------------------------------------------------------------------


def test_saving_codes_the_visit_with_fee_schedule_prices(client_as, org, doctor, prices):
    encounter = new_encounter(org, doctor)
    client = client_as(doctor)
    response = client.post(code_url(encounter), form(
        dx=["e119", "I10"], services=[("99214", "25", "1", "1,2"), ("96372", "", "1", "1")], action="save"))
    assert response.status_code == 302
    lines = list(encounter.services.all())
    assert [(s.procedure_code, s.modifiers, str(s.amount), s.diagnosis_pointers) for s in lines] == [
        ("99214", "25", "170.00", "1,2"), ("96372", "", "35.00", "1")]
    page = body(client.get(code_url(encounter)))
    assert 'value="E11.9"' in page and "$170.00" in page and "$205.00" in page
    assert AuditEvent.objects.filter(action="encounter.viewed", patient_id=encounter.patient_id).exists()


def test_errors_stand_next_to_their_row_and_a_heading_offers_its_codes(client_as, org, doctor, prices):
    encounter = new_encounter(org, doctor)
    response = client_as(doctor).post(code_url(encounter), form(
        dx=["E11", "I10"], services=[("99213", "", "1", "1"), ("99999", "", "1", "1"), ("99213", "", "1", "5")],
        action="save"))
    assert response.status_code == 400
    page = body(response)
    assert 'name="use_dx" value="1:E11.00"' in page  # the first billable code under E11, clickable
    assert "Service 2: 99999 is not on the practice" in page and "Service 3: pointer 5 does not match" in page
    assert 'value="99999"' in page  # what was typed stays in its row
    assert not encounter.services.exists()


def test_without_javascript_a_suggested_code_and_the_superbill_fill_rows(client_as, org, doctor, biller, prices):
    superbill_save(organization=org, actor=biller, name="Family medicine", diagnoses=[{"code": "I10"}],
                   sections=[SuperbillSection(title="Visits", services=[{"code": "99214", "modifiers": "25"}])])
    encounter = new_encounter(org, doctor)
    client = client_as(doctor)
    # taking a suggested code replaces the row and saves nothing
    page = body(client.post(code_url(encounter), form(dx=["E11"], services=[], use_dx="1:E11.9")))
    assert 'value="E11.9"' in page and "save to keep it" in page
    assert not encounter.diagnoses.exists()
    # a superbill button adds the service to the next row
    page = body(client.post(code_url(encounter), form(dx=["E11.9"], services=[("96372", "", "1", "1")],
                                                      add_service="99214|25")))
    assert 'name="svc_2_code" value="99214"' in page and 'name="svc_2_modifiers" value="25"' in page
    page = body(client.post(code_url(encounter), form(dx=["E11.9"], add_dx="I10")))
    assert 'name="dx_2" value="I10"' in page


def test_send_to_review_and_the_flags_show_on_the_rows(client_as, org, doctor, biller, prices):
    encounter = new_encounter(org, doctor)
    response = client_as(doctor).post(code_url(encounter), form(
        dx=["J06.9"], services=[("99213", "", "1", "1"), ("96372", "", "1", "1")], action="submit"))
    assert response.status_code == 302 and response["Location"] == reverse("billing:encounter_list")
    encounter.refresh_from_db()
    assert encounter.status == EncounterStatus.IN_REVIEW
    assert encounter.review_flags[0]["message"].startswith("Service 1: missing modifier 25")
    page = body(client_as(biller).get(code_url(encounter)))
    assert "missing modifier 25: 99213 is billed with 96372" in page


# --- code this visit, a new encounter ----------------------------------------------------------------------


def test_code_this_visit_makes_the_encounter_once(client_as, org, doctor):
    appointment = AppointmentFactory(organization=org, provider=doctor, status=AppointmentStatus.COMPLETED,
                                     starts_at=timezone.now() - timedelta(hours=2))
    client = client_as(doctor)
    url = reverse("billing:encounter_for_appointment", args=[appointment.public_id])
    assert "Start coding" in body(client.get(url))
    response = client.post(url)
    encounter = Encounter.objects.get(appointment=appointment)
    assert response["Location"] == code_url(encounter)
    assert client.get(url)["Location"] == code_url(encounter)
    client.post(url)
    assert Encounter.objects.count() == 1


def test_a_visit_not_yet_seen_cannot_be_coded(client_as, org, doctor):
    appointment = AppointmentFactory(organization=org, provider=doctor, starts_at=timezone.now() + timedelta(days=1))
    response = client_as(doctor).post(reverse("billing:encounter_for_appointment", args=[appointment.public_id]))
    assert response.status_code == 400 and "is not billed" in body(response)
    assert not Encounter.objects.exists()


def test_a_new_encounter_without_an_appointment(client_as, org, doctor):
    from clinicdesk.core.tests.factories import LocationFactory

    patient = PatientFactory(organization=org, last_name="Okonkwo")
    location = LocationFactory(organization=org)
    client = client_as(doctor)
    found = body(client.get(reverse("billing:encounter_new"), {"q": "okonkwo"}))
    assert f"?patient={patient.public_id}" in found
    response = client.post(reverse("billing:encounter_new"), {
        "patient": patient.public_id, "provider": doctor.pk, "location": location.pk,
        "service_date": DAY.isoformat(), "place_of_service": "12"})
    encounter = Encounter.objects.get(patient=patient)
    assert response["Location"] == code_url(encounter)
    assert (encounter.provider_id, encounter.place_of_service, encounter.service_date) == (doctor.pk, "12", DAY)
    future = client.post(reverse("billing:encounter_new"), {
        "patient": patient.public_id, "provider": doctor.pk, "location": location.pk,
        "service_date": (timezone.localdate() + timedelta(days=3)).isoformat(), "place_of_service": "11"})
    assert future.status_code == 400 and "cannot be in the future" in body(future)


def test_procedure_json_gives_the_price_on_the_day(client_as, doctor, front_desk, prices):
    data = client_as(doctor).get(reverse("billing:procedure_search_json"), {"q": "9637", "date": "2026-11-02"}).json()
    assert data["results"] == [{"code": "96372", "code_system": "CPT", "description": "Service 96372", "price": "35.00"}]
    before = client_as(doctor).get(reverse("billing:procedure_search_json"), {"q": "96372", "date": "2025-06-01"}).json()
    assert before["results"][0]["price"] is None
    assert client_as(front_desk).get(reverse("billing:procedure_search_json"), {"q": "99"}).status_code == 403


# --- posted: balances and void ---------------------------------------------------------------------------------


def test_the_posted_encounter_shows_balances_and_can_be_voided(client_as, org, doctor, biller, prices):
    encounter = coded(org, doctor, services=(("99213", "", 1), ("36415", "", 1)))
    encounter_post(encounter=encounter, actor=biller)
    client = client_as(biller)
    url = reverse("billing:encounter_detail", args=[encounter.public_id])
    page = body(client.get(url))
    assert "$110.00" in page and "$128.00" in page and "Void the charges" in page
    assert client_as(doctor).get(url).status_code == 200  # the clinician sees their posted visit
    assert "Void the charges" not in body(client_as(doctor).get(url))
    assert client_as(doctor).post(reverse("billing:encounter_void", args=[encounter.public_id]),
                                  {"reason": "Wrong patient"}).status_code == 403
    client = client_as(biller)  # one test client: sign the biller back in
    assert client.post(reverse("billing:encounter_void", args=[encounter.public_id]), {"reason": ""}).status_code == 400
    response = client.post(reverse("billing:encounter_void", args=[encounter.public_id]), {"reason": "Wrong patient"})
    assert response.status_code == 302
    assert Encounter.objects.get(pk=encounter.pk).status == EncounterStatus.VOID
    assert patient_balance(patient=encounter.patient) == 0


# --- the list --------------------------------------------------------------------------------------------------


def test_the_list_filters_exports_and_keeps_its_query_count(client_as, org, doctor, biller, prices):
    coded(org, doctor, submit=False)
    posted = coded(org, doctor)
    encounter_post(encounter=posted, actor=biller)
    client = client_as(biller)
    url = reverse("billing:encounter_list")
    drafts = body(client.get(url))
    assert posted.public_id not in drafts
    history = body(client.get(url, {"status": "posted"}))
    assert posted.public_id in history
    csv = body(client.get(url, {"status": "all", "format": "csv"}))
    assert csv.splitlines()[0].startswith("service_date,patient,mrn")
    assert len(csv.splitlines()) == 3 and "99213 × 1" in csv

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, {"status": "all"}).status_code == 200
        return len(queries)

    count()  # warm up: the first request of a session loads what later ones find cached
    few = count()
    for _ in range(4):
        coded(org, doctor, services=(("99213", "", 1), ("36415", "", 1)))
    assert count() == few


def test_the_appointment_page_offers_code_this_visit_to_coders_only(client_as, org, doctor, front_desk):
    appointment = AppointmentFactory(organization=org, provider=doctor, status=AppointmentStatus.COMPLETED,
                                     starts_at=timezone.now() - timedelta(hours=2))
    link = reverse("billing:encounter_for_appointment", args=[appointment.public_id])
    page = reverse("scheduling:appointment", args=[appointment.public_id])
    assert link in body(client_as(doctor).get(page))
    assert link not in body(client_as(front_desk).get(page))
